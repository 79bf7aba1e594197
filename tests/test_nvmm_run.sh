#!/bin/sh
# nvmm-run end to end: the built-in guest with 1 and 2 CPUs (banner, timer
# ticks through the PIC and the I/O APIC, RTC date, PCI, LAPIC timer, CPUs
# up, IPIs, console echo, poweroff, reboot, triple fault), the error
# messages, and a guest the host's KVM can't run. Every run has a timeout.
b=${B:-build}
run=$b/nvmm-run
. tests/t.sh
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err" "$out.bad"' EXIT


# vm NAME INPUT ARGS...: runs nvmm-run with INPUT on stdin, 30 s at most.
vm() {
	name=$1 input=$2
	shift 2
	printf "$input" | timeout 30 "$run" "$@" >"$out" 2>"$err"
	status=$?
	tr -d '\r' <"$out" >"$out.bad" && mv "$out.bad" "$out"
}

# has NAME LINE: the guest printed exactly this line.
has() { grep -qxF -- "$2" "$out" || { t_fail "$1" "no line '$2'"; return 1; }; }

# The lines of the guest's contract, in order, with CPUS CPUs.
banner() {
	name=$1 cpus=$2
	expected="nvmm-run built-in guest
pit: 10 ticks via pic
pit: 10 ticks via ioapic
pit: channel 2 ok
pci 00:00.0: 8086:1237
lapic timer: 10 ticks
smp: $cpus cpus up
ipi: ok"
	got=$(grep -v '^rtc: ' "$out" | head -n 8)
	if [ "$got" != "$expected" ]; then
		t_fail "$name" "banner differs: $(echo "$got" | tr '\n' '|')"
		return 1
	fi
	# The RTC says the host's time (UTC), to the minute or so.
	rtc=$(sed -n 's/^rtc: //p' "$out")
	guest=$(date -u -d "$rtc" +%s 2>/dev/null) || { t_fail "$name" "rtc line '$rtc'"; return 1; }
	d=$(( $(date -u +%s) - guest ))
	[ "${d#-}" -le 120 ] || { t_fail "$name" "rtc $rtc is ${d}s off"; return 1; }
	return 0
}

for cpus in 1 2; do
	vm builtin "hello\\npoweroff\\n" --cpus "$cpus"
	name="builtin_guest_${cpus}_cpus"
	if [ "$status" != 0 ]; then
		t_fail "$name" "exit $status: $(cat "$err")"
	elif banner "$name" "$cpus" && has "$name" "> hello" &&
	    has "$name" "unknown command: hello" && has "$name" "> poweroff" &&
	    has "$name" "bye" && grep -q "guest powered off" "$err"; then
		t_ok "$name"
	fi
done

vm reboot "reboot\\n" --cpus 1
if [ "$status" = 0 ] && has reboot "rebooting" && grep -q "guest reset" "$err"; then
	t_ok reboot_ends_with_status_0
else
	t_fail reboot_ends_with_status_0 "exit $status"
fi

vm triple "triple\\n" --cpus 1
if [ "$status" = 2 ] && has triple "triple fault" &&
    grep -q "^nvmm-run: cpu 0: triple fault at rip 0x" "$err"; then
	t_ok triple_fault_is_an_error
else
	t_fail triple_fault_is_an_error "exit $status: $(cat "$err")"
fi

# Errors: one line, non-zero, before any guest runs.
check_error() {
	name=$1 want=$2
	shift 2
	timeout 10 "$run" "$@" </dev/null >"$out" 2>"$err"
	status=$?
	if [ "$status" = 1 ] && [ "$(wc -l <"$err")" = 1 ] &&
	    grep -qxF -- "$want" "$err"; then
		t_ok "$name"
	else
		t_fail "$name" "exit $status, stderr: $(cat "$err")"
	fi
}

check_error missing_kernel \
    "nvmm-run: cannot open kernel '/nonexistent/bzImage': No such file or directory" \
    --kernel /nonexistent/bzImage
head -c 4096 /dev/urandom >"$out.bad"
check_error malformed_kernel "nvmm-run: $out.bad: not a bzImage or ELF kernel" \
    --kernel "$out.bad"
check_error bad_memory_size \
    "nvmm-run: bad memory size '12Q': give a number with K, M or G" --mem 12Q
check_error memory_too_small \
    "nvmm-run: bad memory size '1M': from 2M to 128G, in 4K pages" --mem 1M
check_error bad_cpu_count "nvmm-run: bad CPU count '0': from 1 to 64" --cpus 0
check_error initrd_without_kernel \
    "nvmm-run: --initrd and --append need --kernel" --initrd /etc/hostname
# With no hypervisor at all, nvmm_init's ENXIO, told as such.
if t_can_hide_dev; then
	t_no_dev timeout 10 "$run" --cpus 1 </dev/null >"$out" 2>"$err"
	status=$?
	if [ "$status" = 1 ] && [ ! -s "$out" ] && [ "$(wc -l <"$err")" = 1 ] &&
	    grep -qxF "nvmm-run: no hypervisor here (no /dev/kvm, or KVM lacks what libnvmm needs): run it through tools/with-kvm" "$err"; then
		t_ok no_hypervisor
	else
		t_fail no_hypervisor "exit $status: $(cat "$err")"
	fi
else
	t_skip no_hypervisor "needs root and unshare to hide /dev"
fi
# Without access to /dev/kvm (run as nobody; /dev/kvm is root's 0600 here).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] &&
    [ "$(stat -c %a /dev/kvm)" = 600 ]; then
	timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$run" --cpus 1 </dev/null >"$out" 2>"$err"
	status=$?
	if [ "$status" = 1 ] && [ "$(wc -l <"$err")" = 1 ] &&
	    grep -qxF "nvmm-run: cannot use /dev/kvm: Permission denied (run it through tools/with-kvm, or give this user access)" "$err"; then
		t_ok no_kvm_access
	else
		t_fail no_kvm_access "exit $status: $(cat "$err")"
	fi
else
	t_skip no_kvm_access "needs root, setpriv and a 0600 /dev/kvm"
fi

# Idle at its prompt, the guest halts and nvmm-run sleeps: CPU time stands still.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
fifo=$(mktemp -u)
mkfifo "$fifo"
"$run" --cpus 2 <"$fifo" >"$out" 2>"$err" &
vmpid=$!
exec 9>"$fifo"
sleep 3
t0=$(cpu_ticks "$vmpid")
sleep 2
t1=$(cpu_ticks "$vmpid")
printf 'poweroff\n' >&9
exec 9>&-
wait "$vmpid"
status=$?
rm -f "$fifo"
hz=$(getconf CLK_TCK)
if [ -n "$t0" ] && [ -n "$t1" ] && [ "$status" = 0 ] &&
    [ $(( (t1 - t0) * 100 / hz )) -le 10 ]; then
	t_ok idle_guest_costs_no_cpu
else
	t_fail idle_guest_costs_no_cpu "$(( t1 - t0 )) ticks of $hz/s in 2 s idle, exit $status"
fi

# On a terminal (a pty from script(1)): raw mode, Enter is CR, Ctrl-A x quits.
if command -v script >/dev/null; then
	{ sleep 3; printf 'help\r'; sleep 1; printf '\001x'; } |
	    timeout 30 script -qefc "$run --cpus 1" /dev/null >"$out" 2>&1
	status=$?
	tr -d '\r' <"$out" >"$out.bad" && mv "$out.bad" "$out"
	if [ "$status" = 0 ] && has terminal "commands: help poweroff reboot triple uptime rtc" &&
	    has terminal "nvmm-run: quit"; then
		t_ok terminal_raw_mode_and_ctrl_a_x
	else
		t_fail terminal_raw_mode_and_ctrl_a_x "exit $status: $(tail -n 3 "$out")"
	fi
else
	t_fail terminal_raw_mode_and_ctrl_a_x "script(1) is missing"
fi

if "$run" --help | grep -q "^usage: nvmm-run"; then
	t_ok help
else
	t_fail help "no usage"
fi

# An instruction KVM's emulator lacks: a clear message where it emulates.
vm badinsn "" --kernel "$b/tests/guest_badinsn.elf" --cpus 1
if [ -e /sys/module/kvm_pvm ]; then
	if [ "$status" = 2 ] && grep -q "^nvmm-run: cpu 0: the host's KVM cannot emulate the instruction at rip 0x10100b (bytes: 66 0f 38 00 c1 .*), an SSSE3/SSE4 instruction; " "$err"; then
		t_ok emulation_failure_is_explained
	else
		t_fail emulation_failure_is_explained "exit $status: $(cat "$err")"
	fi
elif [ "$status" = 0 ] && has badinsn "ok"; then
	t_ok emulation_failure_is_explained
else
	t_fail emulation_failure_is_explained "exit $status: $(cat "$err")"
fi

# --stats, where the guest above runs: its three OUTs are all its exits;
# CPU 1 never runs (no startup IPI).
stats_line() {
	grep -qx "nvmm-run: $1: $2 exits in [0-9.]* s ([0-9]*/s), [0-9.]* s in the guest, [0-9.]* s in the VMM: $3" "$err" ||
	    { t_fail stats_exact_counts "no line for $1: $(grep "^nvmm-run: $1:" "$err")"; false; }
}
if [ ! -e /sys/module/kvm_pvm ]; then
	vm stats "" --kernel "$b/tests/guest_badinsn.elf" --cpus 2 --stats
	if [ "$status" != 0 ]; then
		t_fail stats_exact_counts "exit $status: $(cat "$err")"
	elif stats_line "cpu 0" 3 "io 3" && stats_line "cpu 1" 0 none &&
	    stats_line total 3 "io 3"; then
		t_ok stats_exact_counts
	fi
else
	t_skip stats_exact_counts "PVM cannot run the guest"
fi

t_done
