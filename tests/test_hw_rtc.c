/* The MC146818 RTC and CMOS, on a fake clock. */
#include "t.h"
#include "hw_clock.h"

#include "hw_snap.h"
#include "hw/rtc.h"
#include "pc.h"

#define T0		1709214356	/* Thu 2024-02-29 13:45:56 UTC */
#define BOOT_NS		5000000000ULL

static int irq_level, irq_line = -1;


static void
on_irq(void *opaque, int line, int level)
{
	(void)opaque;
	irq_line = line;
	irq_level = level;
}

static void
setup(struct rtc *rtc)
{
	now_ns = BOOT_NS;
	rtc_init(rtc, &fake_clock, T0, on_irq, PC_IRQ_RTC, NULL);
}

static uint8_t
cmos(struct rtc *rtc, uint8_t index)
{
	rtc_write(rtc, 0, 1, index);
	return rtc_read(rtc, 1, 1);
}

static void
cmos_set(struct rtc *rtc, uint8_t index, uint8_t val)
{
	rtc_write(rtc, 0, 1, index);
	rtc_write(rtc, 1, 1, val);
}

TEST(rtc_bcd_24h)
{
	struct rtc rtc;

	setup(&rtc);
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x56);
	T_EQ(cmos(&rtc, RTC_MINUTES), 0x45);
	T_EQ(cmos(&rtc, RTC_HOURS), 0x13);
	T_EQ(cmos(&rtc, RTC_WEEKDAY), 0x05);
	T_EQ(cmos(&rtc, RTC_DAY), 0x29);
	T_EQ(cmos(&rtc, RTC_MONTH), 0x02);
	T_EQ(cmos(&rtc, RTC_YEAR), 0x24);
	T_EQ(cmos(&rtc, RTC_CENTURY), 0x20);
	T_EQ(cmos(&rtc, RTC_REG_A), 0x26);
	T_EQ(cmos(&rtc, RTC_REG_B), 0x02);
	T_EQ(cmos(&rtc, RTC_REG_C), 0x00);
	T_EQ(cmos(&rtc, RTC_REG_D), 0x80);
}

TEST(rtc_binary_and_12h)
{
	struct rtc rtc;

	setup(&rtc);
	cmos_set(&rtc, RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
	T_EQ(cmos(&rtc, RTC_SECONDS), 56);
	T_EQ(cmos(&rtc, RTC_HOURS), 13);
	T_EQ(cmos(&rtc, RTC_DAY), 29);
	T_EQ(cmos(&rtc, RTC_YEAR), 24);
	T_EQ(cmos(&rtc, RTC_CENTURY), 20);
	cmos_set(&rtc, RTC_REG_B, RTC_B_DM_BINARY);
	T_EQ(cmos(&rtc, RTC_HOURS), 0x81);	/* 1 PM */
	cmos_set(&rtc, RTC_REG_B, 0);
	T_EQ(cmos(&rtc, RTC_HOURS), 0x81);
	/* Ten hours, 14 minutes and 4 seconds later: 00:00:00, 12 AM. */
	now_ns += (10 * 3600 + 14 * 60 + 4) * HW_NS_PER_SEC;
	T_EQ(cmos(&rtc, RTC_HOURS), 0x12);
	T_EQ(cmos(&rtc, RTC_MINUTES), 0x00);
	T_EQ(cmos(&rtc, RTC_DAY), 0x01);
	T_EQ(cmos(&rtc, RTC_MONTH), 0x03);
	T_EQ(cmos(&rtc, RTC_WEEKDAY), 0x06);
}

TEST(rtc_counts_with_the_clock)
{
	struct rtc rtc;

	setup(&rtc);
	now_ns += 3500000000ULL;
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x59);
	now_ns += 500000000ULL;
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x00);
	T_EQ(cmos(&rtc, RTC_MINUTES), 0x46);
}

TEST(rtc_uip)
{
	struct rtc rtc;

	setup(&rtc);
	now_ns = BOOT_NS + 999700000;
	T_EQ(cmos(&rtc, RTC_REG_A), 0x26);
	now_ns = BOOT_NS + 999800000;
	T_EQ(cmos(&rtc, RTC_REG_A), 0xA6);
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x56);	/* not yet updated */
	now_ns = BOOT_NS + 1000000000;
	T_EQ(cmos(&rtc, RTC_REG_A), 0x26);
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x57);
	/* UIP is never set while SET holds the clock. */
	cmos_set(&rtc, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	now_ns = BOOT_NS + 1999900000;
	T_EQ(cmos(&rtc, RTC_REG_A), 0x26);
}

/* mc146818_set_time(): SET, write the registers, release. */
TEST(rtc_set_time)
{
	struct rtc rtc;

	setup(&rtc);
	cmos_set(&rtc, RTC_REG_B, RTC_B_SET | RTC_B_UIE | RTC_B_24H);
	T_EQ(cmos(&rtc, RTC_REG_B), RTC_B_SET | RTC_B_24H);	/* UIE off */
	cmos_set(&rtc, RTC_SECONDS, 0x59);
	cmos_set(&rtc, RTC_MINUTES, 0x59);
	cmos_set(&rtc, RTC_HOURS, 0x23);
	cmos_set(&rtc, RTC_DAY, 0x31);
	cmos_set(&rtc, RTC_MONTH, 0x12);
	cmos_set(&rtc, RTC_YEAR, 0x99);
	now_ns += 5 * HW_NS_PER_SEC;		/* held: no counting */
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x59);
	cmos_set(&rtc, RTC_REG_B, RTC_B_24H);
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x59);
	T_EQ(cmos(&rtc, RTC_CENTURY), 0x20);
	now_ns += HW_NS_PER_SEC;
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x00);
	T_EQ(cmos(&rtc, RTC_HOURS), 0x00);
	T_EQ(cmos(&rtc, RTC_DAY), 0x01);
	T_EQ(cmos(&rtc, RTC_MONTH), 0x01);
	T_EQ(cmos(&rtc, RTC_YEAR), 0x00);
	T_EQ(cmos(&rtc, RTC_CENTURY), 0x21);
	T_EQ(cmos(&rtc, RTC_WEEKDAY), 0x06);	/* 2100-01-01 is a Friday */
	/* Without SET a write lands at once. */
	cmos_set(&rtc, RTC_MINUTES, 0x30);
	T_EQ(cmos(&rtc, RTC_MINUTES), 0x30);
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x00);
}

TEST(rtc_periodic_interrupt)
{
	struct rtc rtc;
	uint64_t period = hw_ticks_to_ns(32, 32768);	/* 1024 Hz */

	setup(&rtc);
	T_EQ(rtc_next_deadline(&rtc), HW_NO_DEADLINE);
	cmos_set(&rtc, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
	T_EQ(rtc_next_deadline(&rtc), BOOT_NS + period);
	rtc_advance(&rtc, BOOT_NS + period - 1);
	T_EQ(irq_level, 0);
	rtc_advance(&rtc, BOOT_NS + period);
	T_EQ(irq_level, 1);
	T_EQ(irq_line, PC_IRQ_RTC);
	T_EQ(rtc_next_deadline(&rtc), HW_NO_DEADLINE);
	now_ns = BOOT_NS + period;
	T_EQ(cmos(&rtc, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	T_EQ(irq_level, 0);
	T_EQ(cmos(&rtc, RTC_REG_C), 0x00);
	T_EQ(rtc_next_deadline(&rtc), BOOT_NS + hw_ticks_to_ns(64, 32768));
	/* Rate 15 is 2 Hz. */
	cmos_set(&rtc, RTC_REG_A, 0x2F);
	T_EQ(rtc_next_deadline(&rtc), BOOT_NS + 500000000);
	/* Polled without PIE: PF and UF latch, the line stays low. */
	cmos_set(&rtc, RTC_REG_B, RTC_B_24H);
	now_ns = BOOT_NS + 1200000000;
	T_EQ(cmos(&rtc, RTC_REG_C), RTC_C_PF | RTC_C_UF);
	T_EQ(irq_level, 0);
}

TEST(rtc_update_interrupt)
{
	struct rtc rtc;

	setup(&rtc);
	now_ns = BOOT_NS + 300000000;
	cmos_set(&rtc, RTC_REG_B, RTC_B_UIE | RTC_B_24H);
	T_EQ(rtc_next_deadline(&rtc), BOOT_NS + HW_NS_PER_SEC);
	rtc_advance(&rtc, BOOT_NS + HW_NS_PER_SEC);
	T_EQ(irq_level, 1);
	now_ns = BOOT_NS + HW_NS_PER_SEC;
	/* PF latches at 1024 Hz too, though only UF is enabled. */
	T_EQ(cmos(&rtc, RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
	T_EQ(cmos(&rtc, RTC_SECONDS), 0x57);
	T_EQ(rtc_next_deadline(&rtc), BOOT_NS + 2 * HW_NS_PER_SEC);
}

TEST(rtc_index_port_and_ram)
{
	struct rtc rtc;
	uint8_t b;

	setup(&rtc);
	rtc_write(&rtc, 0, 1, 0x80 | 0x40);
	T_ASSERT(rtc.nmi_disabled);
	rtc_write(&rtc, 1, 1, 0xA5);
	T_EQ(rtc_read(&rtc, 1, 1), 0xA5);
	T_EQ(rtc_read(&rtc, 0, 1), 0xFF);
	rtc_write(&rtc, 0, 1, 0x40);
	T_ASSERT(!rtc.nmi_disabled);
	T_EQ(rtc_read(&rtc, 1, 1), 0xA5);
	/* C and D are read-only; alarm registers are RAM. */
	cmos_set(&rtc, RTC_REG_D, 0x00);
	T_EQ(cmos(&rtc, RTC_REG_D), 0x80);
	cmos_set(&rtc, 0x01, 0x33);
	T_EQ(cmos(&rtc, 0x01), 0x33);
	/* The bus handler: a word at 0x70 writes index then data. */
	b = 0;
	rtc_io(&rtc, 0, (uint16_t[]){ 0x7E10 }, 2, true);
	rtc_io(&rtc, 1, &b, 1, false);
	T_EQ(b, 0x7E);
	rtc_cmos_set(&rtc, 0x5F, 3);
	T_EQ(cmos(&rtc, 0x5F), 3);
}

TEST(rtc_memory_sizes)
{
	struct rtc rtc;

	setup(&rtc);
	rtc_set_memory(&rtc, 512ULL << 20, 1ULL << 30);
	T_EQ(cmos(&rtc, 0x15), 0x80);		/* 640 KiB */
	T_EQ(cmos(&rtc, 0x16), 0x02);
	T_EQ(cmos(&rtc, 0x17), 0xFF);		/* capped at 0xFFFF KiB */
	T_EQ(cmos(&rtc, 0x18), 0xFF);
	T_EQ(cmos(&rtc, 0x30), 0xFF);
	T_EQ(cmos(&rtc, 0x31), 0xFF);
	T_EQ(cmos(&rtc, 0x34), 0x00);		/* 496 MiB in 64 KiB: 0x1F00 */
	T_EQ(cmos(&rtc, 0x35), 0x1F);
	T_EQ(cmos(&rtc, 0x5B), 0x00);		/* 1 GiB in 64 KiB: 0x4000 */
	T_EQ(cmos(&rtc, 0x5C), 0x40);
	T_EQ(cmos(&rtc, 0x5D), 0x00);
	rtc_set_memory(&rtc, 32ULL << 20, 0);
	T_EQ(cmos(&rtc, 0x17), 0x00);		/* 31 MiB = 0x7C00 KiB */
	T_EQ(cmos(&rtc, 0x18), 0x7C);
	T_EQ(cmos(&rtc, 0x34), 0x00);		/* 16 MiB = 0x100 */
	T_EQ(cmos(&rtc, 0x35), 0x01);
}

TEST(rtc_snapshot_round_trip)
{
	struct rtc a, b;

	setup(&a);
	cmos_set(&a, 0x40, 0x77);			/* CMOS RAM */
	cmos_set(&a, RTC_REG_B, RTC_B_24H | RTC_B_PIE);	/* 1024 Hz, from A */
	now_ns = BOOT_NS + 61 * HW_NS_PER_SEC + 1000;
	rtc_advance(&a, now_ns);
	T_EQ(irq_level, 1);
	rtc_write(&a, 0, 1, RTC_MINUTES);

	/* A fresh RTC set to another time takes the snapshot's. */
	rtc_init(&b, &fake_clock, T0 + 86400, on_irq, PC_IRQ_RTC, NULL);
	T_SNAP(rtc, &a, &b);
	T_EQ(rtc_read(&b, 1, 1), 0x46);		/* the index came along */
	T_EQ(cmos(&b, RTC_SECONDS), 0x57);
	T_EQ(cmos(&b, RTC_DAY), 0x29);
	T_EQ(cmos(&b, 0x40), 0x77);
	T_EQ(rtc_next_deadline(&b), rtc_next_deadline(&a));
	T_EQ(cmos(&b, RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
	T_EQ(irq_level, 0);
	now_ns = rtc_next_deadline(&b);
	rtc_advance(&b, now_ns);
	T_EQ(irq_level, 1);
}

TEST(rtc_snapshot_bad_values)
{
	struct rtc a, b;

	setup(&a);
	setup(&b);
	T_SNAP_BAD(rtc, &a, &b, RTC_CMOS_SIZE, RTC_CMOS_SIZE);	/* index */
	/* The clock's base after the time its flags are current to. */
	T_SNAP_BAD(rtc, &a, &b, RTC_CMOS_SIZE + 2 + 8 + 7, 0x80);
}
