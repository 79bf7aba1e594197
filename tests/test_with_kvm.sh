#!/bin/sh
# tools/with-kvm: the command's streams, status, folder and environment in
# the emulated AMD-V host (forced with WITH_KVM_EMULATE, so that it is
# tested on machines with a /dev/kvm too), KVM in it, its time limit, a
# clean stop on SIGTERM, a terminal passed through (nvmm-run's console,
# Ctrl-C, the command's last output), and the choice between /dev/kvm and
# the emulated host.
b=${B:-build}
. tests/t.sh

wk=$PWD/tools/with-kvm
tmp=$(mktemp -d)
# Scratch inside the tree, which the emulated host may write.
scratch=$(mktemp -d "$PWD/$b/with-kvm-test.XXXXXX")
trap 'rm -rf "$tmp" "$scratch"' EXIT
export WITH_KVM_EMULATE=1
notice="with-kvm: no usable /dev/kvm here: running in an emulated AMD-V host (QEMU TCG), slower"

# Our QEMU processes: their job folders are in $tmp.
qemus() { grep -l "$tmp/with-kv[m]" /proc/[0-9]*/cmdline 2>/dev/null | wc -l; }

streams() {
	TMPDIR=$tmp "$wk" sh -c 'echo out; echo err >&2; exit 7' >"$tmp/out" 2>"$tmp/err"
	rc=$?
	printf 'out\n' >"$tmp/want"
	[ "$rc" -eq 7 ] && cmp -s "$tmp/out" "$tmp/want" && grep -qxF err "$tmp/err" &&
	    grep -qxF "$notice" "$tmp/err" ||
	    { echo "  exit $rc, out '$(cat "$tmp/out")', err '$(cat "$tmp/err")'"; false; }
}
t_check status_stdout_stderr streams

folder_and_environment() {
	(cd tests && TMPDIR=$tmp WITH_KVM_TEST_VAR="a b
c" "$wk" sh -c 'pwd; printf "%s\n" "$WITH_KVM_TEST_VAR"; echo "$WITH_KVM_HOST"
	    echo made >"$1/made"' sh "$scratch") >"$tmp/out" 2>/dev/null
	printf '%s\na b\nc\nemulated\n' "$PWD/tests" >"$tmp/want"
	cmp -s "$tmp/out" "$tmp/want" && [ "$(cat "$scratch/made")" = made ] ||
	    { echo "  got: $(cat "$tmp/out")"; false; }
}
t_check same_folder_environment_and_writable_tree folder_and_environment

kvm_inside() {
	TMPDIR=$tmp "$wk" "$b/nvmmctl" identify >"$tmp/out" 2>/dev/null &&
	    grep -q '^Guest run: *ok$' "$tmp/out" &&
	    grep -q '^Virtualization: *AMD-V' "$tmp/out" ||
	    { cat "$tmp/out"; false; }
}
t_check amd_v_kvm_inside kvm_inside

time_limit() {
	WITH_KVM_TIMEOUT=20 TMPDIR=$tmp "$wk" sleep 1000 >/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 124 ] && [ "$(qemus)" -eq 0 ] && grep -qxF \
	    "with-kvm: wall-clock limit of 20 s reached (WITH_KVM_TIMEOUT): the emulated host was stopped" \
	    "$tmp/err" || { echo "  exit $rc, $(qemus) QEMU left: $(cat "$tmp/err")"; false; }
}
t_check wall_clock_limit time_limit

# wait_for FILE TEXT: until FILE holds TEXT (60 s at most).
wait_for() {
	for _ in $(seq 600); do
		grep -qF "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "  never saw '$2' in: $(tail -c 300 "$1")"
	return 1
}

sigterm() {
	TMPDIR=$tmp "$wk" sh -c 'echo started; exec sleep 1000' >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	wait_for "$tmp/out" started || { kill "$pid"; return 1; }
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 143 ] && [ "$(qemus)" -eq 0 ] &&
	    grep -qxF "with-kvm: stopped by SIGTERM" "$tmp/err" ||
	    { echo "  exit $rc, $(qemus) QEMU left: $(cat "$tmp/err")"; false; }
}
t_check sigterm_stops_the_emulated_host sigterm

# on_terminal TYPIST COMMAND...: runs COMMAND on a pty (script(1)), whose
# output goes to $tmp/tty; TYPIST waits for what it expects there and types
# keys on descriptor 8.
on_terminal() {
	rm -f "$tmp/keys" "$tmp/tty"
	mkfifo "$tmp/keys"
	keys=$1
	shift
	TMPDIR=$tmp timeout 120 script -qefc "$*" /dev/null <"$tmp/keys" >"$tmp/tty" 2>&1 &
	pid=$!
	exec 8>"$tmp/keys"
	$keys
	exec 8>&-
	wait "$pid"
}

console_keys() {
	wait_for "$tmp/tty" "ipi: ok" && sleep 1 && printf 'help\r' >&8 &&
	    wait_for "$tmp/tty" "commands: help" && printf '\001x' >&8
}
terminal() {
	on_terminal console_keys "$wk" "$b/nvmm-run" --cpus 1
	rc=$?
	[ "$rc" -eq 0 ] && grep -q "nvmm-run: quit" "$tmp/tty" ||
	    { echo "  exit $rc: $(tail -n 3 "$tmp/tty")"; false; }
}
t_check terminal_nvmm_run_console_and_ctrl_a_x terminal

ctrl_c_keys() { wait_for "$tmp/tty" ready && printf '\003' >&8; }
ctrl_c() {
	on_terminal ctrl_c_keys "$wk" sh -c "'trap \"echo got INT; exit 3\" INT; echo ready; while :; do sleep 1; done'"
	rc=$?
	[ "$rc" -eq 3 ] && grep -q "got INT" "$tmp/tty" ||
	    { echo "  exit $rc: $(tail -n 3 "$tmp/tty")"; false; }
}
t_check terminal_ctrl_c_reaches_the_command ctrl_c

# A command that writes much and ends at once: its last line still arrives
# (the UART's unsent bytes are not thrown away when its session ends).
no_keys() { :; }
last_words() {
	on_terminal no_keys "$wk" sh -c "'seq 3000; echo the end; exit 5'"
	rc=$?
	[ "$rc" -eq 5 ] && tr -d '\r' <"$tmp/tty" | grep -qx "the end" ||
	    { echo "  exit $rc: $(tail -n 3 "$tmp/tty")"; false; }
}
t_check terminal_output_drained_at_exit last_words

# Where /dev/kvm is usable (here a stand-in, in a mount namespace), the
# command runs directly; WITH_KVM_EMULATE still takes the emulated host.
choice() {
	unshare -m sh -c '
	    mount -t tmpfs none /dev && touch /dev/kvm /dev/null && chmod 666 /dev/null &&
	    WITH_KVM_EMULATE= "$1" sh -c "echo direct:\$WITH_KVM_HOST" &&
	    WITH_KVM_EMULATE=1 "$1" sh -c "echo emulated:\$WITH_KVM_HOST" 2>"$2"' \
	    sh "$wk" "$tmp/err" >"$tmp/out" 2>&1
	printf 'direct:\nemulated:emulated\n' >"$tmp/want"
	cmp -s "$tmp/out" "$tmp/want" &&
	    grep -qxF "with-kvm: (WITH_KVM_EMULATE is set: /dev/kvm was not used)" "$tmp/err" ||
	    { echo "  got: $(cat "$tmp/out") $(cat "$tmp/err")"; false; }
}
if t_can_hide_dev; then
	t_check dev_kvm_or_emulated_host choice
else
	t_skip dev_kvm_or_emulated_host "needs root and unshare"
fi
t_done
