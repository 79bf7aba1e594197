#!/bin/sh
# Syscalls per operation, counted by strace (an independent tool), from two
# runs of tests/syscount with different iteration counts:
#   - an assisted port-I/O exit and an assisted MMIO exit cost exactly one
#     syscall (KVM_RUN);
#   - getstate of cached groups and setstate cost none;
#   - getstate(GPRS|SEGS|CRS|MSRS) at an I/O or MMIO exit, as QEMU asks:
#     KVM_GET_MSRS (TSC and KERNELGSBASE change with no exit), and
#     KVM_GET_XCRS where the guest can run XSETBV (it has XSAVE).
b=${B:-build}
prog=$b/tests/syscount
. tests/t.sh

if ! command -v strace >/dev/null 2>&1; then
	t_fail syscalls "strace is not installed"
	t_done
	exit
fi

# strace -c's last line: "100.00  seconds  usecs/call  calls  [errors]  total".
calls() {
	rm -rf "$LIBNVMM_RUNDIR"/*
	# LeakSanitizer cannot run under ptrace: the sanitizer build counts too.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
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
		t_fail "$name" "the workload failed"
		return
	fi
	per=$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
	if [ "$per" = "$want" ]; then
		echo "   $name: $per syscalls each ($c1 for 200, $c2 for 1200)"
		t_ok "$name"
	else
		t_fail "$name" "$per syscalls each, want $want ($c1 for 200, $c2 for 1200)"
	fi
}

check syscalls_per_assisted_io_exit io 1.000
check syscalls_per_assisted_mmio_exit mmio 1.000
check syscalls_per_cached_getstate_setstate state 0.000
# One KVM_RUN per exit, plus the getstate's.
if [ "$("$prog" xcr0_mask 1)" = 0 ]; then get=2.000; else get=3.000; fi
check syscalls_per_io_exit_and_getstate io_get $get
check syscalls_per_mmio_exit_and_getstate mmio_get $get
check syscalls_per_io_exit_and_getstate_guest_without_xsave io_get_noxsave 2.000
t_done
