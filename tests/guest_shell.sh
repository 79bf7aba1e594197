# Sourced: boots Debian's kernel and the busybox initramfs (vmm/linux.sh)
# on a VMM to its shell, as a user at its serial console would.
#
# guest_shell LIMIT COMMAND...: runs COMMAND (a VMM whose console is its
# stdin and stdout) for at most LIMIT seconds: waits for the shell's
# prompt, types $gs_command (`grep -c ^processor /proc/cpuinfo` if unset),
# then poweroff, and waits for COMMAND to end. When set, the function
# named by $gs_before runs at the prompt first, typing on descriptor 3.
# Sets
#   gs_prompt  seconds from the start to the first prompt (empty: none)
#   gs_answer  the command's answer
#   gs_status  COMMAND's exit status (124: stopped at LIMIT)
#   gs_off     yes when the guest printed that it powered down
# and leaves the console in $gs_out and COMMAND's stderr in $gs_err, until
# the next call; with GS_KEEP=DIR, in DIR/NAME.out and DIR/NAME.err when
# the call is named (gs_name=NAME), and kept.

gs_dir=$(mktemp -d)
gs_out=$gs_dir/out gs_err=$gs_dir/err
gs_pid= gs_name=
guest_shell_clean() {
	[ -n "$gs_pid" ] && kill "$gs_pid" 2>/dev/null
	rm -rf "$gs_dir"
}
trap guest_shell_clean EXIT
# A VMM that ended leaves the console's fifo without a reader: a write to it
# must fail rather than kill the caller.
trap '' PIPE

# now: seconds since the epoch, to the millisecond.
gs_now() { date +%s.%N | cut -c1-14; }

# gs_console: what the guest printed so far, without CRs and without the
# cursor position requests of busybox's line editing.
gs_esc=$(printf '\033')
gs_console() { tr -d '\r' <"$gs_out" | sed "s/$gs_esc\[6n//g"; }

gs_prompts() { [ "$(gs_console | grep -c '^/ # ')" -ge "$1" ]; }
# gs_reply: the line after the one that ends with the command typed (its
# echo, after the prompt unless something was typed before), once a prompt
# follows it.
gs_reply() {
	gs_console | awk -v c="$gs_cmd" '
	    n == 2 && /^\/ # / { print a; exit }
	    n == 1 { a = $0; n = 2; next }
	    substr($0, length($0) - length(c) + 1) == c { n = 1 }'
}
gs_answered() { [ -n "$(gs_reply)" ]; }
gs_ended() { ! kill -0 "$gs_pid" 2>/dev/null; }

# gs_await COMMAND...: polls until COMMAND succeeds; fails when the VMM
# ended first or its time is up.
gs_await() {
	until "$@"; do
		kill -0 "$gs_pid" 2>/dev/null && [ "$(date +%s)" -lt "$gs_deadline" ] ||
		    return 1
		sleep 0.2
	done
}

# gs_tail N: the console's last N lines on one line, for a failure's reason.
gs_tail() { gs_console | tail -n "$1" | tr '\n' '|' | cut -c1-400; }

guest_shell() {
	limit=$1
	shift
	gs_prompt= gs_answer= gs_status= gs_off=
	gs_out=$gs_dir/out gs_err=$gs_dir/err
	if [ -n "${GS_KEEP:-}" ] && [ -n "$gs_name" ] && mkdir -p "$GS_KEEP"; then
		gs_out=$GS_KEEP/$gs_name.out gs_err=$GS_KEEP/$gs_name.err
	fi
	rm -f "$gs_dir/in" "$gs_out" "$gs_err"
	mkfifo "$gs_dir/in"
	t0=$(gs_now)
	gs_deadline=$(( $(date +%s) + limit ))
	timeout -k 5 "$limit" "$@" <"$gs_dir/in" >"$gs_out" 2>"$gs_err" &
	gs_pid=$!
	exec 3>"$gs_dir/in"
	gs_cmd=${gs_command:-grep -c ^processor /proc/cpuinfo}
	if gs_await gs_prompts 1; then
		gs_prompt=$(echo "$(gs_now) $t0" | awk '{ printf "%.1f", $1 - $2 }')
		[ -n "${gs_before:-}" ] && $gs_before
		echo "$gs_cmd" >&3
		if gs_await gs_answered; then
			gs_answer=$(gs_reply)
			echo poweroff >&3
			gs_await gs_ended
		fi
	fi
	exec 3>&-
	wait "$gs_pid"
	gs_status=$?
	gs_pid=
	gs_console | grep -q "reboot: Power down" && gs_off=yes
	return 0
}
