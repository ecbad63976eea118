# SPDX-License-Identifier: GPL-2.0
"""The demo's web app: a Flask service over an in-memory catalogue.

Importing it does what a real app's master does before forking: it pulls
in a framework and a good part of the standard library, and loads the
data set (dataset.build, DEMO_MB MiB of Python objects). Every request
reads one record and renders it as JSON.

    GET /item/<n>   record n (mod the catalogue size)
    GET /health     "ok"
"""
# The modules a typical service imports besides its framework; their
# code, constants and type objects are part of the heap the workers share.
import argparse  # noqa: F401
import asyncio  # noqa: F401
import base64  # noqa: F401
import calendar  # noqa: F401
import collections  # noqa: F401
import concurrent.futures  # noqa: F401
import csv  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import decimal  # noqa: F401
import difflib  # noqa: F401
import email.mime.multipart  # noqa: F401
import email.mime.text  # noqa: F401
import fractions  # noqa: F401
import gzip  # noqa: F401
import hashlib  # noqa: F401
import heapq  # noqa: F401
import html.parser  # noqa: F401
import http.client  # noqa: F401
import http.cookies  # noqa: F401
import ipaddress  # noqa: F401
import logging.handlers  # noqa: F401
import os
import pathlib  # noqa: F401
import pickle  # noqa: F401
import pprint  # noqa: F401
import sqlite3  # noqa: F401
import statistics  # noqa: F401
import string  # noqa: F401
import tarfile  # noqa: F401
import textwrap  # noqa: F401
import typing  # noqa: F401
import unittest  # noqa: F401
import urllib.request  # noqa: F401
import uuid  # noqa: F401
import xml.dom.minidom  # noqa: F401
import xml.etree.ElementTree  # noqa: F401
import zipfile  # noqa: F401

import flask
import jinja2  # noqa: F401
import werkzeug.routing  # noqa: F401

import dataset

DATA = dataset.build(float(os.environ.get("DEMO_MB", "200")))

app = flask.Flask(__name__)


@app.route("/item/<int:n>")
def item(n):
    return flask.jsonify(dataset.lookup(DATA, n))


@app.route("/health")
def health():
    return "ok\n"
