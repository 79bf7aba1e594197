/*
 * VCPUs on KVM: NVMM state <-> KVM state, events, the run loop, exits, stop.
 *
 * The completion trap. KVM finishes an I/O, MMIO or MSR instruction only
 * when KVM_RUN is entered again, and it loads dirty sync regs *before* doing
 * so, so state written over an unfinished exit is clobbered or replayed.
 * NVMM's contract is that the VMM finishes the instruction (itself, or with
 * an assist) before the next run. So:
 *  - an assist gives KVM the data it needs and writes the registers KVM will
 *    produce into the comm page (cached, not committed); KVM finishes the
 *    instruction at the next KVM_RUN with no extra syscall;
 *  - whenever state must be written while KVM still holds an unfinished
 *    instruction, it is first "settled" with a KVM_RUN that has
 *    immediate_exit set (KVM completes, then returns EINTR at once); if the
 *    VMM did not complete the instruction itself, the GPRs of the exit are
 *    put back, so the guest executes it again, as on NetBSD.
 * Accesses an assisted instruction makes after the first (the write of a
 * read-modify-write, the second operand of MOVS or CMPS) were already done
 * by the assist; KVM reports them as further MMIO exits, which are checked
 * against the journal the assist left and absorbed.
 */
#include "../nvmm_impl.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm_impl.h"

#define RFLAGS_IF	(1ULL << 9)
#define RFLAGS_RF	(1ULL << 16)

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

static pid_t
self_tid(void)
{
	static __thread pid_t tid;

	if (tid == 0)
		tid = (pid_t)syscall(SYS_gettid);
	return tid;
}

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
 * FPU: the XSAVE image's first 512 bytes are the FXSAVE layout NVMM uses.
 * (KVM_GET_FPU loses MXCSR on some kernels.) A set keeps the rest of the
 * image, so it starts from a fresh copy unless one was read since the run.
 */
static int
fpu_get(struct vcpu *v, struct fxsave *fx)
{
	struct kvm_vcpu *k = &v->kvm;
	int r;

	if (!k->xsave_valid || nvmm_cache_off) {
		r = kvm_ioctl(k->fd, KVM_GET_XSAVE, k->xsave);
		if (r < 0)
			return r;
		k->xsave_valid = true;
	}
	memcpy(fx, k->xsave->region, sizeof(*fx));
	fx->fx_mxcsr_mask = kvm_mxcsr_mask;
	return 0;
}

#define XSTATE_BV_OFFSET	512
#define XSTATE_X87_SSE		0x3ULL

static int
fpu_set(struct vcpu *v, const struct fxsave *fx)
{
	struct kvm_vcpu *k = &v->kvm;
	struct fxsave img;
	uint64_t bv;
	int r;

	r = fpu_get(v, &img);
	if (r < 0)
		return r;
	/* The image KVM holds, fetched since the guest last ran: no ioctl. */
	img.fx_mxcsr_mask = fx->fx_mxcsr_mask;
	if (!nvmm_cache_off && memcmp(&img, fx, sizeof(img)) == 0)
		return 0;
	img = *fx;
	/* As NetBSD: the mask is the host's, MXCSR bits outside it dropped. */
	img.fx_mxcsr_mask = kvm_mxcsr_mask;
	img.fx_mxcsr &= fx->fx_mxcsr_mask & kvm_mxcsr_mask;
	memcpy(k->xsave->region, &img, sizeof(img));
	memcpy(&bv, (uint8_t *)k->xsave->region + XSTATE_BV_OFFSET, sizeof(bv));
	bv |= XSTATE_X87_SSE;
	memcpy((uint8_t *)k->xsave->region + XSTATE_BV_OFFSET, &bv, sizeof(bv));
	return kvm_ioctl(k->fd, KVM_SET_XSAVE, k->xsave);
}

/* ---- Create, destroy --------------------------------------------------- */

int
kvm_vcpu_create(struct vcpu *v)
{
	struct kvm_parked *p = &v->mach->kvm.parked[v->id];
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run;
	int fd, r;

	if (p->fd > 0) {
		fd = p->fd;
		run = p->run;
		k->has_run = p->has_run;
		p->fd = 0;
	} else {
		fd = kvm_ioctl(v->mach->kvm.fd, KVM_CREATE_VCPU,
		    (void *)(long)v->id);
		if (fd < 0)
			return fd == -EEXIST ? -EBUSY : fd;
		run = mmap(NULL, kvm_run_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
		if (run == MAP_FAILED) {
			close(fd);
			return -ENOMEM;
		}
	}
	k->fd = fd;
	k->run = run;
	k->cpuid_dirty = true;
	k->xsave = aligned_alloc(64, sizeof(*k->xsave));
	if (k->xsave == NULL) {
		kvm_vcpu_destroy(v);
		return -ENOMEM;
	}

	/* The sync regs start as a copy of KVM's state; the rest is ours. */
	r = kvm_ioctl(fd, KVM_GET_REGS, &run->s.regs.regs);
	if (r == 0)
		r = kvm_ioctl(fd, KVM_GET_SREGS, &run->s.regs.sregs);
	if (r == 0)
		r = kvm_ioctl(fd, KVM_GET_VCPU_EVENTS, &run->s.regs.events);
	if (r < 0) {
		kvm_vcpu_destroy(v);
		return r;
	}
	/* A reused VCPU forgets the events of its previous life. */
	memset(&run->s.regs.events, 0, sizeof(run->s.regs.events));
	run->s.regs.events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
	    KVM_VCPUEVENT_VALID_SHADOW;
	run->kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
	run->kvm_valid_regs = KVM_SYNC_X86_VALID_FIELDS;
	run->immediate_exit = 0;
	run->request_interrupt_window = 0;
	return 0;
}

void
kvm_vcpu_destroy(struct vcpu *v)
{
	struct kvm_parked *p = &v->mach->kvm.parked[v->id];

	free(v->kvm.xsave);
	p->fd = v->kvm.fd;
	p->run = v->kvm.run;
	p->has_run = v->kvm.has_run;
}

/* KVM refuses a new CPUID table once the VCPU has run (Linux >= 5.16). */
int
kvm_vcpu_cpuid_changed(struct vcpu *v)
{
	struct kvm_cpuid2 *c;
	int r;

	if (!v->kvm.has_run) {
		v->kvm.cpuid_dirty = true;
		return 0;
	}
	c = kvm_cpuid_build(v);
	if (c == NULL)
		return -ENOMEM;
	r = kvm_ioctl(v->kvm.fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? -EBUSY : 0;
}

/* ---- Settling an unfinished instruction -------------------------------- */

static bool
journal_match(struct kvm_vcpu *k)
{
	const struct kvm_run *run = k->run;
	const struct kvm_mmio_rec *rec;

	if (k->journal_pos >= k->njournal)
		return false;
	rec = &k->journal[k->journal_pos];
	return rec->gpa == run->mmio.phys_addr && rec->len == run->mmio.len &&
	    rec->write == run->mmio.is_write &&
	    (!rec->write || memcmp(rec->data, run->mmio.data, rec->len) == 0);
}

/* Hands KVM the data of an access the assist already made. */
static void
journal_absorb(struct kvm_vcpu *k)
{
	const struct kvm_mmio_rec *rec = &k->journal[k->journal_pos++];

	if (!rec->write)
		memcpy(k->run->mmio.data, rec->data, rec->len);
}

/*
 * Neutral completion data for an instruction the VMM did not complete: it is
 * undone afterwards by restoring the exit's GPRs.
 */
static void
neutral_completion(struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset((uint8_t *)run + run->io.data_offset, 0,
			    (size_t)run->io.size * run->io.count);
		break;
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		run->msr.error = 0;
		run->msr.data = run->exit_reason == KVM_EXIT_X86_RDMSR ? 0 :
		    run->msr.data;
		break;
	}
}

/*
 * Lets KVM finish the instruction of the last exit without entering the
 * guest. keep: the VMM set the GPRs itself, don't restore the exit's.
 */
static int
settle(struct vcpu *v, bool keep)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	bool restore = !k->assisted && !keep;
	/* The GPRs of the exit: nothing wrote the sync regs since. */
	struct kvm_regs exit_regs = run->s.regs.regs;
	int r;

	if (!k->assisted)
		neutral_completion(run);
	for (int i = 0;; i++) {
		if (i == 64)
			return -EIO;
		run->kvm_dirty_regs = 0;
		run->immediate_exit = 1;
		r = kvm_ioctl(k->fd, KVM_RUN, NULL);
		run->immediate_exit = 0;
		if (r == -EINTR)
			break;
		if (r < 0)
			return r;
		/* Another access of the same instruction. */
		if (run->exit_reason == KVM_EXIT_MMIO && journal_match(k))
			journal_absorb(k);
		else
			neutral_completion(run);
	}
	k->pending = KVM_PENDING_NONE;
	k->assisted = false;
	k->njournal = k->journal_pos = 0;
	if (restore) {
		run->s.regs.regs = exit_regs;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	}
	return 0;
}

static int
settle_for_write(struct vcpu *v, bool keep_gprs)
{
	if (v->kvm.pending == KVM_PENDING_NONE)
		return 0;
	return settle(v, keep_gprs);
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

/* XCR0 is in the CRS group, but not in the sync regs. */
static int
get_xcr0(struct vcpu *v, uint64_t *xcr0)
{
	struct kvm_xcrs x;
	int r;

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
static int
flush_sync(struct vcpu *v)
{
	struct kvm_run *run = v->kvm.run;
	int r = 0;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
		r = kvm_ioctl(v->kvm.fd, KVM_SET_REGS, &run->s.regs.regs);
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

	r = settle_for_write(v, flags & NVMM_X64_STATE_GPRS);
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
	if (flags & sregs_groups)
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	if (flags & NVMM_X64_STATE_INTR) {
		intr_to_kvm(k, &s->events, &st->intr);
		run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	}

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
	return nvmm_cache_off ? flush_sync(v) : 0;
}

/* ---- Events -------------------------------------------------------------- */

/* Vectors that push an error code, as NetBSD delivers them. */
static bool
excp_has_error(uint8_t vector)
{
	switch (vector) {
	case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 30:
		return true;
	default:
		return false;
	}
}

int
kvm_vcpu_inject(struct vcpu *v)
{
	const struct nvmm_vcpu_event *ev = &v->comm->event;
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	struct kvm_vcpu_events *e = &run->s.regs.events;
	int r;

	r = settle_for_write(v, false);
	if (r < 0)
		return r;
	if (nvmm_cache_off) {
		r = kvm_ioctl(k->fd, KVM_GET_VCPU_EVENTS, e);
		if (r < 0)
			return r;
	}
	e->flags = 0;
	if (ev->type == NVMM_VCPU_EVENT_EXCP) {
		e->exception.injected = 1;
		e->exception.pending = 0;
		e->exception.nr = ev->vector;
		e->exception.has_error_code = excp_has_error(ev->vector);
		e->exception.error_code = (uint32_t)ev->u.excp.error;
		/* NetBSD sets RF for faults so the handler's IRET won't re-trap. */
		if (ev->vector != 1 && ev->vector != 4 && ev->vector != 8 &&
		    ev->vector != 18) {
			if (nvmm_cache_off)
				r = kvm_ioctl(k->fd, KVM_GET_REGS, &run->s.regs.regs);
			run->s.regs.regs.rflags |= RFLAGS_RF;
			run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		}
	} else if (ev->vector == 2) {
		/* NVMM injects vector 2 as an NMI and watches for its end. */
		e->nmi.injected = 1;
		k->nmi_window = true;
	} else {
		e->interrupt.injected = 1;
		e->interrupt.nr = ev->vector;
		e->interrupt.soft = 0;
	}
	run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	if (r == 0 && nvmm_cache_off)
		r = flush_sync(v);
	return r;
}

/* ---- Stop ---------------------------------------------------------------- */

/*
 * Async-signal-safe. The order matters: stop, then immediate_exit, then the
 * thread id. A VCPU thread about to enter KVM_RUN either sees stop, or
 * enters with immediate_exit set, or published its tid before we read it
 * and gets the signal.
 */
void
kvm_vcpu_kick(struct vcpu *v)
{
	pid_t tid;

	__atomic_store_n(&v->comm->stop, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->kvm.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	tid = __atomic_load_n(&v->kvm.tid, __ATOMIC_SEQ_CST);
	if (tid != 0 && tid != self_tid())
		syscall(SYS_tgkill, getpid(), tid, kvm_kick_signal);
}

/* ---- Run ----------------------------------------------------------------- */

static void
fill_exitstate(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	const struct kvm_run *run = v->kvm.run;
	const struct kvm_vcpu_events *e = &run->s.regs.events;

	exit->exitstate.rflags = run->s.regs.regs.rflags;
	exit->exitstate.cr8 = run->cr8;
	exit->exitstate.int_shadow = e->interrupt.shadow != 0;
	exit->exitstate.int_window_exiting = v->kvm.int_window;
	exit->exitstate.nmi_window_exiting = v->kvm.nmi_window;
	exit->exitstate.evt_pending = e->exception.injected ||
	    e->interrupt.injected || e->nmi.injected;
	exit->exitstate.rsvd = 0;
}

/*
 * What NVMM caches on I/O, MMIO and MSR exits: the GPRs, translated now
 * since every handler reads them. SEGS, CRS and INTR stay readable without
 * a syscall and are translated when asked.
 */
static void
provide(struct vcpu *v)
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

/*
 * An IN always waits for its data. An OUT was already executed by KVM's
 * emulator (string forms, and all forms on some hosts), then RIP is past it.
 */
static void
exit_io(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	struct kvm_vcpu *k = &v->kvm;
	const struct kvm_run *run = k->run;

	exit->reason = NVMM_VCPU_EXIT_IO;
	provide(v);
	exit->u.io.in = run->io.direction == KVM_EXIT_IO_IN;
	exit->u.io.port = run->io.port;
	exit->u.io.operand_size = run->io.size;
	k->executed = assist_io_exit(v, &exit->u.io, kvm_out_emulated);
	k->pending = k->executed ? KVM_PENDING_NONE : KVM_PENDING_IO;
}

/* A read waits for its data; a write may be done already (kvm_mmio_write_executed). */
static void
exit_mmio(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	struct kvm_vcpu *k = &v->kvm;
	const struct kvm_run *run = k->run;

	k->executed = run->mmio.is_write && kvm_mmio_write_executed;
	k->pending = k->executed ? KVM_PENDING_NONE : KVM_PENDING_MMIO;
	exit->reason = NVMM_VCPU_EXIT_MEMORY;
	provide(v);
	exit->u.mem.prot = run->mmio.is_write ? PROT_WRITE : PROT_READ;
	exit->u.mem.gpa = run->mmio.phys_addr;
	exit->u.mem.inst_len = 0;
	memset(exit->u.mem.inst_bytes, 0, sizeof(exit->u.mem.inst_bytes));
}

/* RDMSR and WRMSR are two bytes long; NVMM reports the next RIP. */
static void
exit_msr(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	const struct kvm_run *run = v->kvm.run;
	uint64_t npc = run->s.regs.regs.rip + 2;

	provide(v);
	v->kvm.pending = KVM_PENDING_MSR;
	v->kvm.executed = false;
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		exit->reason = NVMM_VCPU_EXIT_RDMSR;
		exit->u.rdmsr.msr = run->msr.index;
		exit->u.rdmsr.npc = npc;
	} else {
		exit->reason = NVMM_VCPU_EXIT_WRMSR;
		exit->u.wrmsr.msr = run->msr.index;
		exit->u.wrmsr.val = run->msr.data;
		exit->u.wrmsr.npc = npc;
	}
}

static void
exit_invalid(struct nvmm_vcpu_exit *exit, uint64_t code)
{
	exit->reason = NVMM_VCPU_EXIT_INVALID;
	exit->u.inv.hwcode = code;
}

/* The guest could take an interrupt right now, at this instruction boundary. */
static bool
int_window_open(const struct kvm_run *run)
{
	const struct kvm_vcpu_events *e = &run->s.regs.events;

	return (run->s.regs.regs.rflags & RFLAGS_IF) && !e->interrupt.shadow &&
	    !e->interrupt.injected && !e->exception.injected && !e->nmi.injected;
}

static bool
nmi_unblocked(const struct kvm_run *run)
{
	const struct kvm_vcpu_events *e = &run->s.regs.events;

	return !e->nmi.masked && !e->nmi.injected && !e->nmi.pending;
}

/*
 * Turns a KVM exit into an NVMM exit. Returns false for exits NVMM would
 * not report, after which the guest is simply entered again.
 */
static bool
translate_exit(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;

	k->pending = KVM_PENDING_NONE;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(v, exit);
		return true;
	case KVM_EXIT_MMIO:
		if (journal_match(k)) {
			journal_absorb(k);
			return false;
		}
		k->njournal = k->journal_pos = 0;
		exit_mmio(v, exit);
		return true;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		exit_msr(v, exit);
		return true;
	case KVM_EXIT_HLT:
		/* NetBSD drops the interrupt window when the guest halts with IF set. */
		if (run->s.regs.regs.rflags & RFLAGS_IF)
			k->int_window = false;
		exit->reason = NVMM_VCPU_EXIT_HALTED;
		return true;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = NVMM_VCPU_EXIT_SHUTDOWN;
		return true;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		if (k->nmi_window && nmi_unblocked(run)) {
			k->nmi_window = false;
			exit->reason = NVMM_VCPU_EXIT_NMI_READY;
			return true;
		}
		if (!k->int_window)
			return false;
		k->int_window = false;
		exit->reason = NVMM_VCPU_EXIT_INT_READY;
		return true;
	case KVM_EXIT_SET_TPR:
		k->tpr_seen = run->cr8;
		if (!v->tpr_exit)
			return false;
		exit->reason = NVMM_VCPU_EXIT_TPR_CHANGED;
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		exit_invalid(exit, (uint64_t)run->internal.suberror << 32 |
		    KVM_EXIT_INTERNAL_ERROR);
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		exit_invalid(exit,
		    run->fail_entry.hardware_entry_failure_reason << 32 |
		    KVM_EXIT_FAIL_ENTRY);
		return true;
	case KVM_EXIT_UNKNOWN:
		exit_invalid(exit, run->hw.hardware_exit_reason << 32 |
		    KVM_EXIT_UNKNOWN);
		return true;
	default:
		exit_invalid(exit, run->exit_reason);
		return true;
	}
}

static int
install_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = kvm_cpuid_build(v);
	int r;

	if (c == NULL)
		return -ENOMEM;
	r = kvm_ioctl(v->kvm.fd, KVM_SET_CPUID2, c);
	free(c);
	if (r == 0)
		v->kvm.cpuid_dirty = false;
	return r;
}

/*
 * A VMM may block every signal in its VCPU threads (QEMU does): KVM_RUN
 * then runs with the kick unblocked, and a kick that interrupted it is
 * taken off the thread afterwards, or every later KVM_RUN would stop.
 */
static int
kick_mask(struct vcpu *v)
{
	struct kvm_vcpu *k = &v->kvm;
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];
	} m;
	sigset_t cur;

	if (k->run_tid == self_tid())
		return 0;
	if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0)
		return -EINVAL;
	k->run_tid = self_tid();
	k->kick_blocked = sigismember(&cur, kvm_kick_signal);
	if (!k->kick_blocked)
		return kvm_ioctl(k->fd, KVM_SET_SIGNAL_MASK, NULL);
	sigdelset(&cur, kvm_kick_signal);
	m.hdr.len = sizeof(m.set);
	memcpy(m.set, &cur, sizeof(m.set));
	return kvm_ioctl(k->fd, KVM_SET_SIGNAL_MASK, &m);
}

static void
kick_consume(struct vcpu *v)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	if (!v->kvm.kick_blocked)
		return;
	sigemptyset(&set);
	sigaddset(&set, kvm_kick_signal);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

/* A stop is consumed only by the run that reports it: none is ever lost. */
static int
stopped(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	int r = 0;

	/* State committed before a stop still reaches KVM, as on NetBSD. */
	if (run->kvm_dirty_regs != 0 || k->pending != KVM_PENDING_NONE) {
		r = settle_for_write(v, true);
		if (r == 0 && run->kvm_dirty_regs != 0) {
			run->immediate_exit = 1;
			r = kvm_ioctl(k->fd, KVM_RUN, NULL);
			r = r == -EINTR ? 0 : r;
		}
	}
	v->comm->stop = 0;
	run->immediate_exit = 0;
	if (r < 0)
		return r;
	exit->reason = NVMM_VCPU_EXIT_STOPPED;
	fill_exitstate(v, exit);
	return 0;
}

int
kvm_vcpu_run(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	int r;

	if (k->cpuid_dirty) {
		r = install_cpuid(v);
		if (r < 0)
			return r;
	}
	r = kick_mask(v);
	if (r < 0)
		return r;
	/* The VMM left the instruction undone: the guest will run it again. */
	if (k->pending != KVM_PENDING_NONE && !k->assisted) {
		r = settle(v, false);
		if (r < 0)
			return r;
	}
	memset(&exit->u, 0, sizeof(exit->u));

	for (;;) {
		if (__atomic_load_n(&v->comm->stop, __ATOMIC_SEQ_CST))
			return stopped(v, exit);
		/* An open window is reported without entering the guest. */
		if (k->nmi_window && nmi_unblocked(run)) {
			k->nmi_window = false;
			exit->reason = NVMM_VCPU_EXIT_NMI_READY;
			break;
		}
		if (k->int_window && int_window_open(run)) {
			k->int_window = false;
			exit->reason = NVMM_VCPU_EXIT_INT_READY;
			break;
		}
		/*
		 * KVM exits when the guest lowers its TPR only where the CR8
		 * write traps (not in its emulator): a TPR lower than the VMM
		 * last saw is reported before the guest goes on.
		 */
		if (v->tpr_exit && run->cr8 < k->tpr_seen) {
			k->tpr_seen = run->cr8;
			exit->reason = NVMM_VCPU_EXIT_TPR_CHANGED;
			break;
		}
		k->tpr_seen = run->cr8;
		run->request_interrupt_window = k->int_window ||
		    (k->nmi_window && run->s.regs.events.nmi.masked);

		__atomic_store_n(&k->tid, self_tid(), __ATOMIC_SEQ_CST);
		r = kvm_ioctl(k->fd, KVM_RUN, NULL);
		__atomic_store_n(&k->tid, 0, __ATOMIC_SEQ_CST);
		k->has_run = true;
		k->xsave_valid = false;
		k->known = 0;
		run->kvm_dirty_regs = 0;
		if (r == -EINTR) {
			kick_consume(v);
			k->pending = KVM_PENDING_NONE;
			k->assisted = false;
			if (__atomic_load_n(&v->comm->stop, __ATOMIC_SEQ_CST))
				return stopped(v, exit);
			/* A signal for the application: a host-internal exit. */
			exit->reason = NVMM_VCPU_EXIT_NONE;
			break;
		}
		if (r < 0)
			return r;
		k->assisted = false;
		if (translate_exit(v, exit))
			break;
	}
	fill_exitstate(v, exit);
	return 0;
}

/* ---- For the assists ---------------------------------------------------- */

enum kvm_exit_state
kvm_vcpu_exit_state(const struct vcpu *v)
{
	if (v->kvm.executed)
		return KVM_EXIT_EXECUTED;
	return v->kvm.pending != KVM_PENDING_NONE ? KVM_EXIT_PENDING :
	    KVM_EXIT_DONE;
}

uint8_t *
kvm_vcpu_io_data(struct vcpu *v, uint32_t *count)
{
	struct kvm_run *run = v->kvm.run;

	*count = run->io.count;
	return (uint8_t *)run + run->io.data_offset;
}

void
kvm_vcpu_mmio_data(struct vcpu *v, uint64_t *gpa, uint8_t **data,
    uint32_t *len, bool *write)
{
	struct kvm_run *run = v->kvm.run;

	*gpa = run->mmio.phys_addr;
	*data = run->mmio.data;
	*len = run->mmio.len;
	*write = run->mmio.is_write;
}

int
kvm_vcpu_assisted(struct vcpu *v, const struct kvm_mmio_rec *recs,
    unsigned n)
{
	struct kvm_vcpu *k = &v->kvm;

	if (n > KVM_JOURNAL_MAX)
		return -ENODEV;
	memcpy(k->journal, recs, n * sizeof(*recs));
	k->njournal = n;
	k->journal_pos = 0;
	k->assisted = true;
	return 0;
}
