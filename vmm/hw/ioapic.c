/* I/O APIC. */
#include "ioapic.h"

#include <errno.h>

/* Vector, mode, destination mode, polarity, trigger, mask. */
#define RTE_WRITABLE_LO	0x1AFFFu

static void
send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	struct apic_msg m = {
		.vector = e & 0xFF,
		.delivery = (e >> 8) & 7,
		.logical = e & IOAPIC_RTE_LOGICAL,
		.level = e & IOAPIC_RTE_LEVEL,
		.dest = e >> 56,
		.shorthand = APIC_SH_NONE,
	};

	io->deliver(io->opaque, &m);
}

/* A held level line goes out again once remote IRR is clear. */
static void
service_level(struct ioapic *io, unsigned pin)
{
	uint64_t *e = &io->rte[pin];

	if (!(io->pins & (1u << pin)) ||
	    (*e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) ||
	    !(*e & IOAPIC_RTE_LEVEL))
		return;
	*e |= IOAPIC_RTE_REMOTE_IRR;
	send(io, pin);
}

void
ioapic_init(struct ioapic *io, apic_deliver_fn *deliver, void *opaque)
{
	*io = (struct ioapic){ .deliver = deliver, .opaque = opaque };
	for (unsigned i = 0; i < PC_IOAPIC_PINS; i++)
		io->rte[i] = IOAPIC_RTE_MASKED;
}

static uint32_t
reg_read(const struct ioapic *io, unsigned reg)
{
	unsigned pin = (reg - IOAPIC_REG_RTE) / 2;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:	/* the arbitration ID is the APIC ID */
		return (uint32_t)io->id << 24;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	}
	if (reg < IOAPIC_REG_RTE || pin >= PC_IOAPIC_PINS)
		return 0;
	return io->rte[pin] >> (reg & 1 ? 32 : 0);
}

static void
reg_write(struct ioapic *io, unsigned reg, uint32_t val)
{
	unsigned pin = (reg - IOAPIC_REG_RTE) / 2;
	uint64_t *e;

	if (reg == IOAPIC_REG_ID) {
		io->id = (val >> 24) & 0xF;
		return;
	}
	if (reg < IOAPIC_REG_RTE || pin >= PC_IOAPIC_PINS)
		return;
	e = &io->rte[pin];
	if (reg & 1) {
		*e = (*e & 0xFFFFFFFF) | (uint64_t)(val & 0xFF000000) << 32;
		return;
	}
	*e = (*e & ~(uint64_t)RTE_WRITABLE_LO) | (val & RTE_WRITABLE_LO);
	if (!(*e & IOAPIC_RTE_LEVEL))
		*e &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
	/* Unmasking a held level line delivers it. */
	service_level(io, pin);
}

uint32_t
ioapic_read(struct ioapic *io, unsigned offset, unsigned size)
{
	uint32_t val;

	switch (offset) {
	case IOAPIC_REGSEL:
		val = io->sel;
		break;
	case IOAPIC_WINDOW:
		val = reg_read(io, io->sel);
		break;
	default:
		return 0;
	}
	return size >= 4 ? val : val & ((1u << (8 * size)) - 1);
}

void
ioapic_write(struct ioapic *io, unsigned offset, unsigned size, uint32_t val)
{
	(void)size;
	if (offset == IOAPIC_REGSEL)
		io->sel = val;
	else if (offset == IOAPIC_WINDOW)
		reg_write(io, io->sel, val);
}

BUS_HANDLER(ioapic_io, struct ioapic, ioapic_read, ioapic_write)

int
ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	uint32_t bit = 1u << pin;
	bool rising;

	if (pin >= PC_IOAPIC_PINS)
		return -EINVAL;
	rising = level && !(io->pins & bit);
	io->pins = level ? io->pins | bit : io->pins & ~bit;
	if (io->rte[pin] & IOAPIC_RTE_LEVEL)
		service_level(io, pin);
	else if (rising && !(io->rte[pin] & IOAPIC_RTE_MASKED))
		send(io, pin);	/* masked edges are lost */
	return 0;
}

void
ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < PC_IOAPIC_PINS; pin++) {
		uint64_t *e = &io->rte[pin];

		if ((*e & 0xFF) != vector || !(*e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*e &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
		service_level(io, pin);
	}
}

#define IOAPIC_TAG	HW_TAG('I', 'O', 'A', 'P')

int
ioapic_save(const struct ioapic *io, struct hw_blob *b)
{
	hw_blob_put_header(b, IOAPIC_TAG, 1);
	for (int i = 0; i < PC_IOAPIC_PINS; i++)
		hw_put64(b, io->rte[i]);
	hw_put32(b, io->pins);
	hw_put8(b, io->sel);
	hw_put8(b, io->id);
	return hw_blob_saved(b);
}

int
ioapic_load(struct ioapic *io, struct hw_blob *b)
{
	struct ioapic n = *io;
	int r = hw_blob_get_header(b, IOAPIC_TAG, 1);

	if (r < 0)
		return r;
	for (int i = 0; i < PC_IOAPIC_PINS; i++)
		n.rte[i] = hw_get64(b);
	n.pins = hw_get32(b);
	n.sel = hw_get8(b);
	n.id = hw_get8(b);
	r = hw_blob_done(b, (n.pins >> PC_IOAPIC_PINS) != 0 || n.id > 0xF);
	if (r == 0)
		*io = n;
	return r;
}
