/* SPDX-License-Identifier: GPL-2.0 */
/* A small streaming JSON writer: objects, arrays, numbers, strings. */
#ifndef CG_CLI_JSON_H
#define CG_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	16

struct json {
	FILE *out;
	int depth;
	int first[JSON_MAX_DEPTH];	/* nothing written yet at this depth */
	char close[JSON_MAX_DEPTH];	/* the bracket that ends this depth */
};

/* @key is the member name inside an object, NULL inside an array or at
 * the top level.
 */
void json_init(struct json *j, FILE *out);
void json_object(struct json *j, const char *key);
void json_array(struct json *j, const char *key);
void json_end(struct json *j);	/* closes the innermost object or array */
void json_u64(struct json *j, const char *key, uint64_t value);
void json_double(struct json *j, const char *key, double value);
void json_string(struct json *j, const char *key, const char *value);
void json_null(struct json *j, const char *key);
/* Ends a top-level value with a newline and flushes. */
void json_finish(struct json *j);

#endif /* CG_CLI_JSON_H */
