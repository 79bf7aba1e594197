/*
 * nvmm-bench: libnvmm against raw KVM and QEMU, in one table (make bench).
 *
 *	nvmm-bench			every measurement, then the table
 *	nvmm-bench child NAME ARGS...	one workload (bench.h)
 *
 * Each measurement runs in a process of its own: libnvmm reads the comm
 * page setting once, at nvmm_init, and perf counts a whole process. The
 * syscalls of an operation are the difference between two runs with
 * different counts, so that the setup's cancel out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <nvmm.h>

#include "bench.h"
#include "guest.h"

extern char **environ;

#define COMM_OFF	"LIBNVMM_COMM_PAGE=0"
#define COUNT_N1	200	/* operations of the two counting runs */
#define COUNT_N2	1200
#define STATE_N		500	/* exits a repetition, state access */
#define LIFE_K		BENCH_REPS

static char self[PATH_MAX];
static char rundir[1024];	/* QEMU images, perf's output */
static char regdir[1024 + 16];	/* the machine registry of the children */
static char perf_file[1024 + 16];
static bool have_perf;

static void
progress(const char *what)
{
	fprintf(stderr, "nvmm-bench: %s\n", what);
}

/* ---- Child processes --------------------------------------------------- */

int
spawn(char *const argv[], const char *env, bool merge_stderr, char *out,
    int len, double timeout_s, double *cpu_s)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	uint64_t deadline;
	char *envp[1024], buf[512];
	int p[2], st, r, ne = 0, n = 0;
	bool timed_out = false;
	pid_t pid;

	for (char **e = environ; *e != NULL && ne < 1022; e++)
		envp[ne++] = *e;
	if (env != NULL)
		envp[ne++] = (char *)env;
	envp[ne] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	if (merge_stderr)
		posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		errno = r;
		return -1;
	}
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = now_ns();
		ssize_t k;

		if (now >= deadline ||
		    poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) == 0) {
			kill(pid, SIGKILL);
			timed_out = true;
			break;
		}
		k = read(p[0], buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (k > len - 1 - n)
			k = len - 1 - n;
		memcpy(out + n, buf, k);
		n += k;
	}
	close(p[0]);
	wait4(pid, &st, 0, &ru);
	if (cpu_s != NULL)
		*cpu_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	out[n] = '\0';
	if (timed_out) {
		errno = ETIMEDOUT;
		return -1;
	}
	return st;
}

bool
perf_count(char *const cmd[], const char *env, int status, double *syscalls,
    double *exits)
{
	char *argv[32] = { "perf", "stat", "-x,", "-o", perf_file, "-e",
	    "raw_syscalls:sys_enter", "-e", "kvm:kvm_userspace_exit", "--" };
	char out[4096], line[512];
	int n = 10, st;
	FILE *f;

	if (!have_perf)
		return false;
	for (int i = 0; cmd[i] != NULL && n < 31; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	st = spawn(argv, env, true, out, sizeof(out), 300, NULL);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != status)
		return false;
	f = fopen(perf_file, "r");
	if (f == NULL)
		return false;
	*syscalls = *exits = NAN;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end;
		double v = strtod(line, &end);

		if (end == line)
			continue;
		if (strstr(end, ",raw_syscalls:sys_enter,") != NULL)
			*syscalls = v;
		else if (strstr(end, ",kvm:kvm_userspace_exit,") != NULL)
			*exits = v;
	}
	fclose(f);
	return !isnan(*syscalls) && !isnan(*exits);
}

/* Each child starts with an empty registry, so that runs are alike. */
static void
clear_registry(void)
{
	DIR *d = opendir(regdir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

struct work_argv {
	char *argv[12];
	char args[8][24];
};

static void
work_argv(struct work_argv *w, const char *name, const long *args, int nargs)
{
	int n = 0;

	w->argv[n++] = self;
	w->argv[n++] = "child";
	w->argv[n++] = (char *)name;
	for (int i = 0; i < nargs && i < 8; i++) {
		snprintf(w->args[i], sizeof(w->args[i]), "%ld", args[i]);
		w->argv[n++] = w->args[i];
	}
	w->argv[n] = NULL;
}

/* Runs a workload; fills v[0..nv) with its figures, NAN where it failed. */
static void
work(const char *name, const long *args, int nargs, bool off, double *v,
    int nv)
{
	struct work_argv w;
	char out[1024], *p = out;
	int st;

	for (int i = 0; i < nv; i++)
		v[i] = NAN;
	work_argv(&w, name, args, nargs);
	clear_registry();
	st = spawn(w.argv, off ? COMM_OFF : NULL, false, out, sizeof(out), 300,
	    NULL);
	if (st != 0) {
		fprintf(stderr, "nvmm-bench: %s failed\n", name);
		return;
	}
	for (int i = 0; i < nv; i++) {
		char *end;

		v[i] = strtod(p, &end);
		if (end == p) {
			v[i] = NAN;
			break;
		}
		p = end;
	}
}

/* Syscalls of one operation: runs of n1 and n2 (args[0]) operations. */
static double
work_syscalls(const char *name, long *args, int nargs, long n1, long n2,
    bool off)
{
	double c[2], exits;

	for (int k = 0; k < 2; k++) {
		struct work_argv w;

		args[0] = k ? n2 : n1;
		work_argv(&w, name, args, nargs);
		clear_registry();
		if (!perf_count(w.argv, off ? COMM_OFF : NULL, 0, &c[k],
		    &exits))
			return NAN;
	}
	return (c[1] - c[0]) / (double)(n2 - n1);
}

/* ---- The measurements ---------------------------------------------------- */

/* Exit round trips: workloads NAME N ARG. */
enum { E_RAW, E_RAW_SYNC, E_IO, E_QEMU, E_QEMU_SYNC, E_RAW_MMIO, E_MMIO, E_N };

static const struct exit_spec {
	const char *label, *work;
	long arg;		/* the workload's second argument */
	bool libnvmm;		/* measured with the comm page off too */
	long n;			/* exits a run */
} exit_specs[E_N] = {
	[E_RAW] = { "(a) raw KVM: KVM_RUN loop", "kvm-io", 0, false, 20000 },
	[E_RAW_SYNC] = { "(a') raw KVM, sync regs copied at exits (as libnvmm)",
	    "kvm-io", KVM_SYNC_X86_VALID_FIELDS, false, 20000 },
	[E_IO] = { "(b, c) libnvmm: run + nvmm_assist_io (io callback)",
	    "nvmm-io", 0, true, 10000 },
	[E_QEMU] = { "(d) libnvmm, QEMU-like: get/set GPRS+SEGS+CRS+MSRS",
	    "nvmm-qemu-like", NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
	    NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS, true, 4000 },
	[E_QEMU_SYNC] = { "(d') the same, GPRS+SEGS only (in KVM's sync regs)",
	    "nvmm-qemu-like", NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS, true,
	    4000 },
	[E_RAW_MMIO] = { "raw KVM: KVM_RUN loop", "kvm-mmio", 0, false, 20000 },
	[E_MMIO] = { "libnvmm: run + nvmm_assist_mem (mem callback)",
	    "nvmm-mmio", 0, true, 10000 },
};

struct fig {
	double us, sys;
};

struct pair {
	struct fig on, off;	/* comm page on, off */
};

/*
 * The exits and QEMU, in BENCH_REPS rounds that each run every variant
 * once: a burst of the machine's other work spoils one round of each
 * variant rather than all of one, and the medians drop it.
 */
static void
exit_figs(struct pair ex[E_N], struct qemu *q)
{
	double us[E_N][2][BENCH_REPS];

	qemu_open(q, rundir);
	for (int r = 0; r < BENCH_REPS; r++) {
		for (int i = 0; i < E_N; i++) {
			const struct exit_spec *s = &exit_specs[i];
			long args[2] = { s->n, s->arg };

			for (int off = 0; off < (s->libnvmm ? 2 : 1); off++)
				work(s->work, args, 2, off, &us[i][off][r], 1);
		}
		qemu_round(q, r);
	}
	qemu_close(q);
	for (int i = 0; i < E_N; i++) {
		const struct exit_spec *s = &exit_specs[i];
		long args[2] = { 0, s->arg };

		ex[i].on.us = median(us[i][0], BENCH_REPS);
		ex[i].on.sys = work_syscalls(s->work, args, 2, COUNT_N1,
		    COUNT_N2, false);
		ex[i].off = (struct fig){ NAN, NAN };
		if (!s->libnvmm)
			continue;
		ex[i].off.us = median(us[i][1], BENCH_REPS);
		ex[i].off.sys = work_syscalls(s->work, args, 2, COUNT_N1,
		    COUNT_N2, true);
	}
}

static const struct group {
	const char *name;
	uint64_t flag;
} groups[] = {
	{ "GPRS", NVMM_X64_STATE_GPRS },
	{ "SEGS", NVMM_X64_STATE_SEGS },
	{ "CRS", NVMM_X64_STATE_CRS },
	{ "DRS", NVMM_X64_STATE_DRS },
	{ "MSRS", NVMM_X64_STATE_MSRS },
	{ "INTR", NVMM_X64_STATE_INTR },
	{ "FPU", NVMM_X64_STATE_FPU },
	{ "ALL", NVMM_X64_STATE_ALL },
};
#define NGROUPS	(int)(sizeof(groups) / sizeof(groups[0]))

/* Syscalls of an iteration of nvmm-state-count's stage. */
static double
stage_syscalls(uint64_t g, long stage, bool off)
{
	long args[3] = { 0, (long)g, stage };

	return work_syscalls("nvmm-state-count", args, 3, COUNT_N1, COUNT_N2,
	    off);
}

/*
 * Per group, comm page on and off: getstate cached, getstate right after
 * an exit, setstate and its commit. In rounds, as the exits.
 */
static void
state_figs(struct pair state[NGROUPS][3], double *max_cached)
{
	double v[NGROUPS][2][4][BENCH_REPS], base[2];

	for (int r = 0; r < BENCH_REPS; r++) {
		for (int g = 0; g < NGROUPS; g++) {
			long args[2] = { STATE_N, (long)groups[g].flag };

			for (int off = 0; off < 2; off++) {
				double f[4];

				work("nvmm-state", args, 2, off, f, 4);
				for (int k = 0; k < 4; k++)
					v[g][off][k][r] = f[k];
			}
		}
	}
	*max_cached = 0;
	for (int off = 0; off < 2; off++)
		base[off] = stage_syscalls(NVMM_X64_STATE_GPRS, 0, off);
	for (int g = 0; g < NGROUPS; g++) {
		for (int off = 0; off < 2; off++) {
			uint64_t flag = groups[g].flag;
			double get = stage_syscalls(flag, 1, off);
			double set = stage_syscalls(flag, 2, off);
			double m[4];
			struct fig f[3];

			for (int k = 0; k < 4; k++)
				m[k] = median(v[g][off][k], BENCH_REPS);
			f[0] = (struct fig){ m[0],
			    stage_syscalls(flag, 3, off) };
			f[1] = (struct fig){ m[1], get - base[off] };
			/* A difference of medians: noise may make it < 0. */
			f[2] = (struct fig){ m[2] + fmax(m[3], 0), set - get };
			for (int k = 0; k < 3; k++) {
				struct pair *p = &state[g][k];

				*(off ? &p->off : &p->on) = f[k];
			}
		}
		*max_cached = fmax(*max_cached, state[g][0].on.us);
	}
}

/* Life cycle: the once-per-process init, create, destroy. */
struct life {
	struct fig f[3];
	double wall[3];
};

/*
 * Syscalls: a cycle is create and destroy; destroy is what destroying all
 * adds to creating all (which, with machines alive, pays for the registry's
 * search of a free id); create is the rest of a cycle.
 */
static void
life_figs(const char *name, struct life *l)
{
	long args[2] = { LIFE_K, LIFE_TIME };
	double v[6], cycle, keep, drop;

	work(name, args, 2, false, v, 6);
	for (int m = 0; m < 3; m++) {
		l->f[m].us = v[2 * m];
		l->wall[m] = v[2 * m + 1];
	}
	args[1] = LIFE_CYCLE;
	cycle = work_syscalls(name, args, 2, 1, 3, false);
	args[1] = LIFE_KEEP;
	keep = work_syscalls(name, args, 2, 1, 3, false);
	args[1] = LIFE_DROP;
	drop = work_syscalls(name, args, 2, 1, 3, false);
	l->f[0].sys = NAN;
	l->f[2].sys = drop - keep;
	l->f[1].sys = cycle - l->f[2].sys;
}

struct results {
	struct pair ex[E_N];
	struct qemu q;
	struct pair state[NGROUPS][3];
	double max_cached;	/* the slowest cached getstate, comm page on */
	struct life raw, lib;
	double stats_ns;	/* the statistics' cost per run */
	bool stats_coarse;	/* ... reading CLOCK_MONOTONIC_COARSE */
};

static void
measure(struct results *r)
{
	progress("exit round trips, QEMU");
	exit_figs(r->ex, &r->q);
	progress("state access");
	state_figs(r->state, &r->max_cached);
	progress("life cycle");
	life_figs("kvm-life", &r->raw);
	life_figs("nvmm-life", &r->lib);
	progress("statistics");
	r->stats_ns = stats_cost_ns(&r->stats_coarse);
}

/* ---- The table ---------------------------------------------------------- */

#define NCOLS	8
static const int widths[NCOLS] = { 56, 7, 8, 7, 8, 7, 11, 0 };

/* A number, or "n/a"; from a ring of buffers, so a row can hold several. */
static const char *
num(double v, int prec)
{
	static char ring[32][32];
	static int next;
	char *b = ring[next++ % 32];

	if (isnan(v))
		return "n/a";
	snprintf(b, 32, "%.*f", prec, v);
	return b;
}

static const char *
ratio(double a, double b)
{
	static char ring[8][32];
	static int next;
	char *r = ring[next++ % 8];

	if (isnan(a) || isnan(b) || b <= 0)
		return "n/a";
	snprintf(r, 32, "%.2fx", a / b);
	return r;
}

/* Display width: UTF-8 continuation bytes take no column. */
static int
text_width(const char *s)
{
	int w = 0;

	for (; *s != '\0'; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

static void
row(const char *const c[NCOLS])
{
	for (int i = 0; i < NCOLS; i++) {
		int pad = widths[i] - text_width(c[i]);

		printf("| %s%*s ", c[i], pad > 0 ? pad : 0, "");
	}
	printf("|\n");
}

static void
section(const char *title)
{
	char bold[160];

	snprintf(bold, sizeof(bold), "**%s**", title);
	row((const char *[NCOLS]){ bold, "", "", "", "", "", "", "" });
}

/* A row of µs and syscalls, comm page on and (when measured) off. */
static void
fig_row(const char *label, const struct pair *p, bool has_off,
    const char *vs_raw, const char *note, int prec)
{
	row((const char *[NCOLS]){ label, num(p->on.us, prec),
	    num(p->on.sys, 2), has_off ? num(p->off.us, prec) : "",
	    has_off ? num(p->off.sys, 2) : "",
	    has_off ? ratio(p->off.us, p->on.us) : "", vs_raw, note });
}

/* raw: raw KVM's figures for the ratio, or NULL in raw KVM's own rows. */
static void
life_rows(const char *const labels[3], const struct life *l,
    const struct life *raw)
{
	for (int m = 0; m < 3; m++) {
		char note[48];

		snprintf(note, sizeof(note), "wall clock: %s µs",
		    num(l->wall[m], 0));
		/* init is once per process: its syscalls are not counted. */
		row((const char *[NCOLS]){ labels[m], num(l->f[m].us, 0),
		    m == 0 ? "" : num(l->f[m].sys, 2), "", "", "",
		    raw != NULL ? ratio(l->f[m].us, raw->f[m].us) : "", note });
	}
}

/* "on / off" multiples of raw KVM's figure, or on's alone. */
static const char *
vs_raw(double on, double off, double raw, bool has_off)
{
	static char ring[8][48];
	static int next;
	char *b = ring[next++ % 8];

	if (!has_off)
		return ratio(on, raw);
	snprintf(b, 48, "%s / %s", ratio(on, raw), ratio(off, raw));
	return b;
}

static int targets, targets_met;

/* A target's row: value against limit, at most (or, at_least, at least). */
static void
target_row(const char *what, const char *shown, double v, double limit,
    bool at_least)
{
	double miss = at_least ? 1 - v / limit : v / limit - 1;
	char verdict[64];

	targets++;
	if (isnan(v)) {
		snprintf(verdict, sizeof(verdict), "not measured");
	} else if (miss <= 0) {
		targets_met++;
		snprintf(verdict, sizeof(verdict), "met");
	} else {
		snprintf(verdict, sizeof(verdict), "MISSED by %.0f%%",
		    miss * 100);
	}
	row((const char *[NCOLS]){ what, shown, "", "", "", "", "", verdict });
}

/* ---- The machine --------------------------------------------------------- */

static void
cpu_model(char *buf, int len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			snprintf(buf, len, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
}

static const char *
kvm_flavour(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "PVM (kvm_pvm: guest code at CPL0 runs in KVM's "
		    "instruction emulator)";
	if (access("/sys/module/kvm_intel", F_OK) == 0)
		return "VT-x (kvm_intel)";
	/* tools/with-kvm says so when it runs us in its emulated host. */
	if (access("/sys/module/kvm_amd", F_OK) == 0)
		return getenv("WITH_KVM_HOST") != NULL ?
		    "AMD-V (kvm_amd) in the emulated host of tools/with-kvm "
		    "(QEMU TCG: compare ratios, not times)" : "AMD-V (kvm_amd)";
	return "unknown";
}

static void
header(void)
{
	char cpu[128], qemu[128], date[64], load[64] = "?";
	struct utsname u;
	time_t t = time(NULL);
	FILE *f;

	cpu_model(cpu, sizeof(cpu));
	qemu_version(qemu, sizeof(qemu));
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	f = fopen("/proc/loadavg", "r");
	if (f != NULL) {
		if (fgets(load, sizeof(load), f) != NULL)
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	printf("## libnvmm benchmarks, %s\n\n", date);
	printf("- machine: %s, %ld cores, %s %s %s\n", cpu,
	    sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine);
	printf("- KVM: %s\n", kvm_flavour());
	printf("- QEMU: %s\n", qemu);
	printf("- guest: the same 64 KiB firmware image under every VMM "
	    "(bench/image.S), run from the reset vector; it enters long mode "
	    "by itself, then loops on `out %%al, $0x80; dec %%ecx; jnz` "
	    "(MMIO: `mov (%%rbx), %%eax` from GPA 0x%x)\n", GUEST_MMIO_GPA);
	printf("- load average before the run: %s\n", load);
	printf("- µs per operation, median of %d repetitions: for exits, QEMU "
	    "and the life cycle, CPU time of the VMM's process (KVM and the "
	    "guest run in its thread: this is the wall clock of an idle "
	    "machine, without the other jobs of a busy one); for state access, "
	    "the wall clock of single calls\n", BENCH_REPS);
	printf("- syscalls per operation: %s, difference of runs of %d and %d "
	    "operations\n\n", have_perf ?
	    "`perf stat -e raw_syscalls:sys_enter`" :
	    "not counted (perf stat does not work here)", COUNT_N1, COUNT_N2);
}

/* ---- Main ---------------------------------------------------------------- */

static int
child(int argc, char **argv)
{
	static const struct workload *const sets[] = { kvm_workloads,
	    nvmm_workloads };
	long args[8] = { 0 };

	for (int i = 3; i < argc && i < 11; i++)
		args[i - 3] = strtol(argv[i], NULL, 0);
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		for (const struct workload *w = sets[s]; w->name != NULL; w++) {
			if (strcmp(w->name, argv[2]) == 0) {
				w->run(args);
				return 0;
			}
		}
	}
	die("no workload '%s'", argv[2]);
}

static void
cleanup(void)
{
	char path[PATH_MAX + 32];

	clear_registry();
	rmdir(regdir);
	unlink(perf_file);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/qemu-%d.rom", rundir, i);
		unlink(path);
	}
	rmdir(rundir);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char *const probe[] = { "true", NULL };
	double s, e;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("/proc/self/exe: %m");
	self[n] = '\0';
	snprintf(rundir, sizeof(rundir), "%s/nvmm-bench.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(rundir) == NULL)
		die("%s: %m", rundir);
	snprintf(regdir, sizeof(regdir), "%s/registry", rundir);
	snprintf(perf_file, sizeof(perf_file), "%s/perf.out", rundir);
	setenv("LIBNVMM_RUNDIR", regdir, 1);
	/* The children choose; this process's setting would shadow theirs. */
	unsetenv("LIBNVMM_COMM_PAGE");
	have_perf = true;
	have_perf = perf_count(probe, NULL, 0, &s, &e);
}

static void
exit_rows(const struct results *r, int first, int last, int raw)
{
	for (int i = first; i <= last; i++) {
		const struct exit_spec *s = &exit_specs[i];
		const struct pair *p = &r->ex[i];

		fig_row(s->label, p, s->libnvmm, vs_raw(p->on.us, p->off.us,
		    r->ex[raw].on.us, s->libnvmm), "", 2);
	}
}

static void
qemu_row(const struct results *r)
{
	const struct qemu *q = &r->q;
	struct pair p = { { q->us, q->syscalls }, { NAN, NAN } };
	char label[96], note[200];

	if (strcmp(q->accel, "kvm") == 0) {
		snprintf(label, sizeof(label), "QEMU -accel kvm, same guest");
		snprintf(note, sizeof(note), "%s userspace exits per OUT",
		    num(q->exits, 2));
	} else {
		bool tcg = strcmp(q->accel, "tcg") == 0;

		snprintf(label, sizeof(label), "%s", tcg ?
		    "QEMU -accel tcg (no KVM: a reference only)" : "QEMU");
		snprintf(note, sizeof(note), "%s: %s", tcg ? "KVM failed" :
		    "could not run", q->error);
	}
	fig_row(label, &p, false, ratio(q->us, r->ex[E_RAW].on.us), note, 2);
}

static void
state_rows(const struct results *r)
{
	static const char *const what[3] = { "getstate(%s), cached",
	    "getstate(%s) right after an exit",
	    "setstate(%s) + its commit at the next run" };

	for (int g = 0; g < NGROUPS; g++) {
		for (int k = 0; k < 3; k++) {
			char label[96];

			snprintf(label, sizeof(label), what[k], groups[g].name);
			fig_row(label, &r->state[g][k], true, "", "", 3);
		}
	}
}

static void
target_rows(const struct results *r)
{
	const struct pair *io = &r->ex[E_IO], *qemu_like = &r->ex[E_QEMU];
	/* Exact counts over 1000 operations: one stray syscall is no miss. */
	double io_sys = round(io->on.sys * 100) / 100;
	double mmio_sys = round(r->ex[E_MMIO].on.sys * 100) / 100;
	char v[64];

	target_row("assisted I/O exit ≤ 1.05x raw KVM",
	    ratio(io->on.us, r->ex[E_RAW].on.us),
	    io->on.us / r->ex[E_RAW].on.us, 1.05, false);
	target_row("1.00 syscalls per assisted I/O exit", num(io_sys, 2),
	    io_sys, 1, false);
	target_row("1.00 syscalls per assisted MMIO exit", num(mmio_sys, 2),
	    mmio_sys, 1, false);
	target_row("cached getstate ≤ 0.1 µs (slowest group)",
	    num(r->max_cached, 3), r->max_cached, 0.1, false);
	target_row("comm page on vs off ≥ 3.5x, QEMU-like handler",
	    ratio(qemu_like->off.us, qemu_like->on.us),
	    qemu_like->off.us / qemu_like->on.us, 3.5, true);
	snprintf(v, sizeof(v), "%s vs %s", num(io->on.us, 2), num(r->q.us, 2));
	/* TCG has no exits to compare with. */
	target_row("assisted I/O exit faster than QEMU's (µs)", v,
	    strcmp(r->q.accel, "kvm") == 0 ? io->on.us / r->q.us : NAN, 1,
	    false);
}

static void
stats_row(const struct results *r)
{
	struct pair p = { { r->stats_ns / 1e3, NAN }, { NAN, NAN } };
	char note[96];

	snprintf(note, sizeof(note), "%s%% of an assisted I/O exit",
	    num(100 * p.on.us / r->ex[E_IO].on.us, 2));
	fig_row(r->stats_coarse ? "two CLOCK_MONOTONIC_COARSE reads "
	    "(no vDSO for this clocksource) + counters" :
	    "two CLOCK_MONOTONIC reads (vDSO) + counters", &p, false,
	    ratio(p.on.us, r->ex[E_RAW].on.us), note, 4);
}

static void
print_table(const struct results *r)
{
	header();
	row((const char *[NCOLS]){ "measurement", "µs", "syscalls",
	    "µs, comm page off", "syscalls, comm page off", "off / on",
	    "× raw KVM (on / off)", "target / note" });
	row((const char *[NCOLS]){ "---", "---:", "---:", "---:", "---:",
	    "---:", "---:", "---" });
	section("1, 2, 6. Exit round trip: OUT to port 0x80, per exit");
	exit_rows(r, E_RAW, E_QEMU_SYNC, E_RAW);
	qemu_row(r);
	section("3. MMIO read exits (MOV from an unmapped GPA), per exit");
	exit_rows(r, E_RAW_MMIO, E_MMIO, E_RAW_MMIO);
	section("4. State access, per call (after an I/O exit, GPRS and SEGS "
	    "are cached)");
	state_rows(r);
	section("5. VM life cycle, µs of CPU time (median of 5 VMs)");
	life_rows((const char *const[3]){
	    "raw KVM: open /dev/kvm, supported CPUID (once)",
	    "raw KVM: VM, memory, VCPU, run to the first exit",
	    "raw KVM: destroy" }, &r->raw, NULL);
	life_rows((const char *const[3]){
	    "libnvmm: nvmm_init (once per process)",
	    "libnvmm: machine, memory, VCPU, run to the first exit",
	    "libnvmm: nvmm_machine_destroy" }, &r->lib, &r->raw);
	section("7. Always-on statistics (nvmm_ext(3)), per nvmm_vcpu_run");
	stats_row(r);
	section("Targets");
	target_rows(r);
	printf("\n%d of %d targets met.\n", targets_met, targets);
}

int
main(int argc, char **argv)
{
	static struct results r;

	if (argc >= 3 && strcmp(argv[1], "child") == 0)
		return child(argc, argv);
	setup();
	measure(&r);
	cleanup();
	print_table(&r);
	return 0;
}
