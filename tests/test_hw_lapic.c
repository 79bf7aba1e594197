/* The local APIC, on a fake clock. */
#include "t.h"
#include "hw_clock.h"

#include "hw_snap.h"
#include "hw/lapic.h"

static struct apic_msg ipis[8];
static unsigned nipis;
static int eoi_vector = -1, neois;


static void
on_ipi(void *opaque, const struct apic_msg *msg)
{
	(void)opaque;
	ipis[nipis++] = *msg;
}

static void
on_eoi(void *opaque, uint8_t vector)
{
	(void)opaque;
	eoi_vector = vector;
	neois++;
}

static uint32_t
rd(struct lapic *l, unsigned reg)
{
	return lapic_read(l, reg, 4);
}

static void
wr(struct lapic *l, unsigned reg, uint32_t val)
{
	lapic_write(l, reg, 4, val);
}

static void
setup(struct lapic *l, uint8_t id)
{
	lapic_init(l, id, &fake_clock, on_ipi, on_eoi, NULL);
	wr(l, LAPIC_SVR, LAPIC_SVR_ENABLE | 0xFF);
}

TEST(lapic_reset_values)
{
	struct lapic l;

	lapic_init(&l, 3, &fake_clock, on_ipi, on_eoi, NULL);
	T_EQ(rd(&l, LAPIC_ID), 0x03000000);
	T_EQ(rd(&l, LAPIC_VER), 0x00050014);
	T_EQ(rd(&l, LAPIC_SVR), 0xFF);
	T_EQ(rd(&l, LAPIC_DFR), 0xFFFFFFFF);
	T_EQ(rd(&l, LAPIC_LDR), 0);
	T_EQ(rd(&l, LAPIC_TPR), 0);
	for (unsigned r = LAPIC_LVT_TIMER; r <= LAPIC_LVT_ERROR; r += 0x10)
		T_EQ(rd(&l, r), LAPIC_LVT_MASKED);
	T_EQ(lapic_pending(&l), -1);
	/* Byte reads of a register; bytes 4-15 of a slot read zero. */
	T_EQ(lapic_read(&l, LAPIC_ID + 3, 1), 0x03);
	T_EQ(lapic_read(&l, LAPIC_VER + 2, 2), 0x0005);
	T_EQ(lapic_read(&l, LAPIC_VER + 4, 4), 0);
	/* Sub-dword writes are dropped. */
	lapic_write(&l, LAPIC_TPR, 1, 0x20);
	T_EQ(rd(&l, LAPIC_TPR), 0);
}

TEST(lapic_disabled_drops_interrupts)
{
	struct lapic l;

	lapic_init(&l, 0, &fake_clock, on_ipi, on_eoi, NULL);
	lapic_set_irq(&l, 0x40, false);
	T_EQ(rd(&l, LAPIC_IRR + 0x20), 0);
	wr(&l, LAPIC_SVR, LAPIC_SVR_ENABLE | 0xFF);
	wr(&l, LAPIC_LVT_LINT0, 0x700);
	T_EQ(rd(&l, LAPIC_LVT_LINT0), 0x700);
	lapic_set_irq(&l, 0x40, false);
	T_EQ(rd(&l, LAPIC_IRR + 0x20), 0x1);
	/* Disabling masks every LVT and keeps them masked. */
	wr(&l, LAPIC_SVR, 0xFF);
	T_EQ(rd(&l, LAPIC_LVT_LINT0), 0x10700);
	wr(&l, LAPIC_LVT_LINT0, 0x700);
	T_EQ(rd(&l, LAPIC_LVT_LINT0), 0x10700);
	T_EQ(lapic_pending(&l), -1);		/* held in IRR */
	wr(&l, LAPIC_SVR, LAPIC_SVR_ENABLE | 0xFF);
	T_EQ(lapic_pending(&l), 0x40);
}

TEST(lapic_priority_and_eoi_order)
{
	struct lapic l;

	setup(&l, 0);
	lapic_set_irq(&l, 0x40, false);
	T_EQ(lapic_pending(&l), 0x40);
	lapic_ack(&l, 0x40);
	T_EQ(rd(&l, LAPIC_IRR + 0x20), 0);
	T_EQ(rd(&l, LAPIC_ISR + 0x20), 0x1);
	T_EQ(rd(&l, LAPIC_PPR), 0x40);
	lapic_set_irq(&l, 0x45, false);
	T_EQ(lapic_pending(&l), -1);		/* same class as in service */
	lapic_set_irq(&l, 0x51, false);
	T_EQ(lapic_pending(&l), 0x51);
	lapic_ack(&l, 0x51);
	T_EQ(rd(&l, LAPIC_ISR + 0x20), 0x00020001);
	T_EQ(rd(&l, LAPIC_PPR), 0x50);
	wr(&l, LAPIC_EOI, 0);			/* the highest: 0x51 */
	T_EQ(rd(&l, LAPIC_ISR + 0x20), 0x1);
	T_EQ(lapic_pending(&l), -1);
	wr(&l, LAPIC_EOI, 0);
	T_EQ(rd(&l, LAPIC_ISR + 0x20), 0);
	T_EQ(lapic_pending(&l), 0x45);
	T_EQ(neois, 0);				/* edge: no I/O APIC EOI */
}

TEST(lapic_tpr_masks)
{
	struct lapic l;

	setup(&l, 0);
	wr(&l, LAPIC_TPR, 0x53);
	T_EQ(rd(&l, LAPIC_PPR), 0x53);
	T_EQ(rd(&l, LAPIC_APR), 0x53);
	lapic_set_irq(&l, 0x5F, false);
	T_EQ(lapic_pending(&l), -1);
	T_EQ(rd(&l, LAPIC_APR), 0x53);
	lapic_set_irq(&l, 0x60, false);
	T_EQ(lapic_pending(&l), 0x60);
	T_EQ(rd(&l, LAPIC_APR), 0x60);		/* IRR above TPR */
	lapic_ack(&l, 0x60);
	T_EQ(rd(&l, LAPIC_PPR), 0x60);
	wr(&l, LAPIC_TPR, 0);
	T_EQ(lapic_pending(&l), -1);		/* 0x5F is below ISR's 0x60 */
	wr(&l, LAPIC_EOI, 0);
	T_EQ(lapic_pending(&l), 0x5F);
	T_EQ(rd(&l, LAPIC_PPR), 0x00);
}

TEST(lapic_level_eoi_callback)
{
	struct lapic l;

	setup(&l, 0);
	lapic_set_irq(&l, 0x31, true);
	T_EQ(rd(&l, LAPIC_TMR + 0x10), 0x00020000);
	lapic_ack(&l, 0x31);
	wr(&l, LAPIC_EOI, 0);
	T_EQ(neois, 1);
	T_EQ(eoi_vector, 0x31);
	/* Accepted again as edge: TMR clears. */
	lapic_set_irq(&l, 0x31, false);
	T_EQ(rd(&l, LAPIC_TMR + 0x10), 0);
	lapic_ack(&l, 0x31);
	wr(&l, LAPIC_EOI, 0);
	T_EQ(neois, 1);
	wr(&l, LAPIC_EOI, 0);			/* nothing in service */
	T_EQ(neois, 1);
}

TEST(lapic_timer_one_shot)
{
	struct lapic l;

	setup(&l, 0);
	T_EQ(lapic_next_deadline(&l), HW_NO_DEADLINE);
	now_ns = 1000;
	wr(&l, LAPIC_TIMER_DCR, 0x3);		/* divide by 16 */
	wr(&l, LAPIC_LVT_TIMER, 0xEC);
	wr(&l, LAPIC_TIMER_ICR, 1000);
	T_EQ(rd(&l, LAPIC_TIMER_ICR), 1000);
	T_EQ(lapic_next_deadline(&l), 1000 + 16 * 1000);
	now_ns = 1000 + 160;
	T_EQ(rd(&l, LAPIC_TIMER_CCR), 990);
	now_ns = 1000 + 159;
	T_EQ(rd(&l, LAPIC_TIMER_CCR), 991);
	T_ASSERT(!lapic_advance(&l, 16999));
	T_EQ(lapic_pending(&l), -1);
	T_ASSERT(lapic_advance(&l, 17000));
	T_EQ(lapic_pending(&l), 0xEC);
	T_EQ(lapic_next_deadline(&l), HW_NO_DEADLINE);
	now_ns = 50000;
	T_EQ(rd(&l, LAPIC_TIMER_CCR), 0);
	T_ASSERT(!lapic_advance(&l, 90000));
	/* Writing 0 stops it. */
	wr(&l, LAPIC_TIMER_ICR, 5);
	wr(&l, LAPIC_TIMER_ICR, 0);
	T_EQ(lapic_next_deadline(&l), HW_NO_DEADLINE);
	T_EQ(rd(&l, LAPIC_TIMER_CCR), 0);
}

TEST(lapic_timer_periodic)
{
	struct lapic l;

	setup(&l, 0);
	now_ns = 7;
	wr(&l, LAPIC_TIMER_DCR, 0xB);		/* divide by 1 */
	wr(&l, LAPIC_LVT_TIMER, LAPIC_LVT_PERIODIC | 0xEF);
	wr(&l, LAPIC_TIMER_ICR, 500);
	T_EQ(lapic_next_deadline(&l), 507);
	now_ns = 7 + 750;
	T_EQ(rd(&l, LAPIC_TIMER_CCR), 250);
	T_ASSERT(lapic_advance(&l, 507));
	T_EQ(lapic_next_deadline(&l), 1007);
	lapic_ack(&l, 0xEF);
	wr(&l, LAPIC_EOI, 0);
	/* Late: one interrupt, then the next period boundary. */
	T_ASSERT(lapic_advance(&l, 5100));
	T_EQ(lapic_next_deadline(&l), 5507);
	lapic_ack(&l, 0xEF);
	wr(&l, LAPIC_EOI, 0);
	/* Masked: it counts on, but nothing to wake for or deliver... */
	now_ns = 5200;
	wr(&l, LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_LVT_PERIODIC | 0xEF);
	T_EQ(lapic_next_deadline(&l), HW_NO_DEADLINE);
	T_ASSERT(!lapic_advance(&l, 6200));
	/* ... and unmasking does not replay expiries it missed. */
	now_ns = 6300;
	wr(&l, LAPIC_LVT_TIMER, LAPIC_LVT_PERIODIC | 0xEF);
	T_EQ(lapic_next_deadline(&l), 6507);
	T_ASSERT(!lapic_advance(&l, 6506));
	T_EQ(lapic_pending(&l), -1);
	T_ASSERT(lapic_advance(&l, 6507));
}

TEST(lapic_timer_divide_values)
{
	static const unsigned div[16] = {
		2, 4, 8, 16, 2, 4, 8, 16, 32, 64, 128, 1, 32, 64, 128, 1,
	};
	struct lapic l;

	setup(&l, 0);
	wr(&l, LAPIC_LVT_TIMER, 0x40);
	for (unsigned dcr = 0; dcr < 16; dcr++) {
		now_ns = 1000000 * (dcr + 1);
		wr(&l, LAPIC_TIMER_DCR, dcr);
		T_EQ(rd(&l, LAPIC_TIMER_DCR), dcr & 0xB);
		wr(&l, LAPIC_TIMER_ICR, 10);
		T_EQ(lapic_next_deadline(&l), now_ns + 10 * div[dcr]);
	}
	/* A new divider waits for the next initial count. */
	now_ns = 100000000;
	wr(&l, LAPIC_TIMER_DCR, 0xB);
	wr(&l, LAPIC_TIMER_ICR, 100);
	wr(&l, LAPIC_TIMER_DCR, 0x0);
	now_ns += 10;
	T_EQ(rd(&l, LAPIC_TIMER_CCR), 90);
}

TEST(lapic_ipi_messages)
{
	struct lapic l;

	setup(&l, 5);
	wr(&l, LAPIC_ICR_HI, 0x02000000);
	wr(&l, LAPIC_ICR_LO, 0x000040F0);	/* fixed, physical, to 2 */
	T_EQ(nipis, 1);
	T_EQ(ipis[0].vector, 0xF0);
	T_EQ(ipis[0].delivery, APIC_DM_FIXED);
	T_EQ(ipis[0].logical, false);
	T_EQ(ipis[0].shorthand, APIC_SH_NONE);
	T_EQ(ipis[0].dest, 2);
	T_EQ(ipis[0].source, 5);
	T_EQ(ipis[0].level, false);
	T_EQ(rd(&l, LAPIC_ICR_LO), 0x000040F0);	/* delivery status idle */
	/* Linux's wakeup: INIT assert, INIT de-assert, SIPI twice. */
	wr(&l, LAPIC_ICR_LO, 0x0000C500);
	wr(&l, LAPIC_ICR_LO, 0x00008500);
	wr(&l, LAPIC_ICR_LO, 0x00000608);
	T_EQ(nipis, 3);
	T_EQ(ipis[1].delivery, APIC_DM_INIT);
	T_EQ(ipis[1].dest, 2);
	T_EQ(ipis[2].delivery, APIC_DM_SIPI);
	T_EQ(ipis[2].vector, 0x08);
	/* Logical, and the all-but-self shorthand with NMI. */
	wr(&l, LAPIC_ICR_HI, 0x0C000000);
	wr(&l, LAPIC_ICR_LO, 0x00000941);
	T_EQ(ipis[3].logical, true);
	T_EQ(ipis[3].delivery, APIC_DM_LOWEST);
	T_EQ(ipis[3].dest, 0x0C);
	wr(&l, LAPIC_ICR_LO, 0x000C0400);
	T_EQ(ipis[4].shorthand, APIC_SH_OTHERS);
	T_EQ(ipis[4].delivery, APIC_DM_NMI);
	T_EQ(nipis, 5);
}

TEST(lapic_illegal_vector_errors)
{
	struct lapic l;

	setup(&l, 0);
	wr(&l, LAPIC_LVT_ERROR, 0xFE);
	wr(&l, LAPIC_ICR_LO, 0x0000400F);	/* vector 15: not sent */
	T_EQ(nipis, 0);
	T_EQ(rd(&l, LAPIC_ESR), 0);		/* until ESR is written */
	wr(&l, LAPIC_ESR, 0);
	T_EQ(rd(&l, LAPIC_ESR), LAPIC_ESR_SEND_ILLEGAL);
	T_EQ(lapic_pending(&l), 0xFE);
	lapic_set_irq(&l, 3, false);
	wr(&l, LAPIC_ESR, 0);
	T_EQ(rd(&l, LAPIC_ESR), LAPIC_ESR_RECV_ILLEGAL);
	wr(&l, LAPIC_ESR, 0);
	T_EQ(rd(&l, LAPIC_ESR), 0);
	/* An illegal error vector only latches. */
	wr(&l, LAPIC_LVT_ERROR, 0x05);
	lapic_set_irq(&l, 3, false);
	wr(&l, LAPIC_ESR, 0);
	T_EQ(rd(&l, LAPIC_ESR), LAPIC_ESR_RECV_ILLEGAL);
}

TEST(lapic_destination_match)
{
	struct lapic l;
	struct apic_msg m = { .dest = 4 };

	setup(&l, 4);
	T_ASSERT(lapic_match(&l, &m));
	m.dest = 5;
	T_ASSERT(!lapic_match(&l, &m));
	m.dest = 0xFF;
	T_ASSERT(lapic_match(&l, &m));
	/* Logical flat: LDR bit 2. */
	wr(&l, LAPIC_LDR, 0x04000000);
	T_EQ(rd(&l, LAPIC_LDR), 0x04000000);
	m = (struct apic_msg){ .logical = true, .dest = 0x06 };
	T_ASSERT(lapic_match(&l, &m));
	m.dest = 0x0B;
	T_ASSERT(!lapic_match(&l, &m));
	/* Logical cluster: cluster 2, member bit 1. */
	wr(&l, LAPIC_DFR, 0x0FFFFFFF);
	T_EQ(rd(&l, LAPIC_DFR), 0x0FFFFFFF);
	wr(&l, LAPIC_LDR, 0x22000000);
	m.dest = 0x23;
	T_ASSERT(lapic_match(&l, &m));
	m.dest = 0x13;
	T_ASSERT(!lapic_match(&l, &m));
	m.dest = 0x21;
	T_ASSERT(!lapic_match(&l, &m));
	/* Shorthands ignore the destination. */
	m = (struct apic_msg){ .shorthand = APIC_SH_SELF, .source = 4 };
	T_ASSERT(lapic_match(&l, &m));
	m.shorthand = APIC_SH_OTHERS;
	T_ASSERT(!lapic_match(&l, &m));
	m.source = 0;
	T_ASSERT(lapic_match(&l, &m));
	m.shorthand = APIC_SH_ALL;
	T_ASSERT(lapic_match(&l, &m));
	m.shorthand = APIC_SH_SELF;
	T_ASSERT(!lapic_match(&l, &m));
}

TEST(lapic_route_fixed_and_lowest)
{
	struct lapic a, b, c;
	struct lapic *all[] = { &a, &b, &c };
	struct apic_msg m = { .vector = 0x50, .logical = true, .dest = 0x07 };

	setup(&a, 0);
	setup(&b, 1);
	setup(&c, 2);
	wr(&a, LAPIC_LDR, 0x01000000);
	wr(&b, LAPIC_LDR, 0x02000000);
	wr(&c, LAPIC_LDR, 0x04000000);
	T_EQ(lapic_route(all, 3, &m), 0x7);
	T_EQ(lapic_pending(&a), 0x50);
	T_EQ(lapic_pending(&c), 0x50);
	/* Lowest priority: the lowest APR wins, disabled LAPICs never do. */
	wr(&a, LAPIC_TPR, 0x80);
	wr(&b, LAPIC_TPR, 0x20);
	wr(&c, LAPIC_SVR, 0xFF);
	m.delivery = APIC_DM_LOWEST;
	m.vector = 0x90;
	T_EQ(lapic_route(all, 3, &m), 0x2);
	T_EQ(lapic_pending(&b), 0x90);
	T_EQ(lapic_pending(&a), -1);		/* 0x50 sits below TPR 0x80 */
	m.dest = 0x04;
	T_EQ(lapic_route(all, 3, &m), 0);
}

TEST(lapic_init_sipi_nmi)
{
	struct lapic ap;
	struct lapic *all[] = { &ap };
	struct apic_msg m = { .delivery = APIC_DM_INIT, .dest = 1 };
	uint8_t vec = 0;

	setup(&ap, 1);
	wr(&ap, LAPIC_TPR, 0x30);
	lapic_set_irq(&ap, 0x70, false);
	T_EQ(lapic_route(all, 1, &m), 1);
	T_EQ(lapic_take_events(&ap, &vec), LAPIC_EV_INIT);
	T_EQ(rd(&ap, LAPIC_ID), 0x01000000);	/* the ID survives INIT */
	T_EQ(rd(&ap, LAPIC_TPR), 0);
	T_EQ(rd(&ap, LAPIC_SVR), 0xFF);
	T_EQ(rd(&ap, LAPIC_IRR + 0x70), 0);
	m.delivery = APIC_DM_SIPI;
	m.vector = 0x08;
	lapic_route(all, 1, &m);
	m.delivery = APIC_DM_NMI;
	lapic_route(all, 1, &m);
	T_EQ(lapic_take_events(&ap, &vec), LAPIC_EV_SIPI | LAPIC_EV_NMI);
	T_EQ(vec, 0x08);
	T_EQ(lapic_take_events(&ap, &vec), 0);
	m.delivery = APIC_DM_SMI;
	lapic_route(all, 1, &m);
	T_EQ(lapic_take_events(&ap, &vec), 0);
}

TEST(lapic_lint_extint_and_nmi)
{
	struct lapic l;
	uint8_t vec;

	setup(&l, 0);
	/* Virtual wire: LINT0 ExtINT, LINT1 NMI, as Linux sets up the BSP. */
	wr(&l, LAPIC_LVT_LINT0, 0x700);
	wr(&l, LAPIC_LVT_LINT1, 0x400);
	wr(&l, LAPIC_TPR, 0xFF);
	lapic_set_lint(&l, 0, true);
	T_EQ(lapic_pending(&l), LAPIC_EXTINT);	/* TPR does not block it */
	lapic_ack(&l, LAPIC_EXTINT);
	T_EQ(lapic_pending(&l), LAPIC_EXTINT);	/* the PIC still asks */
	lapic_set_lint(&l, 0, false);
	T_EQ(lapic_pending(&l), -1);
	lapic_set_lint(&l, 1, true);
	lapic_set_lint(&l, 1, true);
	T_EQ(lapic_take_events(&l, &vec), LAPIC_EV_NMI);
	T_EQ(lapic_take_events(&l, &vec), 0);
	/* Masked LINT0 hides the PIC. */
	wr(&l, LAPIC_LVT_LINT0, 0x10700);
	lapic_set_lint(&l, 0, true);
	T_EQ(lapic_pending(&l), -1);
	/* Fixed mode: a vector on the rising edge. */
	wr(&l, LAPIC_TPR, 0);
	wr(&l, LAPIC_LVT_LINT0, 0x8033);
	lapic_set_lint(&l, 0, false);
	lapic_set_lint(&l, 0, true);
	T_EQ(lapic_pending(&l), 0x33);
	T_EQ(rd(&l, LAPIC_TMR + 0x10), 0x00080000);
	/* An ExtINT message waits for one INTA. */
	lapic_deliver(&l, &(struct apic_msg){ .delivery = APIC_DM_EXTINT });
	T_EQ(lapic_pending(&l), LAPIC_EXTINT);
	lapic_ack(&l, LAPIC_EXTINT);
	T_EQ(lapic_pending(&l), 0x33);
}

TEST(lapic_bus_handler)
{
	struct lapic l;
	uint32_t v = 0x42;

	setup(&l, 9);
	lapic_io(&l, LAPIC_TPR, &v, 4, true);
	v = 0;
	lapic_io(&l, LAPIC_TPR, &v, 4, false);
	T_EQ(v, 0x42);
	lapic_io(&l, LAPIC_ID, &v, 4, false);
	T_EQ(v, 0x09000000);
}

TEST(lapic_snapshot_round_trip)
{
	struct apic_msg nmi = { .delivery = APIC_DM_NMI, .dest = 1 };
	struct lapic a, b;
	uint8_t sipi;

	now_ns = 1000;
	setup(&a, 1);
	wr(&a, LAPIC_TPR, 0x20);
	wr(&a, LAPIC_TIMER_DCR, 0x3);			/* divide by 16 */
	wr(&a, LAPIC_LVT_TIMER, LAPIC_LVT_PERIODIC | 0x50);
	wr(&a, LAPIC_TIMER_ICR, 1000);			/* 16 us */
	lapic_set_irq(&a, 0x40, false);
	T_EQ(lapic_pending(&a), 0x40);
	lapic_ack(&a, 0x40);				/* in service */
	lapic_set_irq(&a, 0x61, true);			/* level, waiting */
	lapic_deliver(&a, &nmi);
	now_ns = 9000;

	lapic_init(&b, 1, &fake_clock, on_ipi, on_eoi, NULL);
	T_SNAP(lapic, &a, &b);
	for (unsigned r = LAPIC_ID; r <= LAPIC_TIMER_DCR; r += 0x10)
		T_EQ(rd(&b, r), rd(&a, r));
	T_EQ(rd(&b, LAPIC_TIMER_CCR), 1000 - 8000 / 16);
	T_EQ(lapic_next_deadline(&b), 1000 + 16000);
	T_EQ(lapic_take_events(&b, &sipi), LAPIC_EV_NMI);
	T_EQ(lapic_pending(&b), 0x61);
	lapic_ack(&b, 0x61);
	neois = 0;
	wr(&b, LAPIC_EOI, 0);				/* 0x61, level */
	T_EQ(neois, 1);
	T_EQ(eoi_vector, 0x61);
	wr(&b, LAPIC_EOI, 0);				/* 0x40, edge */
	T_EQ(neois, 1);
	T_ASSERT(lapic_advance(&b, 1000 + 16000));
	T_EQ(lapic_pending(&b), 0x50);
	T_EQ(lapic_next_deadline(&b), 1000 + 32000);
}

TEST(lapic_snapshot_bad_values)
{
	struct lapic a, b;

	setup(&a, 0);
	setup(&b, 0);
	T_SNAP_BAD(lapic, &a, &b, 44, 3);	/* a divisor of 3 */
	T_SNAP_BAD(lapic, &a, &b, 44, 0);	/* and of 0 */
	T_SNAP_BAD(lapic, &a, &b, 48, 0x08);	/* an unknown event */
}
