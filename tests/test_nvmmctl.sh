#!/bin/sh
# nvmmctl(8): the fields of identify, bad usage, list with machines held
# by other processes (tests/vmhold): two libnvmm machines, a bare KVM VM and
# a process that has both; and stat of a machine whose workload is known.
b=${B:-build}
ctl=$b/nvmmctl
hold=$b/tests/vmhold
. tests/t.sh

tmp=$(mktemp -d)
LIBNVMM_RUNDIR=$tmp/run
export LIBNVMM_RUNDIR
trap 'exec 9>&-; wait; rm -rf "$tmp"' EXIT

# Bad usage: exit status 1, nothing on stdout, one line on stderr.
usage_case() {
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	    grep -q '^nvmmctl: .*usage: nvmmctl identify | list | stat ID$' "$tmp/err"
}
t_check usage_no_command usage_case
t_check usage_unknown_command usage_case frobnicate
t_check usage_extra_argument usage_case identify now
t_check usage_stat_no_id usage_case stat
t_check usage_stat_extra_argument usage_case stat 0 1
t_check usage_stat_bad_id usage_case stat 1x
t_check usage_stat_negative_id usage_case stat -1

# No hypervisor at all: the cause in one line, status 1.
no_hypervisor() {
	t_no_dev "$ctl" "$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	    grep -qxF "nvmmctl: no hypervisor here (no /dev/kvm, or KVM lacks what libnvmm needs): run it through tools/with-kvm" "$tmp/err" ||
	    { echo "  exit $rc: $(cat "$tmp/err")"; false; }
}
if t_can_hide_dev; then
	t_check identify_no_hypervisor no_hypervisor identify
	t_check list_no_hypervisor no_hypervisor list
else
	t_skip identify_no_hypervisor "needs root and unshare to hide /dev"
	t_skip list_no_hypervisor "needs root and unshare to hide /dev"
fi

# A command's run left nothing on stderr and exited 0.
clean_run() { [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ]; }

# identify, with the blanks after each key squeezed: "Key: value".
"$ctl" identify >"$tmp/identify.raw" 2>"$tmp/err"
rc=$?
sed 's/^\([^ ][^:]*:\)  */\1 /' "$tmp/identify.raw" >"$tmp/identify"
has() { grep -qxF "$1" "$tmp/identify" || { echo "  missing: $1"; false; }; }
lacks() { ! grep -q "$1" "$tmp/identify" || { echo "  unexpected: $1"; false; }; }

t_check identify_runs clean_run

identify_versions() {
	has "Hypervisor: Linux KVM (kernel $(uname -r), KVM API 12)" &&
	    grep -qx 'NVMM API: user version 2, kernel version 2 (libnvmm [0-9.]*)' \
	    "$tmp/identify"
}
t_check identify_versions identify_versions

identify_limits() {
	has "Max machines: 128" && has "Max VCPUs: 256 per machine" &&
	    has "Max RAM: 128 GiB per machine" &&
	    has "CPUID conf ops: 32 per VCPU"
}
t_check identify_limits identify_limits

identify_state() {
	has "State size: 1008 bytes" &&
	    has "Comm page: 1072 bytes, layout version 2 (state at 32, event at 1048, stop at 1064)" &&
	    has "State groups: SEGS GPRS CRS DRS MSRS INTR FPU" &&
	    has "XCR0 mask: 0x3 <x87 SSE>" &&
	    grep -qx 'MXCSR mask: 0x[0-9a-f]*' "$tmp/identify" &&
	    has "Machine conf: none" && has "VCPU conf: CPUID TPR"
}
t_check identify_state identify_state

identify_exits() {
	grep -qx 'Exits: IO MEMORY \(RDMSR WRMSR \)\{0,1\}SHUTDOWN INT_READY NMI_READY HALTED TPR_CHANGED STOPPED INVALID' \
	    "$tmp/identify" &&
	    has "  CPUID exits: ENOTSUP (KVM answers CPUID in the kernel; masks work)" &&
	    has "  MONITOR/MWAIT exits: never (CPUID hides MONITOR; KVM handles both)" &&
	    has "  TPR_CHANGED exits: only when the guest lowers its TPR" &&
	    has "  gpa_map without PROT_READ: ENOTSUP (KVM guest memory is always readable)"
}
t_check identify_exits identify_exits

identify_host() {
	vendor=$(sed -n 's/^vendor_id\t*: //p' /proc/cpuinfo | head -n 1)
	grep -q "^CPU: $vendor, .* (family 0x[0-9a-f]*, model 0x[0-9a-f]*, stepping [0-9]*)$" \
	    "$tmp/identify" || { echo "  CPU line"; return 1; }
	if [ -e /sys/module/kvm_pvm ]; then
		has "Virtualization: none: PVM (kvm_pvm)" &&
		    has "  OUT and MMIO-write exits: reported after KVM's instruction emulator executed them" ||
		    return 1
	elif grep -qw vmx /proc/cpuinfo; then
		has "Virtualization: VT-x" || return 1
	elif grep -qw svm /proc/cpuinfo; then
		has "Virtualization: AMD-V" || return 1
	fi
	if grep -qw hypervisor /proc/cpuinfo; then
		grep -q '^Nested: yes, this host runs under a hypervisor (.*)$' "$tmp/identify"
	else
		has "Nested: no, bare metal"
	fi
}
t_check identify_host identify_host

t_check identify_guest_run has "Guest run: ok"
t_check identify_registry has "Registry: $LIBNVMM_RUNDIR"

# list: holders keep their machines until fd 9, the only writer of the
# fifo they read, is closed.
mkfifo "$tmp/in"
exec 9<>"$tmp/in"
n=0
start() {
	n=$((n + 1))
	"$hold" "$@" <"$tmp/in" >"$tmp/hold$n" 2>&1 9>&- &
	eval "pid$n=$!"
	for i in $(seq 100); do
		grep -q ready "$tmp/hold$n" && return
		sleep 0.1
	done
	echo "  vmhold $*: $(cat "$tmp/hold$n")"
}
start -m 2:4194304		# machine 0
start -m 1:0x200000		# machine 1
start -k			# a bare KVM VM
start -m 3:65536 -k		# machine 2, and a bare KVM VM
start -r 5			# machine 3: 5 OUT exits and a HLT

"$ctl" list >"$tmp/list.raw" 2>"$tmp/err"
rc=$?
sed 's/  */ /g' "$tmp/list.raw" >"$tmp/list"
t_check list_runs clean_run
t_check list_header grep -qx "MACHINE PID COMMAND VCPUS RAM CREATED" "$tmp/list"

# machine ID PID VCPUS RAM: its one line, created within the last minute.
machine() {
	line=$(grep "^$1 $2 ") || { echo "  no machine $1 of pid $2"; return 1; }
	case $line in
	"$1 $2 vmhold $3 $4 "*) ;;
	*) echo "  machine $1: $line"; return 1 ;;
	esac
	t=$(date -d "${line#"$1 $2 vmhold $3 $4 "}" +%s) || return 1
	[ $(($(date +%s) - t)) -lt 60 ]
}
# others PID N: the process has N other KVM VMs.
others() {
	[ "$(grep -c "^- $1 vmhold - - other KVM VM$")" -eq "$2" ] ||
	    { echo "  pid $1: not $2 other KVM VMs"; false; }
}
t_check list_machine_0 machine 0 "$pid1" 2 "4 MiB" <"$tmp/list"
t_check list_machine_1 machine 1 "$pid2" 1 "2 MiB" <"$tmp/list"
t_check list_machine_2 machine 2 "$pid4" 3 "64 KiB" <"$tmp/list"
t_check list_no_other_vm_of_machine_owner others "$pid1" 0 <"$tmp/list"
t_check list_other_kvm_vm others "$pid3" 1 <"$tmp/list"
t_check list_other_kvm_vm_beside_machine others "$pid4" 1 <"$tmp/list"

# stat: each VCPU's runs and times, then its non-zero exit counts.
stat_of() {
	"$ctl" stat "$1" >"$tmp/stat.raw" 2>"$tmp/err"
	rc=$?
	sed 's/  */ /g' "$tmp/stat.raw" >"$tmp/stat"
	clean_run || { echo "  exit $rc: $(cat "$tmp/err")"; return 1; }
}
stat_ran() {
	stat_of 3 &&
	    grep -qx 'VCPU 0: 6 runs, [0-9]*\.[0-9]\{6\} s in the guest, [0-9]*\.[0-9]\{6\} s in the VMM' \
	    "$tmp/stat" &&
	    [ "$(sed 1d "$tmp/stat")" = "$(printf ' io 5\n halted 1')" ] ||
	    { echo "  $(cat "$tmp/stat.raw")"; false; }
}
t_check stat_known_workload stat_ran
stat_idle() {
	stat_of 0 &&
	    [ "$(cat "$tmp/stat")" = "$(printf '%s\n' \
	    'VCPU 0: 0 runs, 0.000000 s in the guest, 0.000000 s in the VMM' \
	    'VCPU 1: 0 runs, 0.000000 s in the guest, 0.000000 s in the VMM')" ] ||
	    { echo "  $(cat "$tmp/stat.raw")"; false; }
}
t_check stat_vcpus_never_run stat_idle
# A machine id nobody holds, or out of range: one line, status 1.
stat_missing() {
	"$ctl" stat "$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	    grep -qxF "nvmmctl: machine $1: $2" "$tmp/err" ||
	    { echo "  exit $rc: $(cat "$tmp/err")"; false; }
}
t_check stat_no_such_machine stat_missing 9 "No such file or directory"
t_check stat_machine_id_too_big stat_missing 128 "Invalid argument"

# Another user sees none of root's machines: either NVMM is closed to it
# (one line on stderr) or the list lacks them.
list_non_root() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" list \
	    >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		[ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ]
	else
		! grep -qE " ($pid1|$pid2|$pid3|$pid4|$pid5) " "$tmp/out"
	fi
}
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	t_check list_non_root list_non_root
else
	t_skip list_non_root "needs root and setpriv"
fi

# The holders destroy their machines and exit when their input closes.
exec 9>&-
wait
"$ctl" list | sed 's/  */ /g' >"$tmp/list"
t_check list_after_exit eval "! grep -qE ' ($pid1|$pid2|$pid3|$pid4|$pid5) ' '$tmp/list'"

t_done
