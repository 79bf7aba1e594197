/*
 * The PC's two cascaded i8259A PICs (master 0x20-0x21, slave 0xA0-0xA1,
 * slave INT on master IR2) and the PIIX ELCR pair (0x4D0-0x4D1) that makes
 * lines level-triggered. ICW1's LTIM bit is ignored, as on the PIIX.
 *
 * Inputs are ISA lines 0-15 through pic_set_irq(); the master's INT output
 * goes to a callback (line 0) and pic_ack() is the INTA cycle.
 */
#ifndef HW_PIC_H
#define HW_PIC_H

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define PIC_CASCADE	2	/* master input wired to the slave's INT */

enum pic_block {
	PIC_MASTER,	/* command 0, data 1 */
	PIC_SLAVE,
	PIC_ELCR,	/* 0: lines 0-7, 1: lines 8-15 */
};

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t pins;		/* input levels, for edge detection */
	uint8_t elcr, elcr_mask;
	uint8_t base;		/* ICW2: vector of line 0 */
	uint8_t prio;		/* the line with the highest priority */
	uint8_t icw_step;	/* the next ICW expected (2-4), or 0 */
	bool icw4, single, auto_eoi, rotate_aeoi, sfnm;
	bool special_mask, read_isr, poll;
};

struct pic {
	struct pic_chip chip[2];
	struct hw_irq intr;
};

void pic_init(struct pic *pic, hw_irq_fn *intr, void *opaque);

/* 0, or -EINVAL for a LINE above 15 or the cascade input. */
int pic_set_irq(struct pic *pic, unsigned line, int level);

/* The master's INT output. */
bool pic_has_interrupt(const struct pic *pic);

/*
 * INTA: moves the winning request to ISR and returns its vector. With no
 * request left it returns the spurious IRQ 7 (or 15) vector, ISR untouched.
 */
int pic_ack(struct pic *pic);

uint32_t pic_read(struct pic *pic, enum pic_block blk, unsigned offset,
    unsigned size);
void pic_write(struct pic *pic, enum pic_block blk, unsigned offset,
    unsigned size, uint32_t val);
bus_handler pic_master_io, pic_slave_io, pic_elcr_io;

/* Snapshots: the state, and back into a device from pic_init() (blob.h). */
int pic_save(const struct pic *pic, struct hw_blob *b);
int pic_load(struct pic *pic, struct hw_blob *b);

#endif
