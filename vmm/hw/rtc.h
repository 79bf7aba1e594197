/*
 * The MC146818 RTC and CMOS RAM at 0x70 (index, bit 7 disables NMI) and
 * 0x71 (data).
 *
 * The clock counts UTC from a time_t given at init, on the injected clock.
 * Registers A-D, BCD or binary (B.DM), 12 or 24 hours, the century at 0x32,
 * UIP for the last 244 us before each update, periodic and update-ended
 * interrupts on the IRQ line. Alarm registers are plain RAM (no alarm
 * interrupt), and the divider bits of register A do not stop the clock.
 */
#ifndef HW_RTC_H
#define HW_RTC_H

#include <time.h>

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_WEEKDAY	0x06	/* 1 = Sunday */
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0A
#define RTC_REG_B	0x0B
#define RTC_REG_C	0x0C
#define RTC_REG_D	0x0D
#define RTC_CENTURY	0x32
#define RTC_CMOS_SIZE	128

#define RTC_A_UIP	0x80
#define RTC_B_SET	0x80	/* holds the clock for setting */
#define RTC_B_PIE	0x40
#define RTC_B_AIE	0x20
#define RTC_B_UIE	0x10
#define RTC_B_DM_BINARY	0x04
#define RTC_B_24H	0x02
#define RTC_C_IRQF	0x80
#define RTC_C_PF	0x40
#define RTC_C_UF	0x10
#define RTC_D_VRT	0x80

struct rtc {
	uint8_t cmos[RTC_CMOS_SIZE];
	uint8_t index;
	bool nmi_disabled;	/* port 0x70 bit 7, for the VMM to honour */
	int64_t base_sec;	/* the clock read base_sec ... */
	uint64_t base_ns;	/* ... at this instant */
	uint64_t seen_ns;	/* flags in register C are current up to here */
	const struct hw_clock *clock;
	struct hw_irq irq;
};

void rtc_init(struct rtc *rtc, const struct hw_clock *clock, time_t now,
    hw_irq_fn *irq, int line, void *opaque);
uint32_t rtc_read(struct rtc *rtc, unsigned offset, unsigned size);
void rtc_write(struct rtc *rtc, unsigned offset, unsigned size, uint32_t val);
bus_handler rtc_io;

/* Sets register C flags due by NOW_NS and the IRQ line with them. */
void rtc_advance(struct rtc *rtc, uint64_t now_ns);

/* When the next enabled interrupt falls due, or HW_NO_DEADLINE. */
uint64_t rtc_next_deadline(const struct rtc *rtc);

/* CMOS RAM as the firmware would leave it, set by the VMM. */
void rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t val);

/* The memory sizes at 0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5B-0x5D. */
void rtc_set_memory(struct rtc *rtc, uint64_t below_4g, uint64_t above_4g);

/* Snapshots: the state, and back into a device from rtc_init() (blob.h). */
int rtc_save(const struct rtc *rtc, struct hw_blob *b);
int rtc_load(struct rtc *rtc, struct hw_blob *b);

#endif
