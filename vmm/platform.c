/*
 * The PC: devices on the bus, interrupt routing, timers. See platform.h.
 */
#include "platform.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "pc.h"

static uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * HW_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* The devices' clock: CLOCK_MONOTONIC, shifted to go on from a snapshot's. */
static uint64_t
device_ns(void *opaque)
{
	const struct platform *p = opaque;

	return monotonic_ns() + (uint64_t)p->clock_shift;
}

void
platform_lock(struct platform *p)
{
	pthread_mutex_lock(&p->lock);
}

void
platform_unlock(struct platform *p)
{
	pthread_mutex_unlock(&p->lock);
}

/* Kicks every CPU whose bit is set. */
static void
kick_mask(struct platform *p, uint64_t mask)
{
	for (unsigned i = 0; i < p->ncpus; i++)
		if (mask & (1ULL << i))
			p->ops.kick(p->ops.opaque, i);
}

/* ---- Interrupt routing ------------------------------------------------- */

/* APIC messages from the I/O APIC and from IPIs go to the LAPICs they name. */
static void
apic_deliver(void *opaque, const struct apic_msg *msg)
{
	struct platform *p = opaque;

	kick_mask(p, lapic_route(p->lapics, p->ncpus, msg));
}

static void
lapic_eoi(void *opaque, uint8_t vector)
{
	struct platform *p = opaque;

	ioapic_eoi(&p->ioapic, vector);
}

/* The 8259s' INT pin is wired to LINT0 of the boot CPU (virtual wire). */
static void
pic_intr(void *opaque, int line, int level)
{
	struct platform *p = opaque;

	(void)line;
	lapic_set_lint(&p->lapic[0], 0, level);
	p->ops.kick(p->ops.opaque, 0);
}

/* An ISA line goes to both the PICs and the I/O APIC; IRQ0 is pin 2 there. */
static void
isa_irq(void *opaque, int line, int level)
{
	struct platform *p = opaque;

	if (line != PC_IRQ_CASCADE)
		pic_set_irq(&p->pic, (unsigned)line, level);
	ioapic_set_irq(&p->ioapic, line == PC_IRQ_PIT ? 2 : (unsigned)line,
	    level);
}

static void
request(void *opaque, enum hw_request req)
{
	struct platform *p = opaque;

	p->ops.request(p->ops.opaque, req);
}

static void
uart_tx(void *opaque, uint8_t byte)
{
	struct platform *p = opaque;

	p->ops.console_out(p->ops.opaque, byte);
}

/* ---- Accesses ---------------------------------------------------------- */

/* The LAPIC page is per CPU: the accessing CPU's own. */
static __thread unsigned current_cpu;

static void
lapic_page_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	struct platform *p = opaque;

	lapic_io(&p->lapic[current_cpu], offset, data, size, is_write);
	if (is_write)
		p->timers_changed = true;
}

/* Timer devices: a write may move a deadline, so the timer thread looks. */
static void
pit_timer_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	struct platform *p = opaque;

	pit_io(&p->pit, offset, data, size, is_write);
	p->timers_changed |= is_write;
}

static void
rtc_timer_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	struct platform *p = opaque;

	rtc_io(&p->rtc, offset, data, size, is_write);
	p->timers_changed |= is_write;
}

void
platform_io(struct platform *p, unsigned cpu, bool mmio, uint64_t addr,
    void *data, unsigned size, bool write)
{
	current_cpu = cpu;
	bus_dispatch(&p->bus, mmio ? BUS_MMIO : BUS_PIO, addr, data, size,
	    write);
	if (p->timers_changed) {
		p->timers_changed = false;
		pthread_cond_signal(&p->timer_cond);
	}
}

int
platform_pending(struct platform *p, unsigned cpu)
{
	int v = lapic_pending(&p->lapic[cpu]);

	if (v == LAPIC_EXTINT)
		return pic_has_interrupt(&p->pic) ? LAPIC_EXTINT : -1;
	return v;
}

int
platform_ack(struct platform *p, unsigned cpu)
{
	int v = lapic_pending(&p->lapic[cpu]);

	if (v < 0)
		return -1;
	lapic_ack(&p->lapic[cpu], v);
	return v == LAPIC_EXTINT ? pic_ack(&p->pic) : v;
}

unsigned
platform_events(struct platform *p, unsigned cpu, uint8_t *sipi)
{
	return lapic_take_events(&p->lapic[cpu], sipi);
}

/*
 * Input waits until the guest takes it: with its receive interrupt enabled
 * (a driver set up the port), so that a FIFO reset at boot loses nothing.
 */
size_t
platform_console_in(struct platform *p, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	platform_lock(p);
	if (p->uart.ier & UART_IER_RDI)
		done = uart_receive(&p->uart, buf, n);
	platform_unlock(p);
	return done;
}

/* ---- Timers -------------------------------------------------------------- */

static uint64_t
min_deadline(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Advances every timer to now and sleeps until the next deadline. */
static void *
timer_main(void *arg)
{
	struct platform *p = arg;

	platform_lock(p);
	while (p->timer_running) {
		uint64_t now = hw_now(&p->clock), next;
		struct timespec ts;

		pit_advance(&p->pit, now);
		rtc_advance(&p->rtc, now);
		next = min_deadline(pit_next_deadline(&p->pit),
		    rtc_next_deadline(&p->rtc));
		for (unsigned i = 0; i < p->ncpus; i++) {
			if (lapic_advance(&p->lapic[i], now))
				p->ops.kick(p->ops.opaque, i);
			next = min_deadline(next, lapic_next_deadline(&p->lapic[i]));
		}
		if (next == HW_NO_DEADLINE) {
			pthread_cond_wait(&p->timer_cond, &p->lock);
			continue;
		}
		/* The condition variable waits on CLOCK_MONOTONIC, unshifted. */
		next -= (uint64_t)p->clock_shift;
		ts.tv_sec = (time_t)(next / HW_NS_PER_SEC);
		ts.tv_nsec = (long)(next % HW_NS_PER_SEC);
		pthread_cond_timedwait(&p->timer_cond, &p->lock, &ts);
	}
	platform_unlock(p);
	return NULL;
}

/* ---- Set up ------------------------------------------------------------ */

struct range {
	enum bus_space space;
	uint64_t base, len;
	bus_handler *fn;
	size_t dev;	/* offset of the device in struct platform */
};

#define DEV(member) offsetof(struct platform, member)

static const struct range ranges[] = {
	{ BUS_PIO, PC_PORT_PIC_MASTER, 2, pic_master_io, DEV(pic) },
	{ BUS_PIO, PC_PORT_PIC_SLAVE, 2, pic_slave_io, DEV(pic) },
	{ BUS_PIO, PC_PORT_ELCR, 2, pic_elcr_io, DEV(pic) },
	{ BUS_PIO, PC_PORT_PIT, 4, pit_timer_io, 0 },
	{ BUS_PIO, PC_PORT_SYSCTL_B, 1, pit_port61_io, DEV(pit) },
	{ BUS_PIO, PC_PORT_CMOS, 2, rtc_timer_io, 0 },
	{ BUS_PIO, PC_PORT_KBD_DATA, 1, i8042_data_io, DEV(kbc) },
	{ BUS_PIO, PC_PORT_KBD_CMD, 1, i8042_cmd_io, DEV(kbc) },
	{ BUS_PIO, PC_PORT_POST, 1, bus_ignore, 0 },
	{ BUS_PIO, PC_PORT_SYSCTL_A, 1, sysctl_a_io, DEV(sysctl) },
	{ BUS_PIO, PC_PORT_COM1, 8, uart_io, DEV(uart) },
	{ BUS_PIO, PC_PORT_PCI_ADDR, 1, pci_addr_io, DEV(pci) },
	{ BUS_PIO, PC_PORT_RESET, 1, sysctl_reset_io, DEV(sysctl) },
	{ BUS_PIO, PC_PORT_PCI_DATA, 4, pci_data_io, DEV(pci) },
	{ BUS_PIO, PC_PORT_PM1A_EVT, PM_BLOCK_LEN, pm_io, DEV(pm) },
	{ BUS_MMIO, PC_IOAPIC_BASE, PC_IOAPIC_SIZE, ioapic_io, DEV(ioapic) },
	{ BUS_MMIO, PC_LAPIC_BASE, PC_LAPIC_SIZE, lapic_page_io, 0 },
};

int
platform_init(struct platform *p, unsigned ncpus, uint64_t ram_below_4g,
    uint64_t ram_above_4g, const struct platform_ops *ops)
{
	pthread_condattr_t ca;
	int r;

	if (ncpus == 0 || ncpus > PLATFORM_MAX_CPUS)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	p->clock.now = device_ns;
	p->clock.opaque = p;
	p->ops = *ops;
	p->ncpus = ncpus;

	uart_init(&p->uart, isa_irq, PC_IRQ_COM1, uart_tx, p);
	pic_init(&p->pic, pic_intr, p);
	pit_init(&p->pit, &p->clock, isa_irq, PC_IRQ_PIT, p);
	rtc_init(&p->rtc, &p->clock, time(NULL), isa_irq, PC_IRQ_RTC, p);
	rtc_set_memory(&p->rtc, ram_below_4g, ram_above_4g);
	ioapic_init(&p->ioapic, apic_deliver, p);
	pci_host_init(&p->pci);
	i8042_init(&p->kbc, isa_irq, PC_IRQ_KBD, PC_IRQ_MOUSE, request, p);
	pm_init(&p->pm, &p->clock, isa_irq, PC_ACPI_SCI_IRQ, request, p);
	sysctl_init(&p->sysctl, request, p);
	for (unsigned i = 0; i < ncpus; i++) {
		lapic_init(&p->lapic[i], (uint8_t)i, &p->clock, apic_deliver,
		    lapic_eoi, p);
		p->lapics[i] = &p->lapic[i];
	}

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range *rg = &ranges[i];

		r = bus_register(&p->bus, rg->space, rg->base, rg->len, rg->fn,
		    (char *)p + rg->dev);
		if (r < 0) {
			platform_destroy(p);
			return r;
		}
	}
	return 0;
}

int
platform_start(struct platform *p)
{
	int r;

	p->timer_running = true;
	r = pthread_create(&p->timer_thread, NULL, timer_main, p);
	if (r != 0) {
		p->timer_running = false;
		return -r;
	}
	return 0;
}

void
platform_destroy(struct platform *p)
{
	if (p->timer_running) {
		platform_lock(p);
		p->timer_running = false;
		pthread_cond_signal(&p->timer_cond);
		platform_unlock(p);
		pthread_join(p->timer_thread, NULL);
	}
	bus_destroy(&p->bus);
	pthread_cond_destroy(&p->timer_cond);
	pthread_mutex_destroy(&p->lock);
}

/* ---- Snapshots --------------------------------------------------------- */

#define PLATFORM_TAG	HW_TAG('P', 'C', ' ', ' ')
#define NDEVS(p)	(9 + (p)->ncpus)	/* the LAPICs last */

static int
dev_save(struct platform *p, unsigned i, struct hw_blob *b)
{
	switch (i) {
	case 0: return uart_save(&p->uart, b);
	case 1: return pic_save(&p->pic, b);
	case 2: return pit_save(&p->pit, b);
	case 3: return rtc_save(&p->rtc, b);
	case 4: return ioapic_save(&p->ioapic, b);
	case 5: return pci_host_save(&p->pci, b);
	case 6: return i8042_save(&p->kbc, b);
	case 7: return pm_save(&p->pm, b);
	case 8: return sysctl_save(&p->sysctl, b);
	default: return lapic_save(&p->lapic[i - 9], b);
	}
}

static int
dev_load(struct platform *p, unsigned i, struct hw_blob *b)
{
	switch (i) {
	case 0: return uart_load(&p->uart, b);
	case 1: return pic_load(&p->pic, b);
	case 2: return pit_load(&p->pit, b);
	case 3: return rtc_load(&p->rtc, b);
	case 4: return ioapic_load(&p->ioapic, b);
	case 5: return pci_host_load(&p->pci, b);
	case 6: return i8042_load(&p->kbc, b);
	case 7: return pm_load(&p->pm, b);
	case 8: return sysctl_load(&p->sysctl, b);
	default: return lapic_load(&p->lapic[i - 9], b);
	}
}

/* The device time, the CPU count, then each device's record and its length. */
int
platform_save(struct platform *p, struct hw_blob *b)
{
	hw_blob_put_header(b, PLATFORM_TAG, 1);
	hw_put64(b, hw_now(&p->clock));
	hw_put32(b, p->ncpus);
	for (unsigned i = 0; i < NDEVS(p); i++) {
		struct hw_blob rec;
		int r;

		hw_blob_writer(&rec);
		r = dev_save(p, i, &rec);
		hw_put32(b, (uint32_t)rec.len);
		hw_put_bytes(b, rec.buf, rec.len);
		hw_blob_free(&rec);
		if (r < 0)
			return r;
	}
	return hw_blob_saved(b);
}

int
platform_load(struct platform *p, const void *data, size_t len)
{
	struct hw_blob b;
	uint64_t then;
	int r;

	hw_blob_reader(&b, data, len);
	r = hw_blob_get_header(&b, PLATFORM_TAG, 1);
	then = hw_get64(&b);
	if (r == 0 && hw_get32(&b) != p->ncpus)
		r = -EINVAL;
	for (unsigned i = 0; r == 0 && i < NDEVS(p); i++) {
		uint32_t n = hw_get32(&b);
		struct hw_blob rec;

		if (b.short_read || n > b.len - b.pos)
			return -EBADMSG;
		hw_blob_reader(&rec, b.buf + b.pos, n);
		b.pos += n;
		r = dev_load(p, i, &rec);
	}
	if (r == 0)
		r = hw_blob_done(&b, false);
	if (r == 0)
		p->clock_shift = (int64_t)(then - monotonic_ns());
	return r;
}
