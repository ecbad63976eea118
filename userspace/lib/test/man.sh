#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# Every man page renders without a warning and has the required sections.
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
export LC_ALL=C.UTF-8 MANWIDTH=80

for page in man/*.3 man/*.7; do
	w=$(groff -man -ww -z "$page" 2>&1)
	[ -z "$w" ]; ok $? "$page: groff -man -ww is silent${w:+: $w}"
	w=$(man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$w" ]; ok $? "$page: man --warnings -l is silent${w:+: $w}"
	if command -v mandoc >/dev/null 2>&1; then
		w=$(mandoc -T lint -W warning "$page" 2>&1)
		[ -z "$w" ]; ok $? "$page: mandoc -T lint is silent${w:+: $w}"
	fi
	missing=
	case $page in
	*.3) set -- NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS "SEE ALSO" ;;
	*)   set -- NAME DESCRIPTION "SEE ALSO" ;;
	esac
	for s in "$@"; do
		grep -q "^\.SH \"\{0,1\}$s\"\{0,1\}\$" "$page" || missing="$missing [$s]"
	done
	[ -z "$missing" ]; ok $? "$page: has its sections${missing:+ (missing:$missing)}"
	name=$(basename "$page" | sed 's/\.[0-9]$//')
	sed -n '/^\.SH NAME/,/^\.SH/p' "$page" | grep -q "$name"; ok $? "$page: NAME names $name"
done
echo "1..$n"
exit $fail
