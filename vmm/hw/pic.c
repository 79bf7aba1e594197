/* Two cascaded i8259A PICs. */
#include "pic.h"

#include <errno.h>

#define MASTER(pic)	(&(pic)->chip[0])
#define SLAVE(pic)	(&(pic)->chip[1])

/* The line of MASK with the highest priority, or -1 for none. */
static int
highest(const struct pic_chip *c, uint8_t mask)
{
	for (int i = 0; i < 8; i++) {
		int line = (c->prio + i) & 7;

		if (mask & (1u << line))
			return line;
	}
	return -1;
}

/* 0 for the highest priority, 7 for the lowest. */
static int
rank(const struct pic_chip *c, int line)
{
	return (line - c->prio) & 7;
}

/* The unmasked request that would interrupt what is in service, or -1. */
static int
request(const struct pic_chip *c, bool master)
{
	int irq = highest(c, c->irr & ~c->imr), cur;
	uint8_t isr = c->isr;

	if (irq < 0)
		return -1;
	if (c->special_mask)
		isr &= ~c->imr;
	/* Fully nested: a slave request may nest within its own cascade. */
	if (master && c->sfnm)
		isr &= ~(1u << PIC_CASCADE);
	cur = highest(c, isr);
	return cur >= 0 && rank(c, cur) <= rank(c, irq) ? -1 : irq;
}

static void
set_line(struct pic_chip *c, int line, int level)
{
	uint8_t bit = 1u << line;

	if (c->elcr & bit)
		c->irr = level ? c->irr | bit : c->irr & ~bit;
	else if (level && !(c->pins & bit))
		c->irr |= bit;
	c->pins = level ? c->pins | bit : c->pins & ~bit;
}

/*
 * The cascade input follows the slave's INT as a level, so a slave request
 * still standing after an INTA cleared IR2 raises it again.
 */
static void
update(struct pic *pic)
{
	struct pic_chip *m = MASTER(pic);

	if (request(SLAVE(pic), false) >= 0)
		m->irr |= 1u << PIC_CASCADE;
	else
		m->irr &= ~(1u << PIC_CASCADE);
	hw_irq_set(&pic->intr, request(m, true) >= 0);
}

/* Level-triggered requests stay in IRR while the line is high. */
static void
ack_line(struct pic_chip *c, int line)
{
	uint8_t bit = 1u << line;

	if (!(c->elcr & bit))
		c->irr &= ~bit;
	if (!c->auto_eoi)
		c->isr |= bit;
	else if (c->rotate_aeoi)
		c->prio = (line + 1) & 7;
}

void
pic_init(struct pic *pic, hw_irq_fn *intr, void *opaque)
{
	*pic = (struct pic){ 0 };
	/* The PIIX hardwires IRQ 0-2, 8 and 13 to edge. */
	MASTER(pic)->elcr_mask = 0xF8;
	SLAVE(pic)->elcr_mask = 0xDE;
	hw_irq_init(&pic->intr, intr, opaque, 0);
}

int
pic_set_irq(struct pic *pic, unsigned line, int level)
{
	if (line > 15 || line == PIC_CASCADE)
		return -EINVAL;
	set_line(&pic->chip[line >> 3], line & 7, !!level);
	update(pic);
	return 0;
}

bool
pic_has_interrupt(const struct pic *pic)
{
	return pic->intr.level;
}

int
pic_ack(struct pic *pic)
{
	struct pic_chip *c = MASTER(pic);
	int irq = request(c, true), vector;

	/* A cascade INTA goes on to the slave for the vector. */
	if (irq == PIC_CASCADE) {
		ack_line(c, irq);
		c = SLAVE(pic);
		irq = request(c, false);
	}
	if (irq < 0) {
		vector = c->base | 7;
	} else {
		ack_line(c, irq);
		vector = c->base | irq;
	}
	update(pic);
	return vector;
}

/* Poll mode: the read is an INTA that returns 0x80 | line, or 0. */
static uint8_t
poll(struct pic *pic, struct pic_chip *c)
{
	int irq = request(c, c == MASTER(pic));

	if (irq < 0)
		return 0;
	ack_line(c, irq);
	update(pic);
	return 0x80 | irq;
}

static uint8_t
chip_read(struct pic *pic, struct pic_chip *c, unsigned offset)
{
	if (c->poll) {
		c->poll = false;
		return poll(pic, c);
	}
	if (offset == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

/* ICW1 restarts initialization; the ELCR and level requests survive. */
static void
icw1(struct pic_chip *c, uint8_t val)
{
	*c = (struct pic_chip){
		.irr = c->irr & c->elcr,
		.pins = c->pins & c->elcr,
		.elcr = c->elcr,
		.elcr_mask = c->elcr_mask,
		.icw_step = 2,
		.icw4 = val & 0x01,
		.single = val & 0x02,
	};
}

static void
icw(struct pic_chip *c, uint8_t val)
{
	switch (c->icw_step) {
	case 2:
		c->base = val & 0xF8;
		c->icw_step = !c->single ? 3 : c->icw4 ? 4 : 0;
		break;
	case 3:
		/* The cascade wiring is fixed: ICW3 has nothing to set. */
		c->icw_step = c->icw4 ? 4 : 0;
		break;
	case 4:
		c->auto_eoi = val & 0x02;
		c->sfnm = val & 0x10;
		c->icw_step = 0;
		break;
	}
}

static void
ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned cmd = val >> 5;
	int line = val & 7;

	switch (cmd) {
	case 0:
	case 4:
		c->rotate_aeoi = cmd == 4;
		break;
	case 1:		/* non-specific EOI: the highest line in service */
	case 5:
		line = highest(c, c->isr);
		if (line < 0)
			break;
		/* fall through */
	case 3:		/* specific EOI */
	case 7:
		c->isr &= ~(1u << line);
		if (cmd & 4)	/* rotate: the line gets the lowest priority */
			c->prio = (line + 1) & 7;
		break;
	case 6:		/* set priority: the line gets the lowest */
		c->prio = (line + 1) & 7;
		break;
	}
}

static void
ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & 0x04)
		c->poll = true;
	if (val & 0x02)
		c->read_isr = val & 0x01;
	if (val & 0x40)
		c->special_mask = val & 0x20;
}

static void
chip_write(struct pic_chip *c, unsigned offset, uint8_t val)
{
	if (offset == 1) {
		if (c->icw_step)
			icw(c, val);
		else
			c->imr = val;
	} else if (val & 0x10) {
		icw1(c, val);
	} else if (val & 0x08) {
		ocw3(c, val);
	} else {
		ocw2(c, val);
	}
}

/* Offsets 0-5: master, slave, ELCR, two bytes each. */
static uint8_t
pic_read8(void *dev, unsigned offset)
{
	struct pic *pic = dev;
	unsigned blk = offset >> 1;

	if (blk == PIC_ELCR)
		return pic->chip[offset & 1].elcr;
	return chip_read(pic, &pic->chip[blk], offset & 1);
}

static void
pic_write8(void *dev, unsigned offset, uint8_t val)
{
	struct pic *pic = dev;
	unsigned blk = offset >> 1;
	struct pic_chip *c;

	if (blk == PIC_ELCR) {
		c = &pic->chip[offset & 1];
		c->elcr = val & c->elcr_mask;
		c->irr = (c->irr & ~c->elcr) | (c->pins & c->elcr);
	} else {
		chip_write(&pic->chip[blk], offset & 1, val);
	}
	update(pic);
}

uint32_t
pic_read(struct pic *pic, enum pic_block blk, unsigned offset, unsigned size)
{
	return hw_read_bytes(pic_read8, pic, 2 * blk + offset, size,
	    2 * blk + 2);
}

void
pic_write(struct pic *pic, enum pic_block blk, unsigned offset, unsigned size,
    uint32_t val)
{
	hw_write_bytes(pic_write8, pic, 2 * blk + offset, size, val,
	    2 * blk + 2);
}

static void
pic_io(struct pic *pic, enum pic_block blk, uint64_t offset, void *data,
    unsigned size, bool is_write)
{
	if (is_write)
		pic_write(pic, blk, offset, size, bus_get(data, size));
	else
		bus_put(data, size, pic_read(pic, blk, offset, size));
}

void
pic_master_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	pic_io(opaque, PIC_MASTER, offset, data, size, is_write);
}

void
pic_slave_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	pic_io(opaque, PIC_SLAVE, offset, data, size, is_write);
}

void
pic_elcr_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	pic_io(opaque, PIC_ELCR, offset, data, size, is_write);
}

#define PIC_TAG		HW_TAG('P', 'I', 'C', ' ')

int
pic_save(const struct pic *pic, struct hw_blob *b)
{
	hw_blob_put_header(b, PIC_TAG, 1);
	for (int i = 0; i < 2; i++) {
		const struct pic_chip *c = &pic->chip[i];

		hw_put8(b, c->irr);
		hw_put8(b, c->isr);
		hw_put8(b, c->imr);
		hw_put8(b, c->pins);
		hw_put8(b, c->elcr);
		hw_put8(b, c->base);
		hw_put8(b, c->prio);
		hw_put8(b, c->icw_step);
		hw_put8(b, (uint8_t)(c->icw4 | c->single << 1 | c->auto_eoi << 2 |
		    c->rotate_aeoi << 3 | c->sfnm << 4 | c->special_mask << 5 |
		    c->read_isr << 6 | c->poll << 7));
	}
	hw_put_irq(b, &pic->intr);
	return hw_blob_saved(b);
}

int
pic_load(struct pic *pic, struct hw_blob *b)
{
	struct pic n = *pic;
	bool bad = false;
	int r = hw_blob_get_header(b, PIC_TAG, 1);

	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		struct pic_chip *c = &n.chip[i];
		uint8_t flags;

		c->irr = hw_get8(b);
		c->isr = hw_get8(b);
		c->imr = hw_get8(b);
		c->pins = hw_get8(b);
		c->elcr = hw_get8(b);
		c->base = hw_get8(b);
		c->prio = hw_get8(b);
		c->icw_step = hw_get8(b);
		flags = hw_get8(b);
		c->icw4 = flags & 0x01;
		c->single = flags & 0x02;
		c->auto_eoi = flags & 0x04;
		c->rotate_aeoi = flags & 0x08;
		c->sfnm = flags & 0x10;
		c->special_mask = flags & 0x20;
		c->read_isr = flags & 0x40;
		c->poll = flags & 0x80;
		bad |= (c->elcr & ~c->elcr_mask) || c->prio > 7 ||
		    c->icw_step == 1 || c->icw_step > 4 || (c->base & 7);
	}
	hw_get_irq(b, &n.intr);
	r = hw_blob_done(b, bad);
	if (r == 0)
		*pic = n;
	return r;
}
