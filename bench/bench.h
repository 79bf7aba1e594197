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
#define BENCH_WARMUP	200	/* operations before timing starts */

#define CHECK(call)							\
	do {								\
		if ((call) != 0)					\
			die("%s: %m", #call);				\
	} while (0)

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ns(void);		/* wall clock */
uint64_t cpu_ns(void);		/* this process's CPU time */
double median(const double *v, int n);
/*
 * Mean CPU µs of op over n calls, after BENCH_WARMUP calls. The VCPU
 * thread's CPU time includes KVM's and the guest's (KVM runs the guest in
 * its context), and unlike the wall clock it ignores the machine's other
 * jobs.
 */
double time_op(void (*op)(void *), void *ctx, long n);

/* A VMM's life cycle: once per process, then per VM. */
struct life_ops {
	void (*init)(void);
	void *(*create)(uint8_t *mem);	/* a VM, run to its first exit */
	void (*destroy)(void *vm);
};
/*
 * "NAME K MODE": K VMs. LIFE_TIME prints the µs of init, then medians of
 * create and of destroy, each as CPU time and wall clock time (destroy
 * waits for KVM's teardown). The other modes, untimed, are for counting:
 * each VM created and destroyed in turn, or all created and kept, or all
 * created then all destroyed.
 */
enum { LIFE_TIME, LIFE_CYCLE, LIFE_KEEP, LIFE_DROP };
void life_cycle(const struct life_ops *ops, const long *args);

/*
 * Workloads, run as "nvmm-bench child NAME ARGS...": each prints its
 * figures on one line of stdout. Their first argument is a number of
 * operations: runs with two numbers give the syscalls of one operation.
 */
struct workload {
	const char *name;
	void (*run)(const long *args);
};
extern const struct workload kvm_workloads[];	/* kvm.c: raw KVM */
extern const struct workload nvmm_workloads[];	/* nvmm.c: libnvmm */

/*
 * qemu.c: the guest under QEMU. qemu_open picks the accelerator, each
 * qemu_round times a run of either length, qemu_close works out the
 * figures and counts syscalls.
 */
struct qemu {
	double us;		/* per OUT exit; NAN: QEMU did not run */
	double syscalls;	/* per OUT exit, all threads; NAN: uncounted */
	double exits;		/* KVM userspace exits per OUT */
	char accel[8];		/* "kvm", or "tcg" where KVM failed */
	char error[160];	/* why KVM failed */

	uint32_t n[2];		/* the two lengths of run, in OUTs */
	char image[2][1100];
	char *argv[2][20];
	double secs[2][BENCH_REPS];
};
/*
 * stats.c: ns of CPU time the statistics add to one nvmm_vcpu_run, and
 * whether they read the coarse clock (no vDSO reading of the fine one).
 */
double stats_cost_ns(bool *coarse);

void qemu_open(struct qemu *q, const char *dir);
void qemu_round(struct qemu *q, int rep);
void qemu_close(struct qemu *q);
void qemu_version(char *buf, int len);

/*
 * main.c: runs argv (env: one more variable or NULL), its stdout (and
 * stderr if merged) into out; returns its wait status, or -1 with errno
 * (ETIMEDOUT: killed after timeout_s). cpu_s: its CPU time, all threads.
 */
int spawn(char *const argv[], const char *env, bool merge_stderr, char *out,
    int len, double timeout_s, double *cpu_s);
/*
 * Counts syscalls and KVM userspace exits of a command that must exit with
 * status; false where it failed or perf does not work.
 */
bool perf_count(char *const argv[], const char *env, int status,
    double *syscalls, double *exits);

#endif
