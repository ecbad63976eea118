#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# make install into a DESTDIR gives a tree that builds a program with
# pkg-config alone (no kernel or project headers), and uninstall empties it.
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
MAKE=${MAKE:-make} CC=${CC:-cc}
root=$(pwd)/test/tmp
rm -rf "$root"
mkdir -p "$root"

$MAKE -s install DESTDIR="$root" PREFIX=/usr > "$root.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr"
for f in usr/include/cowguard.h usr/include/linux/cowguard.h usr/lib/libcowguard.so.1.0.0 \
	 usr/lib/libcowguard.a usr/lib/pkgconfig/libcowguard.pc \
	 usr/share/man/man3/cowguard_register.3 usr/share/man/man7/cowguard.7; do
	[ -f "$root/$f" ]; ok $? "installed /$f"
done
[ "$(readlink "$root/usr/lib/libcowguard.so.1")" = libcowguard.so.1.0.0 ] &&
[ "$(readlink "$root/usr/lib/libcowguard.so")" = libcowguard.so.1.0.0 ]
ok $? "installed relative symlinks libcowguard.so.1 and libcowguard.so"
grep -qx 'libdir=${prefix}/lib' "$root/usr/lib/pkgconfig/libcowguard.pc" &&
grep -qx 'prefix=/usr' "$root/usr/lib/pkgconfig/libcowguard.pc"
ok $? "libcowguard.pc carries prefix=/usr, libdir=\${prefix}/lib"

cat > "$root/use.c" <<'CEOF'
#include <cowguard.h>
#include <stdio.h>
int main(void)
{
	int fd = cowguard_open(0);

	printf("%d %s\n", fd, cowguard_strerror(COWGUARD_OP_OPEN, fd));
	return fd == -ENOENT ? 0 : 1;
}
CEOF
export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR=
flags=$(pkg-config --cflags --libs libcowguard)
ok $? "pkg-config --cflags --libs libcowguard: $flags"
# shellcheck disable=SC2086
$CC -Wall -Werror -o "$root/use" "$root/use.c" $flags
ok $? "a program builds against the installed tree only"
out=$(COWGUARD_DEVICE=/nonexistent LD_LIBRARY_PATH="$root/usr/lib" "$root/use")
ok $? "and runs against the installed libcowguard.so.1: $out"
$CC -Wall -Werror -o "$root/use-static" "$root/use.c" -I"$root/usr/include" "$root/usr/lib/libcowguard.a"
ok $? "and links the installed libcowguard.a"

$MAKE -s install DESTDIR="$root/b" PREFIX=/opt/cg LIBDIR=/opt/cg/lib64 >> "$root.log" 2>&1 &&
grep -qx 'libdir=${prefix}/lib64' "$root/b/opt/cg/lib64/pkgconfig/libcowguard.pc" &&
[ -f "$root/b/opt/cg/lib64/libcowguard.so.1.0.0" ]
ok $? "LIBDIR=/opt/cg/lib64 is honoured"

rm -f "$root/use" "$root/use-static" "$root/use.c"
$MAKE -s uninstall DESTDIR="$root" PREFIX=/usr >> "$root.log" 2>&1 &&
$MAKE -s uninstall DESTDIR="$root/b" PREFIX=/opt/cg LIBDIR=/opt/cg/lib64 >> "$root.log" 2>&1
ok $? "make uninstall"
left=$(find "$root" ! -type d)
[ -z "$left" ]; ok $? "uninstall leaves no file behind${left:+: $left}"

[ $fail = 0 ] && rm -rf "$root" "$root.log"
[ $fail = 0 ] || cat "$root.log"
echo "1..$n"
exit $fail
