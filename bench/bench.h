/*
 * nvmm-bench: libnvmm against raw KVM and QEMU. main.c runs every
 * measurement in a child process of its own (the comm page setting is read
 * at nvmm_init, and syscalls are counted per process) and prints the table.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_REPS	5	/* each figure is the median of this many */
#define BENCH_MAX_REPS	16
#define BENCH_WARMUP	200	/* operations before timing starts */

#define CHECK(call)							\
	do {								\
		if ((call) != 0)					\
			die("%s: %m", #call);				\
	} while (0)

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ns(void);
double median(const double *v, int n);
/* Median over reps of the mean µs of op, n calls a repetition. */
double time_op(void (*op)(void *), void *ctx, long n, int reps);

/* A VMM's life cycle: once per process, then per VM. */
struct life_ops {
	void (*init)(void);
	void *(*create)(uint8_t *mem);	/* a VM, run to its first exit */
	void (*destroy)(void *vm);
};
/*
 * Prints the µs of init, then medians over args[0] VMs of create and of
 * destroy; args[1] = 0 keeps the VMs, to count the syscalls of creation.
 */
void life_cycle(const struct life_ops *ops, const long *args);

/*
 * Workloads, run as "nvmm-bench child NAME ARGS...": each prints its
 * figures on one line of stdout. n is the number of operations a
 * repetition; with reps = 1 a run also serves for counting syscalls.
 */
struct workload {
	const char *name;
	void (*run)(const long *args);
};
extern const struct workload kvm_workloads[];	/* kvm.c: raw KVM */
extern const struct workload nvmm_workloads[];	/* nvmm.c: libnvmm */

/* qemu.c: the guest under QEMU; see there. */
struct qemu_result {
	double us;		/* per OUT exit */
	double syscalls;	/* per OUT exit, all threads; NAN: not counted */
	double exits;		/* KVM userspace exits per OUT */
	char accel[8];		/* "kvm", or "tcg" when KVM failed */
	char error[160];	/* why KVM failed */
};
void qemu_measure(const char *dir, struct qemu_result *res);
void qemu_version(char *buf, int len);

/*
 * main.c: runs argv (env: one more variable or NULL), its stdout (and
 * stderr if merged) into out; returns its wait status, or -1 with errno
 * (ETIMEDOUT: killed after timeout_s). secs: the time it took.
 */
int spawn(char *const argv[], const char *env, bool merge_stderr, char *out,
    int len, double timeout_s, double *secs);
/*
 * Counts syscalls and KVM userspace exits of a command that must exit with
 * status; false where it failed or perf does not work.
 */
bool perf_count(char *const argv[], const char *env, int status,
    double *syscalls, double *exits);

#endif
