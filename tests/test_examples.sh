#!/bin/sh
# The example VMM of examples/, built in the tree: its guest's greeting,
# exactly, on stdout, and nothing else.
b=${B:-build}
. tests/t.sh

hello() {
	printf 'Hello from the guest\n' >"$tmp/want"
	LIBNVMM_RUNDIR=$tmp "$b/examples/hello" >"$tmp/out" 2>"$tmp/err" &&
	    cmp -s "$tmp/want" "$tmp/out" && [ ! -s "$tmp/err" ] ||
	    { echo "  got '$(cat "$tmp/out")', stderr '$(cat "$tmp/err")'"; false; }
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t_check example_hello hello
t_done
