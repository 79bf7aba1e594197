#!/bin/sh
# make qemu-bench: the time from start to the busybox shell's prompt of
# Debian's kernel and initramfs (1 CPU, 512 MiB, machine pc), under QEMU
# -accel nvmm (QEMU_NVMM, tools/qemu-nvmm's), Debian's QEMU with -accel kvm
# (kernel-irqchip off and on) and nvmm-run; then the syscalls per exit of
# QEMU's VCPU thread under -accel nvmm: strace -ff counts the thread's
# syscalls, bench/nvmm_count.c (preloaded) the exits nvmm_vcpu_run
# returned. Runs where KVM is (tools/with-kvm). Prints a markdown table.
b=${B:-build}
qemu=${QEMU_NVMM:?the QEMU that tools/qemu-nvmm built}
cache=${LINUX_CACHE:-${LIBNVMM_CACHE:-$HOME/.cache/libnvmm}/linux}
limit=${QEMU_LIMIT:-900}
. tests/guest_shell.sh

append="console=ttyS0"
[ "${WITH_KVM_HOST:-}" = emulated ] && append="$append noxsave"
guest="-kernel $cache/vmlinuz -initrd $cache/initramfs.cpio"
common="-machine pc -smp 1 -m 512M -nodefaults -display none -serial stdio
	-no-reboot -L /usr/share/qemu -L /usr/share/seabios"

# row NAME COMMAND...: one boot, one table row.
row() {
	name=$1
	shift
	guest_shell "$limit" "$@"
	if [ -n "$gs_prompt" ]; then
		ok="shell answered ${gs_answer:-nothing}, exit $gs_status"
	else
		ok="no prompt, exit $gs_status: $(gs_tail 3)"
	fi
	echo "| $name | ${gs_prompt:--} | $ok |"
}

echo "| VMM (append \"$append\") | s to the prompt | end |"
echo "|---|---|---|"
row "QEMU 7.2 -accel nvmm (libnvmm)" $qemu -accel nvmm $common $guest -append "$append"
row "QEMU 7.2 -accel kvm,kernel-irqchip=off" qemu-system-x86_64 \
    -accel kvm,kernel-irqchip=off $common $guest -append "$append"
row "QEMU 7.2 -accel kvm,kernel-irqchip=on" qemu-system-x86_64 \
    -accel kvm,kernel-irqchip=on $common $guest -append "$append"
row "nvmm-run" $b/nvmm-run --kernel "$cache/vmlinuz" \
    --initrd "$cache/initramfs.cpio" --append "$append" --mem 512M --cpus 1

# Syscalls per exit, the whole boot to poweroff, QEMU -accel nvmm.
st=$(mktemp -d)
guest_shell $((limit * 3)) strace -ff -qq -o "$st/t" \
    -E LD_PRELOAD="$(pwd)/$b/bench/nvmm-count.so" -E NVMM_COUNT_FILE="$st/exits" \
    $qemu -accel nvmm $common $guest -append "$append"
echo
echo "Under strace: ${gs_prompt:-no} s to the prompt, exit $gs_status."
exits=$(awk '$1 == "runs" { print $2 }' "$st/exits" 2>/dev/null)
# The VCPU thread is the one that calls KVM_RUN most (libnvmm's first
# nvmm_init runs a probe guest on the main thread).
vt=$(grep -c 'KVM_RUN' "$st"/t.* 2>/dev/null | sort -t: -k2 -n | tail -n 1 | cut -d: -f1)
if [ -z "$exits" ] || [ -z "$vt" ]; then
	echo "No counts: exits '${exits}', VCPU thread '${vt}'."
	exit 1
fi
# (Patterns in variables: dash misparses a quoted "(" inside $(...).)
p_run='^ioctl([0-9]*, KVM_RUN' p_ioc='^ioctl(' p_not='^ioctl(\|^+++\|^---'
sys=$(grep -cv '^+++\|^---' "$vt")
run=$(grep -c "$p_run" "$vt")
ioc=$(grep -c "$p_ioc" "$vt")
echo
echo "| QEMU -accel nvmm, VCPU thread, boot to poweroff | count | per exit |"
echo "|---|---|---|"
per() { awk -v a="$1" -v b="$exits" 'BEGIN { printf "%.3f", a / b }'; }
echo "| exits (nvmm_vcpu_run returns) | $exits | 1 |"
echo "| syscalls | $sys | $(per "$sys") |"
echo "| KVM_RUN | $run | $(per "$run") |"
echo "| other ioctls | $((ioc - run)) | $(per $((ioc - run))) |"
echo "| other syscalls | $((sys - ioc)) | $(per $((sys - ioc))) |"
echo
echo "Exits by reason: $(grep -v '^runs\|^errors' "$st/exits" | tr '\n' ',' | sed 's/,$//; s/,/, /g'); errors $(awk '$1 == "errors" { print $2 }' "$st/exits")."
p_name='s/^ioctl([0-9]*, \([A-Z0-9_]*\).*/\1/'
echo "Other ioctls: $(grep "$p_ioc" "$vt" | grep -v KVM_RUN | sed "$p_name" | sort | uniq -c | sort -rn | awk '{ printf "%s%s %s", s, $2, $1; s = ", " }')."
p_call='s/(.*//'
echo "Other syscalls: $(grep -v "$p_not" "$vt" | sed "$p_call" | sort | uniq -c | sort -rn | head -n 8 | awk '{ printf "%s%s %s", s, $2, $1; s = ", " }')."
rm -rf "$st"
