/*
 * libnvmm extensions: what NetBSD's NVMM API lacks and KVM offers. Full
 * XSAVE state and the rest of a VCPU a snapshot needs, dirty-page
 * tracking, guest debugging and per-VCPU statistics. See nvmm_ext(3).
 *
 * Every name here starts with nvmmx_ or NVMMX_, a prefix NetBSD never
 * uses, and <nvmm.h> is unchanged: a program that includes only <nvmm.h>
 * sees NetBSD's API and nothing else. Calls return 0, or -1 with errno.
 */
#ifndef _LIBNVMM_EXT_H_
#define _LIBNVMM_EXT_H_

#include <string.h>

#include <nvmm.h>

#define NVMMX_VERSION		1

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------------------------- */
/* Full CPU state. */

/*
 * The guest's XSAVE area in the standard (non-compacted) format, of the
 * size the host's XCR0 needs: nvmmx_xsave_size() tells it. The first 512
 * bytes are the FPU group's FXSAVE image.
 */
int nvmmx_xsave_size(struct nvmm_machine *, size_t *);
int nvmmx_vcpu_getxsave(struct nvmm_machine *, struct nvmm_vcpu *, void *,
    size_t);
int nvmmx_vcpu_setxsave(struct nvmm_machine *, struct nvmm_vcpu *,
    const void *, size_t);

/* What nvmm_x64_state lacks to resume a VCPU exactly where it stopped. */
struct nvmmx_vcpu_extra {
	uint64_t tsc_khz;	/* the guest's TSC frequency */
	uint8_t nmi_masked;	/* an NMI handler runs: NMIs wait for IRET */
	uint8_t nmi_pending;	/* an NMI waits to be delivered */
	uint8_t exc_pending;	/* an exception is being delivered... */
	uint8_t exc_vector;	/* ... this one */
	uint8_t exc_has_error;
	uint8_t intr_pending;	/* an external interrupt is being delivered... */
	uint8_t intr_vector;	/* ... this one */
	uint8_t intr_soft;	/* ... by INTn */
	uint32_t exc_error;
	uint32_t rsvd0;
	uint64_t rsvd[6];	/* zero */
};

int nvmmx_vcpu_getextra(struct nvmm_machine *, struct nvmm_vcpu *,
    struct nvmmx_vcpu_extra *);
int nvmmx_vcpu_setextra(struct nvmm_machine *, struct nvmm_vcpu *,
    const struct nvmmx_vcpu_extra *);

/* -------------------------------------------------------------------------- */
/* Dirty pages. */

/*
 * Tracking works on page-aligned guest-physical ranges that nvmm_gpa_map()
 * mapped. nvmmx_dirty_fetch() fills a bitmap with one bit per page of the
 * range (bit i of word i / 64: the page at gpa + i * 4096), set when the
 * guest wrote the page since tracking started or since the last fetch of
 * that page, and clears those bits.
 */
int nvmmx_dirty_start(struct nvmm_machine *, gpaddr_t, size_t);
int nvmmx_dirty_stop(struct nvmm_machine *, gpaddr_t, size_t);
int nvmmx_dirty_fetch(struct nvmm_machine *, gpaddr_t, size_t, uint64_t *);

/* -------------------------------------------------------------------------- */
/* Guest debugging. */

/*
 * The VMM's own breakpoints, invisible to the guest (whose debug registers
 * stay in the DRS group). They stop the VCPU with NVMMX_VCPU_EXIT_DEBUG, a
 * reason outside every range NetBSD's exit reasons use.
 */
#define NVMMX_DEBUG_STEP	0x01	/* exit after each instruction */
#define NVMMX_DEBUG_HWBP	0x02	/* dr[] and dr7 as on x86 */
#define NVMMX_DEBUG_SWBP	0x04	/* INT3 exits instead of raising #BP */

struct nvmmx_debug {
	uint64_t flags;		/* NVMMX_DEBUG_*; 0 turns debugging off */
	uint64_t dr[4];		/* breakpoint addresses (guest-virtual) */
	uint64_t dr7;		/* enables, types and lengths, as DR7 */
};

int nvmmx_vcpu_debug(struct nvmm_machine *, struct nvmm_vcpu *,
    const struct nvmmx_debug *);

#define NVMMX_VCPU_EXIT_DEBUG	0x00000000E0000000ULL

/* Laid in exit->u of an NVMMX_VCPU_EXIT_DEBUG exit: read it with nvmmx_exit_debug(). */
struct nvmmx_exit_debug {
	uint64_t pc;		/* RIP: the INT3 or breakpoint, or after the step */
	uint64_t dr6;		/* which breakpoint (bits 0-3), step (bit 14) */
	uint32_t vector;	/* 1 (#DB) or 3 (#BP) */
	uint32_t rsvd;
};

#ifdef __cplusplus
static_assert(sizeof(struct nvmmx_exit_debug) <=
    sizeof(((struct nvmm_vcpu_exit *)0)->u), "debug exit fits exit->u");
#else
_Static_assert(sizeof(struct nvmmx_exit_debug) <=
    sizeof(((struct nvmm_vcpu_exit *)0)->u), "debug exit fits exit->u");
#endif

static inline struct nvmmx_exit_debug
nvmmx_exit_debug(const struct nvmm_vcpu_exit *exit)
{
	struct nvmmx_exit_debug d;

	memcpy(&d, &exit->u, sizeof(d));
	return d;
}

/* -------------------------------------------------------------------------- */
/* Statistics. */

/* Exit reasons as counter indexes. */
enum nvmmx_stat_exit {
	NVMMX_STAT_NONE,
	NVMMX_STAT_MEMORY,
	NVMMX_STAT_IO,
	NVMMX_STAT_SHUTDOWN,
	NVMMX_STAT_INT_READY,
	NVMMX_STAT_NMI_READY,
	NVMMX_STAT_HALTED,
	NVMMX_STAT_TPR_CHANGED,
	NVMMX_STAT_RDMSR,
	NVMMX_STAT_WRMSR,
	NVMMX_STAT_MONITOR,
	NVMMX_STAT_MWAIT,
	NVMMX_STAT_CPUID,
	NVMMX_STAT_STOPPED,
	NVMMX_STAT_INVALID,
	NVMMX_STAT_DEBUG,
	NVMMX_STAT_NEXITS
};

/* Always on. Times are nanoseconds of CLOCK_MONOTONIC. */
struct nvmmx_vcpu_stats {
	uint64_t runs;			/* nvmm_vcpu_run calls returned */
	uint64_t exits[NVMMX_STAT_NEXITS];
	uint64_t guest_ns;		/* inside nvmm_vcpu_run */
	uint64_t vmm_ns;		/* between runs, from the first */
	uint64_t rsvd[4];
};

/* The counter index of an exit reason, and its short name ("io"). */
int nvmmx_stat_index(uint64_t reason);
const char *nvmmx_stat_name(int index);

int nvmmx_vcpu_stats(struct nvmm_machine *, struct nvmm_vcpu *,
    struct nvmmx_vcpu_stats *);
/* A VCPU of any process's machine, by the ids nvmm_ctl() lists. */
int nvmmx_ctl_stats(nvmm_machid_t, nvmm_cpuid_t, struct nvmmx_vcpu_stats *);

#ifdef __cplusplus
}
#endif

#endif /* _LIBNVMM_EXT_H_ */
