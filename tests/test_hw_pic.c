/* The cascaded i8259A pair. */
#include "t.h"

#include <errno.h>

#include "hw_snap.h"
#include "hw/pic.h"
#include "pc.h"

static int int_level, int_changes;

static void
on_int(void *opaque, int line, int level)
{
	(void)opaque;
	(void)line;
	int_level = level;
	int_changes++;
}

static void
out(struct pic *pic, enum pic_block blk, unsigned off, uint8_t val)
{
	pic_write(pic, blk, off, 1, val);
}

static uint8_t
in(struct pic *pic, enum pic_block blk, unsigned off)
{
	return pic_read(pic, blk, off, 1);
}

/* Linux's init_8259A(): vectors 0x30 and 0x38, all lines unmasked after. */
static void
linux_init(struct pic *pic)
{
	pic_init(pic, on_int, NULL);
	out(pic, PIC_MASTER, 1, 0xFF);
	out(pic, PIC_SLAVE, 1, 0xFF);
	out(pic, PIC_MASTER, 0, 0x11);
	out(pic, PIC_MASTER, 1, 0x30);
	out(pic, PIC_MASTER, 1, 1u << PIC_CASCADE);
	out(pic, PIC_MASTER, 1, 0x01);
	out(pic, PIC_SLAVE, 0, 0x11);
	out(pic, PIC_SLAVE, 1, 0x38);
	out(pic, PIC_SLAVE, 1, PIC_CASCADE);
	out(pic, PIC_SLAVE, 1, 0x01);
	out(pic, PIC_MASTER, 1, 0x00);
	out(pic, PIC_SLAVE, 1, 0x00);
}

static void
pulse(struct pic *pic, unsigned line)
{
	T_OK(pic_set_irq(pic, line, 1));
	T_OK(pic_set_irq(pic, line, 0));
}

static uint8_t
isr(struct pic *pic, enum pic_block blk)
{
	uint8_t v;

	out(pic, blk, 0, 0x0B);
	v = in(pic, blk, 0);
	out(pic, blk, 0, 0x0A);
	return v;
}

TEST(pic_imr_probe)
{
	struct pic pic;

	pic_init(&pic, on_int, NULL);
	/* Linux's probe_8259A() reads back the mask it wrote. */
	out(&pic, PIC_SLAVE, 1, 0xFF);
	out(&pic, PIC_MASTER, 1, 0xFB);
	T_EQ(in(&pic, PIC_MASTER, 1), 0xFB);
	T_EQ(in(&pic, PIC_SLAVE, 1), 0xFF);
}

TEST(pic_irq0_after_linux_init)
{
	struct pic pic;

	linux_init(&pic);
	T_EQ(int_level, 0);
	T_ASSERT(!pic_has_interrupt(&pic));
	pulse(&pic, PC_IRQ_PIT);
	T_EQ(int_level, 1);
	T_ASSERT(pic_has_interrupt(&pic));
	T_EQ(in(&pic, PIC_MASTER, 0), 0x01);	/* IRR */
	T_EQ(pic_ack(&pic), 0x30);
	T_EQ(int_level, 0);
	T_EQ(in(&pic, PIC_MASTER, 0), 0x00);
	T_EQ(isr(&pic, PIC_MASTER), 0x01);
	out(&pic, PIC_MASTER, 0, 0x20);		/* non-specific EOI */
	T_EQ(isr(&pic, PIC_MASTER), 0x00);
	T_EQ(int_changes, 2);
}

TEST(pic_masking)
{
	struct pic pic;

	linux_init(&pic);
	out(&pic, PIC_MASTER, 1, 0x10);
	pulse(&pic, PC_IRQ_COM1);
	T_EQ(int_level, 0);
	T_EQ(in(&pic, PIC_MASTER, 0), 0x10);	/* latched though masked */
	out(&pic, PIC_MASTER, 1, 0x00);
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x34);
}

TEST(pic_priority_and_nesting)
{
	struct pic pic;

	linux_init(&pic);
	pulse(&pic, 3);
	pulse(&pic, 1);
	T_EQ(pic_ack(&pic), 0x31);
	T_EQ(int_level, 0);		/* IRQ 3 waits behind IRQ 1 */
	pulse(&pic, 0);
	T_EQ(int_level, 1);		/* IRQ 0 nests above it */
	T_EQ(pic_ack(&pic), 0x30);
	T_EQ(isr(&pic, PIC_MASTER), 0x03);
	out(&pic, PIC_MASTER, 0, 0x20);		/* clears IRQ 0 */
	T_EQ(isr(&pic, PIC_MASTER), 0x02);
	T_EQ(int_level, 0);
	out(&pic, PIC_MASTER, 0, 0x61);		/* specific EOI, IRQ 1 */
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x33);
}

TEST(pic_cascade)
{
	struct pic pic;

	linux_init(&pic);
	pulse(&pic, 12);
	T_EQ(int_level, 1);
	T_EQ(in(&pic, PIC_MASTER, 0), 0x04);
	T_EQ(pic_ack(&pic), 0x3C);
	T_EQ(isr(&pic, PIC_MASTER), 0x04);
	T_EQ(isr(&pic, PIC_SLAVE), 0x10);
	/* IRQ 14, below 12, waits for the EOIs. */
	pulse(&pic, 14);
	T_EQ(int_level, 0);
	out(&pic, PIC_SLAVE, 0, 0x64);
	out(&pic, PIC_MASTER, 0, 0x62);
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x3E);
	/* Masking the cascade on the master hides the slave. */
	out(&pic, PIC_SLAVE, 0, 0x20);
	out(&pic, PIC_MASTER, 0, 0x20);
	out(&pic, PIC_MASTER, 1, 0x04);
	pulse(&pic, 8);
	T_EQ(int_level, 0);
	out(&pic, PIC_MASTER, 1, 0x00);
	T_EQ(pic_ack(&pic), 0x38);
}

TEST(pic_cascade_two_requests)
{
	struct pic pic;

	linux_init(&pic);
	pulse(&pic, 9);
	pulse(&pic, 10);
	T_EQ(pic_ack(&pic), 0x39);
	out(&pic, PIC_SLAVE, 0, 0x20);
	out(&pic, PIC_MASTER, 0, 0x20);
	/* IR2 follows the slave, so its second request comes through. */
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x3A);
}

TEST(pic_level_triggered)
{
	struct pic pic;

	linux_init(&pic);
	pic_write(&pic, PIC_ELCR, 0, 2, 0xFFFF);
	T_EQ(pic_read(&pic, PIC_ELCR, 0, 2), 0xDEF8);
	T_OK(pic_set_irq(&pic, PC_ACPI_SCI_IRQ, 1));
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x39);
	out(&pic, PIC_SLAVE, 0, 0x20);
	out(&pic, PIC_MASTER, 0, 0x20);
	T_EQ(int_level, 1);		/* still asserted: interrupts again */
	T_EQ(pic_ack(&pic), 0x39);
	T_OK(pic_set_irq(&pic, PC_ACPI_SCI_IRQ, 0));
	out(&pic, PIC_SLAVE, 0, 0x20);
	out(&pic, PIC_MASTER, 0, 0x20);
	T_EQ(int_level, 0);
	/* A level request that goes away before INTA is spurious. */
	T_OK(pic_set_irq(&pic, 5, 1));
	T_EQ(int_level, 1);
	T_OK(pic_set_irq(&pic, 5, 0));
	T_EQ(int_level, 0);
	T_EQ(pic_ack(&pic), 0x37);
	T_EQ(isr(&pic, PIC_MASTER), 0x00);
}

TEST(pic_edge_needs_rising_edge)
{
	struct pic pic;

	linux_init(&pic);
	T_OK(pic_set_irq(&pic, 3, 1));
	T_EQ(pic_ack(&pic), 0x33);
	out(&pic, PIC_MASTER, 0, 0x20);
	T_OK(pic_set_irq(&pic, 3, 1));		/* still high: no new edge */
	T_EQ(int_level, 0);
	pulse(&pic, 3);
	T_EQ(int_level, 0);
	T_OK(pic_set_irq(&pic, 3, 1));
	T_EQ(int_level, 1);
}

TEST(pic_auto_eoi)
{
	struct pic pic;

	pic_init(&pic, on_int, NULL);
	out(&pic, PIC_MASTER, 0, 0x11);
	out(&pic, PIC_MASTER, 1, 0x08);
	out(&pic, PIC_MASTER, 1, 0x04);
	out(&pic, PIC_MASTER, 1, 0x03);		/* ICW4: AEOI */
	pulse(&pic, 1);
	T_EQ(pic_ack(&pic), 0x09);
	T_EQ(isr(&pic, PIC_MASTER), 0x00);
	pulse(&pic, 1);
	T_EQ(int_level, 1);		/* no EOI needed */
}

TEST(pic_rotation)
{
	struct pic pic;

	linux_init(&pic);
	out(&pic, PIC_MASTER, 0, 0xC4);		/* IRQ 4 lowest: 5 highest */
	pulse(&pic, 3);
	pulse(&pic, 6);
	T_EQ(pic_ack(&pic), 0x36);
	out(&pic, PIC_MASTER, 0, 0xA0);		/* rotate on non-specific EOI */
	T_EQ(pic_ack(&pic), 0x33);
	out(&pic, PIC_MASTER, 0, 0xE3);		/* rotate on specific EOI 3 */
	pulse(&pic, 3);
	pulse(&pic, 4);
	T_EQ(pic_ack(&pic), 0x34);		/* 3 is now the lowest */
}

TEST(pic_poll_and_spurious)
{
	struct pic pic;

	linux_init(&pic);
	T_EQ(pic_ack(&pic), 0x37);		/* nothing pending */
	T_EQ(isr(&pic, PIC_MASTER), 0x00);
	pulse(&pic, 6);
	out(&pic, PIC_MASTER, 0, 0x0C);		/* OCW3 poll */
	T_EQ(in(&pic, PIC_MASTER, 0), 0x86);
	T_EQ(isr(&pic, PIC_MASTER), 0x40);
	T_EQ(int_level, 0);
	out(&pic, PIC_MASTER, 0, 0x0C);
	T_EQ(in(&pic, PIC_MASTER, 1), 0x00);	/* nothing to poll */
	T_EQ(in(&pic, PIC_MASTER, 1), 0x00);	/* IMR again */
}

TEST(pic_special_mask)
{
	struct pic pic;

	linux_init(&pic);
	pulse(&pic, 1);
	T_EQ(pic_ack(&pic), 0x31);
	pulse(&pic, 5);
	T_EQ(int_level, 0);
	out(&pic, PIC_MASTER, 1, 0x02);		/* mask IRQ 1 ... */
	out(&pic, PIC_MASTER, 0, 0x68);		/* ... and set special mask */
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x35);
}

TEST(pic_special_fully_nested)
{
	struct pic pic;

	pic_init(&pic, on_int, NULL);
	out(&pic, PIC_MASTER, 0, 0x11);
	out(&pic, PIC_MASTER, 1, 0x20);
	out(&pic, PIC_MASTER, 1, 0x04);
	out(&pic, PIC_MASTER, 1, 0x11);		/* ICW4: SFNM */
	out(&pic, PIC_SLAVE, 0, 0x11);
	out(&pic, PIC_SLAVE, 1, 0x28);
	out(&pic, PIC_SLAVE, 1, 0x02);
	out(&pic, PIC_SLAVE, 1, 0x01);
	pulse(&pic, 11);
	T_EQ(pic_ack(&pic), 0x2B);
	pulse(&pic, 9);			/* higher on the slave: nests */
	T_EQ(int_level, 1);
	T_EQ(pic_ack(&pic), 0x29);
}

TEST(pic_bad_lines)
{
	struct pic pic;

	pic_init(&pic, on_int, NULL);
	T_EQ(pic_set_irq(&pic, 16, 1), -EINVAL);
	T_EQ(pic_set_irq(&pic, PIC_CASCADE, 1), -EINVAL);
}

TEST(pic_bus_handlers)
{
	struct pic pic;
	uint8_t b = 0x5A;

	pic_init(&pic, on_int, NULL);
	pic_slave_io(&pic, 1, &b, 1, true);
	b = 0;
	pic_slave_io(&pic, 1, &b, 1, false);
	T_EQ(b, 0x5A);
	pic_master_io(&pic, 1, &b, 1, false);
	T_EQ(b, 0x00);
	b = 0x08;
	pic_elcr_io(&pic, 1, &b, 1, true);
	pic_elcr_io(&pic, 0, &b, 1, false);
	T_EQ(b, 0x00);
	pic_elcr_io(&pic, 1, &b, 1, false);
	T_EQ(b, 0x08);
	/* A word at the data port: the second byte is off the chip. */
	T_EQ(pic_read(&pic, PIC_SLAVE, 1, 2), 0xFF5A);
}

TEST(pic_snapshot_round_trip)
{
	struct pic a, b;

	linux_init(&a);
	out(&a, PIC_MASTER, 1, 0x08);		/* mask line 3 */
	pulse(&a, 4);
	T_EQ(pic_ack(&a), 0x34);		/* line 4 in service */
	pulse(&a, 3);				/* masked: waits in IRR */
	pulse(&a, 9);				/* the slave's line 1 */
	T_EQ(int_level, 1);

	pic_init(&b, on_int, NULL);
	T_SNAP(pic, &a, &b);
	T_EQ(in(&b, PIC_MASTER, 1), 0x08);
	T_EQ(isr(&b, PIC_MASTER), 0x10);
	T_EQ(in(&b, PIC_MASTER, 0), in(&a, PIC_MASTER, 0));	/* IRR */
	T_EQ(in(&b, PIC_SLAVE, 0), 0x02);
	T_ASSERT(pic_has_interrupt(&b));
	T_EQ(pic_ack(&b), 0x39);		/* the slave, above line 4 */
	T_EQ(pic_ack(&a), 0x39);
	out(&b, PIC_SLAVE, 0, 0x20);		/* EOI */
	out(&b, PIC_MASTER, 0, 0x20);
	out(&b, PIC_MASTER, 0, 0x20);
	out(&b, PIC_MASTER, 1, 0x00);		/* line 3 unmasked */
	T_EQ(pic_ack(&b), 0x33);
	T_EQ(isr(&b, PIC_MASTER), 0x08);
}

TEST(pic_snapshot_bad_values)
{
	struct pic a, b;

	linux_init(&a);
	pic_init(&b, on_int, NULL);
	T_SNAP_BAD(pic, &a, &b, 6, 8);		/* the master's prio */
	T_SNAP_BAD(pic, &a, &b, 7, 1);		/* no ICW1 step */
	T_SNAP_BAD(pic, &a, &b, 5, 0x31);	/* base not on 8 */
}
