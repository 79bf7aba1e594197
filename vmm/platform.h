/*
 * The PC that nvmm-run emulates: its devices, their wiring (ISA IRQs to the
 * PICs and the I/O APIC, APIC messages to the LAPICs) and the timer thread.
 * It knows nothing of the hypervisor: the machine (machine.c) gives it
 * accesses and asks it for interrupts, and it asks the machine to kick a
 * CPU or to end.
 *
 * One lock guards every device: platform_lock() around any call below
 * that says so, and the timer and console threads take it themselves.
 */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/blob.h"
#include "hw/bus.h"
#include "hw/hw.h"
#include "hw/i8042.h"
#include "hw/ioapic.h"
#include "hw/lapic.h"
#include "hw/pci.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/pm.h"
#include "hw/rtc.h"
#include "hw/sysctl.h"
#include "hw/uart.h"

#define PLATFORM_MAX_CPUS 64

struct platform_ops {
	/* An interrupt or an event is waiting for cpu: make it look. */
	void (*kick)(void *opaque, unsigned cpu);
	/* The guest asked for a reset or a power-off. */
	void (*request)(void *opaque, enum hw_request req);
	/* A byte the guest wrote to its console. */
	void (*console_out)(void *opaque, uint8_t byte);
	void *opaque;
};

struct platform {
	pthread_mutex_t lock;
	pthread_cond_t timer_cond;
	pthread_t timer_thread;
	bool timer_running, timers_changed;
	struct hw_clock clock;
	int64_t clock_shift;	/* device time less CLOCK_MONOTONIC, after a restore */
	struct platform_ops ops;
	unsigned ncpus;

	struct bus bus;
	struct uart uart;
	struct pic pic;
	struct pit pit;
	struct rtc rtc;
	struct ioapic ioapic;
	struct pci_host pci;
	struct i8042 kbc;
	struct pm pm;
	struct sysctl sysctl;
	struct lapic lapic[PLATFORM_MAX_CPUS];
	struct lapic *lapics[PLATFORM_MAX_CPUS];
};

/* 0 or a negative errno. ram_below_4g/above_4g go into the CMOS. */
int platform_init(struct platform *p, unsigned ncpus, uint64_t ram_below_4g,
    uint64_t ram_above_4g, const struct platform_ops *ops);
void platform_destroy(struct platform *p);
int platform_start(struct platform *p);

void platform_lock(struct platform *p);
void platform_unlock(struct platform *p);

/* With the lock: an access by cpu to a port or to physical memory. */
void platform_io(struct platform *p, unsigned cpu, bool mmio, uint64_t addr,
    void *data, unsigned size, bool write);

/* With the lock: the next interrupt vector for cpu, -1 if none. */
int platform_pending(struct platform *p, unsigned cpu);
/* With the lock: takes that interrupt (the INTA cycle), returns its vector. */
int platform_ack(struct platform *p, unsigned cpu);
/* With the lock: LAPIC_EV_* for cpu, and the SIPI vector. */
unsigned platform_events(struct platform *p, unsigned cpu, uint8_t *sipi);

/* Console input: bytes accepted by the UART (its FIFO may be full). */
size_t platform_console_in(struct platform *p, const uint8_t *buf, size_t n);

/*
 * With the lock: every device's state and the device time, for a
 * snapshot (0 or -ENOMEM); and back, before platform_start(), the device
 * clock going on from the time saved (0, -EBADMSG or -EINVAL as blob.h).
 */
int platform_save(struct platform *p, struct hw_blob *b);
int platform_load(struct platform *p, const void *data, size_t len);

#endif
