/*
 * VCPUs on KVM: creation, events, the run loop and its exits, stop.
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

static pid_t
self_tid(void)
{
	static __thread pid_t tid;

	if (tid == 0)
		tid = (pid_t)syscall(SYS_gettid);
	return tid;
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
		/* Its past life's debugging and TSC rate go (0: the host's). */
		k->debug_dirty = true;
		kvm_ioctl(fd, KVM_SET_TSC_KHZ, NULL);
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
	k->xsave = aligned_alloc(64,
	    (kvm_xsave_size(v->mach) + 63) & ~(size_t)63);
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

/* A write of KVM's that repeats the device writes of an assisted INS. */
static bool
span_absorb(struct kvm_vcpu *k)
{
	const struct kvm_run *run = k->run;
	uint64_t gpa = run->mmio.phys_addr;

	if (k->span_left == 0 || !run->mmio.is_write || gpa < k->span.gpa ||
	    gpa + run->mmio.len > k->span.gpa + k->span.len ||
	    run->mmio.len > k->span_left)
		return false;
	k->span_left -= run->mmio.len;
	return true;
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
 *
 * No retry limit: with immediate_exit set KVM never enters the guest, so
 * each KVM_RUN either ends it (EINTR) or reports one more access of the
 * instruction being completed, and KVM bounds those. A REP string
 * instruction reading MMIO is the long case: KVM's emulator goes on with
 * its next iterations (until RCX is a multiple of 1024), which are not the
 * exit's, as NVMM does one per exit. They get neutral data, then the
 * registers KVM had before them (the assist's result) are put back: the
 * guest does them again, each one an exit the VMM sees. To keep that
 * short, KVM is given RCX = 1 for the first of them (its emulator reloads
 * registers set before it resumes), so it stops right after it; where it
 * would not, the loop only takes longer.
 */
static int
settle(struct vcpu *v, bool keep)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	bool assisted = k->assisted, restore = !assisted && !keep;
	/* The GPRs of the exit: nothing wrote the sync regs since. */
	struct kvm_regs exit_regs = run->s.regs.regs, between;
	bool went_on = false, shortened = false;
	uint32_t dirty = 0;
	int r;

	if (!assisted)
		neutral_completion(run);
	for (;;) {
		run->kvm_dirty_regs = dirty;
		dirty = 0;
		run->immediate_exit = 1;
		r = kvm_ioctl(k->fd, KVM_RUN, NULL);
		run->immediate_exit = 0;
		if (r == -EINTR)
			break;
		if (r < 0)
			return r;
		/* Another access of the same instruction, made by the assist. */
		if (run->exit_reason == KVM_EXIT_MMIO && span_absorb(k))
			continue;
		if (run->exit_reason == KVM_EXIT_MMIO && journal_match(k)) {
			journal_absorb(k);
			continue;
		}
		/* The step that ends the finished instruction: for the next run. */
		if (run->exit_reason == KVM_EXIT_DEBUG && !restore &&
		    !k->nmi_step) {
			k->debug_held = true;
			k->debug_exit = run->debug.arch;
		}
		if (assisted && !went_on) {
			went_on = true;
			between = run->s.regs.regs;
		}
		/* RCX moved: KVM finished an iteration and began the next. */
		if ((assisted || restore) && !shortened &&
		    run->s.regs.regs.rcx != exit_regs.rcx) {
			shortened = true;
			run->s.regs.regs.rcx = 1;
			dirty = KVM_SYNC_X86_REGS;
		}
		neutral_completion(run);
	}
	k->pending = KVM_PENDING_NONE;
	k->assisted = false;
	k->njournal = k->journal_pos = 0;
	k->span_left = 0;
	if (restore || went_on) {
		run->s.regs.regs = restore ? exit_regs : between;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	}
	return 0;
}

int
kvm_settle_for_write(struct vcpu *v, bool keep_gprs)
{
	if (v->kvm.pending == KVM_PENDING_NONE)
		return 0;
	return settle(v, keep_gprs);
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

	r = kvm_settle_for_write(v, false);
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
		r = kvm_flush_sync(v);
	return r;
}

/* ---- Guest debugging ---------------------------------------------------- */

/* Given to KVM just before the guest next runs: see debug_arm(). */
void
kvm_vcpu_debug(struct vcpu *v, const struct nvmmx_debug *d)
{
	struct kvm_guest_debug *g = &v->kvm.debug;

	memset(g, 0, sizeof(*g));
	if (d->flags & NVMMX_DEBUG_STEP)
		g->control |= KVM_GUESTDBG_SINGLESTEP;
	if (d->flags & NVMMX_DEBUG_HWBP)
		g->control |= KVM_GUESTDBG_USE_HW_BP;
	if (d->flags & NVMMX_DEBUG_SWBP)
		g->control |= KVM_GUESTDBG_USE_SW_BP;
	if (d->flags != 0)
		g->control |= KVM_GUESTDBG_ENABLE;
	if (d->flags & NVMMX_DEBUG_HWBP) {
		memcpy(g->arch.debugreg, d->dr, sizeof(d->dr));
		g->arch.debugreg[7] = d->dr7;
	}
	v->kvm.debug_dirty = true;
	v->kvm.debug_held = false;
}

bool
kvm_vcpu_stepping(const struct vcpu *v)
{
	return (v->kvm.debug.control & KVM_GUESTDBG_SINGLESTEP) ||
	    v->kvm.nmi_step;
}

/*
 * KVM sets the trap flag for single steps only while RIP is where it was
 * at KVM_SET_GUEST_DEBUG: registers loaded later (dirty sync regs, at the
 * next entry) drop it. So they go in first, then the debug state: the
 * VMM's, or the steps through an NMI handler (see nmi_step_update()).
 */
static int
debug_arm(struct vcpu *v)
{
	struct kvm_vcpu *k = &v->kvm;
	struct kvm_run *run = k->run;
	struct kvm_guest_debug g = k->debug;
	bool regs = (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) &&
	    kvm_vcpu_stepping(v);
	int r;

	if (!k->debug_dirty && !regs)
		return 0;
	if (regs) {
		r = kvm_ioctl(k->fd, KVM_SET_REGS, &run->s.regs.regs);
		if (r < 0)
			return r;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (k->nmi_step)
		g.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	r = kvm_ioctl(k->fd, KVM_SET_GUEST_DEBUG, &g);
	if (r < 0 && k->nmi_step) {
		/* KVM has the VMM's debug state still: the window falls back. */
		k->nmi_step = false;
		k->nmi_step_refused = true;
		r = 0;
	}
	if (r == 0)
		k->debug_dirty = false;
	return r;
}

/*
 * NVMM reports the NMI window at the handler's IRET. KVM shows userspace
 * no such exit, and its interrupt window is no substitute: it never opens
 * if the IRET returns to code with IF clear, and opens at once, NMIs still
 * blocked, if the handler sets IF. So while the guest is inside an NMI
 * handler and the VMM waits for its end, the guest runs one instruction at
 * a time and the run checks after each whether NMIs are unblocked. It
 * starts at the handler's first exit (at its delivery the CPU clears the
 * trap flag anyway): a handler that makes none ends unseen, and the window
 * is reported at the next exit. Where the VMM debugs the guest itself, or
 * KVM cannot step, the interrupt window is the fallback. (A #DB the guest
 * raises for itself inside the handler is lost to it while it is stepped.)
 */
static void
nmi_step_update(struct vcpu *v)
{
	struct kvm_vcpu *k = &v->kvm;
	const struct kvm_vcpu_events *e = &k->run->s.regs.events;
	bool step = k->nmi_window && e->nmi.masked && !e->nmi.injected &&
	    k->debug.control == 0 && !k->nmi_step_refused;

	if (step != k->nmi_step) {
		k->nmi_step = step;
		k->debug_dirty = true;
	}
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

/*
 * An event injected but not yet delivered (the run stopped before the guest
 * took it, or an exit cut its delivery short) is reported with the
 * interrupt window armed. VMMs decide to inject from the exit state, QEMU
 * without looking at evt_pending: a second injection would replace the
 * first, whose vector the VMM's APIC then keeps in service forever. With
 * the window armed they wait for INT_READY, which comes once the first
 * event is delivered and the guest can take the next.
 */
static void
fill_exitstate(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	const struct kvm_run *run = v->kvm.run;
	const struct kvm_vcpu_events *e = &run->s.regs.events;

	if (e->interrupt.injected || e->exception.injected || e->nmi.injected)
		v->kvm.int_window = true;
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
 * What KVM tells of an I/O exit. The rest of NVMM's fields (npc, seg...)
 * come from decoding the instruction, which the caller does before the
 * exit is shown: see kvm_vcpu_io_decoded().
 */
static void
exit_io(struct vcpu *v, struct nvmm_vcpu_exit *exit)
{
	struct kvm_vcpu *k = &v->kvm;
	const struct kvm_run *run = k->run;

	exit->reason = NVMM_VCPU_EXIT_IO;
	kvm_provide(v);
	exit->u.io.in = run->io.direction == KVM_EXIT_IO_IN;
	exit->u.io.port = run->io.port;
	exit->u.io.operand_size = run->io.size;
	k->executed = false;
	k->pending = KVM_PENDING_IO;
}

bool
kvm_vcpu_out_emulated(void)
{
	return kvm_out_emulated;
}

/*
 * An IN always waits for its data. An OUT was already executed by KVM's
 * emulator (string forms, and all forms on some hosts), then RIP is past it.
 */
void
kvm_vcpu_io_decoded(struct vcpu *v, bool executed)
{
	v->kvm.executed = executed;
	v->kvm.pending = executed ? KVM_PENDING_NONE : KVM_PENDING_IO;
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
	kvm_provide(v);
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

	kvm_provide(v);
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

/* pc is RIP (KVM gives CS.base + RIP); DR6 means nothing for #BP. */
static void
exit_debug(struct vcpu *v, struct nvmm_vcpu_exit *exit,
    const struct kvm_debug_exit_arch *a)
{
	struct nvmmx_exit_debug d = {
		.pc = v->kvm.run->s.regs.regs.rip,
		.dr6 = a->exception == 1 ? a->dr6 : 0,
		.vector = a->exception,
	};

	exit->reason = NVMMX_VCPU_EXIT_DEBUG;
	memcpy(&exit->u, &d, sizeof(d));
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
	if (run->exit_reason == KVM_EXIT_MMIO && span_absorb(k))
		return false;
	/* KVM has finished the assisted instruction. */
	k->span_left = 0;
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
	case KVM_EXIT_DEBUG:
		/* A step through an NMI handler: the loop looks at NMIs. */
		if (k->nmi_step)
			return false;
		exit_debug(v, exit, &run->debug.arch);
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
		r = kvm_settle_for_write(v, true);
		if (r == 0)
			r = debug_arm(v);
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

	r = kvm_cpuid_install(v);
	if (r < 0)
		return r;
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
		if (k->debug_held) {
			k->debug_held = false;
			exit_debug(v, exit, &k->debug_exit);
			break;
		}
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
		nmi_step_update(v);
		r = debug_arm(v);
		if (r < 0)
			return r;
		run->request_interrupt_window = k->int_window ||
		    (k->nmi_window && run->s.regs.events.nmi.masked &&
		    !k->nmi_step);

		__atomic_store_n(&k->tid, self_tid(), __ATOMIC_SEQ_CST);
		r = kvm_ioctl(k->fd, KVM_RUN, NULL);
		__atomic_store_n(&k->tid, 0, __ATOMIC_SEQ_CST);
		k->has_run = true;
		k->xsave_valid = false;
		/* The guest may have changed them all, XCR0 only by XSETBV. */
		k->known &= k->xcr0_fixed ? NVMM_X64_STATE_CRS : 0;
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
    unsigned n, const struct kvm_mmio_span *span)
{
	struct kvm_vcpu *k = &v->kvm;

	if (n > KVM_JOURNAL_MAX)
		return -ENODEV;
	memcpy(k->journal, recs, n * sizeof(*recs));
	k->njournal = n;
	k->journal_pos = 0;
	k->span = *span;
	k->span_left = span->len;
	k->assisted = true;
	return 0;
}
