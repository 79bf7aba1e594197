/*
 * NVMM definitions shared by the library and the hypervisor: the
 * machine-independent part of NetBSD's <dev/nvmm/nvmm.h>, API version 2.
 * On Linux the "kernel" side is libnvmm's KVM backend; the layouts are kept
 * byte for byte so that programs written for NetBSD build unchanged.
 */
#ifndef _NVMM_H_
#define _NVMM_H_

#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

/* What NetBSD's <sys/cdefs.h> and <sys/types.h> give NVMM users for free. */
#ifndef __u_char_defined
typedef unsigned int u_int;
#endif
#ifndef __BIT
#define __BIT(__n)							\
	(((uintmax_t)(__n) >= 64) ? 0 : ((uintmax_t)1 << (__n)))
#define __BITS(__m, __n)						\
	((__BIT(((__m) > (__n) ? (__m) : (__n)) + 1) - 1) ^		\
	 (__BIT((__m) > (__n) ? (__n) : (__m)) - 1))
#define __LOWEST_SET_BIT(__mask) ((((__mask) - 1) & (__mask)) ^ (__mask))
#define __SHIFTOUT(__x, __mask) (((__x) & (__mask)) / __LOWEST_SET_BIT(__mask))
#define __SHIFTIN(__x, __mask) ((__x) * __LOWEST_SET_BIT(__mask))
#define __SHIFTOUT_MASK(__mask) __SHIFTOUT((__mask), (__mask))
#endif

#ifdef __cplusplus
#define __NVMM_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define __NVMM_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

typedef uint64_t	gpaddr_t;
typedef uint64_t	gvaddr_t;
typedef uint32_t	nvmm_machid_t;
typedef uint32_t	nvmm_cpuid_t;

#ifdef __x86_64__
#include <dev/nvmm/x86/nvmm_x86.h>
#else
#error "libnvmm for Linux supports x86-64 only"
#endif

#define NVMM_KERN_VERSION		2

struct nvmm_capability {
	uint32_t version;
	uint32_t state_size;
	uint32_t max_machines;
	uint32_t max_vcpus;
	uint64_t max_ram;
	struct nvmm_cap_md arch;
};

/* Configuration slots. */
#define NVMM_MACH_CONF_LIBNVMM_BEGIN	0
#define NVMM_MACH_CONF_MI_BEGIN		100
#define NVMM_MACH_CONF_MD_BEGIN		200
#define NVMM_MACH_CONF_MD(op)		((op) - NVMM_MACH_CONF_MD_BEGIN)

#define NVMM_VCPU_CONF_LIBNVMM_BEGIN	0
#define NVMM_VCPU_CONF_MI_BEGIN		100
#define NVMM_VCPU_CONF_MD_BEGIN		200
#define NVMM_VCPU_CONF_MD(op)		((op) - NVMM_VCPU_CONF_MD_BEGIN)

/*
 * The page each VCPU shares between the library and the hypervisor:
 * wanted, cached and commit are bit sets of NVMM_X64_STATE_* groups.
 */
struct nvmm_comm_page {
	/* State. */
	uint64_t state_wanted;
	uint64_t state_cached;
	uint64_t state_commit;
	struct nvmm_vcpu_state state;

	/* Event. */
	bool event_commit;
	struct nvmm_vcpu_event event;

	/* Race-free exit from nvmm_vcpu_run() without signals. */
	volatile int stop;
};

/*
 * On NetBSD the comm page of (machid, cpuid) is mmap'ed from /dev/nvmm at
 * this offset. Kept for source compatibility; libnvmm for Linux allocates
 * the page itself.
 */
#define NVMM_COMM_OFF(machid, cpuid)	\
	((((uint64_t)(machid) & 0xFFULL) << 20) | (((uint64_t)(cpuid) & 0xFFULL) << 12))
#define NVMM_COMM_MACHID(off)	(((off) >> 20) & 0xFF)
#define NVMM_COMM_CPUID(off)	(((off) >> 12) & 0xFF)

__NVMM_STATIC_ASSERT(sizeof(struct nvmm_capability) == 104,
    "struct nvmm_capability is 104 bytes");
__NVMM_STATIC_ASSERT(sizeof(struct nvmm_comm_page) <= 4096,
    "the comm page fits in a page");

#endif /* _NVMM_H_ */
