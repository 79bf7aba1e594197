/* i8254 programmable interval timer. */
#include "pit.h"

#define ACCESS_LATCH	0
#define ACCESS_LSB	1
#define ACCESS_MSB	2
#define ACCESS_WORD	3
#define NO_EDGE		UINT64_MAX

static uint64_t
ticks_now(const struct pit *pit)
{
	return hw_ns_to_ticks(hw_now(pit->clock), PIT_HZ);
}

/* Modes 1 and 5 start on a gate edge; the others stop while it is low. */
static bool
paused(const struct pit_channel *c)
{
	return !c->gate && c->mode != 1 && c->mode != 5;
}

static uint64_t
elapsed(const struct pit_channel *c, uint64_t t)
{
	return paused(c) ? c->frozen : t - c->start;
}

/* The counter as read: the modes differ in how they reload. */
static uint16_t
current(const struct pit_channel *c, uint64_t t)
{
	uint64_t e, n = c->count, wrap = c->bcd ? 10000 : 65536, v;

	if (!c->counting)
		return c->bcd ? hw_to_bcd(n % wrap) : n;
	e = elapsed(c, t);
	switch (c->mode) {
	case 2:
		v = n - e % n;
		break;
	case 3:		/* counts down by two, twice per period */
		v = n - (2 * e) % n;
		break;
	default:	/* one shots wrap around after terminal count */
		v = (n + wrap - e % wrap) % wrap;
		break;
	}
	return c->bcd ? hw_to_bcd(v % wrap) : v;
}

static bool
out(const struct pit_channel *c, uint64_t t)
{
	uint64_t e, n = c->count;

	if (!c->counting)
		return c->mode != 0;
	if (paused(c) && (c->mode == 2 || c->mode == 3))
		return true;
	e = elapsed(c, t);
	switch (c->mode) {
	case 0:
	case 1:
		return e >= n;
	case 2:		/* low for the last tick of each period */
		return e % n != n - 1;
	case 3:		/* high for the first half, rounded up */
		return e % n < (n + 1) / 2;
	default:	/* modes 4 and 5: a one-tick low strobe */
		return e != n;
	}
}

/* The PIT tick of OUT's first rising edge after tick AFTER, or NO_EDGE. */
static uint64_t
next_edge(const struct pit_channel *c, uint64_t after)
{
	uint64_t n = c->count, e, edge;

	if (!c->counting || paused(c))
		return NO_EDGE;
	e = after > c->start ? after - c->start : 0;
	switch (c->mode) {
	case 0:
	case 1:
		edge = n;
		break;
	case 2:
	case 3:
		edge = (e / n + 1) * n;
		break;
	default:
		edge = n + 1;
		break;
	}
	return edge > e ? c->start + edge : NO_EDGE;
}

/* Delivers channel 0's rising edges up to tick T; several coalesce. */
static void
irq_update(struct pit *pit, uint64_t t)
{
	struct pit_channel *c = &pit->ch[0];

	if (t <= c->irq_seen)
		return;
	if (next_edge(c, c->irq_seen) <= t) {
		hw_irq_set(&pit->irq, 1);
		hw_irq_set(&pit->irq, 0);
	}
	c->irq_seen = t;
}

void
pit_init(struct pit *pit, const struct hw_clock *clock, hw_irq_fn *irq,
    int line, void *opaque)
{
	*pit = (struct pit){ .clock = clock };
	/* Gates 0 and 1 are tied high; gate 2 is port 0x61 bit 0. */
	pit->ch[0].gate = pit->ch[1].gate = true;
	hw_irq_init(&pit->irq, irq, opaque, line);
}

static void
load(struct pit_channel *c, uint16_t raw, uint64_t t)
{
	if (c->bcd)
		c->count = raw ? hw_from_bcd(raw) : 10000;
	else
		c->count = raw ? raw : 65536;
	c->null_count = false;
	c->loaded = true;
	if (c->mode == 1 || c->mode == 5)	/* waits for a gate edge */
		return;
	c->counting = true;
	c->start = c->irq_seen = t;
	c->frozen = 0;
}

static void
latch_count(struct pit_channel *c, uint64_t t)
{
	if (c->latched)
		return;
	c->latch = current(c, t);
	c->latched = true;
}

static void
latch_status(struct pit_channel *c, uint64_t t)
{
	if (c->status_latched)
		return;
	c->status = out(c, t) << 7 | c->null_count << 6 | c->access << 4 |
	    c->mode << 1 | c->bcd;
	c->status_latched = true;
}

static void
control(struct pit *pit, uint8_t val, uint64_t t)
{
	struct pit_channel *c;
	unsigned sel = val >> 6;

	/* Read-back: bit 5 clear latches counts, bit 4 clear the status. */
	if (sel == 3) {
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch_count(&pit->ch[i], t);
			if (!(val & 0x10))
				latch_status(&pit->ch[i], t);
		}
		return;
	}
	c = &pit->ch[sel];
	if (((val >> 4) & 3) == ACCESS_LATCH) {
		latch_count(c, t);
		return;
	}
	c->access = (val >> 4) & 3;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)	/* 6 and 7 are aliases of 2 and 3 */
		c->mode &= 3;
	c->bcd = val & 1;
	c->counting = c->loaded = false;
	c->null_count = true;
	c->latched = c->status_latched = c->read_msb = c->write_msb = false;
}

static void
write_count(struct pit_channel *c, uint8_t val, uint64_t t)
{
	switch (c->access) {
	case ACCESS_LSB:
		load(c, val, t);
		break;
	case ACCESS_MSB:
		load(c, val << 8, t);
		break;
	case ACCESS_WORD:
		if (c->write_msb) {
			load(c, c->lsb | val << 8, t);
		} else {
			c->lsb = val;
			/* Mode 0 stops (OUT low) until the MSB arrives. */
			if (c->mode == 0)
				c->counting = false;
		}
		c->write_msb = !c->write_msb;
		break;
	}
}

static uint8_t
read_count(struct pit_channel *c, uint64_t t)
{
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	v = c->latched ? c->latch : current(c, t);
	msb = c->access == ACCESS_MSB ||
	    (c->access == ACCESS_WORD && c->read_msb);
	if (c->access == ACCESS_WORD)
		c->read_msb = !c->read_msb;
	if (c->access != ACCESS_WORD || msb)
		c->latched = false;
	return msb ? v >> 8 : v & 0xFF;
}

static uint8_t
pit_read8(void *dev, unsigned offset)
{
	struct pit *pit = dev;

	/* The control word register reads as nothing. */
	return offset < 3 ? read_count(&pit->ch[offset], ticks_now(pit)) : 0xFF;
}

static void
pit_write8(void *dev, unsigned offset, uint8_t val)
{
	struct pit *pit = dev;
	uint64_t t = ticks_now(pit);

	/* Edges due under the old programming are delivered first. */
	irq_update(pit, t);
	if (offset == 3)
		control(pit, val, t);
	else
		write_count(&pit->ch[offset], val, t);
}

uint32_t
pit_read(struct pit *pit, unsigned offset, unsigned size)
{
	return hw_read_bytes(pit_read8, pit, offset, size, PIT_NREGS);
}

void
pit_write(struct pit *pit, unsigned offset, unsigned size, uint32_t val)
{
	hw_write_bytes(pit_write8, pit, offset, size, val, PIT_NREGS);
}

BUS_HANDLER(pit_io, struct pit, pit_read, pit_write)

static void
set_gate(struct pit_channel *c, bool gate, uint64_t t)
{
	if (gate == c->gate)
		return;
	if (!gate) {
		c->frozen = t - c->start;
	} else if (c->mode == 0 || c->mode == 4) {
		c->start = t - c->frozen;	/* resume */
	} else if (c->loaded) {
		/* Modes 2/3 reload, modes 1/5 trigger on the rising edge. */
		c->counting = true;
		c->start = t;
	}
	c->gate = gate;
}

static uint8_t
pit_port61_read8(void *dev, unsigned offset)
{
	struct pit *pit = dev;
	uint64_t ns = hw_now(pit->clock);
	bool out2 = out(&pit->ch[2], hw_ns_to_ticks(ns, PIT_HZ));

	(void)offset;
	return pit->port61 | ((ns / 15085) & 1 ? PIT_PORT61_REFRESH : 0) |
	    (out2 ? PIT_PORT61_OUT2 : 0);
}

static void
pit_port61_write8(void *dev, unsigned offset, uint8_t val)
{
	struct pit *pit = dev;

	(void)offset;
	/* Bits 2-3 (parity and I/O check enables) only read back. */
	pit->port61 = val & 0x0F;
	set_gate(&pit->ch[2], val & PIT_PORT61_GATE2, ticks_now(pit));
}

uint32_t
pit_port61_read(struct pit *pit, unsigned offset, unsigned size)
{
	return hw_read_bytes(pit_port61_read8, pit, offset, size, 1);
}

void
pit_port61_write(struct pit *pit, unsigned offset, unsigned size,
    uint32_t val)
{
	hw_write_bytes(pit_port61_write8, pit, offset, size, val, 1);
}

BUS_HANDLER(pit_port61_io, struct pit, pit_port61_read, pit_port61_write)

void
pit_advance(struct pit *pit, uint64_t now_ns)
{
	irq_update(pit, hw_ns_to_ticks(now_ns, PIT_HZ));
}

uint64_t
pit_next_deadline(const struct pit *pit)
{
	uint64_t edge = next_edge(&pit->ch[0], pit->ch[0].irq_seen);

	return edge == NO_EDGE ? HW_NO_DEADLINE : hw_ticks_to_ns(edge, PIT_HZ);
}

#define PIT_TAG		HW_TAG('P', 'I', 'T', ' ')

int
pit_save(const struct pit *pit, struct hw_blob *b)
{
	hw_blob_put_header(b, PIT_TAG, 1);
	for (int i = 0; i < 3; i++) {
		const struct pit_channel *c = &pit->ch[i];

		hw_put32(b, c->count);
		hw_put64(b, c->start);
		hw_put64(b, c->frozen);
		hw_put64(b, c->irq_seen);
		hw_put16(b, c->latch);
		hw_put8(b, c->lsb);
		hw_put8(b, c->mode);
		hw_put8(b, c->access);
		hw_put8(b, c->status);
		hw_put16(b, (uint16_t)(c->bcd | c->gate << 1 | c->counting << 2 |
		    c->loaded << 3 | c->null_count << 4 | c->latched << 5 |
		    c->status_latched << 6 | c->read_msb << 7 |
		    c->write_msb << 8));
	}
	hw_put8(b, pit->port61);
	hw_put_irq(b, &pit->irq);
	return hw_blob_saved(b);
}

int
pit_load(struct pit *pit, struct hw_blob *b)
{
	struct pit n = *pit;
	bool bad = false;
	int r = hw_blob_get_header(b, PIT_TAG, 1);

	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &n.ch[i];
		uint16_t flags;

		c->count = hw_get32(b);
		c->start = hw_get64(b);
		c->frozen = hw_get64(b);
		c->irq_seen = hw_get64(b);
		c->latch = hw_get16(b);
		c->lsb = hw_get8(b);
		c->mode = hw_get8(b);
		c->access = hw_get8(b);
		c->status = hw_get8(b);
		flags = hw_get16(b);
		c->bcd = flags & 0x001;
		c->gate = flags & 0x002;
		c->counting = flags & 0x004;
		c->loaded = flags & 0x008;
		c->null_count = flags & 0x010;
		c->latched = flags & 0x020;
		c->status_latched = flags & 0x040;
		c->read_msb = flags & 0x080;
		c->write_msb = flags & 0x100;
		bad |= c->count > 65536 || (c->counting && c->count == 0) ||
		    c->mode > 5 || c->access > ACCESS_WORD || flags > 0x1FF;
	}
	n.port61 = hw_get8(b);
	hw_get_irq(b, &n.irq);
	r = hw_blob_done(b, bad);
	if (r == 0)
		*pit = n;
	return r;
}
