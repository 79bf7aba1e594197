/*
 * LD_PRELOAD into a VMM linked with libnvmm.so: counts the exits its
 * nvmm_vcpu_run calls return, by reason, and writes them at exit to the
 * file NVMM_COUNT_FILE as "reason count" lines, then "runs N" and
 * "errors N". bench/qemu.sh divides a VCPU thread's syscalls by them.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <nvmm_ext.h>

static int (*real_run)(struct nvmm_machine *, struct nvmm_vcpu *);
static unsigned long runs, errors, other, by_reason[NVMMX_STAT_NEXITS];

int nvmm_vcpu_run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	int ret, i;

	if (real_run == NULL)
		*(void **)&real_run = dlsym(RTLD_NEXT, "nvmm_vcpu_run");
	ret = real_run(mach, vcpu);
	__atomic_fetch_add(&runs, 1, __ATOMIC_RELAXED);
	if (ret == -1)
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	else if ((i = nvmmx_stat_index(vcpu->exit->reason)) >= 0)
		__atomic_fetch_add(&by_reason[i], 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&other, 1, __ATOMIC_RELAXED);
	return ret;
}

__attribute__((destructor)) static void nvmm_count_report(void)
{
	const char *path = getenv("NVMM_COUNT_FILE");
	FILE *f;
	int i;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	for (i = 0; i < NVMMX_STAT_NEXITS; i++)
		if (by_reason[i] != 0)
			fprintf(f, "%s %lu\n", nvmmx_stat_name(i), by_reason[i]);
	if (other != 0)
		fprintf(f, "other %lu\n", other);
	fprintf(f, "runs %lu\nerrors %lu\n", runs, errors);
	fclose(f);
}
