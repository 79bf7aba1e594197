/*
 * The comm page protocol's two halves below the API: getstate asks the
 * backend only for groups not cached, setstate marks groups cached and to
 * commit at the next run and makes no syscall. vcpu.c's entry points and
 * the assists both use them; nvmm_vcpu_run (vcpu.c) does the commit.
 */
#include "nvmm_impl.h"

int
vcpu_getstate(struct vcpu *v, uint64_t flags)
{
	struct nvmm_comm_page *comm = v->comm;
	uint64_t wanted;
	int r;

	if (flags & ~(uint64_t)NVMM_X64_STATE_ALL)
		return -EINVAL;
	wanted = nvmm_cache_off ? flags : flags & ~comm->state_cached;
	if (wanted == 0)
		return 0;
	comm->state_wanted = wanted;
	r = kvm_vcpu_getstate(v, wanted);
	comm->state_wanted = 0;
	if (r < 0)
		return r;
	comm->state_cached |= wanted;
	return 0;
}

int
vcpu_setstate(struct vcpu *v, uint64_t flags)
{
	struct nvmm_comm_page *comm = v->comm;

	if (flags & ~(uint64_t)NVMM_X64_STATE_ALL)
		return -EINVAL;
	if (nvmm_cache_off)
		return kvm_vcpu_commit(v, flags);
	comm->state_commit |= flags;
	comm->state_cached |= flags;
	return 0;
}
