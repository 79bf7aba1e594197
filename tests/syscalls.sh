#!/bin/sh
# Syscalls per operation, counted by strace (an independent tool), from two
# runs of tests/syscount with different iteration counts:
#   - an assisted port-I/O exit and an assisted MMIO exit cost exactly one
#     syscall (KVM_RUN);
#   - getstate of cached groups and setstate cost none.
b=${B:-build}
prog=$b/tests/syscount
p=0 f=0

if ! command -v strace >/dev/null 2>&1; then
	echo "FAIL syscalls: strace is not installed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# strace -c's last line: "100.00  seconds  usecs/call  calls  [errors]  total".
calls() {
	rm -rf "$LIBNVMM_RUNDIR"/*
	strace -f -qq -c -o "$tmp" "$prog" "$1" "$2" >/dev/null 2>&1 || return 1
	awk '$NF == "total" { print $4 }' "$tmp"
}

tmp=$(mktemp)
# A private, empty machine registry for each run, so that the setup's
# syscalls are the same in both.
LIBNVMM_RUNDIR=$(mktemp -d)
export LIBNVMM_RUNDIR
trap 'rm -rf "$tmp" "$LIBNVMM_RUNDIR"' EXIT

check() {
	name=$1 work=$2 want=$3
	c1=$(calls "$work" 200) && c2=$(calls "$work" 1200)
	if [ -z "$c1" ] || [ -z "$c2" ]; then
		echo "FAIL $name (the workload failed)"
		f=$((f + 1))
		return
	fi
	per=$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
	if [ "$per" = "$want" ]; then
		echo "ok   $name: $per syscalls each ($c1 for 200, $c2 for 1200)"
		p=$((p + 1))
	else
		echo "FAIL $name: $per syscalls each, want $want ($c1 for 200, $c2 for 1200)"
		f=$((f + 1))
	fi
}

check syscalls_per_assisted_io_exit io 1.000
check syscalls_per_assisted_mmio_exit mmio 1.000
check syscalls_per_cached_getstate_setstate state 0.000
echo "$p passed, $f failed, 0 skipped"
[ "$f" -eq 0 ]
