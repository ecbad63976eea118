#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The shared library exports exactly the map's symbols, all versioned, each
# declared in cowguard.h and documented in man/; soname and links are right.
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

so=libcowguard.so.1.0.0
map_syms=$(sed -n '/global:/,/local:/p' libcowguard.map | grep -o 'cowguard_[a-z0-9_]*' | sort)
dyn_syms=$(nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort)
hdr_syms=$(grep -o '^[a-z].*[ *]cowguard_[a-z0-9_]*(' cowguard.h | grep -o 'cowguard_[a-z0-9_]*(' | tr -d '(' | sort)

[ "$map_syms" = "$dyn_syms" ]; ok $? "exported functions are exactly the map's: $(echo $dyn_syms)"
[ "$map_syms" = "$hdr_syms" ]; ok $? "cowguard.h declares exactly the map's functions"
unversioned=$(readelf --dyn-syms -W "$so" | awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' | grep -v '@LIBCOWGUARD_1\.[01]$' | grep -v '^LIBCOWGUARD_1\.[01]$' || true)
[ -z "$unversioned" ]; ok $? "every export carries a LIBCOWGUARD_1.x version ${unversioned:+(not: $unversioned)}"
v10=$(sed -n '/^LIBCOWGUARD_1.0 {/,/^};/p' libcowguard.map | grep -c 'cowguard_[a-z]')
[ "$v10" = 8 ]; ok $? "LIBCOWGUARD_1.0 still holds its 8 functions (never edited)"
readelf -d "$so" | grep -q 'SONAME.*\[libcowguard.so.1\]'; ok $? "soname is libcowguard.so.1"
needed=$(readelf -d "$so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[ "$needed" = "libc.so.6 " ]; ok $? "needs only libc.so.6 ($needed)"
[ "$(readlink libcowguard.so.1)" = "$so" ] && [ "$(readlink libcowguard.so)" = "$so" ]
ok $? "libcowguard.so.1 and libcowguard.so link to $so"
missing=
for s in $map_syms; do [ -f "man/$s.3" ] || missing="$missing $s"; done
[ -z "$missing" ]; ok $? "every function has a man page${missing:+ (missing:$missing)}"
ar t libcowguard.a | sort | tr '\n' ' ' | grep -qx 'cowguard.o patch.o slot_map.o strerror.o x86_site.o '
ok $? "libcowguard.a holds the five objects"
echo "1..$n"
exit $fail
