/* The I/O APIC. */
#include "t.h"

#include <errno.h>

#include "hw_snap.h"
#include "hw/ioapic.h"

static struct apic_msg sent[8];
static unsigned nsent;

static void
on_deliver(void *opaque, const struct apic_msg *msg)
{
	(void)opaque;
	sent[nsent++] = *msg;
}

static uint32_t
reg_rd(struct ioapic *io, unsigned reg)
{
	ioapic_write(io, IOAPIC_REGSEL, 4, reg);
	return ioapic_read(io, IOAPIC_WINDOW, 4);
}

static void
reg_wr(struct ioapic *io, unsigned reg, uint32_t val)
{
	ioapic_write(io, IOAPIC_REGSEL, 4, reg);
	ioapic_write(io, IOAPIC_WINDOW, 4, val);
}

static void
route(struct ioapic *io, unsigned pin, uint32_t lo, uint32_t hi)
{
	reg_wr(io, IOAPIC_REG_RTE + 2 * pin + 1, hi);
	reg_wr(io, IOAPIC_REG_RTE + 2 * pin, lo);
}

TEST(ioapic_identity)
{
	struct ioapic io;

	ioapic_init(&io, on_deliver, NULL);
	T_EQ(reg_rd(&io, IOAPIC_REG_VER), 0x00170011);
	T_EQ(reg_rd(&io, IOAPIC_REG_ID), 0);
	reg_wr(&io, IOAPIC_REG_ID, 0xFF000000);
	T_EQ(reg_rd(&io, IOAPIC_REG_ID), 0x0F000000);
	T_EQ(reg_rd(&io, IOAPIC_REG_ARB), 0x0F000000);
	T_EQ(ioapic_read(&io, IOAPIC_REGSEL, 4), IOAPIC_REG_ARB);
	for (unsigned pin = 0; pin < PC_IOAPIC_PINS; pin++) {
		T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 2 * pin), IOAPIC_RTE_MASKED);
		T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 2 * pin + 1), 0);
	}
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 2 * PC_IOAPIC_PINS), 0);
	T_EQ(ioapic_read(&io, 0x20, 4), 0);
}

TEST(ioapic_redirection_entry)
{
	struct ioapic io;

	ioapic_init(&io, on_deliver, NULL);
	/* Every writable bit, and the read-only ones dropped. */
	route(&io, 9, 0xFFFFFFFF, 0xFFFFFFFF);
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 18), 0x1AFFF);
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 19), 0xFF000000);
	T_EQ(nsent, 0);
}

TEST(ioapic_edge_delivery_and_mask)
{
	struct ioapic io;

	ioapic_init(&io, on_deliver, NULL);
	T_OK(ioapic_set_irq(&io, 2, 1));	/* masked: lost */
	T_OK(ioapic_set_irq(&io, 2, 0));
	route(&io, 2, 0x00000130, 0x03000000);	/* lowest prio, vector 0x30 */
	T_EQ(nsent, 0);
	T_OK(ioapic_set_irq(&io, 2, 1));
	T_EQ(nsent, 1);
	T_EQ(sent[0].vector, 0x30);
	T_EQ(sent[0].delivery, APIC_DM_LOWEST);
	T_EQ(sent[0].dest, 3);
	T_EQ(sent[0].logical, false);
	T_EQ(sent[0].level, false);
	T_EQ(sent[0].shorthand, APIC_SH_NONE);
	T_OK(ioapic_set_irq(&io, 2, 1));	/* no new edge */
	T_EQ(nsent, 1);
	T_OK(ioapic_set_irq(&io, 2, 0));
	T_OK(ioapic_set_irq(&io, 2, 1));
	T_EQ(nsent, 2);
	route(&io, 2, IOAPIC_RTE_MASKED | 0x30, 0);
	T_OK(ioapic_set_irq(&io, 2, 0));
	T_OK(ioapic_set_irq(&io, 2, 1));
	T_EQ(nsent, 2);
	T_EQ(ioapic_set_irq(&io, PC_IOAPIC_PINS, 1), -EINVAL);
}

TEST(ioapic_level_remote_irr)
{
	struct ioapic io;

	ioapic_init(&io, on_deliver, NULL);
	route(&io, 9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW |
	    IOAPIC_RTE_LOGICAL | 0x41, 0x01000000);
	T_OK(ioapic_set_irq(&io, 9, 1));
	T_EQ(nsent, 1);
	T_EQ(sent[0].level, true);
	T_EQ(sent[0].logical, true);
	T_EQ(sent[0].dest, 1);
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 18), 0xE841);	/* remote IRR */
	/* Held until EOI; an EOI of another vector does nothing. */
	T_OK(ioapic_set_irq(&io, 9, 1));
	ioapic_eoi(&io, 0x42);
	T_EQ(nsent, 1);
	/* EOI with the line still up: delivered again. */
	ioapic_eoi(&io, 0x41);
	T_EQ(nsent, 2);
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 18), 0xE841);
	/* Line dropped: EOI clears remote IRR and stays quiet. */
	T_OK(ioapic_set_irq(&io, 9, 0));
	ioapic_eoi(&io, 0x41);
	T_EQ(nsent, 2);
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 18), 0xA841);
}

TEST(ioapic_unmask_held_level_line)
{
	struct ioapic io;

	ioapic_init(&io, on_deliver, NULL);
	route(&io, 11, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x51, 0);
	T_OK(ioapic_set_irq(&io, 11, 1));
	T_EQ(nsent, 0);
	route(&io, 11, IOAPIC_RTE_LEVEL | 0x51, 0);
	T_EQ(nsent, 1);
	T_EQ(sent[0].vector, 0x51);
	/* Switching to edge drops remote IRR. */
	route(&io, 11, 0x51, 0);
	T_EQ(reg_rd(&io, IOAPIC_REG_RTE + 22), 0x51);
	T_EQ(nsent, 1);
}

TEST(ioapic_bus_handler)
{
	struct ioapic io;
	uint32_t v = IOAPIC_REG_VER;

	ioapic_init(&io, on_deliver, NULL);
	ioapic_io(&io, IOAPIC_REGSEL, &v, 4, true);
	v = 0;
	ioapic_io(&io, IOAPIC_WINDOW, &v, 4, false);
	T_EQ(v, 0x00170011);
	T_EQ(ioapic_read(&io, IOAPIC_WINDOW, 1), 0x11);
}

TEST(ioapic_snapshot_round_trip)
{
	struct ioapic a, b;

	ioapic_init(&a, on_deliver, NULL);
	reg_wr(&a, IOAPIC_REG_ID, 0x05000000);
	route(&a, 9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | 0x41, 0x01000000);
	route(&a, 4, 0x34, 0);
	T_OK(ioapic_set_irq(&a, 9, 1));
	T_EQ(nsent, 1);
	ioapic_write(&a, IOAPIC_REGSEL, 4, IOAPIC_REG_RTE + 8);

	ioapic_init(&b, on_deliver, NULL);
	T_SNAP(ioapic, &a, &b);
	T_EQ(ioapic_read(&b, IOAPIC_WINDOW, 4), 0x34);	/* the selection */
	T_EQ(reg_rd(&b, IOAPIC_REG_ID), 0x05000000);
	for (unsigned r = IOAPIC_REG_RTE; r < IOAPIC_REG_RTE + 48; r++)
		T_EQ(reg_rd(&b, r), reg_rd(&a, r));
	/* Remote IRR and the line's level came along: the EOI redelivers. */
	ioapic_eoi(&b, 0x41);
	T_EQ(nsent, 2);
	T_EQ(sent[1].vector, 0x41);
	T_OK(ioapic_set_irq(&b, 9, 0));
	ioapic_eoi(&b, 0x41);
	T_EQ(nsent, 2);
	T_EQ(reg_rd(&b, IOAPIC_REG_RTE + 18), 0x8841);
}

TEST(ioapic_snapshot_bad_values)
{
	struct ioapic a, b;

	ioapic_init(&a, on_deliver, NULL);
	ioapic_init(&b, on_deliver, NULL);
	/* Pin 24's level, a pin there isn't; then an ID of 16. */
	T_SNAP_BAD(ioapic, &a, &b, 8 * PC_IOAPIC_PINS + 3, 0x01);
	T_SNAP_BAD(ioapic, &a, &b, 8 * PC_IOAPIC_PINS + 5, 0x10);
}
