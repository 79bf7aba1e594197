/*
 * An xAPIC local APIC, one per VCPU, at PC_LAPIC_BASE.
 *
 * Version 0x50014 (six LVT entries, no EOI broadcast suppression). The
 * timer runs off a 1 GHz bus clock, as KVM's does: one tick per divisor
 * nanoseconds of the injected clock. One-shot and periodic modes; no
 * TSC-deadline. The divide configuration takes effect at the next write
 * of the initial count, as Linux always writes it first.
 *
 * The VCPU loop asks lapic_pending() for a vector, injects it and calls
 * lapic_ack(); LAPIC_EXTINT means LINT0 (or an ExtINT message) wants the
 * PIC's INTA: acknowledge it here, then take the vector from pic_ack().
 * NMI, INIT and SIPI come out of lapic_take_events(). IPIs leave through
 * the IPI callback as struct apic_msg; lapic_route() delivers such a
 * message, or an I/O APIC's, to the LAPICs it addresses.
 */
#ifndef HW_LAPIC_H
#define HW_LAPIC_H

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define LAPIC_BUS_HZ	1000000000
#define LAPIC_VERSION	0x00050014
#define LAPIC_EXTINT	256		/* from lapic_pending(): ask the PIC */

/* Register offsets. */
#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080
#define LAPIC_APR	0x090
#define LAPIC_PPR	0x0A0
#define LAPIC_EOI	0x0B0
#define LAPIC_LDR	0x0D0
#define LAPIC_DFR	0x0E0
#define LAPIC_SVR	0x0F0
#define LAPIC_ISR	0x100	/* eight registers, 0x10 apart */
#define LAPIC_TMR	0x180
#define LAPIC_IRR	0x200
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF	0x340
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERROR	0x370
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_CCR	0x390
#define LAPIC_TIMER_DCR	0x3E0

#define LAPIC_SVR_ENABLE	0x100
#define LAPIC_LVT_LEVEL		0x8000
#define LAPIC_LVT_MASKED	0x10000
#define LAPIC_LVT_PERIODIC	0x20000
#define LAPIC_ICR_LOGICAL	0x800
#define LAPIC_ICR_ASSERT	0x4000
#define LAPIC_ICR_LEVEL		0x8000
#define LAPIC_ESR_SEND_ILLEGAL	0x20
#define LAPIC_ESR_RECV_ILLEGAL	0x40

/* lapic_take_events() bits. */
#define LAPIC_EV_NMI	0x1
#define LAPIC_EV_INIT	0x2	/* LAPIC reset; the VCPU waits for SIPI */
#define LAPIC_EV_SIPI	0x4

#define LAPIC_NLVT	6	/* timer, thermal, perf, LINT0, LINT1, error */

/* 256 vectors, one bit each: IRR, ISR, TMR. */
struct apic_bits {
	uint32_t w[8];
};

typedef void lapic_eoi_fn(void *opaque, uint8_t vector);

struct lapic {
	uint32_t id, tpr, ldr, dfr, svr, esr, esr_pending;
	uint32_t icr_lo, icr_hi, lvt[LAPIC_NLVT], timer_icr, timer_dcr;
	struct apic_bits irr, isr, tmr;
	uint64_t timer_start;	/* ns at which the initial count was written */
	uint64_t timer_seen;	/* expiries up to here were delivered */
	unsigned timer_div;
	bool lint[2];		/* input levels */
	bool extint;		/* an ExtINT message waits for its INTA */
	unsigned events;
	uint8_t sipi_vector;
	const struct hw_clock *clock;
	apic_deliver_fn *ipi;
	lapic_eoi_fn *eoi;
	void *opaque;
};

/*
 * IPI(OPAQUE, msg) sends an IPI for the VMM to route; EOI(OPAQUE, vector)
 * reports the EOI of a level-triggered vector, for the I/O APIC.
 */
void lapic_init(struct lapic *lapic, uint8_t id, const struct hw_clock *clock,
    apic_deliver_fn *ipi, lapic_eoi_fn *eoi, void *opaque);

/* INIT: everything but the APIC ID back to its power-on value. */
void lapic_reset(struct lapic *lapic);

uint32_t lapic_read(struct lapic *lapic, unsigned offset, unsigned size);
void lapic_write(struct lapic *lapic, unsigned offset, unsigned size,
    uint32_t val);
bus_handler lapic_io;

/* Accepts a fixed interrupt into IRR (dropped while software-disabled). */
void lapic_set_irq(struct lapic *lapic, uint8_t vector, bool level);

/* Drives LINT0 or LINT1 (PIN 0 or 1). */
void lapic_set_lint(struct lapic *lapic, unsigned pin, bool level);

/* The vector to inject now, LAPIC_EXTINT, or -1. */
int lapic_pending(const struct lapic *lapic);

/* The VCPU took VECTOR (as returned by lapic_pending()). */
void lapic_ack(struct lapic *lapic, int vector);

/* Returns and clears LAPIC_EV_*; *SIPI_VECTOR is set with LAPIC_EV_SIPI. */
unsigned lapic_take_events(struct lapic *lapic, uint8_t *sipi_vector);

/* Fires the timer if it expired by NOW_NS; true if an interrupt was taken. */
bool lapic_advance(struct lapic *lapic, uint64_t now_ns);

/* When the timer next interrupts, or HW_NO_DEADLINE. */
uint64_t lapic_next_deadline(const struct lapic *lapic);

/* Does MSG (destination, mode and shorthand) address this LAPIC? */
bool lapic_match(const struct lapic *lapic, const struct apic_msg *msg);

/* Receives MSG: fixed and lowest priority vectors, NMI, INIT, SIPI, ExtINT. */
void lapic_deliver(struct lapic *lapic, const struct apic_msg *msg);

/*
 * Delivers MSG to the LAPICs it addresses among LAPICS[0..N), N <= 64;
 * lowest priority goes to the enabled one with the lowest arbitration
 * priority. Returns a bit per LAPIC reached, for the VMM to kick.
 */
uint64_t lapic_route(struct lapic *const *lapics, unsigned n,
    const struct apic_msg *msg);

/* Snapshots: the state, and back into a device from lapic_init() (blob.h). */
int lapic_save(const struct lapic *lapic, struct hw_blob *b);
int lapic_load(struct lapic *lapic, struct hw_blob *b);

#endif
