/* MC146818 real-time clock and CMOS RAM. */
#include "rtc.h"

#define RTC_HZ		32768
#define UIP_NS		244141		/* 8 cycles of 32.768 kHz */
#define KIB		1024ULL
#define MIB		(1024 * KIB)

static bool
is_clock(unsigned index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_WEEKDAY:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	}
	return false;
}

static bool
held(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & RTC_B_SET;
}

static uint8_t
encode(const struct rtc *rtc, unsigned v)
{
	return (rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY) ? v : hw_to_bcd(v);
}

static unsigned
decode(const struct rtc *rtc, uint8_t v)
{
	return (rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY) ? v : hw_from_bcd(v);
}

/* Writes the time T into the clock registers in the current format. */
static void
clock_to_cmos(struct rtc *rtc, time_t t)
{
	uint8_t *c = rtc->cmos;
	struct tm tm;
	unsigned h;

	gmtime_r(&t, &tm);
	h = tm.tm_hour;
	c[RTC_SECONDS] = encode(rtc, tm.tm_sec);
	c[RTC_MINUTES] = encode(rtc, tm.tm_min);
	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		c[RTC_HOURS] = encode(rtc, h);
	else	/* 12, 1, ... 11, with bit 7 for PM */
		c[RTC_HOURS] = encode(rtc, h % 12 ? h % 12 : 12) |
		    (h >= 12 ? 0x80 : 0);
	c[RTC_WEEKDAY] = encode(rtc, tm.tm_wday + 1);
	c[RTC_DAY] = encode(rtc, tm.tm_mday);
	c[RTC_MONTH] = encode(rtc, tm.tm_mon + 1);
	c[RTC_YEAR] = encode(rtc, tm.tm_year % 100);
	c[RTC_CENTURY] = encode(rtc, (tm.tm_year + 1900) / 100);
}

static time_t
cmos_to_clock(const struct rtc *rtc)
{
	const uint8_t *c = rtc->cmos;
	struct tm tm = { 0 };
	uint8_t h = c[RTC_HOURS];

	tm.tm_sec = decode(rtc, c[RTC_SECONDS]);
	tm.tm_min = decode(rtc, c[RTC_MINUTES]);
	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		tm.tm_hour = decode(rtc, h);
	else
		tm.tm_hour = decode(rtc, h & 0x7F) % 12 + (h & 0x80 ? 12 : 0);
	tm.tm_mday = decode(rtc, c[RTC_DAY]);
	tm.tm_mon = decode(rtc, c[RTC_MONTH]) - 1;
	tm.tm_year = decode(rtc, c[RTC_CENTURY]) * 100 +
	    decode(rtc, c[RTC_YEAR]) - 1900;
	return timegm(&tm);
}

static time_t
seconds(const struct rtc *rtc, uint64_t now)
{
	return rtc->base_sec + (now - rtc->base_ns) / HW_NS_PER_SEC;
}

/* UIP warns of the update at each second: up in its last 244 us. */
static bool
uip(const struct rtc *rtc, uint64_t now)
{
	return !held(rtc) && (now - rtc->base_ns) % HW_NS_PER_SEC >=
	    HW_NS_PER_SEC - UIP_NS;
}

/* Periodic rate as a shift of 32.768 kHz cycles, 0 if off. */
static unsigned
period_shift(const struct rtc *rtc)
{
	unsigned rs = rtc->cmos[RTC_REG_A] & 0x0F;

	if (rs == 0)
		return 0;
	return rs < 3 ? rs + 6 : rs - 1;	/* 1, 2 alias 8, 9 */
}

static void
update_irq(struct rtc *rtc)
{
	uint8_t *c = &rtc->cmos[RTC_REG_C];
	bool on = *c & rtc->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_UF);

	*c = on ? *c | RTC_C_IRQF : *c & ~RTC_C_IRQF;
	hw_irq_set(&rtc->irq, on);
}

/* PF and UF latch at every period and second boundary passed by NOW. */
static void
update_flags(struct rtc *rtc, uint64_t now)
{
	uint64_t a = rtc->seen_ns - rtc->base_ns, b = now - rtc->base_ns;
	unsigned shift = period_shift(rtc);

	if (now <= rtc->seen_ns)
		return;
	if (!held(rtc) && a / HW_NS_PER_SEC != b / HW_NS_PER_SEC)
		rtc->cmos[RTC_REG_C] |= RTC_C_UF;
	if (shift && hw_ns_to_ticks(a, RTC_HZ) >> shift !=
	    hw_ns_to_ticks(b, RTC_HZ) >> shift)
		rtc->cmos[RTC_REG_C] |= RTC_C_PF;
	rtc->seen_ns = now;
	update_irq(rtc);
}

/* The clock restarts from the registers' time, at NOW. */
static void
set_clock(struct rtc *rtc, uint64_t now)
{
	update_flags(rtc, now);
	rtc->base_sec = cmos_to_clock(rtc);
	rtc->base_ns = rtc->seen_ns = now;
}

void
rtc_init(struct rtc *rtc, const struct hw_clock *clock, time_t now,
    hw_irq_fn *irq, int line, void *opaque)
{
	*rtc = (struct rtc){ .clock = clock, .base_sec = now };
	rtc->base_ns = rtc->seen_ns = hw_now(clock);
	rtc->cmos[RTC_REG_A] = 0x26;	/* 32.768 kHz divider, 1024 Hz */
	rtc->cmos[RTC_REG_B] = RTC_B_24H;
	rtc->cmos[RTC_REG_D] = RTC_D_VRT;
	hw_irq_init(&rtc->irq, irq, opaque, line);
}

static uint8_t
data_read(struct rtc *rtc)
{
	uint64_t now = hw_now(rtc->clock);
	unsigned i = rtc->index;
	uint8_t v;

	if (is_clock(i) && !held(rtc))
		clock_to_cmos(rtc, seconds(rtc, now));
	switch (i) {
	case RTC_REG_A:
		return rtc->cmos[i] | (uip(rtc, now) ? RTC_A_UIP : 0);
	case RTC_REG_C:		/* reading acknowledges the interrupt */
		update_flags(rtc, now);
		v = rtc->cmos[i];
		rtc->cmos[i] = 0;
		update_irq(rtc);
		return v;
	}
	return rtc->cmos[i];
}

static void
data_write(struct rtc *rtc, uint8_t val)
{
	uint64_t now = hw_now(rtc->clock);
	unsigned i = rtc->index;
	uint8_t old = rtc->cmos[RTC_REG_B];

	switch (i) {
	case RTC_REG_A:
		update_flags(rtc, now);
		rtc->cmos[i] = val & ~RTC_A_UIP;
		break;
	case RTC_REG_B:
		update_flags(rtc, now);
		if (val & ~old & RTC_B_SET) {
			/* Holding the clock also disables UIE. */
			clock_to_cmos(rtc, seconds(rtc, now));
			val &= ~RTC_B_UIE;
		}
		rtc->cmos[i] = val;
		if (old & ~val & RTC_B_SET)
			set_clock(rtc, now);
		update_irq(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;
	default:
		if (is_clock(i) && !held(rtc)) {
			clock_to_cmos(rtc, seconds(rtc, now));
			rtc->cmos[i] = val;
			set_clock(rtc, now);
		} else {
			rtc->cmos[i] = val;
		}
		break;
	}
}

static uint8_t
rtc_read8(void *dev, unsigned offset)
{
	/* The index register is write-only. */
	return offset == 1 ? data_read(dev) : 0xFF;
}

static void
rtc_write8(void *dev, unsigned offset, uint8_t val)
{
	struct rtc *rtc = dev;

	if (offset == 1) {
		data_write(rtc, val);
		return;
	}
	rtc->index = val & 0x7F;
	rtc->nmi_disabled = val & 0x80;
}

uint32_t
rtc_read(struct rtc *rtc, unsigned offset, unsigned size)
{
	return hw_read_bytes(rtc_read8, rtc, offset, size, 2);
}

void
rtc_write(struct rtc *rtc, unsigned offset, unsigned size, uint32_t val)
{
	hw_write_bytes(rtc_write8, rtc, offset, size, val, 2);
}

BUS_HANDLER(rtc_io, struct rtc, rtc_read, rtc_write)

void
rtc_advance(struct rtc *rtc, uint64_t now_ns)
{
	update_flags(rtc, now_ns);
}

uint64_t
rtc_next_deadline(const struct rtc *rtc)
{
	uint64_t a = rtc->seen_ns - rtc->base_ns, d = HW_NO_DEADLINE, next;
	uint8_t b = rtc->cmos[RTC_REG_B];
	unsigned shift = period_shift(rtc);

	/* Once IRQF is up nothing changes the line until C is read. */
	if (rtc->cmos[RTC_REG_C] & RTC_C_IRQF)
		return HW_NO_DEADLINE;
	if ((b & RTC_B_UIE) && !(b & RTC_B_SET))
		d = rtc->base_ns + (a / HW_NS_PER_SEC + 1) * HW_NS_PER_SEC;
	if ((b & RTC_B_PIE) && shift) {
		next = ((hw_ns_to_ticks(a, RTC_HZ) >> shift) + 1) << shift;
		next = rtc->base_ns + hw_ticks_to_ns(next, RTC_HZ);
		if (next < d)
			d = next;
	}
	return d;
}

void
rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t val)
{
	if (index < RTC_CMOS_SIZE)
		rtc->cmos[index] = val;
}

static void
set_word(struct rtc *rtc, unsigned index, uint64_t val, uint64_t max)
{
	if (val > max)
		val = max;
	rtc->cmos[index] = val;
	rtc->cmos[index + 1] = val >> 8;
}

/* The layout SeaBIOS reads, as QEMU fills it. */
void
rtc_set_memory(struct rtc *rtc, uint64_t below_4g, uint64_t above_4g)
{
	uint64_t ext = below_4g > MIB ? (below_4g - MIB) / KIB : 0;
	uint64_t high = above_4g / (64 * KIB);

	set_word(rtc, 0x15, below_4g / KIB, 640);
	set_word(rtc, 0x17, ext, 0xFFFF);
	set_word(rtc, 0x30, ext, 0xFFFF);
	set_word(rtc, 0x34,
	    below_4g > 16 * MIB ? (below_4g - 16 * MIB) / (64 * KIB) : 0,
	    0xFFFF);
	rtc->cmos[0x5B] = high;
	rtc->cmos[0x5C] = high >> 8;
	rtc->cmos[0x5D] = high >> 16;
}

#define RTC_TAG		HW_TAG('R', 'T', 'C', ' ')

int
rtc_save(const struct rtc *rtc, struct hw_blob *b)
{
	hw_blob_put_header(b, RTC_TAG, 1);
	hw_put_bytes(b, rtc->cmos, RTC_CMOS_SIZE);
	hw_put8(b, rtc->index);
	hw_put8(b, rtc->nmi_disabled);
	hw_put64(b, (uint64_t)rtc->base_sec);
	hw_put64(b, rtc->base_ns);
	hw_put64(b, rtc->seen_ns);
	hw_put_irq(b, &rtc->irq);
	return hw_blob_saved(b);
}

int
rtc_load(struct rtc *rtc, struct hw_blob *b)
{
	struct rtc n = *rtc;
	int r = hw_blob_get_header(b, RTC_TAG, 1);

	if (r < 0)
		return r;
	hw_get_bytes(b, n.cmos, RTC_CMOS_SIZE);
	n.index = hw_get8(b);
	n.nmi_disabled = hw_get_bool(b);
	n.base_sec = (int64_t)hw_get64(b);
	n.base_ns = hw_get64(b);
	n.seen_ns = hw_get64(b);
	hw_get_irq(b, &n.irq);
	r = hw_blob_done(b, n.index >= RTC_CMOS_SIZE ||
	    n.seen_ns < n.base_ns);
	if (r == 0)
		*rtc = n;
	return r;
}
