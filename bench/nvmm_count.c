/*
 * LD_PRELOAD into a VMM linked with libnvmm.so: counts the exits its
 * nvmm_vcpu_run calls return, by reason, and writes them at exit to the
 * file NVMM_COUNT_FILE as "reason count" lines, then "runs N" and
 * "errors N". bench/qemu.sh divides a VCPU thread's syscalls by them.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <nvmm.h>

static int (*real_run)(struct nvmm_machine *, struct nvmm_vcpu *);
static unsigned long runs, errors, by_reason[16];
static const char *const names[16] = {
	"none", "memory", "io", "shutdown", "int_ready", "nmi_ready", "halted",
	"tpr_changed", "rdmsr", "wrmsr", "monitor", "mwait", "cpuid",
	"stopped", "invalid", "other",
};

static int reason_index(uint64_t r)
{
	if (r <= NVMM_VCPU_EXIT_IO)
		return (int)r;
	if (r >= NVMM_VCPU_EXIT_SHUTDOWN && r <= NVMM_VCPU_EXIT_TPR_CHANGED)
		return (int)(r - NVMM_VCPU_EXIT_SHUTDOWN) + 3;
	if (r >= NVMM_VCPU_EXIT_RDMSR && r <= NVMM_VCPU_EXIT_CPUID)
		return (int)(r - NVMM_VCPU_EXIT_RDMSR) + 8;
	if (r == NVMM_VCPU_EXIT_STOPPED)
		return 13;
	if (r == NVMM_VCPU_EXIT_INVALID)
		return 14;
	return 15;
}

int nvmm_vcpu_run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	int ret;

	if (real_run == NULL)
		*(void **)&real_run = dlsym(RTLD_NEXT, "nvmm_vcpu_run");
	ret = real_run(mach, vcpu);
	__atomic_fetch_add(&runs, 1, __ATOMIC_RELAXED);
	if (ret == -1)
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&by_reason[reason_index(vcpu->exit->reason)],
		    1, __ATOMIC_RELAXED);
	return ret;
}

__attribute__((destructor)) static void nvmm_count_report(void)
{
	const char *path = getenv("NVMM_COUNT_FILE");
	FILE *f;
	int i;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	for (i = 0; i < 16; i++)
		if (by_reason[i] != 0)
			fprintf(f, "%s %lu\n", names[i], by_reason[i]);
	fprintf(f, "runs %lu\nerrors %lu\n", runs, errors);
	fclose(f);
}
