/*
 * nvmmctl(8): what NVMM offers on this host (identify), the virtual
 * machines running on it (list), and a machine's statistics (stat).
 */
#include <nvmm.h>
#include <nvmm_ext.h>

#include <cpuid.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define USAGE	"usage: nvmmctl identify | list | stat ID"

struct name {
	uint64_t bit;
	const char *name;
};

static const struct name state_groups[] = {
	{ NVMM_X64_STATE_SEGS, "SEGS" }, { NVMM_X64_STATE_GPRS, "GPRS" },
	{ NVMM_X64_STATE_CRS, "CRS" }, { NVMM_X64_STATE_DRS, "DRS" },
	{ NVMM_X64_STATE_MSRS, "MSRS" }, { NVMM_X64_STATE_INTR, "INTR" },
	{ NVMM_X64_STATE_FPU, "FPU" },
};

static const struct name vcpu_confs[] = {
	{ NVMM_CAP_ARCH_VCPU_CONF_CPUID, "CPUID" },
	{ NVMM_CAP_ARCH_VCPU_CONF_TPR, "TPR" },
};

static const struct name xcr0_bits[] = {
	{ 1 << 0, "x87" }, { 1 << 1, "SSE" }, { 1 << 2, "AVX" },
	{ 1 << 3, "BNDREGS" }, { 1 << 4, "BNDCSR" }, { 1 << 5, "opmask" },
	{ 1 << 6, "ZMM_Hi256" }, { 1 << 7, "Hi16_ZMM" }, { 1 << 9, "PKRU" },
};

/* "Key:" in a column, then the value. */
static void __attribute__((format(printf, 2, 3)))
field(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%*s", key, (int)(20 - strlen(key)), "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
names(char *buf, size_t len, uint64_t bits, const struct name *tab, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		if (bits & tab[i].bit)
			off += snprintf(buf + off, len - off, "%s%s",
			    off ? " " : "", tab[i].name);
}

#define NAMES(buf, bits, tab) \
	names(buf, sizeof(buf), bits, tab, sizeof(tab) / sizeof(tab[0]))

/* Sizes as the largest binary unit that divides them exactly. */
static const char *
size_str(char buf[32], uint64_t n)
{
	static const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (n != 0 && n % 1024 == 0 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(buf, 32, "%llu %s", (unsigned long long)n, units[u]);
	return buf;
}

static bool
read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* Whether the kernel's CPU flags (what it has enabled, not just CPUID) have flag. */
static bool
cpu_flag(const char *flag)
{
	char line[8192], *tok, *save;
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n", &save))
			found |= strcmp(tok, flag) == 0;
		break;
	}
	fclose(f);
	return found;
}

static void
identify_cpu(void)
{
	unsigned a, b, c, d, family, model;
	uint32_t vendor[4] = { 0 }, brand[13] = { 0 };
	const char *bp = "unknown model";
	char nested[64];

	__cpuid(0, a, vendor[0], vendor[2], vendor[1]);
	if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004) {
		for (unsigned i = 0; i < 3; i++)
			__cpuid(0x80000002 + i, brand[4 * i], brand[4 * i + 1],
			    brand[4 * i + 2], brand[4 * i + 3]);
		for (bp = (const char *)brand; *bp == ' '; bp++)
			continue;
	}
	__cpuid(1, a, b, c, d);
	family = (a >> 8) & 0xF;
	model = (a >> 4) & 0xF;
	if (family == 0xF)
		family += (a >> 20) & 0xFF;
	if (family >= 6)
		model |= ((a >> 16) & 0xF) << 4;
	field("CPU", "%s, %s (family 0x%x, model 0x%x, stepping %u)",
	    (const char *)vendor, bp, family, model, a & 0xF);

	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		field("Virtualization", "none: PVM (kvm_pvm)");
	else
		field("Virtualization", "%s", cpu_flag("vmx") ? "VT-x" :
		    cpu_flag("svm") ? "AMD-V" : "none");

	/* CPUID.1:ECX[31]: this host is itself a guest. */
	if (c & (1U << 31)) {
		memset(vendor, 0, sizeof(vendor));
		__cpuid(0x40000000, a, vendor[0], vendor[1], vendor[2]);
		field("Nested", "yes, this host runs under a hypervisor (%s)",
		    (const char *)vendor);
	} else {
		field("Nested", "no, bare metal");
	}
	/* NVMM guests never see VMX/SVM in CPUID, whatever KVM allows. */
	if (read_line("/sys/module/kvm_intel/parameters/nested", nested,
	    sizeof(nested)))
		field("KVM nesting", "kvm_intel nested=%s (hidden from "
		    "NVMM guests)", nested);
	else if (read_line("/sys/module/kvm_amd/parameters/nested", nested,
	    sizeof(nested)))
		field("KVM nesting", "kvm_amd nested=%s (hidden from "
		    "NVMM guests)", nested);
	else
		field("KVM nesting", "not offered (no kvm_intel or kvm_amd)");
}

/*
 * Runs "out 0x80,al; hlt" in real mode. Where KVM's instruction emulator
 * runs CPL0 guest code (PVM, or VT-x without unrestricted guest), the OUT
 * is executed before its exit is reported, so RIP is already past it.
 * Returns the call that failed (errno says why), or NULL.
 */
static const char *
probe_out(bool *executed)
{
	static const uint8_t code[] = { 0xE6, 0x80, 0xF4 };
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_x64_state *st;
	const char *failed = NULL;
	uint8_t *ram;
	int e;

	ram = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return "mmap";
	if (nvmm_machine_create(&mach) == -1) {
		munmap(ram, 4096);
		return "nvmm_machine_create";
	}
	if (nvmm_hva_map(&mach, (uintptr_t)ram, 4096) == -1)
		failed = "nvmm_hva_map";
	else if (nvmm_gpa_map(&mach, (uintptr_t)ram, 0, 4096,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		failed = "nvmm_gpa_map";
	else if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		failed = "nvmm_vcpu_create";
	else if (nvmm_vcpu_getstate(&mach, &vcpu,
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS) == -1)
		failed = "nvmm_vcpu_getstate";
	if (failed == NULL) {
		memcpy(ram, code, sizeof(code));
		st = vcpu.state;
		st->segs[NVMM_X64_SEG_CS].selector = 0;
		st->segs[NVMM_X64_SEG_CS].base = 0;
		st->gprs[NVMM_X64_GPR_RIP] = 0;
		nvmm_vcpu_setstate(&mach, &vcpu,
		    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS);
		do {
			if (nvmm_vcpu_run(&mach, &vcpu) == -1)
				failed = "nvmm_vcpu_run";
		} while (failed == NULL &&
		    vcpu.exit->reason == NVMM_VCPU_EXIT_NONE);
	}
	if (failed == NULL && vcpu.exit->reason != NVMM_VCPU_EXIT_IO) {
		errno = EIO;
		failed = "nvmm_vcpu_run (no I/O exit)";
	}
	if (failed == NULL && nvmm_vcpu_getstate(&mach, &vcpu,
	    NVMM_X64_STATE_GPRS) == -1)
		failed = "nvmm_vcpu_getstate";
	if (failed == NULL)
		*executed = vcpu.state->gprs[NVMM_X64_GPR_RIP] != 0;
	e = errno;
	nvmm_machine_destroy(&mach);
	munmap(ram, 4096);
	errno = e;
	return failed;
}

/* nvmm_init failed: why, and where to go from there. */
static void __attribute__((noreturn))
no_nvmm(void)
{
	if (errno == ENXIO)
		errx(1, "no hypervisor here (no /dev/kvm, or KVM lacks what "
		    "libnvmm needs): run it through tools/with-kvm");
	err(1, "cannot use /dev/kvm (run it through tools/with-kvm, or as root)");
}

static int
identify(void)
{
	const struct nvmm_cap_md *md;
	struct nvmm_capability cap;
	struct utsname u;
	const char *failed, *rundir;
	char buf[256], sz[32];
	bool user_msr, out_executed = false;
	int kvm, api;

	if (nvmm_init() == -1)
		no_nvmm();
	if (nvmm_capability(&cap) == -1)
		err(1, "nvmm_capability");
	md = &cap.arch;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm == -1)
		err(1, "/dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	/* libnvmm reports RDMSR/WRMSR exits only through KVM's MSR filter. */
	user_msr = ioctl(kvm, KVM_CHECK_EXTENSION,
	    KVM_CAP_X86_USER_SPACE_MSR) > 0 &&
	    ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) > 0;
	close(kvm);
	uname(&u);

	field("Hypervisor", "Linux KVM (kernel %s, KVM API %d)", u.release,
	    api);
	field("NVMM API", "user version %d, kernel version %u (libnvmm %s)",
	    NVMM_USER_VERSION, cap.version, LIBNVMM_VERSION);
	identify_cpu();
	field("Max machines", "%u", cap.max_machines);
	field("Max VCPUs", "%u per machine", cap.max_vcpus);
	field("Max RAM", "%s per machine", size_str(sz, cap.max_ram));
	field("State size", "%u bytes", cap.state_size);
	field("Comm page", "%zu bytes, layout version %d (state at %zu, "
	    "event at %zu, stop at %zu)", sizeof(struct nvmm_comm_page),
	    NVMM_KERN_VERSION, offsetof(struct nvmm_comm_page, state),
	    offsetof(struct nvmm_comm_page, event),
	    offsetof(struct nvmm_comm_page, stop));
	NAMES(buf, md->xcr0_mask, xcr0_bits);
	field("XCR0 mask", "0x%llx <%s>", (unsigned long long)md->xcr0_mask,
	    buf);
	field("MXCSR mask", "0x%x", md->mxcsr_mask);
	field("CPUID conf ops", "%u per VCPU", md->conf_cpuid_maxops);
	field("Machine conf", "%s", md->mach_conf_support ? "yes" : "none");
	NAMES(buf, md->vcpu_conf_support, vcpu_confs);
	field("VCPU conf", "%s", buf);
	NAMES(buf, NVMM_X64_STATE_ALL, state_groups);
	field("State groups", "%s", buf);
	field("Exits", "IO MEMORY %sSHUTDOWN INT_READY NMI_READY HALTED "
	    "TPR_CHANGED STOPPED INVALID", user_msr ? "RDMSR WRMSR " : "");
	rundir = getenv("LIBNVMM_RUNDIR");
	field("Registry", "%s", rundir != NULL && rundir[0] != '\0' ?
	    rundir : "/run/nvmm");

	failed = probe_out(&out_executed);
	if (failed == NULL)
		field("Guest run", "ok");
	else
		field("Guest run", "failed: %s: %s", failed, strerror(errno));

	printf("Not available on KVM:\n");
	printf("  CPUID exits: ENOTSUP (KVM answers CPUID in the kernel; "
	    "masks work)\n");
	printf("  MONITOR/MWAIT exits: never (CPUID hides MONITOR; KVM "
	    "handles both)\n");
	printf("  TPR_CHANGED exits: only when the guest lowers its TPR\n");
	printf("  gpa_map without PROT_READ: ENOTSUP (KVM guest memory is "
	    "always readable)\n");
	if (!user_msr)
		printf("  RDMSR/WRMSR exits: never (this KVM has no MSR "
		    "filter)\n");
	if (out_executed)
		printf("  OUT and MMIO-write exits: reported after KVM's "
		    "instruction emulator executed them\n");
	return failed == NULL ? 0 : 1;
}

static void
command(pid_t pid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (!read_line(path, buf, len))
		snprintf(buf, len, "?");
}

/* The KVM VMs a process holds: its fds on "anon_inode:kvm-vm". */
static unsigned
kvm_vms(pid_t pid)
{
	char path[64], link[32];
	struct dirent *de;
	unsigned n = 0;
	ssize_t len;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return 0;	/* gone, or not ours to see */
	while ((de = readdir(d)) != NULL) {
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		n += strcmp(link, "anon_inode:kvm-vm") == 0;
	}
	closedir(d);
	return n;
}

#define ROW	"%-7s %-7d %-16s %5s  %-10s %s\n"

static int
list(void)
{
	struct nvmm_ctl_mach_info info;
	struct nvmm_capability cap;
	pid_t *owners;
	unsigned nowners = 0, vms;
	struct dirent *de;
	char id[16], nvcpus[16], ram[32], when[32], comm[32];
	pid_t pid;
	DIR *d;

	/* Root sees every machine; others see their own user's. */
	if ((geteuid() == 0 ? nvmm_root_init() : nvmm_init()) == -1)
		no_nvmm();
	if (nvmm_capability(&cap) == -1)
		err(1, "nvmm_capability");
	owners = calloc(cap.max_machines, sizeof(*owners));
	if (owners == NULL)
		err(1, "calloc");

	printf("%-7s %-7s %-16s %5s  %-10s %s\n", "MACHINE", "PID", "COMMAND",
	    "VCPUS", "RAM", "CREATED");
	for (unsigned i = 0; i < cap.max_machines; i++) {
		info.machid = i;
		if (nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)) == -1) {
			if (errno == ENOENT || errno == EPERM)
				continue;
			err(1, "nvmm_ctl(NVMM_CTL_MACH_INFO, %u)", i);
		}
		owners[nowners++] = info.pid;
		snprintf(id, sizeof(id), "%u", i);
		snprintf(nvcpus, sizeof(nvcpus), "%u", info.nvcpus);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		    localtime(&info.time));
		command(info.pid, comm, sizeof(comm));
		printf(ROW, id, (int)info.pid, comm, nvcpus,
		    size_str(ram, info.nram), when);
	}

	/*
	 * Each libnvmm machine is one KVM VM of its owner: the VMs a process
	 * holds beyond its libnvmm machines are someone else's.
	 */
	d = opendir("/proc");
	if (d == NULL)
		err(1, "/proc");
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = atoi(de->d_name);
		vms = kvm_vms(pid);
		for (unsigned i = 0; i < nowners && vms > 0; i++)
			vms -= owners[i] == pid;
		if (vms > 0)
			command(pid, comm, sizeof(comm));
		for (; vms > 0; vms--)
			printf(ROW, "-", (int)pid, comm, "-", "-",
			    "other KVM VM");
	}
	closedir(d);
	free(owners);
	return 0;
}

/* The exit counts and times of each VCPU of machine arg, of any process. */
static int
mach_stat(const char *arg)
{
	struct nvmm_ctl_mach_info info;
	struct nvmmx_vcpu_stats s;
	unsigned long id;
	char *end;

	errno = 0;
	id = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    id > UINT32_MAX)
		errx(1, "bad machine id '%s'; " USAGE, arg);
	if ((geteuid() == 0 ? nvmm_root_init() : nvmm_init()) == -1)
		no_nvmm();
	info.machid = (nvmm_machid_t)id;
	if (nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)) == -1)
		err(1, "machine %lu", id);

	for (nvmm_cpuid_t c = 0; c < 256; c++) {
		if (nvmmx_ctl_stats(info.machid, c, &s) == -1) {
			if (errno == ENOENT)
				continue;
			err(1, "machine %lu, VCPU %u", id, c);
		}
		printf("VCPU %u: %llu runs, %.6f s in the guest, %.6f s in "
		    "the VMM\n", c, (unsigned long long)s.runs,
		    s.guest_ns / 1e9, s.vmm_ns / 1e9);
		for (int i = 0; i < NVMMX_STAT_NEXITS; i++)
			if (s.exits[i] != 0)
				printf("  %-12s %llu\n", nvmmx_stat_name(i),
				    (unsigned long long)s.exits[i]);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		errx(1, "no command; " USAGE);
	if (strcmp(argv[1], "stat") == 0) {
		if (argc != 3)
			errx(1, "%s; " USAGE, argc < 3 ? "no machine id" :
			    "too many arguments");
		return mach_stat(argv[2]);
	}
	if (argc > 2)
		errx(1, "too many arguments; " USAGE);
	if (strcmp(argv[1], "identify") == 0)
		return identify();
	if (strcmp(argv[1], "list") == 0)
		return list();
	errx(1, "unknown command '%s'; " USAGE, argv[1]);
}
