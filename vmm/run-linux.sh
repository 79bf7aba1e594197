#!/bin/sh
# run-linux.sh NVMM-RUN CMDLINE [OPTION...]: runs NVMM-RUN with OPTIONs and
# the kernel command line CMDLINE, plus what the host needs; what
# `make run-linux` and tests/test_linux.sh run.
#
# In tools/with-kvm's emulated AMD-V host, QEMU 7.2's TCG lets a nested
# guest's XSETBV run without the SVM intercept KVM asked for: KVM never
# learns the guest's XCR0 and enters it with XCR0 = x87 alone. Linux there
# must not use XSAVE: its signal frames say x87 and SSE, and XRSTOR faults
# on them at the first rt_sigreturn ("bad frame", init killed).
set -eu
usage="usage: run-linux.sh NVMM-RUN CMDLINE [OPTION...]"
run=${1:?$usage}
cmdline=${2?$usage}
shift 2
if [ "${WITH_KVM_HOST:-}" = emulated ]; then
	cmdline="$cmdline noxsave"
fi
exec "$run" --append "$cmdline" "$@"
