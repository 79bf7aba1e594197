/*
 * An 82093AA-style I/O APIC at PC_IOAPIC_BASE: IOREGSEL at 0x00, IOWIN at
 * 0x10, 24 pins, version 0x11 (no EOI register: the LAPIC's EOI of a
 * level-triggered vector comes back through ioapic_eoi()).
 *
 * Pins take logical levels (1 = asserted); the polarity bit is kept for
 * the guest to read but not applied. Messages leave through the delivery
 * callback, normally into lapic_route().
 */
#ifndef HW_IOAPIC_H
#define HW_IOAPIC_H

#include "blob.h"
#include "bus.h"
#include "hw.h"
#include "pc.h"

#define IOAPIC_REGSEL	0x00
#define IOAPIC_WINDOW	0x10

#define IOAPIC_REG_ID	0x00
#define IOAPIC_REG_VER	0x01
#define IOAPIC_REG_ARB	0x02
#define IOAPIC_REG_RTE	0x10	/* pin N: 0x10 + 2N low, 0x11 + 2N high */

#define IOAPIC_VERSION	(0x11 | (PC_IOAPIC_PINS - 1) << 16)

#define IOAPIC_RTE_LOGICAL	0x800
#define IOAPIC_RTE_ACTIVE_LOW	0x2000
#define IOAPIC_RTE_REMOTE_IRR	0x4000
#define IOAPIC_RTE_LEVEL	0x8000
#define IOAPIC_RTE_MASKED	0x10000

struct ioapic {
	uint64_t rte[PC_IOAPIC_PINS];
	uint32_t pins;		/* input levels */
	uint8_t sel, id;
	apic_deliver_fn *deliver;
	void *opaque;
};

void ioapic_init(struct ioapic *io, apic_deliver_fn *deliver, void *opaque);
uint32_t ioapic_read(struct ioapic *io, unsigned offset, unsigned size);
void ioapic_write(struct ioapic *io, unsigned offset, unsigned size,
    uint32_t val);
bus_handler ioapic_io;

/* 0, or -EINVAL for a PIN past the last. */
int ioapic_set_irq(struct ioapic *io, unsigned pin, int level);

/* A LAPIC's EOI of VECTOR: clears remote IRR, re-delivers held lines. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* Snapshots: the state, and back into a device from ioapic_init() (blob.h). */
int ioapic_save(const struct ioapic *io, struct hw_blob *b);
int ioapic_load(struct ioapic *io, struct hw_blob *b);

#endif
