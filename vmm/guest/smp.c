/*
 * The other CPUs: INIT, then SIPI to the real-mode trampoline, one AP at a
 * time since they share ap_stack on the way in; then each AP answers one
 * IPI from the BSP.
 */
#include "guest.h"

#define AP_STACK_SIZE	4096

extern char ap_trampoline[], ap_trampoline_end[];

void ap_main(void);

/* The next AP's stack top, which start.S loads into RSP. */
void *ap_stack;

static uint8_t ap_stacks[GUEST_MAX_CPUS][AP_STACK_SIZE]
    __attribute__((aligned(16)));
static volatile unsigned cpus_up = 1, pongs;
static uint8_t bsp_id;

/* On an AP. */
static void
ping(void)
{
	lapic_send_ipi(bsp_id, ICR_FIXED | VEC_IPI_PONG);
}

/* On the BSP. */
static void
pong(void)
{
	pongs++;
}

void
ap_main(void)
{
	idt_load();
	lapic_init();
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	for (;;)
		sti_hlt();
}

static bool
start_ap(uint8_t apic_id, void *stack)
{
	unsigned want = cpus_up + 1;

	ap_stack = stack;
	lapic_send_ipi(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	lapic_send_ipi(apic_id, ICR_INIT | ICR_LEVEL);
	wait_for(&pit_ticks, pit_ticks + 1, 0);		/* 10 ms */
	/* The second SIPI only if the first was lost. */
	for (int i = 0; i < 2; i++) {
		lapic_send_ipi(apic_id, ICR_STARTUP | PC_AP_TRAMPOLINE >> 12);
		if (wait_for(&cpus_up, want, i == 0 ? 2 : 100))
			return true;
	}
	return false;
}

void
smp_start(void)
{
	uint8_t started[GUEST_MAX_CPUS];
	unsigned n = 0, answered = 0;

	bsp_id = lapic_id();
	set_handler(VEC_IPI_PING, ping);
	set_handler(VEC_IPI_PONG, pong);
	for (char *s = ap_trampoline, *d = (char *)PC_AP_TRAMPOLINE;
	    s < ap_trampoline_end;)
		*d++ = *s++;
	for (unsigned i = 0; i < acpi.ncpus; i++) {
		uint8_t id = acpi.apic_id[i];

		if (id == bsp_id)
			continue;
		if (start_ap(id, ap_stacks[i] + AP_STACK_SIZE))
			started[n++] = id;
		else
			kprintf("smp: cpu %u (apic id %u) did not start\n", i,
			    id);
	}
	kprintf("smp: %u cpus up\n", cpus_up);
	/* One at a time: same-vector IPIs would merge in the BSP's IRR. */
	for (unsigned i = 0; i < n; i++) {
		lapic_send_ipi(started[i], ICR_FIXED | VEC_IPI_PING);
		answered += wait_for(&pongs, answered + 1, 100);
	}
	if (answered == n)
		kprintf("ipi: ok\n");
	else
		kprintf("ipi: %u of %u answered\n", answered, n);
}
