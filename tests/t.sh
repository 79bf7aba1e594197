# The shell tests' harness, after tests/t.c: source it, report each test
# with t_ok, t_fail or t_skip, and end with t_done, which prints
# "N passed, N failed, N skipped" and returns non-zero if any failed.
t_passed=0 t_failed=0 t_skipped=0

t_ok() { echo "ok   $1"; t_passed=$((t_passed + 1)); }
t_fail() { echo "FAIL $1${2:+ ($2)}"; t_failed=$((t_failed + 1)); }
t_skip() { echo "skip $1${2:+ ($2)}"; t_skipped=$((t_skipped + 1)); }

# t_check NAME COMMAND...: ok when COMMAND succeeds.
t_check() {
	t_name=$1
	shift
	if "$@"; then t_ok "$t_name"; else t_fail "$t_name"; fi
}

t_done() {
	echo "$t_passed passed, $t_failed failed, $t_skipped skipped"
	[ "$t_failed" -eq 0 ]
}

# t_no_dev COMMAND...: runs COMMAND where /dev is an empty folder (in a
# mount namespace of its own: needs root), as on a host with no hypervisor.
t_no_dev() { unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh "$@"; }
t_can_hide_dev() { [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; }
