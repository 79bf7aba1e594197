/*
 * The ACPI fixed-hardware PM block (PIIX4-like), one range from
 * PC_PORT_PM1A_EVT: PM1a status and enable, PM1a control, and the 24-bit
 * PM timer at 3.579545 MHz on the injected clock.
 *
 * SCI_EN reads 1 from reset (no SMI command port: always in ACPI mode).
 * Writing SLP_EN with SLP_TYP = PC_ACPI_SLP_TYP_S5 requests power-off;
 * other sleep states are ignored. pm_power_button() raises PWRBTN_STS,
 * which interrupts on the SCI line when enabled. The timer's overflow
 * status (TMR_STS) is not generated.
 */
#ifndef HW_PM_H
#define HW_PM_H

#include "blob.h"
#include "bus.h"
#include "hw.h"
#include "pc.h"

#define PM_TMR_HZ	3579545

/* Offsets in the block. */
#define PM_STS		0
#define PM_EN		2
#define PM_CNT		(PC_PORT_PM1A_CNT - PC_PORT_PM1A_EVT)
#define PM_TMR		(PC_PORT_PM_TMR - PC_PORT_PM1A_EVT)
#define PM_BLOCK_LEN	(PM_TMR + 4)

#define PM_STS_TMR	0x0001
#define PM_STS_PWRBTN	0x0100
#define PM_STS_WAK	0x8000
#define PM_EN_PWRBTN	0x0100
#define PM_CNT_SCI_EN	0x0001

struct pm {
	uint16_t sts, en, cnt;
	const struct hw_clock *clock;
	struct hw_irq sci;
	hw_request_fn *request;
	void *opaque;
};

void pm_init(struct pm *pm, const struct hw_clock *clock, hw_irq_fn *irq,
    int sci_line, hw_request_fn *request, void *opaque);
uint32_t pm_read(struct pm *pm, unsigned offset, unsigned size);
void pm_write(struct pm *pm, unsigned offset, unsigned size, uint32_t val);
bus_handler pm_io;

/* A press of the power button, for a clean guest shutdown. */
void pm_power_button(struct pm *pm);

/* Snapshots: the state, and back into a device from pm_init() (blob.h). */
int pm_save(const struct pm *pm, struct hw_blob *b);
int pm_load(struct pm *pm, struct hw_blob *b);

#endif
