/*
 * The built-in guest of nvmm-run: a small 64-bit kernel, booted through
 * the PVH entry, that exercises every device of our PC in a few seconds and
 * then runs a command loop on COM1. It finds the CPUs, the I/O APIC, the
 * ISA interrupt overrides and the power-off port in the ACPI tables.
 *
 * Output contract: tests match these lines, in this order. Lines end in
 * CR LF; N is the number of CPUs in the MADT.
 *
 *	nvmm-run built-in guest
 *	pit: 10 ticks via pic		PIT IRQ0, 8259s, LINT0 as ExtINT
 *	pit: 10 ticks via ioapic	through the MADT's IRQ0 override
 *	pit: channel 2 ok		OUT2 low, then high, on port 0x61
 *	rtc: YYYY-MM-DD HH:MM:SS	read after an update-ended IRQ8
 *	pci 00:00.0: VVVV:DDDD		the host bridge's vendor, device
 *	lapic timer: 10 ticks		periodic, rate taken on the PIT
 *	smp: N cpus up			APs started with INIT, SIPI
 *	ipi: ok				each AP answered the BSP's IPI
 *	> 				the prompt; typed keys echo
 *
 * On failure a line names the device and what went wrong instead, and the
 * guest goes on: "acpi: no RSDP" (or no MADT, no I/O APIC: then it stops),
 * "pit: channel 2 stuck high|stuck low", "rtc: no update interrupt",
 * "pci 00:00.0: none", "lapic timer: not counting",
 * "lapic timer: K of 10 ticks", "smp: cpu I (apic id A) did not start",
 * "ipi: K of M answered", and for a CPU exception (then it halts)
 * "panic: exception V error 0xE at rip 0xR".
 *
 * Commands, one per line:
 *	help		"commands: help poweroff reboot triple uptime rtc"
 *	poweroff	"bye", then SLP_TYP(_S5) | SLP_EN to PM1a_CNT
 *	reboot		"rebooting", then 0xFE to port 0x64
 *	triple		"triple fault", then one, on purpose
 *	uptime		"pit: 10 ticks", then "uptime: N ms" since boot by
 *			the TSC, its rate taken on the ACPI PM timer at boot
 *	rtc		the "rtc:" line again, read as at boot
 *	anything else	"unknown command: WORD"
 */
#include "guest.h"

#define PIT_HZ		1193182
#define PM_TMR_HZ	3579545
#define PM_TMR_MASK	0xFFFFFF
#define TICK_HZ		100
#define TICKS		10

#define PIT_CH0_RATE	0x34	/* channel 0, lo/hi byte, mode 2 */
#define PIT_CH2_ONESHOT	0xB0	/* channel 2, lo/hi byte, mode 0 */
#define SYSCTL_GATE2	0x01
#define SYSCTL_SPEAKER	0x02
#define SYSCTL_OUT2	0x20

#define RTC_SEC		0x00
#define RTC_MIN		0x02
#define RTC_HOUR	0x04
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_B		0x0B
#define RTC_C		0x0C
#define RTC_B_24H	0x02
#define RTC_B_BINARY	0x04
#define RTC_B_UIE	0x10
#define RTC_C_UF	0x10
#define RTC_HOUR_PM	0x80

#define HVM_START_MAGIC	0x336ec578

void guest_main(uint32_t start_info);

static volatile unsigned lapic_ticks, rtc_updates;
static uint64_t tsc_boot, tsc_per_ms;

static uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void
pit_tick(void)
{
	pit_ticks++;
}

/*
 * TICKS PIT interrupts through the 8259s, while the LAPIC timer counts
 * down beside them: returns its count per PIT tick.
 */
static uint32_t
pit_via_pic(void)
{
	unsigned div = (PIT_HZ + TICK_HZ / 2) / TICK_HZ;
	uint32_t left, pm;
	uint64_t tsc;

	pic_init(PC_IRQ_PIT, pit_tick);
	lapic_write(LAPIC_TIMER_DIV, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_LAPIC_TIMER);
	outb(PC_PORT_PIT + 3, PIT_CH0_RATE);
	outb(PC_PORT_PIT, div & 0xFF);
	outb(PC_PORT_PIT, div >> 8);
	wait_for(&pit_ticks, 1, 0);
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	tsc = rdtsc();
	pm = inl(PC_PORT_PM_TMR);
	wait_for(&pit_ticks, 1 + TICKS, 0);
	left = lapic_read(LAPIC_TIMER_CUR);
	/* The PM timer runs on the VMM's clock, however late the ticks come. */
	pm = (inl(PC_PORT_PM_TMR) - pm) & PM_TMR_MASK;
	if (pm != 0)
		tsc_per_ms = (rdtsc() - tsc) * (PM_TMR_HZ / 1000) / pm;
	kprintf("pit: %u ticks via pic\n", TICKS);
	return (0xFFFFFFFF - left) / TICKS;
}

static void
pit_via_ioapic(void)
{
	pic_disable();
	ioapic_route(PC_IRQ_PIT, pit_tick);
	wait_for(&pit_ticks, pit_ticks + TICKS, 0);
	kprintf("pit: %u ticks via ioapic\n", TICKS);
}

/* A 1 ms one-shot on channel 2, watched on port 0x61 as Linux does. */
static void
pit_channel2(void)
{
	uint8_t b = inb(PC_PORT_SYSCTL_B) & ~(SYSCTL_GATE2 | SYSCTL_SPEAKER);
	unsigned start = pit_ticks, count = PIT_HZ / 1000;
	bool low, high;

	outb(PC_PORT_SYSCTL_B, b | SYSCTL_GATE2);
	outb(PC_PORT_PIT + 3, PIT_CH2_ONESHOT);
	outb(PC_PORT_PIT + 2, count & 0xFF);
	outb(PC_PORT_PIT + 2, count >> 8);
	low = !(inb(PC_PORT_SYSCTL_B) & SYSCTL_OUT2);
	while (!(high = inb(PC_PORT_SYSCTL_B) & SYSCTL_OUT2) &&
	    pit_ticks - start < TICKS)
		;
	outb(PC_PORT_SYSCTL_B, b);
	kprintf("pit: channel 2 %s\n",
	    !low ? "stuck high" : high ? "ok" : "stuck low");
}

static uint8_t
cmos_read(uint8_t reg)
{
	outb(PC_PORT_CMOS, reg);
	return inb(PC_PORT_CMOS + 1);
}

static void
cmos_write(uint8_t reg, uint8_t v)
{
	outb(PC_PORT_CMOS, reg);
	outb(PC_PORT_CMOS + 1, v);
}

static void
rtc_irq(void)
{
	if (cmos_read(RTC_C) & RTC_C_UF)
		rtc_updates++;
}

static unsigned
rtc_value(uint8_t v, uint8_t b)
{
	return (b & RTC_B_BINARY) ? v : (v >> 4) * 10 + (v & 0xF);
}

/* Read just after an update, the clock holds still for a second. */
static void
rtc(void)
{
	uint8_t b = cmos_read(RTC_B), hour;
	bool updated;

	ioapic_route(PC_IRQ_RTC, rtc_irq);
	cmos_read(RTC_C);
	cmos_write(RTC_B, b | RTC_B_UIE);
	updated = wait_for(&rtc_updates, 1, 2 * TICK_HZ);
	ioapic_mask(PC_IRQ_RTC);
	cmos_write(RTC_B, b);
	if (!updated) {
		kprintf("rtc: no update interrupt\n");
		return;
	}
	hour = cmos_read(RTC_HOUR);
	if (!(b & RTC_B_24H))
		hour = rtc_value(hour & ~RTC_HOUR_PM, b) % 12 +
		    (hour & RTC_HOUR_PM ? 12 : 0);
	else
		hour = rtc_value(hour, b);
	kprintf("rtc: %02u%02u-%02u-%02u %02u:%02u:%02u\n",
	    acpi.century ? rtc_value(cmos_read(acpi.century), b) : 20,
	    rtc_value(cmos_read(RTC_YEAR), b),
	    rtc_value(cmos_read(RTC_MONTH), b),
	    rtc_value(cmos_read(RTC_DAY), b), hour,
	    rtc_value(cmos_read(RTC_MIN), b), rtc_value(cmos_read(RTC_SEC), b));
}

static void
pci(void)
{
	uint32_t id;

	outl(PC_PORT_PCI_ADDR, 0x80000000);	/* enable, 00:00.0, reg 0 */
	id = inl(PC_PORT_PCI_DATA);
	if (id == 0xFFFFFFFF)
		kprintf("pci 00:00.0: none\n");
	else
		kprintf("pci 00:00.0: %04x:%04x\n", id & 0xFFFF, id >> 16);
}

static void
lapic_tick(void)
{
	lapic_ticks++;
}

static void
lapic_timer(uint32_t per_pit_tick)
{
	bool done;

	if (per_pit_tick == 0) {
		kprintf("lapic timer: not counting\n");
		return;
	}
	set_handler(VEC_LAPIC_TIMER, lapic_tick);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | VEC_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, per_pit_tick);
	done = wait_for(&lapic_ticks, TICKS, 10 * TICKS);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (done)
		kprintf("lapic timer: %u ticks\n", TICKS);
	else
		kprintf("lapic timer: %u of %u ticks\n", lapic_ticks, TICKS);
}

static void cmd_help(void);

static void
cmd_poweroff(void)
{
	if (acpi.pm1a_cnt == 0 || acpi.slp_typ_s5 < 0) {
		kprintf("poweroff: no ACPI S5\n");
		return;
	}
	kprintf("bye\n");
	outw(acpi.pm1a_cnt, acpi.slp_typ_s5 << 10 | PC_ACPI_SLP_EN);
	halt();
}

static void
cmd_reboot(void)
{
	kprintf("rebooting\n");
	outb(PC_PORT_KBD_CMD, 0xFE);
	halt();
}

/* With no IDT, a page fault becomes #GP, then #DF, then a shutdown. */
static void
cmd_triple(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt;

	kprintf("triple fault\n");
	cli();
	__asm__ volatile("lidt %0" : : "m"(no_idt));
	(void)*(volatile uint64_t *)(1ull << 40);	/* not mapped */
	halt();
}

/* The PIT ticks again for a while: the timers work. */
static void
cmd_uptime(void)
{
	ioapic_route(PC_IRQ_PIT, pit_tick);
	wait_for(&pit_ticks, pit_ticks + TICKS, 0);
	ioapic_mask(PC_IRQ_PIT);
	kprintf("pit: %u ticks\n", TICKS);
	kprintf("uptime: %lu ms\n", tsc_per_ms == 0 ? 0 :
	    (unsigned long)((rdtsc() - tsc_boot) / tsc_per_ms));
}

static const struct command {
	const char *name;
	void (*run)(void);
} commands[] = {
	{ "help", cmd_help },
	{ "poweroff", cmd_poweroff },
	{ "reboot", cmd_reboot },
	{ "triple", cmd_triple },
	{ "uptime", cmd_uptime },
	{ "rtc", rtc },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
cmd_help(void)
{
	kprintf("commands:");
	for (unsigned i = 0; i < NCOMMANDS; i++)
		kprintf(" %s", commands[i].name);
	kprintf("\n");
}

static bool
streq(const char *a, const char *b)
{
	while (*a != 0 && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A line from COM1, echoed; CR, LF or CR LF ends it. */
static void
read_line(char *buf, unsigned size)
{
	static int prev;
	unsigned n = 0;

	for (;;) {
		int c = uart_getc(), was = prev;

		prev = c;
		if (c == '\n' && was == '\r')
			continue;
		if (c == '\r' || c == '\n')
			break;
		if ((c == 0x7F || c == '\b') && n > 0) {
			n--;
			kprintf("\b \b");
		} else if (c >= ' ' && c < 0x7F && n < size - 1) {
			buf[n++] = c;
			kprintf("%c", c);
		}
	}
	kprintf("\n");
	buf[n] = 0;
}

static void
command_loop(void)
{
	char line[64];

	for (;;) {
		unsigned i;

		kprintf("> ");
		read_line(line, sizeof(line));
		if (line[0] == 0)
			continue;
		for (i = 0; i < NCOMMANDS && !streq(line, commands[i].name);
		    i++)
			;
		if (i < NCOMMANDS)
			commands[i].run();
		else
			kprintf("unknown command: %s\n", line);
	}
}

void
guest_main(uint32_t start_info)
{
	const uint32_t *si = (const uint32_t *)(uint64_t)start_info;
	uint32_t lapic_per_tick;

	tsc_boot = rdtsc();
	uart_init();
	kprintf("nvmm-run built-in guest\n");
	/* hvm_start_info.rsdp_paddr; without it, scan for the RSDP. */
	if (!acpi_init(si[0] == HVM_START_MAGIC ? *(const uint64_t *)(si + 8) :
	    0))
		halt();
	idt_init();
	lapic_init();
	lapic_per_tick = pit_via_pic();
	pit_via_ioapic();
	pit_channel2();
	rtc();
	pci();
	lapic_timer(lapic_per_tick);
	smp_start();
	/* Idle from here on: no more ticks, only keys. */
	ioapic_mask(PC_IRQ_PIT);
	uart_rx_enable();
	command_loop();
}
