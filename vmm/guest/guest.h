/*
 * The built-in guest's own little kernel API: port and MMIO access, the
 * console, interrupts, the ACPI facts it needs and the devices' helpers.
 * Freestanding: no libc, no SSE, nothing the host's emulator dislikes.
 */
#ifndef VMM_GUEST_GUEST_H
#define VMM_GUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../pc.h"

#define GUEST_MAX_CPUS	64

/* Interrupt vectors. */
#define VEC_PIC		0x20	/* 8259 IRQ n at VEC_PIC + n */
#define VEC_IOAPIC	0x30	/* I/O APIC pin n at VEC_IOAPIC + n */
#define VEC_LAPIC_TIMER	0x50
#define VEC_IPI_PING	0x60	/* BSP to AP */
#define VEC_IPI_PONG	0x61	/* the AP's answer */
#define VEC_SPURIOUS	0xFF

static inline void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t
inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t
inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Plain MOVs, so that the VMM's MMIO decoder sees the simplest forms. */
static inline uint32_t
mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void
mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline void
cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

/* STI's one-instruction shadow keeps a wakeup from slipping before HLT. */
static inline void
sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

static inline void
sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

__attribute__((noreturn)) void halt(void);

/* console.c: COM1, polled output, interrupt-driven input. */
void uart_init(void);
void uart_rx_enable(void);	/* once the I/O APIC is in use */
int uart_getc(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* acpi.c: what the guest takes from the firmware tables. */
struct acpi_info {
	uint32_t lapic_base;
	uint32_t ioapic_base;
	unsigned ncpus;
	uint8_t apic_id[GUEST_MAX_CPUS];
	uint32_t isa_gsi[16];		/* ISA IRQ to I/O APIC pin */
	uint16_t isa_flags[16];		/* MPS INTI polarity, trigger */
	uint16_t pm1a_cnt;
	int slp_typ_s5;			/* -1: no _S5 */
	uint8_t century;		/* its CMOS index, or 0 */
};

extern struct acpi_info acpi;

/* Parses the tables from the RSDP (0: scan for it); false if unusable. */
bool acpi_init(uint64_t rsdp);

/* intr.c: IDT, LAPIC, I/O APIC, 8259s. */
typedef void (*irq_handler)(void);

extern volatile unsigned pit_ticks;

void idt_init(void);		/* BSP: fill and load */
void idt_load(void);		/* APs */
void lapic_init(void);
uint8_t lapic_id(void);
uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t v);
void lapic_send_ipi(uint8_t apic_id, uint32_t icr);
void pic_init(uint8_t unmasked_irq, irq_handler h);
void pic_disable(void);
void ioapic_route(unsigned isa_irq, irq_handler h);
void ioapic_mask(unsigned isa_irq);
void set_handler(unsigned vector, irq_handler h);
/* HLTs until *count reaches want; timeout in PIT ticks, 0 for none. */
bool wait_for(volatile unsigned *count, unsigned want, unsigned timeout);

#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3E0
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_MASKED	(1u << 16)
#define LAPIC_TIMER_PERIODIC	(1u << 17)
#define ICR_FIXED		0x000
#define ICR_INIT		0x500
#define ICR_STARTUP		0x600
#define ICR_ASSERT		(1u << 14)
#define ICR_LEVEL		(1u << 15)

/* smp.c */
void smp_start(void);

#endif
