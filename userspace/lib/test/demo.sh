#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# Without the module, register-demo says so and exits 2.
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

out=$(COWGUARD_DEVICE=/nonexistent $VALGRIND ./examples/register-demo 2>&1); rc=$?
[ $rc = 2 ]; ok $? "register-demo without the module exits 2 (got $rc)"
echo "$out" | grep -q 'module not loaded'; ok $? "and says: $out"
echo "1..$n"
exit $fail
