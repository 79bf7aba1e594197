/*
 * VCPUs and NVMM's comm page protocol.
 *
 * Each VCPU has a page holding struct nvmm_comm_page. setstate() marks
 * groups cached and to commit and makes no syscall; getstate() asks the
 * backend only for groups not cached; inject() only sets event_commit;
 * run() commits, forgets the cache, applies the event and enters the guest,
 * in that order, as NetBSD's kernel does.
 */
#include "nvmm_impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* NetBSD's nvmm_x86_reset_state, installed at VCPU creation. */
static void
reset_state(struct nvmm_x64_state *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < NVMM_X64_NSEG; i++) {
		struct nvmm_x64_state_seg *s = &st->segs[i];

		s->limit = 0xFFFF;
		s->attrib.p = 1;
		switch (i) {
		case NVMM_X64_SEG_GDT:
		case NVMM_X64_SEG_IDT:
			s->attrib.type = 2;
			s->attrib.s = 1;
			break;
		case NVMM_X64_SEG_LDT:
			s->attrib.type = 2;	/* SDT_SYSLDT */
			break;
		case NVMM_X64_SEG_TR:
			s->attrib.type = 3;	/* SDT_SYS286BSY */
			break;
		default:
			s->attrib.type = 3;
			s->attrib.s = 1;
			break;
		}
	}
	st->segs[NVMM_X64_SEG_CS].selector = 0xF000;
	st->segs[NVMM_X64_SEG_CS].base = 0xFFFF0000;

	st->gprs[NVMM_X64_GPR_RDX] = 0x600;
	st->gprs[NVMM_X64_GPR_RIP] = 0xFFF0;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;

	st->crs[NVMM_X64_CR_CR0] = 0x60000010;
	st->crs[NVMM_X64_CR_XCR0] = 1;

	st->drs[NVMM_X64_DR_DR6] = 0xFFFF0FF0;
	st->drs[NVMM_X64_DR_DR7] = 0x400;

	st->msrs[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL;

	st->fpu.fx_cw = 0x0040;
	st->fpu.fx_tw = 0x55;
	st->fpu.fx_zero = 0x55;
	st->fpu.fx_mxcsr = 0x1F80;
	/*
	 * Not in NetBSD's table, whose zero mask clears MXCSR when committed:
	 * the host's, as every later getstate shows, so that a getstate then
	 * setstate leaves MXCSR as it was and the guest starts with 0x1F80.
	 */
	st->fpu.fx_mxcsr_mask = nvmm_cap.arch.mxcsr_mask;
}

void
vcpu_free(struct vcpu *v)
{
	struct mach *m = v->mach;

	kvm_vcpu_destroy(v);
	stats_close(v);
	m->vcpus[v->id] = NULL;
	m->pages[v->id] = NULL;
	m->nvcpus--;
	munmap(v->comm, NVMM_PAGE_SIZE);
	free(v);
}

NVMM_API int
nvmm_vcpu_create(struct nvmm_machine *mach, nvmm_cpuid_t cpuid,
    struct nvmm_vcpu *vcpu)
{
	struct comm_alloc *ca;
	struct mach *m;
	struct vcpu *v;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);
	if (vcpu == NULL)
		return nvmm_ret(-EFAULT);
	if (cpuid >= NVMM_MAX_VCPUS)
		return nvmm_ret(-EINVAL);
	if (m->vcpus[cpuid] != NULL)
		return nvmm_ret(-EBUSY);

	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return nvmm_ret(-ENOMEM);
	ca = mmap(NULL, NVMM_PAGE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ca == MAP_FAILED) {
		free(v);
		return nvmm_ret(-ENOMEM);
	}
	ca->vcpu = v;
	v->mach = m;
	v->id = cpuid;
	v->comm = &ca->comm;

	/* The reset state is cached and goes to the hypervisor at the first run. */
	reset_state(&v->comm->state);
	v->comm->state_cached = NVMM_X64_STATE_ALL;
	v->comm->state_commit = NVMM_X64_STATE_ALL;

	r = kvm_vcpu_create(v);
	/*
	 * With the comm page off, getstate reads KVM and setstate writes it at
	 * once: the reset state must be there before either, not come over
	 * what the VMM set at the first run.
	 */
	if (r == 0 && nvmm_cache_off) {
		r = kvm_vcpu_commit(v, NVMM_X64_STATE_ALL);
		v->comm->state_commit = 0;
		if (r < 0)
			kvm_vcpu_destroy(v);
	}
	if (r < 0) {
		munmap(ca, NVMM_PAGE_SIZE);
		free(v);
		return nvmm_ret(r);
	}
	stats_open(v);
	m->vcpus[cpuid] = v;
	m->pages[cpuid] = v->comm;
	m->nvcpus++;
	registry_update(m);

	vcpu->cpuid = cpuid;
	vcpu->state = &v->comm->state;
	vcpu->event = &v->comm->event;
	vcpu->exit = &v->exit;
	vcpu->stop = &v->comm->stop;
	return 0;
}

NVMM_API int
nvmm_vcpu_destroy(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct mach *m;
	struct vcpu *v;
	int r;

	r = vcpu_lookup(mach, vcpu, &m, &v);
	if (r < 0)
		return nvmm_ret(r);
	vcpu_free(v);
	registry_update(m);
	return 0;
}

static int
conf_cpuid(struct vcpu *v, const struct nvmm_vcpu_conf_cpuid *c)
{
	struct cpuid_conf saved[NVMM_CPUID_MAXOPS];
	struct cpuid_conf *slot = NULL, *free_slot = NULL;
	int r;

	if (c->mask && c->exit)
		return -EINVAL;
	if ((c->u.mask.set.eax & c->u.mask.del.eax) ||
	    (c->u.mask.set.ebx & c->u.mask.del.ebx) ||
	    (c->u.mask.set.ecx & c->u.mask.del.ecx) ||
	    (c->u.mask.set.edx & c->u.mask.del.edx))
		return -EINVAL;
	/* KVM answers CPUID in the kernel and has no CPUID exit. */
	if (c->exit)
		return -ENOTSUP;

	for (int i = 0; i < NVMM_CPUID_MAXOPS; i++) {
		if (v->cpuid[i].used && v->cpuid[i].conf.leaf == c->leaf)
			slot = &v->cpuid[i];
		else if (!v->cpuid[i].used && free_slot == NULL)
			free_slot = &v->cpuid[i];
	}
	memcpy(saved, v->cpuid, sizeof(saved));
	if (!c->mask) {
		if (slot != NULL)
			slot->used = false;
	} else {
		if (slot == NULL)
			slot = free_slot;
		if (slot == NULL)
			return -ENOBUFS;
		slot->used = true;
		slot->conf = *c;
	}
	r = kvm_vcpu_cpuid_changed(v);
	if (r < 0)
		memcpy(v->cpuid, saved, sizeof(saved));
	return r;
}

NVMM_API int
nvmm_vcpu_configure(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t op, void *conf)
{
	struct vcpu *v;
	int r;

	r = vcpu_lookup_arg(mach, vcpu, conf, &v);
	if (r < 0)
		return nvmm_ret(r);

	switch (op) {
	case NVMM_VCPU_CONF_CALLBACKS:
		memcpy(&vcpu->cbs, conf, sizeof(vcpu->cbs));
		return 0;
	case NVMM_VCPU_CONF_CPUID:
		return nvmm_ret(conf_cpuid(v, conf));
	case NVMM_VCPU_CONF_TPR:
		v->tpr_exit = ((struct nvmm_vcpu_conf_tpr *)conf)->exit_changed;
		return 0;
	default:
		return nvmm_ret(-EINVAL);
	}
}

/* The API calls that only look the VCPU up and hand it to fn. */
static int
vcpu_call(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    int (*fn)(struct vcpu *, uint64_t), uint64_t arg)
{
	struct mach *m;
	struct vcpu *v;
	int r;

	r = vcpu_lookup(mach, vcpu, &m, &v);
	if (r == 0)
		r = fn(v, arg);
	return nvmm_ret(r);
}

NVMM_API int
nvmm_vcpu_getstate(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t flags)
{
	return vcpu_call(mach, vcpu, vcpu_getstate, flags);
}

NVMM_API int
nvmm_vcpu_setstate(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t flags)
{
	return vcpu_call(mach, vcpu, vcpu_setstate, flags);
}

static int
vcpu_inject(struct vcpu *v, uint64_t unused)
{
	(void)unused;
	v->comm->event_commit = true;
	return 0;
}

NVMM_API int
nvmm_vcpu_inject(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	return vcpu_call(mach, vcpu, vcpu_inject, 0);
}

/* NetBSD's rules for an event: exceptions < 32 but #DE, NMI and #BP. */
static int
event_validate(const struct nvmm_vcpu_event *ev)
{
	switch (ev->type) {
	case NVMM_VCPU_EVENT_EXCP:
		if (ev->vector >= 32 || ev->vector == 0 || ev->vector == 2 ||
		    ev->vector == 3)
			return -EINVAL;
		return 0;
	case NVMM_VCPU_EVENT_INTR:
		return 0;
	default:
		return -EINVAL;
	}
}

NVMM_API int
nvmm_vcpu_run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct nvmm_comm_page *comm;
	struct mach *m;
	struct vcpu *v;
	uint64_t start;
	int r;

	r = vcpu_lookup(mach, vcpu, &m, &v);
	if (r < 0)
		return nvmm_ret(r);
	if (vcpu->exit == NULL)
		return nvmm_ret(-EFAULT);
	comm = v->comm;
	start = stats_now(v);

	/* 1. Commit what setstate() marked; a failed event below keeps it. */
	if (comm->state_commit != 0) {
		r = kvm_vcpu_commit(v, comm->state_commit);
		comm->state_commit = 0;
		if (r < 0)
			return nvmm_ret(r);
	}
	/* 2. From here on the hypervisor's state is the truth. */
	comm->state_cached = 0;

	/* 3. The event, validated now as NVMM does. */
	if (comm->event_commit) {
		comm->event_commit = false;
		r = event_validate(&comm->event);
		if (r == 0)
			r = kvm_vcpu_inject(v);
		if (r < 0)
			return nvmm_ret(r);
	}

	/* 4. Enter the guest. */
	r = kvm_vcpu_run(v, vcpu->exit);
	if (r == 0 && vcpu->exit->reason == NVMM_VCPU_EXIT_IO)
		kvm_vcpu_io_decoded(v, assist_io_exit(v, &vcpu->exit->u.io));
	if (r == 0)
		stats_run(v, start, vcpu->exit->reason);
	return nvmm_ret(r);
}

NVMM_API int
nvmm_vcpu_stop(struct nvmm_vcpu *vcpu)
{
	struct comm_alloc *ca;

	if (vcpu == NULL || vcpu->stop == NULL)
		return nvmm_ret(-EFAULT);
	ca = (struct comm_alloc *)((char *)vcpu->stop -
	    offsetof(struct comm_alloc, comm.stop));
	kvm_vcpu_kick(ca->vcpu);
	return 0;
}
