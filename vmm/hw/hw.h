/*
 * What the device models of nvmm-run share: the clock, interrupt lines,
 * machine requests and APIC bus messages.
 *
 * A device here is a register model in the vm-superio mould: it never sees
 * the hypervisor, takes time from an injected clock and signals through
 * callbacks, so the tests drive it with no VM.
 *
 * Locking: nvmm-run keeps one machine lock. Every function in vmm/hw/ is
 * called with that lock held, from whichever thread (VCPU, timer, console);
 * no device locks anything itself. Callbacks run with the lock still held:
 * they may call into other devices but must not take the lock again.
 */
#ifndef HW_HW_H
#define HW_HW_H

#include <stdbool.h>
#include <stdint.h>

#define HW_NS_PER_SEC	1000000000ULL
#define HW_NO_DEADLINE	UINT64_MAX	/* from *_next_deadline(): none armed */

/* Monotonic nanoseconds: CLOCK_MONOTONIC in nvmm-run, a variable in tests. */
struct hw_clock {
	uint64_t (*now)(void *opaque);
	void *opaque;
};

static inline uint64_t
hw_now(const struct hw_clock *clock)
{
	return clock->now(clock->opaque);
}

/* Whole ticks of an HZ clock elapsed after NS nanoseconds. */
static inline uint64_t
hw_ns_to_ticks(uint64_t ns, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ns * hz / HW_NS_PER_SEC);
}

/* The first nanosecond by which TICKS ticks of an HZ clock have elapsed. */
static inline uint64_t
hw_ticks_to_ns(uint64_t ticks, uint64_t hz)
{
	unsigned __int128 ns = (unsigned __int128)ticks * HW_NS_PER_SEC;

	ns = (ns + hz - 1) / hz;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/*
 * An interrupt output. The device calls hw_irq_set() with the level it
 * computes; FN(OPAQUE, LINE, LEVEL) runs only when the level changes.
 */
typedef void hw_irq_fn(void *opaque, int line, int level);

struct hw_irq {
	hw_irq_fn *fn;
	void *opaque;
	int line;
	int level;
};

void hw_irq_init(struct hw_irq *irq, hw_irq_fn *fn, void *opaque, int line);
void hw_irq_set(struct hw_irq *irq, int level);

/* What a device can ask of the machine (keyboard controller, ACPI). */
enum hw_request {
	HW_RESET,
	HW_POWEROFF,
};

typedef void hw_request_fn(void *opaque, enum hw_request req);

/* APIC bus messages, from an I/O APIC pin or from an IPI. */
enum apic_delivery {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7,
};

enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2,
	APIC_SH_OTHERS = 3,
};

struct apic_msg {
	uint8_t vector;
	uint8_t delivery;	/* enum apic_delivery */
	uint8_t shorthand;	/* enum apic_shorthand; none from an I/O APIC */
	bool logical;		/* destination mode */
	bool level;		/* trigger mode */
	uint8_t dest;		/* APIC ID or logical destination; 0xFF: all */
	uint8_t source;		/* the sender's APIC ID, for the shorthands */
};

typedef void apic_deliver_fn(void *opaque, const struct apic_msg *msg);

/* Packed BCD of up to four digits, as the RTC and the PIT's BCD mode use. */
unsigned hw_to_bcd(unsigned bin);
unsigned hw_from_bcd(unsigned bcd);

/*
 * ISA devices decode single bytes: a wider access is a run of byte cycles,
 * lowest address first. Bytes past the device's LEN read as a floating bus
 * (0xFF) and are not written.
 */
typedef uint8_t hw_read8_fn(void *dev, unsigned offset);
typedef void hw_write8_fn(void *dev, unsigned offset, uint8_t val);

uint32_t hw_read_bytes(hw_read8_fn *rd, void *dev, unsigned offset,
    unsigned size, unsigned len);
void hw_write_bytes(hw_write8_fn *wr, void *dev, unsigned offset,
    unsigned size, uint32_t val, unsigned len);

#endif
