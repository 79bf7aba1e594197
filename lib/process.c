/*
 * Process-wide state, below the API files: whether nvmm_init ran, the
 * capability it found, and this process's machines by id, the table every
 * API call starts from. machine.c fills it; the others only look up.
 */
#include "nvmm_impl.h"

struct nvmm_capability nvmm_cap;
bool nvmm_initialised;
bool nvmm_root;
/* LIBNVMM_COMM_PAGE=0: every getstate/setstate is an ioctl (NVMM before 2019). */
bool nvmm_cache_off;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mach *table[NVMM_MAX_MACHINES];

void
machines_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void
machines_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

struct mach *
machines_get(nvmm_machid_t id)
{
	return id < NVMM_MAX_MACHINES ? table[id] : NULL;
}

void
machines_set(nvmm_machid_t id, struct mach *m)
{
	table[id] = m;
}

int
mach_lookup(struct nvmm_machine *mach, struct mach **mp)
{
	struct mach *m;

	if (!nvmm_initialised)
		return -EBADF;
	if (mach == NULL)
		return -EFAULT;
	if (mach->machid >= NVMM_MAX_MACHINES)
		return -EINVAL;
	m = table[mach->machid];
	if (m == NULL || mach->areas != m)
		return -ENOENT;
	*mp = m;
	return 0;
}

int
vcpu_lookup(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    struct mach **mp, struct vcpu **vp)
{
	struct vcpu *v;
	int r;

	r = mach_lookup(mach, mp);
	if (r < 0)
		return r;
	if (vcpu == NULL)
		return -EFAULT;
	if (vcpu->cpuid >= NVMM_MAX_VCPUS)
		return -EINVAL;
	v = (*mp)->vcpus[vcpu->cpuid];
	if (v == NULL)
		return -ENOENT;
	*vp = v;
	return 0;
}

int
vcpu_lookup_arg(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    const void *arg, struct vcpu **vp)
{
	struct mach *m;
	int r;

	r = vcpu_lookup(mach, vcpu, &m, vp);
	return r == 0 && arg == NULL ? -EFAULT : r;
}
