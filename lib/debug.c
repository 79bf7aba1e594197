/*
 * Guest debugging (nvmm_ext.h): the VMM's own single steps and breakpoints,
 * which stop the VCPU with NVMMX_VCPU_EXIT_DEBUG.
 */
#include "nvmm_impl.h"

#define DEBUG_FLAGS	(NVMMX_DEBUG_STEP | NVMMX_DEBUG_HWBP | NVMMX_DEBUG_SWBP)

NVMM_API int
nvmmx_vcpu_debug(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    const struct nvmmx_debug *dbg)
{
	struct vcpu *v;
	int r;

	r = vcpu_lookup_arg(mach, vcpu, dbg, &v);
	if (r < 0)
		return nvmm_ret(r);
	if (dbg->flags & ~(uint64_t)DEBUG_FLAGS)
		return nvmm_ret(-EINVAL);
	/* DR7 is 32 bits wide: more would make the next entry fail. */
	if ((dbg->flags & NVMMX_DEBUG_HWBP) && (dbg->dr7 >> 32) != 0)
		return nvmm_ret(-EINVAL);
	kvm_vcpu_debug(v, dbg);
	return 0;
}
