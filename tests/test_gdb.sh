#!/bin/sh
# nvmm-run --gdb end to end, with gdb itself (make gdb-fetch installs it):
# the built-in guest stopped at its first instruction (the PVH entry state),
# its code bytes, register and memory writes, stepi, a hardware breakpoint
# at guest_main, a software one, a watchpoint on pit_ticks, Ctrl-C while it
# idles, detach (the guest goes on and answers at its console), threads of
# 2 VCPUs, kill, and the errors. Addresses come from the guest's ELF; each
# gdb and nvmm-run has a timeout.
b=${B:-build}
run=$b/nvmm-run
elf=$b/vmm/guest/guest.elf
. tests/t.sh
work=$(mktemp -d)
vmpid=
trap '[ -n "$vmpid" ] && kill "$vmpid" 2>/dev/null; rm -rf "$work"' EXIT
port=$((20000 + $$ % 20000))

if ! command -v gdb >/dev/null; then
	t_fail gdb_present "no gdb: make gdb-fetch installs it"
	t_done
	exit 1
fi

# sym NAME: the guest symbol's address, as 0x... without leading zeros.
sym() { printf '%#x' "0x$(nm "$elf" | awk -v s="$1" '$3 == s { print $1 }')"; }
# pc_h NAME: a constant of vmm/pc.h.
pc_h() { printf '%#x' "$(sed -n "s/^#define $1[[:space:]]*\(0x[0-9A-Fa-f]*\).*/\1/p" vmm/pc.h)"; }

entry=$(sym pvh_start)
guest_main=$(sym guest_main)
pic_disable=$(sym pic_disable)
pit_ticks=$(sym pit_ticks)
# insns ADDR: the bytes of the instruction at ADDR, as 0x.. 0x..
insn() {
	objdump -d --start-address="$1" --stop-address=$(($1 + 16)) "$elf" |
	    sed -n "s/^ *${1#0x}:[[:space:]]*\(\([0-9a-f][0-9a-f] \)*\).*/\1/p" |
	    awk '{ for (i = 1; i <= NF; i++) printf "%s0x%s", (i > 1 ? " " : ""), $i }'
}
first_byte() { insn "$1" | cut -d' ' -f1; }
# next ADDR: where the instruction after the one at ADDR starts.
next() { printf '%#x' $(($1 + $(insn "$1" | wc -w))); }
entry_bytes=$(insn "$entry")
entry_next=$(next "$entry")
main_next=$(next "$guest_main")
# QEMU's TCG, as with-kvm's emulated host, never traps these for KVM.
traps=yes
[ "${WITH_KVM_HOST:-}" = emulated ] && traps=no
# The emulated host may boot with its loopback down.
ip link set lo up 2>/dev/null

# vm_start ARGS...: nvmm-run --gdb in the background, console from a fifo
# (fd 9), until it says it waits for gdb.
vm_start() {
	rm -f "$work/in"
	mkfifo "$work/in"
	timeout 300 "$run" --gdb "$port" "$@" <"$work/in" >"$work/out" 2>"$work/err" &
	vmpid=$!
	exec 9>"$work/in"
	for _ in $(seq 100); do
		grep -q "waiting for gdb" "$work/err" && return 0
		sleep 0.3
	done
	return 1
}

# vm_wait: nvmm-run's exit status.
vm_wait() {
	exec 9>&-
	wait "$vmpid"
	status=$?
	vmpid=
}

# console_has REGEX [SECONDS]: the guest printed a line REGEX matches whole,
# waiting for it.
console_has() {
	for _ in $(seq $((${2:-60} * 5))); do
		tr -d '\r' <"$work/out" | grep -qx -- "$1" && return 0
		sleep 0.2
	done
	return 1
}

# has NAME LINE: gdb printed exactly this line.
has() {
	grep -qxF -- "$2" "$work/gdb" || { t_fail "$1" "no line '$2'"; return 1; }
}

# ---- One session: entry state, registers, memory, a step, breakpoints and a
# watchpoint where the host traps them, Ctrl-C, detach.
if ! vm_start --cpus 1; then
	t_fail gdb_session "nvmm-run does not wait for gdb: $(cat "$work/err")"
	t_done
	exit 1
fi

set -- -ex 'set trace-commands on' -ex "target remote 127.0.0.1:$port" \
    -ex 'printf "entry rip=%#lx eflags=%#x cs=%#x ds=%#x ss=%#x rbx=%#lx rsp=%#lx\n", $rip, $eflags, $cs, $ds, $ss, $rbx, $rsp' \
    -ex "x/6xb $entry" \
    -ex 'x/1xb 0x7fffffff0000' \
    -ex 'set $rax = 0x1122334455667788' \
    -ex "set *(unsigned int *)$pit_ticks = 0xfeedf00d" \
    -ex "printf \"poked rax=%#lx mem=%#x\\n\", \$rax, *(unsigned int *)$pit_ticks" \
    -ex "set *(unsigned int *)$pit_ticks = 0" \
    -ex 'stepi' \
    -ex 'printf "step rip=%#lx\n", $rip' \
    -ex 'info threads'
if [ "$traps" = yes ]; then
	set -- "$@" -ex "hbreak *$guest_main" -ex 'continue' \
	    -ex 'printf "hbreak rip=%#lx\n", $rip' -ex 'stepi' \
	    -ex 'printf "hbreak step rip=%#lx\n", $rip' -ex 'delete' \
	    -ex "watch *(unsigned int *)$pit_ticks" -ex 'continue' -ex 'delete' \
	    -ex "break *$pic_disable" -ex 'continue' \
	    -ex 'printf "break rip=%#lx byte=%#x\n", $rip, *(unsigned char *)$rip' \
	    -ex 'delete'
fi
set -- "$@" -ex 'continue' \
    -ex 'printf "interrupted hlt=%#x\n", *(unsigned char *)($rip - 1)' \
    -ex 'detach'
timeout -k 10 300 gdb -batch -nx "$@" >"$work/gdb" 2>&1 &
gdbpid=$!
# The guest reaches its prompt only after gdb's last continue: interrupt it
# there, as Ctrl-C in gdb does. The signal goes to gdb itself: timeout
# would pass it on twice (to gdb, then its group), and gdb takes a second
# Ctrl-C as "the target does not answer".
if console_has "ipi: ok" 240; then
	sleep 2
	kill -INT "$(pgrep -P "$gdbpid")"
fi
wait "$gdbpid"
gdbstatus=$?
echo "---- gdb session (port $port):"
cat "$work/gdb"
echo "----"

if [ "$gdbstatus" = 0 ] &&
    has entry_state "entry rip=$entry eflags=0x2 cs=0x10 ds=0x18 ss=0x18 rbx=$(pc_h PC_PVH_START_INFO) rsp=$(pc_h PC_BOOT_STACK)"; then
	t_ok entry_state_at_first_instruction
else
	t_fail entry_state_at_first_instruction "gdb exit $gdbstatus"
fi
if grep -q "^$entry:[[:space:]]*$(echo "$entry_bytes" | sed 's/ /[[:space:]]*/g')\$" "$work/gdb"; then
	t_ok memory_reads_guest_code
else
	t_fail memory_reads_guest_code "want $entry: $entry_bytes"
fi
if grep -q "Cannot access memory at address 0x7fffffff0000$" "$work/gdb"; then
	t_ok unmapped_memory_is_an_error
else
	t_fail unmapped_memory_is_an_error
fi
if has poke "poked rax=0x1122334455667788 mem=0xfeedf00d"; then
	t_ok registers_and_memory_written
fi
if has stepi "step rip=$entry_next"; then
	t_ok stepi_moves_one_instruction
fi
if grep -q '^\* 1 *Thread 1 (VCPU 0)' "$work/gdb"; then
	t_ok one_thread_per_vcpu
else
	t_fail one_thread_per_vcpu
fi
if [ "$traps" = yes ]; then
	if has hbreak "hbreak rip=$guest_main" &&
	    has hbreak "hbreak step rip=$main_next"; then
		t_ok hardware_breakpoint_at_guest_main
	fi
	# The INT3 is there, but gdb reads the guest's own byte.
	if has break "break rip=$pic_disable byte=$(first_byte "$pic_disable")"; then
		t_ok software_breakpoint
	fi
	if has watch "Old value = 0" && has watch "New value = 1"; then
		t_ok watchpoint_on_pit_ticks
	fi
else
	for t in hardware_breakpoint_at_guest_main software_breakpoint \
	    watchpoint_on_pit_ticks; do
		t_skip "$t" "the emulated AMD-V host (QEMU TCG) raises neither DR7 breakpoints nor the #BP intercept in a nested guest"
	done
fi
if grep -q "received signal SIGINT" "$work/gdb" && has interrupt "interrupted hlt=0xf4"; then
	t_ok ctrl_c_stops_the_idle_guest
else
	t_fail ctrl_c_stops_the_idle_guest
fi
# Detached, the guest runs on and answers at its console.
printf 'detached\n' >&9
if console_has "unknown command: detached" 60; then
	printf 'poweroff\n' >&9
	vm_wait
	if [ "$status" = 0 ] && grep -q "guest powered off" "$work/err"; then
		t_ok detach_lets_the_guest_run
	else
		t_fail detach_lets_the_guest_run "exit $status: $(cat "$work/err")"
	fi
else
	t_fail detach_lets_the_guest_run "no answer: $(tail -c 300 "$work/out")"
	kill "$vmpid"
	vm_wait
fi

# ---- Two VCPUs, two threads; a port taken; kill ends nvmm-run.
if vm_start --cpus 2; then
	timeout 10 "$run" --gdb "$port" --cpus 1 </dev/null >"$work/out2" 2>"$work/err2"
	status2=$?
	if [ "$status2" = 1 ] && [ "$(wc -l <"$work/err2")" = 1 ] &&
	    grep -qxF "nvmm-run: cannot listen on 127.0.0.1:$port: Address already in use" "$work/err2"; then
		t_ok port_in_use_is_an_error
	else
		t_fail port_in_use_is_an_error "exit $status2: $(cat "$work/err2")"
	fi
	# Ctrl-C stops both: each sits after its HLT, the AP's too.
	timeout -k 10 300 gdb -batch -nx -ex 'set trace-commands on' \
	    -ex "target remote 127.0.0.1:$port" \
	    -ex 'info threads' -ex 'thread 2' \
	    -ex 'printf "vcpu1 rip=%#lx cs=%#x\n", $rip, $cs' \
	    -ex 'thread 1' -ex 'continue' \
	    -ex 'thread 1' -ex 'printf "vcpu0 hlt=%#x\n", *(unsigned char *)($rip - 1)' \
	    -ex 'thread 2' -ex 'printf "vcpu1 hlt=%#x\n", *(unsigned char *)($rip - 1)' \
	    -ex 'kill' >"$work/gdb" 2>&1 &
	gdbpid=$!
	if console_has "ipi: ok" 240; then
		sleep 2
		kill -INT "$(pgrep -P "$gdbpid")"
	fi
	wait "$gdbpid"
	echo "---- gdb session, 2 CPUs:"
	cat "$work/gdb"
	echo "----"
	vm_wait
	# An AP waits for its SIPI in the reset state: CS 0xf000, RIP 0xfff0.
	if grep -q '^\* 1 *Thread 1 (VCPU 0)' "$work/gdb" &&
	    grep -q '^  2 *Thread 2 (VCPU 1)' "$work/gdb" &&
	    has threads "vcpu1 rip=0xfff0 cs=0xf000"; then
		t_ok two_vcpus_two_threads
	else
		t_fail two_vcpus_two_threads
	fi
	if grep -q "received signal SIGINT" "$work/gdb" &&
	    has all_stop "vcpu0 hlt=0xf4" && has all_stop "vcpu1 hlt=0xf4"; then
		t_ok ctrl_c_stops_every_vcpu
	else
		t_fail ctrl_c_stops_every_vcpu
	fi
	if [ "$status" = 0 ] && grep -q "^nvmm-run: killed by gdb" "$work/err"; then
		t_ok kill_ends_nvmm_run
	else
		t_fail kill_ends_nvmm_run "exit $status: $(cat "$work/err")"
	fi
else
	t_fail two_vcpus_two_threads "nvmm-run does not wait: $(cat "$work/err")"
fi

# ---- gdb killed while the guest runs: nvmm-run takes gdb's INT3 out of
# cmd_help and detaches for it; the guest then runs cmd_help as it is.
cmd_help=$(sym cmd_help)
if vm_start --cpus 1; then
	timeout -k 10 300 gdb -batch -nx -ex "target remote 127.0.0.1:$port" \
	    -ex "break *$cmd_help" -ex 'continue' >"$work/gdb" 2>&1 &
	gdbpid=$!
	console_has "ipi: ok" 240
	sleep 2
	kill -KILL "$(pgrep -P "$gdbpid")"
	wait "$gdbpid"
	# It closes gdb's connection once it has detached (vmpid is timeout's).
	pid=$(pgrep -P "$vmpid")
	for _ in $(seq 150); do
		ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'socket:' || break
		sleep 0.2
	done
	printf 'help\n' >&9
	if console_has 'commands: help .*' 60; then
		printf 'poweroff\n' >&9
		vm_wait
		if [ "$status" = 0 ]; then
			t_ok gdb_gone_breakpoints_out_guest_runs
		else
			t_fail gdb_gone_breakpoints_out_guest_runs "exit $status: $(cat "$work/err")"
		fi
	else
		t_fail gdb_gone_breakpoints_out_guest_runs "no answer: $(tail -c 300 "$work/out")"
		kill "$vmpid"
		vm_wait
	fi
else
	t_fail gdb_gone_breakpoints_out_guest_runs "nvmm-run does not wait: $(cat "$work/err")"
fi

# Bad ports: one line, before any machine.
for p in 0 65536 http; do
	timeout 10 "$run" --gdb "$p" </dev/null >"$work/out" 2>"$work/err"
	status=$?
	if [ "$status" = 1 ] && [ "$(wc -l <"$work/err")" = 1 ] &&
	    grep -qxF "nvmm-run: bad port '$p': from 1 to 65535" "$work/err"; then
		t_ok "bad_port_$p"
	else
		t_fail "bad_port_$p" "exit $status: $(cat "$work/err")"
	fi
done

t_done
