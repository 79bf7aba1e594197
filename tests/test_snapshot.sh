#!/bin/sh
# nvmm-run's snapshots (--snapshot, --restore): the built-in guest saved
# on SIGUSR1 and on Ctrl-A s, ended, and restored in a new process, where
# it answers at its prompt and its clock goes on from the snapshot's, not
# from the downtime's end; an incremental snapshot restored page for page;
# bad files refused with one line; then Linux to its shell, saved,
# killed, restored, answering a command. Sizes and times are reported.
#   test_snapshot.sh [BUILDDIR]	(default $B, else build)
b=${1:-${B:-build}}
run=$b/nvmm-run
cache=${LINUX_CACHE:-${LIBNVMM_CACHE:-$HOME/.cache/libnvmm}/linux}
. tests/t.sh
dir=$(mktemp -d)
vm_pid=
trap '[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null; rm -rf "$dir"' EXIT
DOWNTIME=10	# seconds between the end of one process and the restore

# ---- Driving nvmm-run through its console ------------------------------

# start NAME COMMAND...: COMMAND (nvmm-run itself, or a script that execs
# it: signals go to nvmm-run) with its console a FIFO (fd 3) and
# $dir/NAME.out, its stderr $dir/NAME.err. Every wait on it ends within
# 240 s, and finish kills it then.
start() {
	vm=$1
	shift
	rm -f "$dir/in"
	mkfifo "$dir/in"
	"$@" <"$dir/in" >"$dir/$vm.out" 2>"$dir/$vm.err" &
	vm_pid=$!
	exec 3>"$dir/in"
	deadline=$(( $(date +%s) + 240 ))
}

# console: what the guest printed, without CRs and busybox's ESC[6n.
esc=$(printf '\033')
console() { tr -d '\r' <"$dir/$vm.out" | sed "s/$esc\[6n//g"; }

# await COMMAND...: polls until COMMAND succeeds; fails when nvmm-run
# ended first or its time is up.
await() {
	until "$@"; do
		kill -0 "$vm_pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ] ||
		    return 1
		sleep 0.2
	done
}

# lines N PATTERN: the console has at least N lines matching PATTERN.
lines() { [ "$(console | grep -c -- "$2")" -ge "$1" ]; }
# said PATTERN: nvmm-run's stderr has a line matching it.
said() { grep -q -- "$1" "$dir/$vm.err"; }
# idle: the last thing printed is the prompt: the guest waits for a key.
idle() { [ "$(console | tail -n 1)" = "> " ]; }
shell_idle() { [ "$(console | tail -n 1)" = "/ # " ]; }

# finish: closes the console and waits for nvmm-run, killing it when its
# time is up; its status in $status.
ended() { ! kill -0 "$vm_pid" 2>/dev/null; }
finish() {
	exec 3>&-
	await ended || kill -9 "$vm_pid" 2>/dev/null
	wait "$vm_pid"
	status=$?
	vm_pid=
}

# stop: ends nvmm-run with SIGTERM, as a user would kill it.
stop() {
	kill "$vm_pid" 2>/dev/null
	finish
}

# uptime N: the guest's Nth answer to uptime, in ms.
uptime() { console | sed -n 's/^uptime: \([0-9]*\) ms$/\1/p' | sed -n "${1}p"; }

# rtc_s N: the guest's Nth "rtc:" line, in seconds since the epoch.
rtc_s() { date -u -d "$(console | sed -n 's/^rtc: //p' | sed -n "${1}p")" +%s; }

# report N: nvmm-run's line for snapshot N, after "FILE: ".
report() { sed -n "s|^nvmm-run: snapshot $1 to [^:]*: ||p" "$dir/$vm.err" | tail -n 1; }

# ---- The built-in guest: SIGUSR1, full and incremental --------------------

snap=$dir/snap
start orig "$run" --cpus 2 --mem 64M --snapshot "$snap"
if await lines 1 '^> ' && await idle && kill -USR1 "$vm_pid" &&
    await said "^nvmm-run: snapshot 1 to $snap: full"; then
	full=$(report 1)
	t_ok builtin_snapshot_on_sigusr1
else
	t_fail builtin_snapshot_on_sigusr1 "$(tail -n 2 "$dir/orig.err" | tr '\n' '|')"
fi
[ ! -e "$snap.tmp" ] || t_fail builtin_snapshot_no_temp_file_left "$snap.tmp"
# Commands write guest RAM; the next snapshot has only what changed. Then
# the file moves away: the one after is full again.
if echo hello >&3 && await lines 1 '^unknown command: hello$' &&
    echo rtc >&3 && await lines 2 '^rtc: ' &&
    echo uptime >&3 && await lines 1 '^uptime: ' && await idle &&
    sleep 1 && kill -USR1 "$vm_pid" &&
    await said "^nvmm-run: snapshot 2 to $snap: incremental" &&
    mv "$snap" "$snap.inc" && kill -USR1 "$vm_pid" &&
    await said "^nvmm-run: snapshot 1 to $snap: full, [0-9]* of 16384 pages, file [0-9]* KiB, [0-9]* ms$"; then
	inc=$(report 2)
	u1=$(uptime 1) r1=$(rtc_s 2)
	t_ok builtin_incremental_snapshot_on_sigusr1
else
	t_fail builtin_incremental_snapshot_on_sigusr1 "$(tail -n 2 "$dir/orig.err" | tr '\n' '|')"
fi
stop
[ "$status" = 1 ] && said "^nvmm-run: Terminated$" ||
    t_fail builtin_ends_on_sigterm "exit $status"

# "N of M pages, file K KiB, T ms" -> N, K, T
pages() { echo "$1" | sed 's/^[a-z]*, \([0-9]*\) of.*/\1/'; }
kib() { echo "$1" | sed 's/.*file \([0-9]*\) KiB.*/\1/'; }
msec() { echo "$1" | sed 's/.* \([0-9]*\) ms$/\1/'; }
if [ -n "$full" ] && [ -n "$inc" ] && [ "$(pages "$inc")" -gt 0 ] &&
    [ "$(pages "$inc")" -lt "$(pages "$full")" ] &&
    [ $(( $(kib "$inc") - $(kib "$full") )) -lt "$(kib "$full")" ] &&
    [ "$(stat -c %s "$snap.inc")" -ge $(( $(kib "$inc") * 1024 )) ]; then
	t_ok builtin_incremental_is_smaller
else
	t_fail builtin_incremental_is_smaller "full: $full; incremental: $inc"
fi
echo "   (64 MiB, 2 CPUs: $full; $inc)"

sleep "$DOWNTIME"

# Restored from base + delta: a full snapshot taken at once, before the
# guest runs, holds the very RAM of the full one taken after the delta.
start restored "$run" --restore "$snap.inc" --snapshot "$dir/again"
if await said "^nvmm-run: restored $snap.inc in [0-9]* ms$" &&
    kill -USR1 "$vm_pid" && await said "^nvmm-run: snapshot 1 to $dir/again: full"; then
	# header 16, CONFIG 24 + 16, then the RAM record: 24 + its length
	ram_len() { od -An -t u8 -j 64 -N 8 "$1" | tr -d ' '; }
	n=$(( 80 + ($(ram_len "$snap") + 7) / 8 * 8 ))
	if [ "$(ram_len "$snap")" = "$(ram_len "$dir/again")" ] &&
	    cmp -s -n "$n" "$snap" "$dir/again"; then
		t_ok builtin_incremental_restore_is_exact
	else
		t_fail builtin_incremental_restore_is_exact "RAM differs: $(cmp -n "$n" "$snap" "$dir/again" 2>&1)"
	fi
else
	t_fail builtin_incremental_restore_is_exact "$(tail -n 2 "$dir/restored.err" | tr '\n' '|')"
fi
restore_ms=$(sed -n 's/^nvmm-run: restored .* in \([0-9]*\) ms$/\1/p' "$dir/restored.err")
# The guest answers; its TSC uptime goes on from the snapshot's.
if echo uptime >&3 && await lines 1 '^uptime: ' && echo rtc >&3 &&
    await lines 1 '^rtc: ' && echo hello >&3 &&
    await lines 1 '^unknown command: hello$' && echo uptime >&3 &&
    await lines 2 '^uptime: ' && echo poweroff >&3 && await lines 1 '^bye$'; then
	finish
	u2=$(uptime 1) u3=$(uptime 2) r2=$(rtc_s 1)
	if [ "$status" = 0 ] && said "guest powered off"; then
		t_ok builtin_restored_guest_answers
	else
		t_fail builtin_restored_guest_answers "exit $status"
	fi
	# Guest time from before the snapshot to after the restore: the
	# commands in between, never the downtime.
	if [ -n "$u1" ] && [ "$u2" -gt "$u1" ] &&
	    [ $(( u2 - u1 )) -lt $(( DOWNTIME * 1000 )) ] && [ "$u3" -gt "$u2" ]; then
		t_ok builtin_clock_continues_from_snapshot
	else
		t_fail builtin_clock_continues_from_snapshot "uptime $u1 ms before, $u2 and $u3 ms after ${DOWNTIME}s down"
	fi
	echo "   (uptime ${u1} ms before the snapshot, ${u2} ms after ${DOWNTIME} s down and the restore in ${restore_ms} ms)"
	# The CMOS clock, a device's: on from the snapshot's device time.
	if [ -n "$r1" ] && [ -n "$r2" ] && [ "$r2" -ge "$r1" ] &&
	    [ $(( r2 - r1 )) -lt "$DOWNTIME" ]; then
		t_ok builtin_device_clock_continues_from_snapshot
	else
		t_fail builtin_device_clock_continues_from_snapshot "rtc $r1 before, $r2 after ${DOWNTIME}s down"
	fi
else
	t_fail builtin_restored_guest_answers "$(console | tail -n 3 | tr '\n' '|')"
	stop
fi

# ---- Ctrl-A s on a terminal ------------------------------------------------

if command -v script >/dev/null; then
	vm=tty
	{ sleep 4; printf 'uptime\r'; sleep 3; printf '\001s'; sleep 3;
	    printf '\001x'; } |
	    timeout 60 script -qefc "$run --cpus 1 --snapshot $dir/tty.snap" \
	    /dev/null >"$dir/tty.out" 2>&1
	status=$?
	if [ "$status" = 0 ] && console | grep -q "^nvmm-run: snapshot 1 to $dir/tty.snap: full" &&
	    [ -s "$dir/tty.snap" ]; then
		t_ok builtin_snapshot_on_ctrl_a_s
	else
		t_fail builtin_snapshot_on_ctrl_a_s "exit $status: $(console | tail -n 3 | tr '\n' '|')"
	fi
	start tty2 "$run" --restore "$dir/tty.snap"
	if echo help >&3 && await lines 1 '^commands: help poweroff reboot triple uptime rtc$' &&
	    echo poweroff >&3 && finish && [ "$status" = 0 ]; then
		t_ok builtin_ctrl_a_s_snapshot_restores
	else
		t_fail builtin_ctrl_a_s_snapshot_restores "exit $status: $(console | tail -n 3 | tr '\n' '|')"
		stop
	fi
else
	t_fail builtin_snapshot_on_ctrl_a_s "script(1) is missing"
fi

# ---- Sizes and times at 256 MiB ------------------------------------------

start big "$run" --cpus 1 --mem 256M --snapshot "$dir/big"
if await lines 1 '^> ' && kill -USR1 "$vm_pid" &&
    await said "^nvmm-run: snapshot 1 to $dir/big: full"; then
	big=$(report 1)
	stop
	start big2 "$run" --restore "$dir/big"
	if await said "^nvmm-run: restored $dir/big in [0-9]* ms$" &&
	    echo help >&3 && await lines 1 '^commands: ' && echo poweroff >&3 &&
	    finish && [ "$status" = 0 ]; then
		t_ok builtin_256m_snapshot_restores
	else
		t_fail builtin_256m_snapshot_restores "exit $status"
		stop
	fi
	echo "   (256 MiB, 1 CPU: $big; restored in $(sed -n 's/^nvmm-run: restored .* in \([0-9]*\) ms$/\1/p' "$dir/big2.err") ms)"
else
	t_fail builtin_256m_snapshot_restores "$(tail -n 2 "$dir/big.err" | tr '\n' '|')"
	stop
fi

# ---- Bad files: one line, status 1 ------------------------------------------

# refused NAME FILE WHY: --restore FILE fails with "nvmm-run: FILE: WHY".
refused() {
	timeout 20 "$run" --restore "$2" </dev/null >"$dir/bad.out" 2>"$dir/bad.err"
	st=$?
	if [ "$st" = 1 ] && [ "$(wc -l <"$dir/bad.err")" = 1 ] &&
	    grep -qxF -- "nvmm-run: $2: $3" "$dir/bad.err"; then
		t_ok "$1"
	else
		t_fail "$1" "exit $st: $(cat "$dir/bad.err")"
	fi
}

bad=$dir/bad.snap
refused restore_missing_file "$dir/none" "cannot open: No such file or directory"
head -c 4096 /dev/urandom >"$bad"
refused restore_wrong_magic "$bad" "not an nvmm-run snapshot (wrong magic)"
cp "$snap" "$bad" && printf '\002' | dd of="$bad" bs=1 seek=8 conv=notrunc 2>/dev/null
refused restore_wrong_version "$bad" "format version 2, this nvmm-run reads version 1"
head -c 20000 "$snap" >"$bad"
refused restore_truncated "$bad" "truncated in the RAM record at offset 56"
head -c 12 "$snap" >"$bad"
refused restore_truncated_header "$bad" "truncated in the file header"
cp "$snap" "$bad" && printf 'X' | dd of="$bad" bs=1 seek=9000 conv=notrunc 2>/dev/null
refused restore_checksum_mismatch "$bad" "checksum mismatch in the RAM record at offset 56"
timeout 20 "$run" --restore "$snap" --mem 64M </dev/null >"$dir/bad.out" 2>"$dir/bad.err"
if [ $? = 1 ] && grep -qxF "nvmm-run: --restore takes the machine from the file: no --kernel, --mem or --cpus" "$dir/bad.err"; then
	t_ok restore_with_machine_options
else
	t_fail restore_with_machine_options "$(cat "$dir/bad.err")"
fi
# A delta torn at the end (the process died writing it): the one before.
head -c $(( $(stat -c %s "$snap.inc") - 100 )) "$snap.inc" >"$bad"
start torn "$run" --restore "$bad"
if await said "^nvmm-run: $bad: truncated in the [a-zA-Z]* record at offset [0-9]*, after snapshot 1: restoring that one$" &&
    echo help >&3 && await lines 1 '^commands: ' && echo poweroff >&3 &&
    finish && [ "$status" = 0 ]; then
	t_ok restore_torn_delta_takes_the_one_before
else
	t_fail restore_torn_delta_takes_the_one_before "$(tail -n 2 "$dir/torn.err" | tr '\n' '|')"
	stop
fi

# ---- Linux -------------------------------------------------------------------

if [ -e /sys/module/kvm_pvm ]; then
	t_skip linux_snapshot "Linux gets no further than early setup where KVM emulates guest code"
elif ! sh vmm/linux.sh "$cache" >/dev/null; then
	t_fail linux_snapshot "could not get Debian's kernel"
else
	start linux sh vmm/run-linux.sh "$run" "console=ttyS0 rdinit=/init quiet panic=-1" \
	    --kernel "$cache/vmlinuz" --initrd "$cache/initramfs.cpio" \
	    --mem 256M --cpus 1 --snapshot "$dir/linux"
	deadline=$(( $(date +%s) + 250 ))
	if await lines 1 '^/ # ' && await shell_idle && sleep 2 &&
	    kill -USR1 "$vm_pid" && await said "^nvmm-run: snapshot 1 to $dir/linux: full"; then
		lsnap=$(report 1)
		t_ok linux_snapshot
	else
		t_fail linux_snapshot "$(console | tail -n 3 | tr '\n' '|') $(tail -n 2 "$dir/linux.err" | tr '\n' '|')"
	fi
	# A file written in the guest, then an incremental snapshot.
	if [ -n "${lsnap:-}" ] && echo 'echo saved >/x; echo written-$((1 + 1))' >&3 &&
	    await lines 1 '^written-2$' && await shell_idle && sleep 2 &&
	    kill -USR1 "$vm_pid" && await said "^nvmm-run: snapshot 2 to $dir/linux: incremental"; then
		linc=$(report 2)
		t_ok linux_incremental_snapshot
	else
		t_fail linux_incremental_snapshot "$(console | tail -n 3 | tr '\n' '|') $(tail -n 2 "$dir/linux.err" | tr '\n' '|')"
	fi
	kill -9 "$vm_pid" 2>/dev/null
	finish
	if [ -n "${linc:-}" ]; then
		start linux2 "$run" --restore "$dir/linux"
		if echo 'echo $((6 * 7)) $(cat /x)' >&3 &&
		    await lines 1 '^42 saved$' && echo poweroff >&3 && finish &&
		    [ "$status" = 0 ] && console | grep -q "reboot: Power down"; then
			t_ok linux_restored_shell_answers
		else
			t_fail linux_restored_shell_answers "exit $status: $(console | tail -n 3 | tr '\n' '|')"
			stop
		fi
		echo "   (Linux, 256 MiB, 1 CPU: $lsnap; $linc; restored in $(sed -n 's/^nvmm-run: restored .* in \([0-9]*\) ms$/\1/p' "$dir/linux2.err") ms)"
	fi
fi

t_done
