/* The i8254 PIT and port 0x61, on a fake clock. */
#include "t.h"
#include "hw_clock.h"

#include "hw_snap.h"
#include "hw/pit.h"
#include "pc.h"

static int irq_pulses, irq_level, irq_line = -1;


static void
on_irq(void *opaque, int line, int level)
{
	(void)opaque;
	irq_line = line;
	irq_level = level;
	irq_pulses += level;
}

/* Moves the clock to the first nanosecond of PIT tick T. */
static void
at_tick(uint64_t t)
{
	now_ns = hw_ticks_to_ns(t, PIT_HZ);
}

static void
setup(struct pit *pit)
{
	pit_init(pit, &fake_clock, on_irq, PC_IRQ_PIT, NULL);
}

static void
outb(struct pit *pit, unsigned reg, uint8_t val)
{
	pit_write(pit, reg, 1, val);
}

static uint8_t
inb(struct pit *pit, unsigned reg)
{
	return pit_read(pit, reg, 1);
}

static unsigned
read_word(struct pit *pit, unsigned ch)
{
	unsigned lo = inb(pit, ch);

	return lo | inb(pit, ch) << 8;
}

static void
program(struct pit *pit, unsigned ch, uint8_t mode_bits, unsigned count)
{
	outb(pit, 3, ch << 6 | 0x30 | mode_bits);
	outb(pit, ch, count & 0xFF);
	outb(pit, ch, count >> 8);
}

TEST(pit_mode2_periodic_irq)
{
	struct pit pit;

	setup(&pit);
	T_EQ(pit_next_deadline(&pit), HW_NO_DEADLINE);
	at_tick(1000);
	program(&pit, 0, 0x04, 1193);		/* Linux, HZ=1000: 0x34 */
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(2193, PIT_HZ));
	pit_advance(&pit, hw_ticks_to_ns(2193, PIT_HZ) - 1);
	T_EQ(irq_pulses, 0);
	pit_advance(&pit, hw_ticks_to_ns(2193, PIT_HZ));
	T_EQ(irq_pulses, 1);
	T_EQ(irq_line, PC_IRQ_PIT);
	T_EQ(irq_level, 0);
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(3386, PIT_HZ));
	pit_advance(&pit, hw_ticks_to_ns(3386, PIT_HZ));
	T_EQ(irq_pulses, 2);
	/* Late by ten periods: one pulse, then the next period boundary. */
	pit_advance(&pit, hw_ticks_to_ns(3386 + 10 * 1193 + 5, PIT_HZ));
	T_EQ(irq_pulses, 3);
	T_EQ(pit_next_deadline(&pit),
	    hw_ticks_to_ns(3386 + 11 * 1193, PIT_HZ));
	/* The counter: 1193 at the reload, down to 1. */
	at_tick(1000 + 100);
	T_EQ(read_word(&pit, 0), 1093);
	at_tick(1000 + 1192);
	T_EQ(read_word(&pit, 0), 1);
	at_tick(1000 + 1193);
	T_EQ(read_word(&pit, 0), 1193);
}

TEST(pit_mode3_square_wave)
{
	struct pit pit;

	setup(&pit);
	pit_port61_write(&pit, 0, 1, PIT_PORT61_GATE2);
	at_tick(50);
	program(&pit, 2, 0x06, 1000);
	at_tick(50 + 499);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	at_tick(50 + 500);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	at_tick(50 + 999);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	at_tick(50 + 1000);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	/* Counts down by two per tick, each half period. */
	at_tick(50 + 100);
	T_EQ(read_word(&pit, 2), 800);
	at_tick(50 + 600);
	T_EQ(read_word(&pit, 2), 800);
	/* On channel 0 the IRQ comes once per period. */
	at_tick(0);
	program(&pit, 0, 0x06, 1000);
	pit_advance(&pit, hw_ticks_to_ns(999, PIT_HZ));
	T_EQ(irq_pulses, 0);
	pit_advance(&pit, hw_ticks_to_ns(1000, PIT_HZ));
	T_EQ(irq_pulses, 1);
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(2000, PIT_HZ));
}

/* Linux's pit_calibrate_tsc(): gate 2 up, mode 0, wait for OUT2. */
TEST(pit_linux_tsc_calibration)
{
	struct pit pit;
	uint8_t p61;

	setup(&pit);
	at_tick(7);
	p61 = pit_port61_read(&pit, 0, 1);
	T_EQ(p61 & PIT_PORT61_OUT2, 0);
	pit_port61_write(&pit, 0, 1,
	    (p61 & ~PIT_PORT61_SPEAKER) | PIT_PORT61_GATE2);
	outb(&pit, 3, 0xB0);
	outb(&pit, 2, 11931 & 0xFF);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	outb(&pit, 2, 11931 >> 8);
	at_tick(7 + 11930);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	T_EQ(read_word(&pit, 2), 1);
	at_tick(7 + 11931);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	T_EQ(read_word(&pit, 2), 0);
	at_tick(7 + 11932);
	T_EQ(read_word(&pit, 2), 0xFFFF);	/* wraps after terminal count */
	/* quick_pit_calibrate(): from 0xFFFF, the MSB falls every 256 ticks. */
	at_tick(100000);
	outb(&pit, 3, 0xB0);
	outb(&pit, 2, 0xFF);
	outb(&pit, 2, 0xFF);
	at_tick(100000 + 256 * 3 + 10);
	T_EQ(read_word(&pit, 2), 0xFFFF - 256 * 3 - 10);
	/* Gate low holds a mode 0 count; gate high resumes it. */
	pit_port61_write(&pit, 0, 1, 0);
	at_tick(200000);
	T_EQ(read_word(&pit, 2), 0xFFFF - 256 * 3 - 10);
	pit_port61_write(&pit, 0, 1, PIT_PORT61_GATE2);
	at_tick(200000 + 5);
	T_EQ(read_word(&pit, 2), 0xFFFF - 256 * 3 - 15);
}

TEST(pit_latch_command)
{
	struct pit pit;

	setup(&pit);
	program(&pit, 0, 0x04, 5000);
	at_tick(1234);
	outb(&pit, 3, 0x00);			/* latch channel 0 */
	at_tick(2000);
	outb(&pit, 3, 0x00);			/* a second latch is ignored */
	T_EQ(inb(&pit, 0), (5000 - 1234) & 0xFF);
	at_tick(3000);
	T_EQ(inb(&pit, 0), (5000 - 1234) >> 8);
	T_EQ(read_word(&pit, 0), 2000);		/* live again */
}

TEST(pit_read_back)
{
	struct pit pit;

	setup(&pit);
	outb(&pit, 3, 0x34);
	outb(&pit, 3, 0xE2);			/* status of channel 0 */
	T_EQ(inb(&pit, 0), 0xF4);		/* OUT high, null count */
	program(&pit, 0, 0x04, 300);
	at_tick(10);
	outb(&pit, 3, 0xC2);			/* count and status */
	at_tick(20);
	T_EQ(inb(&pit, 0), 0xB4);
	T_EQ(read_word(&pit, 0), 290);
	at_tick(299);
	outb(&pit, 3, 0xE2);
	T_EQ(inb(&pit, 0), 0x34);		/* OUT low in the last tick */
	/* Several channels at once, count only. */
	program(&pit, 2, 0x00, 40);
	at_tick(309);
	outb(&pit, 3, 0xDA);
	at_tick(400);
	T_EQ(read_word(&pit, 0), 300 - (309 % 300));
	T_EQ(read_word(&pit, 2), 40);		/* gate 2 low: held */
}

TEST(pit_byte_access_modes)
{
	struct pit pit;

	setup(&pit);
	outb(&pit, 3, 0x14);			/* LSB only, mode 2 */
	outb(&pit, 0, 100);
	at_tick(30);
	T_EQ(inb(&pit, 0), 70);
	T_EQ(inb(&pit, 0), 70);
	outb(&pit, 3, 0x24);			/* MSB only */
	outb(&pit, 0, 2);			/* 512 */
	T_EQ(inb(&pit, 0), 2);
	at_tick(30 + 1);
	T_EQ(inb(&pit, 0), 1);
	at_tick(30 + 257);
	T_EQ(inb(&pit, 0), 0);
	/* The control word port reads as a floating bus. */
	T_EQ(inb(&pit, 3), 0xFF);
}

TEST(pit_mode4_one_shot)
{
	struct pit pit;

	setup(&pit);
	at_tick(500);
	program(&pit, 0, 0x08, 100);		/* Linux's oneshot: 0x38 */
	/* OUT strobes low at terminal count; the IRQ is its rising edge. */
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(601, PIT_HZ));
	pit_advance(&pit, hw_ticks_to_ns(600, PIT_HZ));
	T_EQ(irq_pulses, 0);
	pit_advance(&pit, hw_ticks_to_ns(601, PIT_HZ));
	T_EQ(irq_pulses, 1);
	T_EQ(pit_next_deadline(&pit), HW_NO_DEADLINE);
	pit_advance(&pit, hw_ticks_to_ns(100000, PIT_HZ));
	T_EQ(irq_pulses, 1);
	/* Reprogramming re-arms it. */
	at_tick(100000);
	outb(&pit, 0, 10);
	outb(&pit, 0, 0);
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(100011, PIT_HZ));
}

TEST(pit_mode0_irq_once)
{
	struct pit pit;

	setup(&pit);
	program(&pit, 0, 0x00, 0);		/* 0 means 65536 */
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(65536, PIT_HZ));
	/* A late advance still sees the edge, once. */
	pit_advance(&pit, hw_ticks_to_ns(200000, PIT_HZ));
	T_EQ(irq_pulses, 1);
	T_EQ(pit_next_deadline(&pit), HW_NO_DEADLINE);
	/* An edge due before reprogramming is not lost. */
	at_tick(300000);
	program(&pit, 0, 0x00, 10);
	at_tick(300020);
	outb(&pit, 3, 0x30);
	T_EQ(irq_pulses, 2);
}

TEST(pit_bcd)
{
	struct pit pit;

	setup(&pit);
	program(&pit, 0, 0x05, 0x1000);		/* mode 2, BCD 1000 */
	at_tick(1);
	T_EQ(read_word(&pit, 0), 0x0999);
	at_tick(999);
	T_EQ(read_word(&pit, 0), 0x0001);
	T_EQ(pit_next_deadline(&pit), hw_ticks_to_ns(1000, PIT_HZ));
	program(&pit, 0, 0x01, 0);		/* mode 0, BCD 0 is 10000 */
	at_tick(999 + 3);
	T_EQ(read_word(&pit, 0), 0x9997);
}

TEST(pit_gate_modes_2_and_1)
{
	struct pit pit;

	setup(&pit);
	program(&pit, 2, 0x04, 100);		/* gate low: held, OUT high */
	at_tick(1000);
	T_EQ(read_word(&pit, 2), 100);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	pit_port61_write(&pit, 0, 1, PIT_PORT61_GATE2);
	at_tick(1099);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	at_tick(1050);
	pit_port61_write(&pit, 0, 1, 0);
	pit_port61_write(&pit, 0, 1, PIT_PORT61_GATE2);	/* reloads */
	at_tick(1060);
	T_EQ(read_word(&pit, 2), 90);
	/* Mode 1 waits for a gate edge, then OUT is low for the count. */
	program(&pit, 2, 0x02, 50);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	at_tick(2000);
	T_EQ(read_word(&pit, 2), 50);
	pit_port61_write(&pit, 0, 1, 0);
	pit_port61_write(&pit, 0, 1, PIT_PORT61_GATE2);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	at_tick(2049);
	T_EQ(read_word(&pit, 2), 1);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	at_tick(2050);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	/* Mode 5: the strobe comes a count after the trigger. */
	program(&pit, 2, 0x0A, 20);
	pit_port61_write(&pit, 0, 1, 0);
	pit_port61_write(&pit, 0, 1, PIT_PORT61_GATE2);
	at_tick(2069);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
	at_tick(2070);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, 0);
	at_tick(2071);
	T_EQ(pit_port61_read(&pit, 0, 1) & PIT_PORT61_OUT2, PIT_PORT61_OUT2);
}

TEST(pit_port61_bits)
{
	struct pit pit;
	uint8_t b = 0xFF;

	setup(&pit);
	now_ns = 0;
	T_EQ(pit_port61_read(&pit, 0, 1), 0x00);
	pit_port61_write(&pit, 0, 1, 0xFF);
	T_EQ(pit_port61_read(&pit, 0, 1), 0x0F);
	now_ns = 15085;
	T_EQ(pit_port61_read(&pit, 0, 1), 0x1F);
	now_ns = 2 * 15085;
	pit_port61_io(&pit, 0, &b, 1, false);
	T_EQ(b, 0x0F);
}

TEST(pit_snapshot_round_trip)
{
	struct pit a, b;

	setup(&a);
	at_tick(1000);
	program(&a, 0, 0x04, 1193);
	program(&a, 2, 0x00, 5000);	/* mode 0 on channel 2 */
	pit_port61_write(&a, 0, 1, PIT_PORT61_GATE2);
	at_tick(2500);
	pit_advance(&a, now_ns);
	T_EQ(irq_pulses, 1);
	outb(&a, 3, 0x00);		/* latch channel 0: 1193 - 1500 % 1193 */

	setup(&b);
	T_SNAP(pit, &a, &b);
	T_EQ(read_word(&b, 0), 886);
	T_EQ(pit_next_deadline(&b), hw_ticks_to_ns(3386, PIT_HZ));
	T_EQ(pit_next_deadline(&b), pit_next_deadline(&a));
	at_tick(3000);
	T_EQ(read_word(&b, 2), read_word(&a, 2));
	T_EQ(pit_port61_read(&b, 0, 1), pit_port61_read(&a, 0, 1));
	pit_advance(&b, hw_ticks_to_ns(3386, PIT_HZ) - 1);
	T_EQ(irq_pulses, 1);
	pit_advance(&b, hw_ticks_to_ns(3386, PIT_HZ));
	T_EQ(irq_pulses, 2);
	T_EQ(pit_next_deadline(&b), hw_ticks_to_ns(3386 + 1193, PIT_HZ));
}

TEST(pit_snapshot_bad_values)
{
	struct pit a, b;

	setup(&a);
	setup(&b);
	T_SNAP_BAD(pit, &a, &b, 2, 0x02);	/* a count above 65536 */
	T_SNAP_BAD(pit, &a, &b, 31, 6);		/* mode 6 */
	T_SNAP_BAD(pit, &a, &b, 32, 4);		/* access 4 */
}
