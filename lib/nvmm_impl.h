/*
 * libnvmm internals: the library's view of machines and VCPUs, shared by
 * the API entry points (machine.c, vcpu.c, mem.c, assist.c, ...) and the
 * KVM backend (kvm/). Functions here return 0 or a negative errno; the
 * public entry points turn that into -1/errno once.
 */
#ifndef NVMM_IMPL_H
#define NVMM_IMPL_H

#include <nvmm.h>
#include <nvmm_ext.h>
#include <pthread.h>

#include "kvm/kvm.h"

#define NVMM_API __attribute__((visibility("default")))

/* NetBSD's limits (sys/dev/nvmm/nvmm_internal.h), reported by nvmm_capability. */
#define NVMM_MAX_MACHINES	128
#define NVMM_MAX_VCPUS		256
#define NVMM_MAX_HMAPPINGS	32
#define NVMM_MAX_RAM		(128ULL << 30)
#define NVMM_CPUID_MAXOPS	32

#define NVMM_PAGE_SIZE		4096ULL
#define NVMM_PAGE_MASK		(NVMM_PAGE_SIZE - 1)

/* A host range registered with nvmm_hva_map(). */
struct hmap {
	uintptr_t hva;
	size_t size;
};

/* A guest-physical range backed by host memory (nvmm_gpa_map()). */
struct area {
	gpaddr_t gpa;
	uintptr_t hva;
	size_t size;
	int prot;		/* NVMM_PROT_* */
	int slot;		/* backend memory slot */
	struct dirty_log *log;	/* dirty-page tracking, NULL when off */
};

struct vcpu;

struct mach {
	nvmm_machid_t id;
	time_t ctime;
	struct kvm_mach kvm;

	/*
	 * Guards the area and hmap tables. Held only inside one API call,
	 * never while a VMM callback runs: callbacks may change the map.
	 */
	pthread_rwlock_t lock;
	struct hmap hmaps[NVMM_MAX_HMAPPINGS];
	unsigned nhmaps;
	uint64_t nram;		/* bytes in hmaps */
	struct area *areas;	/* sorted by gpa, disjoint */
	unsigned nareas, areas_cap;
	unsigned area_hint;	/* index of the last area found */

	struct nvmm_comm_page *pages[NVMM_MAX_VCPUS];
	struct vcpu *vcpus[NVMM_MAX_VCPUS];
	unsigned nvcpus;
	struct registry_entry *reg;
};

struct cpuid_conf {
	bool used;
	struct nvmm_vcpu_conf_cpuid conf;
};

/*
 * A VCPU's statistics, written by the thread that runs it and read by any
 * process (in the machine's registry file) under a sequence count.
 */
struct stats_slot {
	uint64_t seq;		/* odd while the owner writes */
	uint64_t present;	/* the VCPU exists */
	struct nvmmx_vcpu_stats s;
};

struct vcpu {
	struct mach *mach;
	nvmm_cpuid_t id;
	struct nvmm_comm_page *comm;
	struct nvmm_vcpu_exit exit;
	struct cpuid_conf cpuid[NVMM_CPUID_MAXOPS];
	bool tpr_exit;
	struct stats_slot *stats;	/* in the registry, else stats_local */
	struct stats_slot stats_local;
	uint64_t run_end;	/* when the last run returned (ns), 0 before */
	clockid_t stats_clock;	/* ... by this clock */
	struct kvm_vcpu kvm;
};

/*
 * The comm page as allocated: NVMM's struct first, then a pointer back to
 * the VCPU so that nvmm_vcpu_stop(), which is given only vcpu->stop, finds
 * it without a lookup.
 */
struct comm_alloc {
	struct nvmm_comm_page comm;
	struct vcpu *vcpu;
};

/*
 * process.c: process-wide state, set by machine.c's nvmm_init, and this
 * process's machines by id (machines_get/set with the table locked).
 */
extern struct nvmm_capability nvmm_cap;
extern bool nvmm_initialised;
extern bool nvmm_root;
extern bool nvmm_cache_off;

void machines_lock(void);
void machines_unlock(void);
struct mach *machines_get(nvmm_machid_t);
void machines_set(nvmm_machid_t, struct mach *);
int mach_lookup(struct nvmm_machine *, struct mach **);
/* vcpu_lookup(), then EFAULT for a NULL argument the call needs. */
int vcpu_lookup_arg(struct nvmm_machine *, struct nvmm_vcpu *, const void *,
    struct vcpu **);
int vcpu_lookup(struct nvmm_machine *, struct nvmm_vcpu *, struct mach **,
    struct vcpu **);

/* comm.c: the comm page protocol, for vcpu.c, the assists and dump. */
int vcpu_getstate(struct vcpu *, uint64_t flags);
int vcpu_setstate(struct vcpu *, uint64_t flags);

/* vcpu.c, for machine.c: a VCPU goes with its machine. */
void vcpu_free(struct vcpu *);

/*
 * assist.c, for nvmm_vcpu_run: NVMM's I/O exit fields that KVM does not
 * give (npc, seg...). True when KVM has already executed the OUT.
 */
bool assist_io_exit(struct vcpu *, struct nvmm_x86_exit_io *);

/*
 * mem.c. mem_copy: len bytes (fewer where the area ends) between buf and
 * guest RAM at gpa, if mapped with the access's permission; returns the
 * bytes copied, 0 if none.
 */
size_t mem_copy(struct mach *, gpaddr_t, bool write, void *buf, size_t len);
void mem_destroy(struct mach *);

/* Index of the first area that ends above gpa (mem.c and dirty.c). */
static inline unsigned
area_index(const struct mach *m, gpaddr_t gpa)
{
	unsigned lo = 0, hi = m->nareas;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (m->areas[mid].gpa + m->areas[mid].size <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A non-empty page-aligned range that does not wrap. */
static inline bool
range_ok(uint64_t start, uint64_t size)
{
	return size != 0 && start + size > start &&
	    ((start | size) & NVMM_PAGE_MASK) == 0;
}

/*
 * dirty.c, for mem.c: what the library writes to guest RAM is dirty too;
 * an area split by nvmm_gpa_unmap() hands its tracking to its parts.
 */
void dirty_mark(const struct area *, gpaddr_t, size_t);
int dirty_split(struct mach *, struct area *, struct area *left,
    struct area *right);
void dirty_free(struct dirty_log *);

/* stats.c */
void stats_open(struct vcpu *);
void stats_close(struct vcpu *);
uint64_t stats_now(const struct vcpu *);
void stats_run(struct vcpu *, uint64_t start, uint64_t reason);

/* registry.c: machines visible to nvmmctl(8) and nvmm_ctl() across processes. */
int registry_claim(struct mach *);
void registry_update(struct mach *);
void registry_release(struct mach *);
int registry_info(nvmm_machid_t, struct nvmm_ctl_mach_info *);
struct stats_slot *registry_slot(struct mach *, nvmm_cpuid_t);
/* Another process's slots, mapped read-only (or a negative errno); then unmap. */
int registry_map_slots(nvmm_machid_t, const struct stats_slot **);
void registry_unmap_slots(const struct stats_slot *);

/* Return helpers for the API boundary. */
static inline int
nvmm_ret(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

#endif
