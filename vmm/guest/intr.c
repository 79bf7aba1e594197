/*
 * Interrupts: the IDT and dispatcher, the local APIC, the I/O APIC and the
 * 8259 pair. Vectors map to handlers; the source decides the EOI.
 */
#include "guest.h"

#define LAPIC_ID	0x020
#define LAPIC_EOI	0x0B0
#define LAPIC_SVR	0x0F0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_ENABLE	(1u << 8)
#define LVT_EXTINT	0x700
#define ICR_BUSY	(1u << 12)

#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define REDIR_LOW_ACTIVE (1u << 13)
#define REDIR_LEVEL	(1u << 15)
#define REDIR_MASKED	(1u << 16)
#define INTI_POLARITY_LOW 0x3
#define INTI_TRIGGER_LEVEL 0xC

#define PIC_EOI		0x20

/* What the stubs in start.S push, lowest address first. */
struct intr_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

struct idt_gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t ist;
	uint8_t attr;
	uint16_t offset1;
	uint32_t offset2;
	uint32_t reserved;
} __attribute__((packed));

#define SEL_CODE64	0x10
#define GATE_INTR	0x8E		/* present, DPL 0, interrupt */

extern char isr_stubs[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];

volatile unsigned pit_ticks;

void intr_dispatch(struct intr_frame *f);

void
idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void
idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)isr_stubs + 16 * v;

		idt[v] = (struct idt_gate){ a, SEL_CODE64, 0, GATE_INTR,
		    a >> 16, a >> 32, 0 };
	}
	idt_load();
}

void
set_handler(unsigned vector, irq_handler h)
{
	handlers[vector] = h;
}

void
intr_dispatch(struct intr_frame *f)
{
	unsigned v = f->vector;

	if (v < 32) {
		kprintf("panic: exception %lu error 0x%lx at rip 0x%lx\n",
		    f->vector, f->error, f->rip);
		halt();
	}
	if (v == VEC_SPURIOUS)
		return;			/* spurious: no EOI */
	if (handlers[v] != NULL)
		handlers[v]();
	/* ExtINT interrupts from the 8259s do not touch the LAPIC's ISR. */
	if (v >= VEC_PIC && v < VEC_PIC + 16) {
		if (v >= VEC_PIC + 8)
			outb(PC_PORT_PIC_SLAVE, PIC_EOI);
		outb(PC_PORT_PIC_MASTER, PIC_EOI);
	} else {
		lapic_write(LAPIC_EOI, 0);
	}
}

uint32_t
lapic_read(unsigned reg)
{
	return mmio_read32(acpi.lapic_base + reg);
}

void
lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(acpi.lapic_base + reg, v);
}

uint8_t
lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void
lapic_init(void)
{
	lapic_write(LAPIC_SVR, LAPIC_ENABLE | VEC_SPURIOUS);
}

void
lapic_send_ipi(uint8_t apic_id, uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	for (int i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		;
}

/* Remapped to VEC_PIC, one line open, through LINT0 as ExtINT. */
void
pic_init(uint8_t irq, irq_handler h)
{
	set_handler(VEC_PIC + irq, h);
	outb(PC_PORT_PIC_MASTER, 0x11);		/* ICW1: edge, ICW4 */
	outb(PC_PORT_PIC_SLAVE, 0x11);
	outb(PC_PORT_PIC_MASTER + 1, VEC_PIC);	/* ICW2: vector base */
	outb(PC_PORT_PIC_SLAVE + 1, VEC_PIC + 8);
	outb(PC_PORT_PIC_MASTER + 1, 1 << PC_IRQ_CASCADE);	/* ICW3 */
	outb(PC_PORT_PIC_SLAVE + 1, PC_IRQ_CASCADE);
	outb(PC_PORT_PIC_MASTER + 1, 0x01);	/* ICW4: 8086 mode */
	outb(PC_PORT_PIC_SLAVE + 1, 0x01);
	outb(PC_PORT_PIC_MASTER + 1, (uint8_t)~(1u << irq));	/* OCW1 */
	outb(PC_PORT_PIC_SLAVE + 1, 0xFF);
	lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);
}

/* From here on the I/O APIC delivers everything, as under Linux. */
void
pic_disable(void)
{
	outb(PC_PORT_PIC_MASTER + 1, 0xFF);
	outb(PC_PORT_PIC_SLAVE + 1, 0xFF);
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED | LVT_EXTINT);
}

static void
ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(acpi.ioapic_base + IOAPIC_REGSEL, reg);
	mmio_write32(acpi.ioapic_base + IOAPIC_WIN, v);
}

/* The ISA IRQ's pin, per the MADT's overrides, to this CPU. */
void
ioapic_route(unsigned irq, irq_handler h)
{
	unsigned pin = acpi.isa_gsi[irq];
	uint32_t low = VEC_IOAPIC + pin;

	if ((acpi.isa_flags[irq] & 0x3) == INTI_POLARITY_LOW)
		low |= REDIR_LOW_ACTIVE;
	if ((acpi.isa_flags[irq] & 0xC) == INTI_TRIGGER_LEVEL)
		low |= REDIR_LEVEL;
	set_handler(VEC_IOAPIC + pin, h);
	ioapic_write(IOAPIC_REDIR(pin) + 1, (uint32_t)lapic_id() << 24);
	ioapic_write(IOAPIC_REDIR(pin), low);
}

void
ioapic_mask(unsigned irq)
{
	ioapic_write(IOAPIC_REDIR(acpi.isa_gsi[irq]), REDIR_MASKED);
}

/*
 * Sleeps until *count reaches want or, unless timeout is 0, the PIT has
 * ticked timeout times. Counters only grow, so compare their distance.
 */
bool
wait_for(volatile unsigned *count, unsigned want, unsigned timeout)
{
	unsigned start = pit_ticks;

	for (;;) {
		cli();
		if ((int)(*count - want) >= 0) {
			sti();
			return true;
		}
		if (timeout != 0 && pit_ticks - start >= timeout) {
			sti();
			return false;
		}
		sti_hlt();
	}
}
