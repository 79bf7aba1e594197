#!/bin/sh
# QEMU as libnvmm's client: QEMU_NVMM (tools/qemu-nvmm's qemu-system-x86_64,
# built from Debian's source against this tree) boots Debian's kernel and
# the busybox initramfs with -accel nvmm, machines pc and q35, 1 and 2 CPUs,
# to the shell, once more with the comm page off, and once with two NMIs
# sent from QEMU's monitor; the shell answers a command exactly (the CPU
# count, the NMI count), and poweroff ends QEMU with status 0. Each boot has a
# wall-clock limit, QEMU_LIMIT (600 s).
# Needs KVM: make qemu-check runs it through tools/with-kvm.
qemu=${QEMU_NVMM:-}
limit=${QEMU_LIMIT:-600}
cache=${LINUX_CACHE:-${LIBNVMM_CACHE:-$HOME/.cache/libnvmm}/linux}
. tests/t.sh
. tests/guest_shell.sh

if [ ! -x "$qemu" ]; then
	t_fail qemu_nvmm "QEMU_NVMM='$qemu' is not a program (make qemu-check builds it)"
	t_done
	exit
fi
if ! sh vmm/linux.sh "$cache" >/dev/null; then
	t_fail qemu_nvmm "could not get Debian's kernel"
	t_done
	exit
fi
# The emulated AMD-V host loses a nested guest's XCR0 (vmm/run-linux.sh).
append="console=ttyS0 quiet"
[ "${WITH_KVM_HOST:-}" = emulated ] && append="$append noxsave"

serial=stdio
# boot MACHINE CPUS [NAME ENV...]: one boot, with ENV's variables if given;
# the console on $serial, the answer $want (the CPU count if unset).
boot() {
	machine=$1 cpus=$2 name=qemu_nvmm_$1_$2cpu${3:+_$3}
	gs_name=$name
	shift 2
	[ $# -gt 0 ] && shift
	guest_shell "$limit" env "$@" "$qemu" -accel nvmm -machine "$machine" -smp "$cpus" \
	    -m 256M -nodefaults -display none -serial "$serial" -no-reboot \
	    -L /usr/share/qemu -L /usr/share/seabios \
	    -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio" -append "$append"
	if [ -z "$gs_prompt" ]; then
		t_fail "${name}_shell" "exit $gs_status, no prompt; console: $(gs_tail 8) stderr: $(tail -n 5 "$gs_err" | tr '\n' '|')"
		return
	fi
	echo "   ($machine, $cpus CPUs: $gs_prompt s to the shell prompt)"
	t_ok "${name}_shell"
	# Spaces collapsed.
	if [ "$(echo $gs_answer)" = "${want:-$cpus}" ]; then
		t_ok "${name}_command"
	else
		t_fail "${name}_command" "answer '$gs_answer', want ${want:-$cpus}"
	fi
	if [ "$gs_status" = 0 ] && [ "$gs_off" = yes ]; then
		t_ok "${name}_poweroff"
	else
		t_fail "${name}_poweroff" "exit $gs_status, powered down: ${gs_off:-no}; console: $(gs_tail 3) stderr: $(tail -n 3 "$gs_err" | tr '\n' '|')"
	fi
}

for machine in pc q35; do
	for cpus in 1 2; do
		boot "$machine" "$cpus"
	done
done
# NVMM before its comm page: every getstate and setstate an ioctl.
boot pc 1 comm_page_off LIBNVMM_COMM_PAGE=0

# Two NMIs from QEMU's monitor (Ctrl-A c on the console), the second once
# the guest's handler has logged the first: QEMU injects it only after
# that handler's IRET (NMI_READY), and the guest counts both.
nmi_logged() {
	for _ in $(seq 300); do
		[ "$(gs_console | grep -c 'NMI received')" -ge "$1" ] && return
		sleep 0.2
	done
}
nmi_keys() {
	printf '\001cnmi\r' >&3
	nmi_logged 1
	printf 'nmi\r' >&3
	nmi_logged 2
	printf '\001c' >&3
}
serial=mon:stdio gs_before=nmi_keys gs_command="grep ^NMI: /proc/interrupts"
want="NMI: 2 Non-maskable interrupts"
boot pc 1 nmi
t_done
