#!/bin/sh
# Runs the test programs named on the command line (binaries or shell
# scripts), each of which ends with "N passed, N failed, N skipped", and
# prints the sum in the same form.
#   run.sh BUILDDIR PROGRAM... [--kvm PROGRAM...]
# The programs after --kvm need KVM: they run together through
# tools/with-kvm (here where /dev/kvm works, else in the emulated AMD-V
# host), as one more run.sh whose sum is added in.
# Each program has a wall-clock limit of T_LIMIT seconds (600); the KVM
# programs together, WITH_KVM_TIMEOUT (2400).
b=$1
shift
limit=${T_LIMIT:-600}
p=0 f=0 s=0
log=$(mktemp)
trap 'rm -f "$log" "$log.rc"' EXIT

# add NAME RC: adds the summary line in $log to the sum; a program that
# ran out of time, ended without a summary, or failed with none counted
# is one more failure.
add() {
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
	nf=0
	if [ -n "$last" ]; then
		np=${last%% passed*}
		nf=${last#*passed, }; nf=${nf%% failed*}
		ns=${last#*failed, }; ns=${ns%% skipped}
		p=$((p + np)) f=$((f + nf)) s=$((s + ns))
	fi
	if [ "$2" -eq 124 ]; then
		echo "FAIL $1 (wall-clock limit reached)"
	elif [ -z "$last" ]; then
		echo "FAIL $1 (exit $2, no summary line)"
	elif [ "$2" -ne 0 ] && [ "$nf" -eq 0 ]; then
		echo "FAIL $1 (exit $2)"
	else
		return
	fi
	f=$((f + 1))
}

while [ $# -gt 0 ]; do
	t=$1
	shift
	if [ "$t" = --kvm ]; then
		[ $# -gt 0 ] || continue
		# Streamed, since it runs long; the batch's own sum ends it.
		echo "== KVM tests: $*"
		{ WITH_KVM_TIMEOUT=${WITH_KVM_TIMEOUT:-2400} tools/with-kvm \
		    sh tests/run.sh "$b" "$@" 2>&1; echo $? >"$log.rc"; } | tee "$log"
		add "the KVM tests" "$(cat "$log.rc")"
		break
	fi
	echo "== $t"
	case $t in
	*.sh) B=$b timeout -k 10 "$limit" sh "$t" >"$log" 2>&1 ;;
	*) timeout -k 10 "$limit" "./$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	cat "$log"
	add "$t" "$rc"
done
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
