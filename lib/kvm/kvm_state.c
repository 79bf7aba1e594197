/*
 * NVMM state <-> KVM state: the translation of each group, getstate, and the
 * commit of setstate's groups. GPRS, SEGS, CRS (but XCR0) and INTR go through
 * kvm_run's sync regs (no syscall); MSRS, DRS, FPU and XCR0 through ioctls,
 * skipped when KVM already holds the values.
 */
#include "../nvmm_impl.h"

#include <stdlib.h>
#include <string.h>

#include "kvm_impl.h"

static const uint32_t msr_index[NVMM_X64_NMSR] = {
	[NVMM_X64_MSR_EFER] = 0xC0000080,
	[NVMM_X64_MSR_STAR] = 0xC0000081,
	[NVMM_X64_MSR_LSTAR] = 0xC0000082,
	[NVMM_X64_MSR_CSTAR] = 0xC0000083,
	[NVMM_X64_MSR_SFMASK] = 0xC0000084,
	[NVMM_X64_MSR_KERNELGSBASE] = 0xC0000102,
	[NVMM_X64_MSR_SYSENTER_CS] = 0x174,
	[NVMM_X64_MSR_SYSENTER_ESP] = 0x175,
	[NVMM_X64_MSR_SYSENTER_EIP] = 0x176,
	[NVMM_X64_MSR_PAT] = 0x277,
	[NVMM_X64_MSR_TSC] = 0x10,
};

/* ---- Translation ------------------------------------------------------- */

/* NVMM's GPR indices and struct kvm_regs's fields, which KVM orders otherwise. */
#define KVM_GPRS(X) \
	X(RAX, rax) X(RCX, rcx) X(RDX, rdx) X(RBX, rbx) X(RSP, rsp) \
	X(RBP, rbp) X(RSI, rsi) X(RDI, rdi) X(R8, r8) X(R9, r9) \
	X(R10, r10) X(R11, r11) X(R12, r12) X(R13, r13) X(R14, r14) \
	X(R15, r15) X(RIP, rip) X(RFLAGS, rflags)

static void
gprs_from_kvm(uint64_t *g, const struct kvm_regs *r)
{
#define FROM_KVM(nvmm, kvm) g[NVMM_X64_GPR_##nvmm] = r->kvm;
	KVM_GPRS(FROM_KVM)
#undef FROM_KVM
}

static void
gprs_to_kvm(struct kvm_regs *r, const uint64_t *g)
{
#define TO_KVM(nvmm, kvm) r->kvm = g[NVMM_X64_GPR_##nvmm];
	KVM_GPRS(TO_KVM)
#undef TO_KVM
}

static void
seg_from_kvm(struct nvmm_x64_state_seg *s, const struct kvm_segment *k)
{
	s->selector = k->selector;
	s->attrib.type = k->type;
	s->attrib.s = k->s;
	s->attrib.dpl = k->dpl;
	s->attrib.p = k->present && !k->unusable;
	s->attrib.avl = k->avl;
	s->attrib.l = k->l;
	s->attrib.def = k->db;
	s->attrib.g = k->g;
	s->attrib.rsvd = 0;
	s->limit = k->limit;
	s->base = k->base;
}

/* NVMM says "not present" where VMX says "unusable". */
static void
seg_to_kvm(struct kvm_segment *k, const struct nvmm_x64_state_seg *s)
{
	memset(k, 0, sizeof(*k));
	k->selector = s->selector;
	k->type = s->attrib.type;
	k->s = s->attrib.s;
	k->dpl = s->attrib.dpl;
	k->present = s->attrib.p;
	k->avl = s->attrib.avl;
	k->l = s->attrib.l;
	k->db = s->attrib.def;
	k->g = s->attrib.g;
	k->unusable = !s->attrib.p;
	k->limit = s->limit;
	k->base = s->base;
}

static struct kvm_segment *
sreg_seg(struct kvm_sregs *sr, int i)
{
	switch (i) {
	case NVMM_X64_SEG_ES: return &sr->es;
	case NVMM_X64_SEG_CS: return &sr->cs;
	case NVMM_X64_SEG_SS: return &sr->ss;
	case NVMM_X64_SEG_DS: return &sr->ds;
	case NVMM_X64_SEG_FS: return &sr->fs;
	case NVMM_X64_SEG_GS: return &sr->gs;
	case NVMM_X64_SEG_LDT: return &sr->ldt;
	case NVMM_X64_SEG_TR: return &sr->tr;
	default: return NULL;
	}
}

/* GDT and IDT carry only base and limit; the rest of the entry is kept. */
static void
segs_from_kvm(struct nvmm_x64_state *st, struct kvm_sregs *sr)
{
	for (int i = 0; i < NVMM_X64_NSEG; i++) {
		struct kvm_segment *k = sreg_seg(sr, i);

		if (k != NULL)
			seg_from_kvm(&st->segs[i], k);
	}
	st->segs[NVMM_X64_SEG_GDT].base = sr->gdt.base;
	st->segs[NVMM_X64_SEG_GDT].limit = sr->gdt.limit;
	st->segs[NVMM_X64_SEG_IDT].base = sr->idt.base;
	st->segs[NVMM_X64_SEG_IDT].limit = sr->idt.limit;
}

static void
segs_to_kvm(struct kvm_sregs *sr, const struct nvmm_x64_state *st)
{
	for (int i = 0; i < NVMM_X64_NSEG; i++) {
		struct kvm_segment *k = sreg_seg(sr, i);

		if (k != NULL)
			seg_to_kvm(k, &st->segs[i]);
	}
	sr->gdt.base = st->segs[NVMM_X64_SEG_GDT].base;
	sr->gdt.limit = (uint16_t)st->segs[NVMM_X64_SEG_GDT].limit;
	sr->idt.base = st->segs[NVMM_X64_SEG_IDT].base;
	sr->idt.limit = (uint16_t)st->segs[NVMM_X64_SEG_IDT].limit;
}

static void
crs_from_kvm(uint64_t *crs, const struct kvm_sregs *sr)
{
	crs[NVMM_X64_CR_CR0] = sr->cr0;
	crs[NVMM_X64_CR_CR2] = sr->cr2;
	crs[NVMM_X64_CR_CR3] = sr->cr3;
	crs[NVMM_X64_CR_CR4] = sr->cr4;
	crs[NVMM_X64_CR_CR8] = sr->cr8;
}

static void
crs_to_kvm(struct kvm_sregs *sr, const uint64_t *crs)
{
	sr->cr0 = crs[NVMM_X64_CR_CR0];
	sr->cr2 = crs[NVMM_X64_CR_CR2];
	sr->cr3 = crs[NVMM_X64_CR_CR3];
	sr->cr4 = crs[NVMM_X64_CR_CR4];
	sr->cr8 = crs[NVMM_X64_CR_CR8];
}

static void
intr_from_kvm(struct nvmm_x64_state_intr *in, const struct kvm_vcpu *k,
    const struct kvm_vcpu_events *ev)
{
	memset(in, 0, sizeof(*in));
	in->int_shadow = ev->interrupt.shadow != 0;
	in->int_window_exiting = k->int_window;
	in->nmi_window_exiting = k->nmi_window;
	in->evt_pending = ev->exception.injected || ev->interrupt.injected ||
	    ev->nmi.injected;
}

static void
intr_to_kvm(struct kvm_vcpu *k, struct kvm_vcpu_events *ev,
    const struct nvmm_x64_state_intr *in)
{
	/* MOV SS blocking is valid whatever IF is; keep KVM's kind if any. */
	if (!in->int_shadow)
		ev->interrupt.shadow = 0;
	else if (ev->interrupt.shadow == 0)
		ev->interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	ev->flags = KVM_VCPUEVENT_VALID_SHADOW;
	k->int_window = in->int_window_exiting;
	k->nmi_window = in->nmi_window_exiting;
}

/*
 * FPU: the XSAVE image's first 512 bytes are the FXSAVE layout NVMM uses,
 * and k->xsave keeps it whichever ioctls move it. KVM_GET_FPU reports no
 * MXCSR and KVM_SET_FPU ignores it (Linux 6.1), so those only serve a KVM
 * without the XSAVE ioctls; hosts without XSAVE still have them, and they
 * carry the FXSAVE image there. A set keeps the rest of the image, so it
 * starts from a fresh copy unless one was read since the run.
 */
#define XSTATE_BV_OFFSET	512
#define XSTATE_X87_SSE		0x3ULL

/* The image's x87 and SSE parts are loaded, not reset to their init state. */
static void
xsave_legacy_on(void *region)
{
	uint64_t bv;

	memcpy(&bv, (uint8_t *)region + XSTATE_BV_OFFSET, sizeof(bv));
	bv |= XSTATE_X87_SSE;
	memcpy((uint8_t *)region + XSTATE_BV_OFFSET, &bv, sizeof(bv));
}

uint32_t
kvm_xsave_probe(int vmfd)
{
	int r = kvm_ioctl(vmfd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_XSAVE2);

	return r > 0 ? (uint32_t)r : 0;
}

/* Without KVM_CAP_XSAVE2, the fixed struct kvm_xsave. */
size_t
kvm_xsave_size(const struct mach *m)
{
	return m->kvm.xsave_size != 0 ? m->kvm.xsave_size :
	    sizeof(struct kvm_xsave);
}

static int
fpu_read(struct vcpu *v)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_fpu f;
	struct fxsave fx;
	int r;

	if (kvm_have_xsave)
		return kvm_ioctl(k->fd, v->mach->kvm.xsave_size != 0 ?
		    KVM_GET_XSAVE2 : KVM_GET_XSAVE, k->xsave);
	r = kvm_ioctl(k->fd, KVM_GET_FPU, &f);
	if (r < 0)
		return r;
	memset(&fx, 0, sizeof(fx));
	fx.fx_cw = f.fcw;
	fx.fx_sw = f.fsw;
	fx.fx_tw = f.ftwx;
	fx.fx_opcode = f.last_opcode;
	fx.fx_ip.fa_64 = f.last_ip;
	fx.fx_dp.fa_64 = f.last_dp;
	fx.fx_mxcsr = f.mxcsr;
	memcpy(fx.fx_87_ac, f.fpr, sizeof(f.fpr));
	memcpy(fx.fx_xmm, f.xmm, sizeof(f.xmm));
	memset(k->xsave, 0, kvm_xsave_size(v->mach));
	memcpy(k->xsave->region, &fx, sizeof(fx));
	xsave_legacy_on(k->xsave->region);
	return 0;
}

static int
fpu_write(struct vcpu *v)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_fpu f;
	struct fxsave fx;

	if (kvm_have_xsave) {
		xsave_legacy_on(k->xsave->region);
		return kvm_ioctl(k->fd, KVM_SET_XSAVE, k->xsave);
	}
	memcpy(&fx, k->xsave->region, sizeof(fx));
	memset(&f, 0, sizeof(f));
	f.fcw = fx.fx_cw;
	f.fsw = fx.fx_sw;
	f.ftwx = fx.fx_tw;
	f.last_opcode = fx.fx_opcode;
	f.last_ip = fx.fx_ip.fa_64;
	f.last_dp = fx.fx_dp.fa_64;
	f.mxcsr = fx.fx_mxcsr;
	memcpy(f.fpr, fx.fx_87_ac, sizeof(f.fpr));
	memcpy(f.xmm, fx.fx_xmm, sizeof(f.xmm));
	return kvm_ioctl(k->fd, KVM_SET_FPU, &f);
}

static int
fpu_get(struct vcpu *v, struct fxsave *fx)
{
	struct kvm_vcpu *k = &v->kvm;
	int r;

	if (!k->xsave_valid || nvmm_cache_off) {
		r = fpu_read(v);
		if (r < 0)
			return r;
		k->xsave_valid = true;
	}
	memcpy(fx, k->xsave->region, sizeof(*fx));
	fx->fx_mxcsr_mask = kvm_mxcsr_mask;
	return 0;
}

/* What setstate(FPU) loads: as NetBSD, the host's MXCSR mask applied. */
static void
fpu_image(struct fxsave *img, const struct fxsave *fx)
{
	*img = *fx;
	img->fx_mxcsr_mask = kvm_mxcsr_mask;
	img->fx_mxcsr &= fx->fx_mxcsr_mask & kvm_mxcsr_mask;
}

static int
fpu_set(struct vcpu *v, const struct fxsave *fx)
{
	struct kvm_vcpu *k = &v->kvm;
	struct fxsave cur, img;
	int r;

	r = fpu_get(v, &cur);
	if (r < 0)
		return r;
	fpu_image(&img, fx);
	/* What KVM holds, fetched since the guest last ran: no ioctl. */
	if (!nvmm_cache_off && memcmp(&cur, &img, sizeof(img)) == 0)
		return 0;
	memcpy(k->xsave->region, &img, sizeof(img));
	return fpu_write(v);
}

/*
 * The whole image, as the next run would load it: a setstate(FPU) not
 * yet committed replaces the legacy area, as it will then.
 */
int
kvm_vcpu_getxsave(struct vcpu *v, void *buf)
{
	struct fxsave fx;
	int r;

	r = fpu_get(v, &fx);
	if (r < 0)
		return r;
	memcpy(buf, v->kvm.xsave->region, kvm_xsave_size(v->mach));
	if (v->comm->state_commit & NVMM_X64_STATE_FPU) {
		fpu_image(&fx, &v->comm->state.fpu);
		xsave_legacy_on(buf);
	}
	memcpy(buf, &fx, sizeof(fx));
	return 0;
}

/*
 * Loaded now, over any setstate(FPU) not yet committed. KVM may normalise
 * the image (parts whose XSTATE_BV bit is clear), so the next read asks it.
 */
int
kvm_vcpu_setxsave(struct vcpu *v, const void *buf)
{
	struct kvm_vcpu *k = &v->kvm;
	int r;

	/* KVM checks XSTATE_BV against the guest's CPUID: that goes first. */
	r = kvm_settle_for_write(v, false);
	if (r == 0)
		r = kvm_cpuid_install(v);
	if (r < 0)
		return r;
	memcpy(k->xsave, buf, kvm_xsave_size(v->mach));
	r = fpu_write(v);
	k->xsave_valid = false;
	if (r == 0) {
		v->comm->state_cached &= ~NVMM_X64_STATE_FPU;
		v->comm->state_commit &= ~NVMM_X64_STATE_FPU;
	}
	return r;
}

/* ---- getstate, commit --------------------------------------------------- */

/* Whether KVM already holds these values of group (never with the comm page off). */
static bool
known(const struct kvm_vcpu *k, uint64_t group, const void *known_vals,
    const void *vals, size_t len)
{
	return !nvmm_cache_off && (k->known & group) &&
	    memcmp(known_vals, vals, len) == 0;
}

static void
remember(struct kvm_vcpu *k, uint64_t group, void *known_vals,
    const void *vals, size_t len)
{
	memcpy(known_vals, vals, len);
	k->known |= group;
}

/*
 * KVM_GET_MSRS or KVM_SET_MSRS of NVMM's MSRs, in one call; EFER is not
 * among them, it lives in the sync sregs.
 */
static int
msrs_io(struct vcpu *v, unsigned long req, uint64_t *msrs)
{
	struct kvm_vcpu *k = &v->kvm;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[NVMM_X64_NMSR - 1];
	} b;
	int r;

	if (req == KVM_SET_MSRS && known(k, NVMM_X64_STATE_MSRS,
	    k->known_msrs + 1, msrs + 1, (NVMM_X64_NMSR - 1) * sizeof(*msrs)))
		return 0;
	memset(&b, 0, sizeof(b));
	b.hdr.nmsrs = NVMM_X64_NMSR - 1;
	for (int i = 1; i < NVMM_X64_NMSR; i++) {
		b.e[i - 1].index = msr_index[i];
		b.e[i - 1].data = msrs[i];
	}
	r = kvm_ioctl(v->kvm.fd, req, &b);
	if (r < 0)
		return r;
	/* KVM stops at the first MSR it refuses (a bad PAT, say). */
	if (r != NVMM_X64_NMSR - 1)
		return -EINVAL;
	if (req == KVM_GET_MSRS)
		for (int i = 1; i < NVMM_X64_NMSR; i++)
			msrs[i] = b.e[i - 1].data;
	remember(k, NVMM_X64_STATE_MSRS, k->known_msrs + 1, msrs + 1,
	    (NVMM_X64_NMSR - 1) * sizeof(*msrs));
	return 0;
}

/*
 * XCR0 is in the CRS group, but not in the sync regs. Where the host has no
 * XSAVE (xcr0_mask 0), KVM has no XCR0 either; NetBSD then keeps x87 only
 * and ignores what is set.
 */
static int
get_xcr0(struct vcpu *v, uint64_t *xcr0)
{
	struct kvm_xcrs x;
	int r;

	if (nvmm_cap.arch.xcr0_mask == 0) {
		*xcr0 = 1;
		return 0;
	}
	/* Read or set since the guest last ran, or the guest has no XSETBV. */
	if (!nvmm_cache_off && (v->kvm.known & NVMM_X64_STATE_CRS)) {
		*xcr0 = v->kvm.known_xcr0;
		return 0;
	}
	memset(&x, 0, sizeof(x));
	r = kvm_ioctl(v->kvm.fd, KVM_GET_XCRS, &x);
	if (r < 0)
		return r;
	*xcr0 = 1;
	for (uint32_t i = 0; i < x.nr_xcrs; i++)
		if (x.xcrs[i].xcr == 0)
			*xcr0 = x.xcrs[i].value;
	remember(&v->kvm, NVMM_X64_STATE_CRS, &v->kvm.known_xcr0, xcr0,
	    sizeof(*xcr0));
	return 0;
}

static int
set_xcr0(struct vcpu *v, uint64_t xcr0)
{
	struct kvm_xcrs x;
	int r;

	/* As NetBSD: masked with what the guest may use, x87 always on. */
	xcr0 = (xcr0 & nvmm_cap.arch.xcr0_mask) | 1;
	if (nvmm_cap.arch.xcr0_mask == 0)
		return 0;
	if (known(&v->kvm, NVMM_X64_STATE_CRS, &v->kvm.known_xcr0, &xcr0,
	    sizeof(xcr0)))
		return 0;
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = xcr0;
	r = kvm_ioctl(v->kvm.fd, KVM_SET_XCRS, &x);
	if (r == 0)
		remember(&v->kvm, NVMM_X64_STATE_CRS, &v->kvm.known_xcr0,
		    &xcr0, sizeof(xcr0));
	return r;
}

/* The sync regs, fresh: from kvm_run, or by ioctl with the comm page off. */
static int
sync_fetch(struct vcpu *v, uint64_t groups)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	int r = 0;

	if (!nvmm_cache_off)
		return 0;
	if (groups & NVMM_X64_STATE_GPRS)
		r = kvm_ioctl(k->fd, KVM_GET_REGS, &run->s.regs.regs);
	if (r == 0 && (groups & (NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS |
	    NVMM_X64_STATE_MSRS)))
		r = kvm_ioctl(k->fd, KVM_GET_SREGS, &run->s.regs.sregs);
	if (r == 0 && (groups & NVMM_X64_STATE_INTR))
		r = kvm_ioctl(k->fd, KVM_GET_VCPU_EVENTS, &run->s.regs.events);
	return r;
}

int
kvm_vcpu_getstate(struct vcpu *v, uint64_t flags)
{
	struct nvmm_x64_state *st = &v->comm->state;
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_sync_regs *s = &k->run->s.regs;
	struct kvm_debugregs dr;
	int r;

	r = sync_fetch(v, flags);
	if (r < 0)
		return r;
	if (flags & NVMM_X64_STATE_GPRS)
		gprs_from_kvm(st->gprs, &s->regs);
	if (flags & NVMM_X64_STATE_SEGS)
		segs_from_kvm(st, &s->sregs);
	if (flags & NVMM_X64_STATE_CRS) {
		crs_from_kvm(st->crs, &s->sregs);
		r = get_xcr0(v, &st->crs[NVMM_X64_CR_XCR0]);
		if (r < 0)
			return r;
	}
	if (flags & NVMM_X64_STATE_INTR)
		intr_from_kvm(&st->intr, k, &s->events);
	if (flags & NVMM_X64_STATE_MSRS) {
		st->msrs[NVMM_X64_MSR_EFER] = s->sregs.efer;
		r = msrs_io(v, KVM_GET_MSRS, st->msrs);
		if (r < 0)
			return r;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		r = kvm_ioctl(k->fd, KVM_GET_DEBUGREGS, &dr);
		if (r < 0)
			return r;
		memcpy(&st->drs[NVMM_X64_DR_DR0], dr.db, sizeof(dr.db));
		st->drs[NVMM_X64_DR_DR6] = dr.dr6;
		st->drs[NVMM_X64_DR_DR7] = dr.dr7;
		remember(k, NVMM_X64_STATE_DRS, k->known_drs, st->drs,
		    sizeof(st->drs));
	}
	if (flags & NVMM_X64_STATE_FPU) {
		r = fpu_get(v, &st->fpu);
		if (r < 0)
			return r;
	}
	return 0;
}

/* With the comm page off, every setstate is an ioctl, as NVMM before 2019. */
int
kvm_flush_sync(struct vcpu *v)
{
	struct kvm_run *run = v->kvm.run;
	int r = 0;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		r = kvm_ioctl(v->kvm.fd, KVM_SET_REGS, &run->s.regs.regs);
		/* They end single steps: see debug_arm() in kvm_run.c. */
		if (kvm_vcpu_stepping(v))
			v->kvm.debug_dirty = true;
	}
	if (r == 0 && (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS))
		r = kvm_ioctl(v->kvm.fd, KVM_SET_SREGS, &run->s.regs.sregs);
	if (r == 0 && (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS))
		r = kvm_ioctl(v->kvm.fd, KVM_SET_VCPU_EVENTS,
		    &run->s.regs.events);
	run->kvm_dirty_regs = 0;
	return r;
}

/*
 * Loads the groups into KVM: sync-reg groups are marked dirty for the next
 * KVM_RUN (no syscall); the others are set by ioctl now.
 */
int
kvm_vcpu_commit(struct vcpu *v, uint64_t flags)
{
	const struct nvmm_x64_state *st = &v->comm->state;
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	struct kvm_sync_regs *s = &run->s.regs;
	uint64_t sregs_groups = NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS |
	    NVMM_X64_STATE_MSRS;
	int r;

	r = kvm_settle_for_write(v, flags & NVMM_X64_STATE_GPRS);
	if (r < 0)
		return r;
	/* With the comm page off, partial sregs need KVM's current copy. */
	if (nvmm_cache_off && (flags & sregs_groups) != 0 &&
	    (flags & sregs_groups) != sregs_groups)
		r = kvm_ioctl(k->fd, KVM_GET_SREGS, &s->sregs);
	if (r == 0 && nvmm_cache_off && (flags & NVMM_X64_STATE_INTR))
		r = kvm_ioctl(k->fd, KVM_GET_VCPU_EVENTS, &s->events);
	if (r < 0)
		return r;

	if (flags & NVMM_X64_STATE_GPRS) {
		gprs_to_kvm(&s->regs, st->gprs);
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	}
	if (flags & NVMM_X64_STATE_SEGS)
		segs_to_kvm(&s->sregs, st);
	if (flags & NVMM_X64_STATE_CRS) {
		crs_to_kvm(&s->sregs, st->crs);
		/* Without an in-kernel APIC, KVM_RUN loads the TPR from here. */
		run->cr8 = st->crs[NVMM_X64_CR_CR8];
		k->tpr_seen = run->cr8;
	}
	if (flags & NVMM_X64_STATE_MSRS)
		s->sregs.efer = st->msrs[NVMM_X64_MSR_EFER];
	if (flags & sregs_groups) {
		/*
		 * Loading sregs queues the interrupt whose bit is set in
		 * interrupt_bitmap, and KVM's exits only ever add bits to the
		 * sync copy (one for an interrupt still being injected then):
		 * left there, a vector injected long ago would be injected
		 * again at every commit. Events go through EVENTS alone, and an
		 * empty bitmap leaves any interrupt KVM holds as it is.
		 */
		memset(s->sregs.interrupt_bitmap, 0,
		    sizeof(s->sregs.interrupt_bitmap));
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	if (flags & NVMM_X64_STATE_INTR) {
		intr_to_kvm(k, &s->events, &st->intr);
		run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	}

	/*
	 * KVM checks XCR0 (now) and CR4.OSXSAVE (at entry, or now with the
	 * comm page off) against the guest's CPUID: before the first run,
	 * the table must be in first.
	 */
	r = kvm_cpuid_install(v);
	if (r < 0)
		return r;
	if (flags & NVMM_X64_STATE_CRS) {
		r = set_xcr0(v, st->crs[NVMM_X64_CR_XCR0]);
		if (r < 0)
			return r;
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		r = msrs_io(v, KVM_SET_MSRS, v->comm->state.msrs);
		if (r < 0)
			return r;
	}
	if ((flags & NVMM_X64_STATE_DRS) && !known(k, NVMM_X64_STATE_DRS,
	    k->known_drs, st->drs, sizeof(st->drs))) {
		struct kvm_debugregs dr;

		memset(&dr, 0, sizeof(dr));
		memcpy(dr.db, &st->drs[NVMM_X64_DR_DR0], sizeof(dr.db));
		dr.dr6 = st->drs[NVMM_X64_DR_DR6];
		dr.dr7 = st->drs[NVMM_X64_DR_DR7];
		r = kvm_ioctl(k->fd, KVM_SET_DEBUGREGS, &dr);
		if (r < 0)
			return r;
		remember(k, NVMM_X64_STATE_DRS, k->known_drs, st->drs,
		    sizeof(st->drs));
	}
	if (flags & NVMM_X64_STATE_FPU) {
		r = fpu_set(v, &st->fpu);
		if (r < 0)
			return r;
	}
	return nvmm_cache_off ? kvm_flush_sync(v) : 0;
}

/*
 * What NVMM caches on I/O, MMIO and MSR exits: the GPRs, translated now
 * since every handler reads them. SEGS, CRS and INTR stay readable without
 * a syscall and are translated when asked.
 */
void
kvm_provide(struct vcpu *v)
{
	struct nvmm_comm_page *comm = v->comm;
	struct kvm_sync_regs *s = &v->kvm.run->s.regs;

	gprs_from_kvm(comm->state.gprs, &s->regs);
	comm->state_cached |= NVMM_X64_STATE_GPRS;
}

void
kvm_vcpu_code(struct vcpu *v)
{
	struct nvmm_comm_page *comm = v->comm;

	if (!(comm->state_cached & NVMM_X64_STATE_SEGS))
		seg_from_kvm(&comm->state.segs[NVMM_X64_SEG_CS],
		    &v->kvm.run->s.regs.sregs.cs);
	kvm_vcpu_paging(v);
}

void
kvm_vcpu_paging(struct vcpu *v)
{
	struct nvmm_comm_page *comm = v->comm;
	const struct kvm_sregs *sr = &v->kvm.run->s.regs.sregs;

	if (!(comm->state_cached & NVMM_X64_STATE_CRS))
		crs_from_kvm(comm->state.crs, sr);
	if (!(comm->state_cached & NVMM_X64_STATE_MSRS))
		comm->state.msrs[NVMM_X64_MSR_EFER] = sr->efer;
}

/* ---- Events and TSC frequency (nvmmx_vcpu_extra) ------------------------ */

/*
 * The events live in the sync regs like the INTR group. An NMI that KVM
 * was delivering (nmi.injected, which masks NMIs) is reported as pending
 * and unmasked: delivered again from the start, it ends the same.
 */
int
kvm_vcpu_getextra(struct vcpu *v, struct nvmmx_vcpu_extra *x)
{
	const struct kvm_vcpu_events *e = &v->kvm.run->s.regs.events;
	int r, khz;

	r = sync_fetch(v, NVMM_X64_STATE_INTR);
	if (r < 0)
		return r;
	khz = kvm_ioctl(v->kvm.fd, KVM_GET_TSC_KHZ, NULL);
	if (khz < 0)
		return khz;
	memset(x, 0, sizeof(*x));
	x->tsc_khz = (uint64_t)khz;
	x->nmi_masked = e->nmi.masked && !e->nmi.injected;
	x->nmi_pending = e->nmi.pending || e->nmi.injected;
	if (e->exception.injected) {
		x->exc_pending = 1;
		x->exc_vector = e->exception.nr;
		x->exc_has_error = e->exception.has_error_code != 0;
		if (x->exc_has_error)
			x->exc_error = e->exception.error_code;
	}
	if (e->interrupt.injected) {
		x->intr_pending = 1;
		x->intr_vector = e->interrupt.nr;
		x->intr_soft = e->interrupt.soft != 0;
	}
	return 0;
}

/*
 * Loaded now, and into the sync copy that later commits of INTR and
 * injections start from. Only KVM_VCPUEVENT_VALID_NMI_PENDING: the
 * interrupt shadow stays the INTR group's.
 */
int
kvm_vcpu_setextra(struct vcpu *v, const struct nvmmx_vcpu_extra *x)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_vcpu_events *e = &k->run->s.regs.events, ev;
	int r, khz;

	r = kvm_settle_for_write(v, false);
	if (r == 0)
		r = sync_fetch(v, NVMM_X64_STATE_INTR);
	if (r < 0)
		return r;
	/*
	 * Without TSC scaling KVM takes rates near the host's, or above it;
	 * its EINVAL can only mean a rate it cannot give. It keeps the rate
	 * it refused as the one KVM_GET_TSC_KHZ reports: the old one goes back.
	 */
	khz = kvm_ioctl(k->fd, KVM_GET_TSC_KHZ, NULL);
	if (khz < 0)
		return khz;
	r = kvm_ioctl(k->fd, KVM_SET_TSC_KHZ,
	    (void *)(unsigned long)x->tsc_khz);
	if (r < 0) {
		kvm_ioctl(k->fd, KVM_SET_TSC_KHZ, (void *)(unsigned long)khz);
		return r == -EINVAL ? -ENOTSUP : r;
	}

	ev = *e;
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	ev.nmi.injected = 0;
	ev.nmi.pending = x->nmi_pending;
	ev.nmi.masked = x->nmi_masked;
	memset(&ev.exception, 0, sizeof(ev.exception));
	ev.exception.injected = x->exc_pending;
	ev.exception.nr = x->exc_vector;
	ev.exception.has_error_code = x->exc_has_error;
	ev.exception.error_code = x->exc_error;
	ev.interrupt.injected = x->intr_pending;
	ev.interrupt.nr = x->intr_vector;
	ev.interrupt.soft = x->intr_soft;
	r = kvm_ioctl(k->fd, KVM_SET_VCPU_EVENTS, &ev);
	if (r < 0) {
		kvm_ioctl(k->fd, KVM_SET_TSC_KHZ, (void *)(unsigned long)khz);
		return r;
	}
	e->nmi = ev.nmi;
	e->exception = ev.exception;
	e->interrupt.injected = ev.interrupt.injected;
	e->interrupt.nr = ev.interrupt.nr;
	e->interrupt.soft = ev.interrupt.soft;
	/* The one INTR field these make. */
	if (v->comm->state_cached & NVMM_X64_STATE_INTR)
		v->comm->state.intr.evt_pending = x->exc_pending ||
		    x->intr_pending;
	return 0;
}
