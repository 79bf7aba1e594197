#!/bin/sh
# Runs the test programs named on the command line (binaries or shell
# scripts), each of which ends with "N passed, N failed, N skipped", and
# prints the sum in the same form. Usage: run.sh BUILDDIR PROGRAM...
b=$1
shift
p=0 f=0 s=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	echo "== $t"
	case $t in
	*.sh) B=$b sh "$t" >"$log" 2>&1 ;;
	*) "./$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	cat "$log"
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
	if [ -z "$last" ]; then
		echo "FAIL $t (exit $rc, no summary line)"
		f=$((f + 1))
		continue
	fi
	np=${last%% passed*}
	nf=${last#*passed, }; nf=${nf%% failed*}
	ns=${last#*failed, }; ns=${ns%% skipped}
	p=$((p + np)) f=$((f + nf)) s=$((s + ns))
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		echo "FAIL $t (exit $rc)"
		f=$((f + 1))
	fi
done
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
