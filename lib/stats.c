/*
 * Per-VCPU statistics (nvmmx_*stat*): counted at every nvmm_vcpu_run, into
 * a slot of the machine's registry file so that other processes (nvmmctl
 * stat) read them too. The VCPU's thread is the only writer; readers retry
 * while a sequence count says a write is under way. The cost per run is two
 * clock reads in the vDSO (no syscall) and a few stores.
 */
#include "nvmm_impl.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NWORDS	(sizeof(struct nvmmx_vcpu_stats) / sizeof(uint64_t))

static const char *const names[NVMMX_STAT_NEXITS] = {
	[NVMMX_STAT_NONE] = "none",
	[NVMMX_STAT_MEMORY] = "memory",
	[NVMMX_STAT_IO] = "io",
	[NVMMX_STAT_SHUTDOWN] = "shutdown",
	[NVMMX_STAT_INT_READY] = "int_ready",
	[NVMMX_STAT_NMI_READY] = "nmi_ready",
	[NVMMX_STAT_HALTED] = "halted",
	[NVMMX_STAT_TPR_CHANGED] = "tpr_changed",
	[NVMMX_STAT_RDMSR] = "rdmsr",
	[NVMMX_STAT_WRMSR] = "wrmsr",
	[NVMMX_STAT_MONITOR] = "monitor",
	[NVMMX_STAT_MWAIT] = "mwait",
	[NVMMX_STAT_CPUID] = "cpuid",
	[NVMMX_STAT_STOPPED] = "stopped",
	[NVMMX_STAT_INVALID] = "invalid",
	[NVMMX_STAT_DEBUG] = "debug",
};

static int
stat_index(uint64_t reason)
{
	switch (reason) {
	case NVMM_VCPU_EXIT_NONE:	return NVMMX_STAT_NONE;
	case NVMM_VCPU_EXIT_MEMORY:	return NVMMX_STAT_MEMORY;
	case NVMM_VCPU_EXIT_IO:		return NVMMX_STAT_IO;
	case NVMM_VCPU_EXIT_SHUTDOWN:	return NVMMX_STAT_SHUTDOWN;
	case NVMM_VCPU_EXIT_INT_READY:	return NVMMX_STAT_INT_READY;
	case NVMM_VCPU_EXIT_NMI_READY:	return NVMMX_STAT_NMI_READY;
	case NVMM_VCPU_EXIT_HALTED:	return NVMMX_STAT_HALTED;
	case NVMM_VCPU_EXIT_TPR_CHANGED: return NVMMX_STAT_TPR_CHANGED;
	case NVMM_VCPU_EXIT_RDMSR:	return NVMMX_STAT_RDMSR;
	case NVMM_VCPU_EXIT_WRMSR:	return NVMMX_STAT_WRMSR;
	case NVMM_VCPU_EXIT_MONITOR:	return NVMMX_STAT_MONITOR;
	case NVMM_VCPU_EXIT_MWAIT:	return NVMMX_STAT_MWAIT;
	case NVMM_VCPU_EXIT_CPUID:	return NVMMX_STAT_CPUID;
	case NVMM_VCPU_EXIT_STOPPED:	return NVMMX_STAT_STOPPED;
	case NVMM_VCPU_EXIT_INVALID:	return NVMMX_STAT_INVALID;
	case NVMMX_VCPU_EXIT_DEBUG:	return NVMMX_STAT_DEBUG;
	default:			return -1;
	}
}

NVMM_API int
nvmmx_stat_index(uint64_t reason)
{
	int i = stat_index(reason);

	if (i < 0)
		errno = EINVAL;
	return i;
}

NVMM_API const char *
nvmmx_stat_name(int index)
{
	if (index < 0 || index >= NVMMX_STAT_NEXITS) {
		errno = EINVAL;
		return NULL;
	}
	return names[index];
}

/* The writer's side: the VCPU's own thread, or its creator and destroyer. */
static void
write_begin(struct stats_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
write_end(struct stats_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static void
add(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, *p + n, __ATOMIC_RELAXED);
}

static void
set_present(struct stats_slot *s, bool present)
{
	uint64_t *w = (uint64_t *)&s->s;

	write_begin(s);
	for (size_t i = 0; i < NWORDS; i++)
		__atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->present, present, __ATOMIC_RELAXED);
	write_end(s);
}

/*
 * The vDSO reads CLOCK_MONOTONIC without a syscall only from the TSC,
 * kvm-clock or Hyper-V's page; with the HPET or the ACPI PM timer (hosts
 * whose TSC is unstable, as emulated ones) each read would be a syscall,
 * so there the coarse clock, always in the vDSO: the same time, by ticks.
 * Intervals then read as whole ticks, and sums of many are still right.
 */
static clockid_t
vdso_clock(void)
{
	static const char *const fast[] = {
		"tsc\n", "kvm-clock\n", "hyperv_clocksource_tsc_page\n",
	};
	char buf[64];
	ssize_t n = -1;
	int fd;

	fd = open("/sys/devices/system/clocksource/clocksource0/"
	    "current_clocksource", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	for (size_t i = 0; i < sizeof(fast) / sizeof(fast[0]); i++)
		if (strcmp(buf, fast[i]) == 0)
			return CLOCK_MONOTONIC;
	return CLOCK_MONOTONIC_COARSE;
}

void
stats_open(struct vcpu *v)
{
	v->stats = registry_slot(v->mach, v->id);
	if (v->stats == NULL)
		v->stats = &v->stats_local;
	v->run_end = 0;
	v->stats_clock = vdso_clock();
	set_present(v->stats, true);
}

void
stats_close(struct vcpu *v)
{
	set_present(v->stats, false);
}

uint64_t
stats_now(const struct vcpu *v)
{
	struct timespec ts;

	clock_gettime(v->stats_clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* A run that began at start ended now with an exit of reason. */
void
stats_run(struct vcpu *v, uint64_t start, uint64_t reason)
{
	struct stats_slot *s = v->stats;
	uint64_t end = stats_now(v);
	int i = stat_index(reason);

	write_begin(s);
	add(&s->s.runs, 1);
	if (i >= 0)
		add(&s->s.exits[i], 1);
	add(&s->s.guest_ns, end - start);
	if (v->run_end != 0)
		add(&s->s.vmm_ns, start - v->run_end);
	write_end(s);
	v->run_end = end;
}

/*
 * A consistent copy, or -EAGAIN if the writer never finished: its process
 * died during a write.
 */
static int
stats_read(const struct stats_slot *s, struct nvmmx_vcpu_stats *out)
{
	const uint64_t *w = (const uint64_t *)&s->s;
	uint64_t *o = (uint64_t *)out;

	for (unsigned tries = 0; tries < 100000; tries++) {
		uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		bool present;

		if (seq & 1) {
			sched_yield();
			continue;
		}
		for (size_t i = 0; i < NWORDS; i++)
			o[i] = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
		present = __atomic_load_n(&s->present, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq)
			return present ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

NVMM_API int
nvmmx_vcpu_stats(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    struct nvmmx_vcpu_stats *stats)
{
	struct vcpu *v;
	int r;

	r = vcpu_lookup_arg(mach, vcpu, stats, &v);
	if (r < 0)
		return nvmm_ret(r);
	return nvmm_ret(stats_read(v->stats, stats));
}

NVMM_API int
nvmmx_ctl_stats(nvmm_machid_t machid, nvmm_cpuid_t cpuid,
    struct nvmmx_vcpu_stats *stats)
{
	const struct stats_slot *slots;
	int r;

	if (stats == NULL)
		return nvmm_ret(-EFAULT);
	if (machid >= NVMM_MAX_MACHINES || cpuid >= NVMM_MAX_VCPUS)
		return nvmm_ret(-EINVAL);
	r = registry_map_slots(machid, &slots);
	if (r < 0)
		return nvmm_ret(r);
	r = stats_read(slots + cpuid, stats);
	registry_unmap_slots(slots);
	return nvmm_ret(r);
}
