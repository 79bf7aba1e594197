/*
 * The KVM backend: everything that knows about /dev/kvm lives in lib/kvm/.
 * The core calls these functions; they return 0 or a negative errno.
 *
 * NVMM's comm page protocol maps onto KVM like this:
 *  - GPRS, SEGS, CRS (but XCR0) and INTR live in kvm_run's sync regs, which
 *    KVM fills at every exit and loads at entry when marked dirty: reading
 *    or writing them costs no syscall;
 *  - MSRS (but EFER, which is in the sync sregs), DRS, FPU and XCR0 are
 *    fetched by ioctl only when asked, and flushed just before KVM_RUN;
 *    what was read or set is kept until the guest runs (XCR0 beyond, where
 *    the guest cannot run XSETBV). KVM reports no XSETBV and no SWAPGS, so
 *    after an I/O or MMIO exit XCR0 and MSRS cost an ioctl each;
 *  - KVM finishes an I/O, MMIO or MSR instruction only at the next KVM_RUN
 *    (the "completion trap"): see kvm_run.c.
 */
#ifndef LIB_KVM_H
#define LIB_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kvm.h>

struct mach;
struct vcpu;
struct area;
struct nvmm_capability;
struct nvmm_vcpu_exit;
struct nvmm_vcpu_conf_cpuid;
struct nvmmx_vcpu_extra;
struct nvmmx_debug;

#define KVM_MAX_SLOTS		512
#define KVM_JOURNAL_MAX		8

/* An MMIO access the library already performed for an assisted instruction. */
struct kvm_mmio_rec {
	uint64_t gpa;
	uint8_t data[8];
	uint8_t len;
	bool write;
};

/*
 * The device range an assisted INS wrote, element by element. KVM writes
 * the same bytes again as it finishes the instruction, in its own pieces
 * (a block cut in 8-byte accesses): those are absorbed by range.
 */
struct kvm_mmio_span {
	uint64_t gpa;
	uint32_t len;
};

/* KVM keeps a VCPU until its VM goes: a destroyed one waits here for reuse. */
struct kvm_parked {
	int fd;			/* 0: none (fds 0-2 are never a VCPU's) */
	struct kvm_run *run;
	bool has_run;
};

struct kvm_mach {
	int fd;
	uint32_t xsave_size;	/* KVM_CAP_XSAVE2's XSAVE size, 0: none */
	uint64_t slots[KVM_MAX_SLOTS / 64];	/* bitmap of used slots */
	struct kvm_parked parked[256];
};

enum kvm_pending {
	KVM_PENDING_NONE,	/* no instruction awaits completion */
	KVM_PENDING_IO,
	KVM_PENDING_MMIO,
	KVM_PENDING_MSR,
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	volatile pid_t tid;	/* thread inside KVM_RUN, for the stop kick */
	pid_t run_tid;		/* the thread KVM's signal mask was set for */
	bool kick_blocked;	/* ... which blocks the kick signal */

	enum kvm_pending pending;
	bool executed;		/* KVM already executed the exit's access */
	bool assisted;		/* an assist supplied the completion data */
	struct kvm_mmio_rec journal[KVM_JOURNAL_MAX];
	unsigned njournal, journal_pos;
	struct kvm_mmio_span span;
	uint32_t span_left;	/* bytes of it KVM has still to write */

	struct kvm_xsave *xsave; /* the last XSAVE image, kept for FPU sets */
	bool xsave_valid;	/* ... and it is still the guest's */

	struct kvm_guest_debug debug;	/* nvmmx_vcpu_debug()'s, for KVM */
	bool debug_dirty;	/* ... not yet given to KVM */
	bool debug_held;	/* a debug exit met while settling, to report */
	struct kvm_debug_exit_arch debug_exit;

	/*
	 * The MSRS, XCR0 and debug registers KVM holds, when read or written
	 * since the guest last ran (groups in `known'): setting them again to
	 * the same values costs no ioctl.
	 */
	uint64_t known;
	uint64_t known_msrs[11];
	uint64_t known_xcr0;
	uint64_t known_drs[6];
	/*
	 * The guest's CPUID has no XSAVE, so KVM refuses CR4.OSXSAVE and the
	 * guest cannot run XSETBV: a known XCR0 stays known across runs.
	 */
	bool xcr0_fixed;

	bool int_window;
	bool nmi_window;
	/*
	 * Single-stepping the guest's NMI handler to see its IRET, which no
	 * KVM exit shows; off for good if KVM refused to step.
	 */
	bool nmi_step;
	bool nmi_step_refused;
	uint64_t tpr_seen;	/* the TPR the VMM last saw, for TPR_CHANGED */
	bool cpuid_dirty;	/* CPUID table to (re)install before running */
	bool has_run;
};

int kvm_init(struct nvmm_capability *);
int kvm_machine_create(struct mach *);
void kvm_machine_destroy(struct mach *);
int kvm_slot_set(struct mach *, struct area *);
int kvm_slot_clear(struct mach *, struct area *);
int kvm_slot_log(struct mach *, const struct area *);
int kvm_dirty_log(struct mach *, const struct area *, uint64_t *bitmap);

int kvm_vcpu_create(struct vcpu *);
void kvm_vcpu_destroy(struct vcpu *);
int kvm_vcpu_cpuid_changed(struct vcpu *);
int kvm_vcpu_getstate(struct vcpu *, uint64_t flags);
int kvm_vcpu_commit(struct vcpu *, uint64_t flags);
int kvm_vcpu_inject(struct vcpu *);
int kvm_vcpu_run(struct vcpu *, struct nvmm_vcpu_exit *);
void kvm_vcpu_kick(struct vcpu *);
/* Puts CR0, CR3, CR4, EFER (and CS, for code) in the comm page, if not cached. */
void kvm_vcpu_paging(struct vcpu *);
void kvm_vcpu_code(struct vcpu *);

/*
 * For the assists: the state of the last exit's instruction (KVM_EXIT_DONE:
 * nothing left to complete), and what KVM needs to finish it.
 */
enum kvm_exit_state {
	KVM_EXIT_DONE,
	KVM_EXIT_EXECUTED,	/* KVM already did the access and moved on */
	KVM_EXIT_PENDING,	/* KVM finishes it at the next KVM_RUN */
};
enum kvm_exit_state kvm_vcpu_exit_state(const struct vcpu *);
/*
 * An I/O exit is shown once its instruction is decoded (by the caller,
 * with the x86 layer): whether KVM executed it already, as KVM's emulator
 * does for string OUTs, and for every OUT where kvm_vcpu_out_emulated().
 */
bool kvm_vcpu_out_emulated(void);
void kvm_vcpu_io_decoded(struct vcpu *, bool executed);
uint8_t *kvm_vcpu_io_data(struct vcpu *, uint32_t *count);
void kvm_vcpu_mmio_data(struct vcpu *, uint64_t *gpa, uint8_t **data,
    uint32_t *len, bool *write);
int kvm_vcpu_assisted(struct vcpu *, const struct kvm_mmio_rec *, unsigned,
    const struct kvm_mmio_span *);

/* The extensions of <nvmm_ext.h>: full FPU state, events and TSC, debugging. */
size_t kvm_xsave_size(const struct mach *);
int kvm_vcpu_getxsave(struct vcpu *, void *);
int kvm_vcpu_setxsave(struct vcpu *, const void *);
int kvm_vcpu_getextra(struct vcpu *, struct nvmmx_vcpu_extra *);
int kvm_vcpu_setextra(struct vcpu *, const struct nvmmx_vcpu_extra *);
void kvm_vcpu_debug(struct vcpu *, const struct nvmmx_debug *);
bool kvm_vcpu_stepping(const struct vcpu *);

/* cpuid.c: NVMM's default CPUID policy over KVM's supported table. */
struct kvm_cpuid2 *kvm_cpuid_build(const struct vcpu *);
int kvm_cpuid_install(struct vcpu *);

#endif
