#!/bin/sh
# Debian's Linux kernel on nvmm-run: its own console prints its "Linux
# version" line, the command line and the e820 map nvmm-run gave it, within
# a time bound. Then, with the busybox initramfs and 1 and 2 CPUs, it boots
# to a shell, which answers a command exactly, and poweroff ends nvmm-run
# with status 0. (Where KVM emulates guest code, as on PVM hosts, the boot
# goes no further than early setup; see the first run's last line.)
b=${B:-build}
run=$b/nvmm-run
cache=${LINUX_CACHE:-${LIBNVMM_CACHE:-$HOME/.cache/libnvmm}/linux}
. tests/t.sh
. tests/guest_shell.sh
out=$(mktemp)
trap 'guest_shell_clean; rm -f "$out"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null' EXIT


if ! sh vmm/linux.sh "$cache" >/dev/null; then
	t_fail linux_fetch "could not get Debian's kernel"
	t_done
	exit
fi
kernel=vmlinuz
[ -e /sys/module/kvm_pvm ] && kernel=vmlinux

append="console=ttyS0 earlyprintk=serial"
"$run" --kernel "$cache/$kernel" --append "$append" --mem 512M --cpus 1 \
    </dev/null >"$out" 2>&1 &
pid=$!
last="BIOS-e820: [mem 0x00000000fee00000-0x00000000fee00fff] reserved"
for i in $(seq 1 120); do
	grep -qF "$last" "$out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
echo "   (kernel $kernel, $i s to the e820 map)"
tr -d '\r' <"$out" | sed 's/^\[ *[0-9.]*\] //' >"$out.txt" && mv "$out.txt" "$out"

if grep -q "^Linux version 6\.[0-9]*\.[0-9]*-[0-9]*-amd64 (debian-kernel@lists.debian.org)" "$out"; then
	t_ok linux_version_line
else
	t_fail linux_version_line "$(head -c 300 "$out")"
fi
if grep -qxF "Command line: $append" "$out"; then
	t_ok linux_command_line
else
	t_fail linux_command_line "not printed"
fi
# The map for 512 MiB, as vmm/boot/ram.c lays it out.
want="BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
BIOS-e820: [mem 0x000000000009fc00-0x00000000000dffff] reserved
BIOS-e820: [mem 0x00000000000e0000-0x00000000000effff] ACPI data
BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved
BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable
BIOS-e820: [mem 0x00000000fec00000-0x00000000fec00fff] reserved
$last"
got=$(grep "^BIOS-e820: " "$out")
if [ "$got" = "$want" ]; then
	t_ok linux_e820_map
else
	t_fail linux_e820_map "$(echo "$got" | tr '\n' '|')"
fi

# shell CPUS: Debian's kernel and the busybox initramfs to the shell
# (tests/guest_shell.sh), a command's exact answer, and poweroff.
shell() {
	cpus=$1 name=linux_shell_$1_cpus
	# quiet halves the time to the shell in the emulated host; after a
	# panic the guest resets and nvmm-run ends at once.
	guest_shell 200 sh vmm/run-linux.sh "$run" \
	    "console=ttyS0 rdinit=/init quiet panic=-1" \
	    --kernel "$cache/$kernel" --initrd "$cache/initramfs.cpio" \
	    --mem 256M --cpus "$cpus"
	if [ -z "$gs_prompt" ]; then
		why=$(gs_console | grep -m 2 -E 'bad frame|Kernel panic|BUG:|Oops' |
		    tr '\n' '|')
		t_fail "$name" "exit $gs_status, no prompt: ${why:-$(gs_tail 5)}"
		return
	fi
	echo "   ($cpus CPUs: $gs_prompt s to the shell prompt)"
	if gs_console | grep -qx "nvmm-run: Linux 6\.[0-9.]*-[0-9]*-amd64 is up, $cpus CPUs"; then
		t_ok "$name"
	else
		t_fail "$name" "no banner for $cpus CPUs: $(gs_tail 5)"
	fi
	if [ "$gs_answer" = "$cpus" ]; then
		t_ok "${name}_command"
	else
		t_fail "${name}_command" "answer '$gs_answer', want $cpus"
	fi
	if [ "$gs_status" = 0 ] && [ "$gs_off" = yes ] &&
	    grep -q "guest powered off" "$gs_err"; then
		t_ok "${name}_poweroff"
	else
		t_fail "${name}_poweroff" "exit $gs_status: $(tail -n 3 "$gs_err" | tr '\n' '|')"
	fi
}

if [ -e /sys/module/kvm_pvm ]; then
	t_skip linux_shell "Linux gets no further than early setup where KVM emulates guest code"
else
	shell 1
	shell 2
fi
t_done
