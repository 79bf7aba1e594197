/*
 * The i8254 PIT (0x40-0x43) and system control port B (0x61), counting at
 * 1.193182 MHz on the injected clock.
 *
 * Modes 0-5, binary or BCD, latch and read-back commands, LSB/MSB/LSB-MSB
 * access. Channel 0's OUT drives the IRQ: each rising edge is a pulse on
 * the line. Channel 2's gate and OUT are port 0x61 bits 0 and 5, which
 * Linux uses to calibrate the TSC. Loading a count restarts the counter at
 * once, including in modes 2 and 3, where the 8254 would wait for the
 * current period to end.
 */
#ifndef HW_PIT_H
#define HW_PIT_H

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define PIT_HZ		1193182
#define PIT_NREGS	4	/* counters 0-2, then the control word */

#define PIT_PORT61_GATE2	0x01
#define PIT_PORT61_SPEAKER	0x02
#define PIT_PORT61_REFRESH	0x10	/* toggles every 15.085 us */
#define PIT_PORT61_OUT2	0x20

struct pit_channel {
	uint32_t count;		/* reload value in ticks: 1-65536 */
	uint64_t start;		/* PIT tick at which the count began */
	uint64_t frozen;	/* ticks counted when the gate went low */
	uint64_t irq_seen;	/* rising edges up to here were delivered */
	uint16_t latch;
	uint8_t lsb;		/* first byte of an LSB-MSB write */
	uint8_t mode, access, status;
	bool bcd, gate;
	bool counting;		/* loaded and, in modes 1 and 5, triggered */
	bool loaded;		/* a count was written since the control word */
	bool null_count, latched, status_latched, read_msb, write_msb;
};

struct pit {
	struct pit_channel ch[3];
	uint8_t port61;
	const struct hw_clock *clock;
	struct hw_irq irq;
};

void pit_init(struct pit *pit, const struct hw_clock *clock, hw_irq_fn *irq,
    int line, void *opaque);
uint32_t pit_read(struct pit *pit, unsigned offset, unsigned size);
void pit_write(struct pit *pit, unsigned offset, unsigned size, uint32_t val);
uint32_t pit_port61_read(struct pit *pit, unsigned offset, unsigned size);
void pit_port61_write(struct pit *pit, unsigned offset, unsigned size,
    uint32_t val);
bus_handler pit_io, pit_port61_io;

/* Pulses the IRQ if channel 0 had a rising edge by NOW_NS. */
void pit_advance(struct pit *pit, uint64_t now_ns);

/* When channel 0's next rising edge is due, or HW_NO_DEADLINE. */
uint64_t pit_next_deadline(const struct pit *pit);

/* Snapshots: the state, and back into a device from pit_init() (blob.h). */
int pit_save(const struct pit *pit, struct hw_blob *b);
int pit_load(struct pit *pit, struct hw_blob *b);

#endif
