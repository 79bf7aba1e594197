/* ACPI PM1a event/control block and PM timer. */
#include "pm.h"

#define STS_BITS	0x8731	/* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK */
#define EN_BITS		0x0721	/* TMR, GBL, PWRBTN, SLPBTN, RTC */
#define CNT_BITS	0x1C07	/* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP */

static void
update_sci(struct pm *pm)
{
	hw_irq_set(&pm->sci, (pm->cnt & PM_CNT_SCI_EN) && (pm->sts & pm->en));
}

void
pm_init(struct pm *pm, const struct hw_clock *clock, hw_irq_fn *irq,
    int sci_line, hw_request_fn *request, void *opaque)
{
	*pm = (struct pm){
		.cnt = PM_CNT_SCI_EN,
		.clock = clock,
		.request = request,
		.opaque = opaque,
	};
	hw_irq_init(&pm->sci, irq, opaque, sci_line);
}

static uint8_t
image_read8(void *img, unsigned offset)
{
	return ((const uint8_t *)img)[offset];
}

/* Read from a snapshot: the timer is sampled once, so a dword cannot tear. */
uint32_t
pm_read(struct pm *pm, unsigned offset, unsigned size)
{
	uint32_t tmr = hw_ns_to_ticks(hw_now(pm->clock), PM_TMR_HZ) & 0xFFFFFF;
	uint8_t img[PM_BLOCK_LEN] = {
		[PM_STS] = pm->sts, [PM_STS + 1] = pm->sts >> 8,
		[PM_EN] = pm->en, [PM_EN + 1] = pm->en >> 8,
		[PM_CNT] = pm->cnt, [PM_CNT + 1] = pm->cnt >> 8,
		[PM_TMR] = tmr, [PM_TMR + 1] = tmr >> 8,
		[PM_TMR + 2] = tmr >> 16,
	};

	return hw_read_bytes(image_read8, img, offset, size, PM_BLOCK_LEN);
}

static void
set_byte(uint16_t *reg, unsigned byte, uint8_t val, uint16_t mask)
{
	unsigned shift = 8 * byte;

	*reg = (*reg & ~(mask & (0xFF << shift))) | ((val << shift) & mask);
}

static void
pm_write8(void *dev, unsigned offset, uint8_t val)
{
	struct pm *pm = dev;
	unsigned byte = offset & 1;

	switch (offset & ~1u) {
	case PM_STS:		/* write 1 to clear */
		pm->sts &= ~((val << (8 * byte)) & STS_BITS);
		break;
	case PM_EN:
		set_byte(&pm->en, byte, val, EN_BITS);
		break;
	case PM_CNT:
		set_byte(&pm->cnt, byte, val, CNT_BITS);
		/* SLP_EN, bit 13, is write-only: it acts and reads as 0. */
		if (byte == 1 && (val & (PC_ACPI_SLP_EN >> 8)) &&
		    ((pm->cnt >> 10) & 7) == PC_ACPI_SLP_TYP_S5 &&
		    pm->request != NULL)
			pm->request(pm->opaque, HW_POWEROFF);
		break;
	}
	update_sci(pm);
}

void
pm_write(struct pm *pm, unsigned offset, unsigned size, uint32_t val)
{
	hw_write_bytes(pm_write8, pm, offset, size, val, PM_BLOCK_LEN);
}

BUS_HANDLER(pm_io, struct pm, pm_read, pm_write)

void
pm_power_button(struct pm *pm)
{
	pm->sts |= PM_STS_PWRBTN;
	update_sci(pm);
}

#define PM_TAG		HW_TAG('P', 'M', ' ', ' ')

int
pm_save(const struct pm *pm, struct hw_blob *b)
{
	hw_blob_put_header(b, PM_TAG, 1);
	hw_put16(b, pm->sts);
	hw_put16(b, pm->en);
	hw_put16(b, pm->cnt);
	hw_put_irq(b, &pm->sci);
	return hw_blob_saved(b);
}

int
pm_load(struct pm *pm, struct hw_blob *b)
{
	struct pm n = *pm;
	int r = hw_blob_get_header(b, PM_TAG, 1);

	if (r < 0)
		return r;
	n.sts = hw_get16(b);
	n.en = hw_get16(b);
	n.cnt = hw_get16(b);
	hw_get_irq(b, &n.sci);
	r = hw_blob_done(b, false);
	if (r == 0)
		*pm = n;
	return r;
}
