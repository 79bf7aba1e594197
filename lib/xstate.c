/*
 * Full CPU state (nvmm_ext.h): the XSAVE area beyond the FPU group, and what
 * nvmm_x64_state lacks to resume a VCPU exactly: the events KVM was
 * delivering, the NMI state and the TSC rate.
 */
#include "nvmm_impl.h"

NVMM_API int
nvmmx_xsave_size(struct nvmm_machine *mach, size_t *size)
{
	struct mach *m;
	int r;

	r = mach_lookup(mach, &m);
	if (r == 0 && size == NULL)
		r = -EFAULT;
	if (r == 0)
		*size = kvm_xsave_size(m);
	return nvmm_ret(r);
}

static int
xsave_args(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    const void *buf, size_t size, struct vcpu **vp)
{
	int r;

	r = vcpu_lookup_arg(mach, vcpu, buf, vp);
	if (r < 0)
		return r;
	return size < kvm_xsave_size((*vp)->mach) ? -EINVAL : 0;
}

NVMM_API int
nvmmx_vcpu_getxsave(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    void *buf, size_t size)
{
	struct vcpu *v;
	int r;

	r = xsave_args(mach, vcpu, buf, size, &v);
	if (r == 0)
		r = kvm_vcpu_getxsave(v, buf);
	return nvmm_ret(r);
}

NVMM_API int
nvmmx_vcpu_setxsave(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    const void *buf, size_t size)
{
	struct vcpu *v;
	int r;

	r = xsave_args(mach, vcpu, buf, size, &v);
	if (r == 0)
		r = kvm_vcpu_setxsave(v, buf);
	return nvmm_ret(r);
}

NVMM_API int
nvmmx_vcpu_getextra(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    struct nvmmx_vcpu_extra *extra)
{
	struct vcpu *v;
	int r;

	r = vcpu_lookup_arg(mach, vcpu, extra, &v);
	if (r == 0)
		r = kvm_vcpu_getextra(v, extra);
	return nvmm_ret(r);
}

/*
 * Flags are 0 or 1; an event's details are 0 unless it is pending, and at
 * most one event is being delivered, an exception below 32 but the NMI.
 */
static int
extra_check(const struct nvmmx_vcpu_extra *x)
{
	if (x->rsvd0 != 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(x->rsvd) / sizeof(x->rsvd[0]); i++)
		if (x->rsvd[i] != 0)
			return -EINVAL;
	if (x->nmi_masked > 1 || x->nmi_pending > 1 || x->exc_pending > 1 ||
	    x->exc_has_error > 1 || x->intr_pending > 1 || x->intr_soft > 1)
		return -EINVAL;
	if (x->tsc_khz == 0 || x->tsc_khz > UINT32_MAX)
		return -EINVAL;
	if (x->exc_pending ? x->exc_vector >= 32 || x->exc_vector == 2 :
	    x->exc_vector != 0 || x->exc_has_error)
		return -EINVAL;
	if (!x->exc_has_error && x->exc_error != 0)
		return -EINVAL;
	if (!x->intr_pending && (x->intr_vector != 0 || x->intr_soft))
		return -EINVAL;
	return x->exc_pending && x->intr_pending ? -EINVAL : 0;
}

NVMM_API int
nvmmx_vcpu_setextra(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    const struct nvmmx_vcpu_extra *extra)
{
	struct vcpu *v;
	int r;

	r = vcpu_lookup_arg(mach, vcpu, extra, &v);
	if (r == 0)
		r = extra_check(extra);
	if (r == 0)
		r = kvm_vcpu_setextra(v, extra);
	return nvmm_ret(r);
}
