#!/bin/sh
# NVMM as it was before the comm page (LIBNVMM_COMM_PAGE=0): every getstate
# reads KVM and every setstate writes it at once. The core tests and the
# assists must give the same exact values that way; each of their tests is
# reported here under the program's name.
b=${B:-build}
. tests/t.sh

for prog in test_core test_assist; do
	out=$(LIBNVMM_COMM_PAGE=0 timeout -k 5 600 "$b/tests/$prog" 2>&1)
	rc=$?
	for t in $(echo "$out" | sed -n 's/^ok   //p'); do
		t_ok "${prog}_$t"
	done
	for t in $(echo "$out" | sed -n 's/^skip \([^ ]*\).*/\1/p'); do
		t_skip "${prog}_$t" "as without LIBNVMM_COMM_PAGE=0"
	done
	for t in $(echo "$out" | sed -n 's/^FAIL //p'); do
		t_fail "${prog}_$t" "$(echo "$out" | grep -B3 "^FAIL $t\$" | grep '^    ' | tr '\n' ' ')"
	done
	echo "$out" | grep -q '^[0-9]* passed, 0 failed, [0-9]* skipped$' ||
	    t_fail "$prog" "exit $rc: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
done
t_done
