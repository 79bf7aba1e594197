/* System control port A and the reset control register. */
#include "sysctl.h"

static void
reset(struct sysctl *s)
{
	if (s->request != NULL)
		s->request(s->opaque, HW_RESET);
}

void
sysctl_init(struct sysctl *s, hw_request_fn *request, void *opaque)
{
	/* A20 is on: nvmm-run starts guests past real-mode firmware. */
	*s = (struct sysctl){
		.port_a = SYSCTL_A_A20,
		.request = request,
		.opaque = opaque,
	};
}

static uint8_t
a_read8(void *dev, unsigned offset)
{
	struct sysctl *s = dev;

	(void)offset;
	return s->port_a;
}

/* Fast reset fires on a 0 to 1 transition of bit 0. */
static void
a_write8(void *dev, unsigned offset, uint8_t val)
{
	struct sysctl *s = dev;
	uint8_t old = s->port_a;

	(void)offset;
	s->port_a = val & (SYSCTL_A_RESET | SYSCTL_A_A20);
	if (val & ~old & SYSCTL_A_RESET)
		reset(s);
}

static uint8_t
reset_read8(void *dev, unsigned offset)
{
	struct sysctl *s = dev;

	(void)offset;
	return s->reset_ctl;
}

/* Linux writes 0x02 (hard reset type), then 0x06 to trigger it. */
static void
reset_write8(void *dev, unsigned offset, uint8_t val)
{
	struct sysctl *s = dev;

	(void)offset;
	s->reset_ctl = val & 0x0A;	/* bit 2 acts and self-clears */
	if (val & RESET_CTL_CPU)
		reset(s);
}

uint32_t
sysctl_a_read(struct sysctl *s, unsigned offset, unsigned size)
{
	return hw_read_bytes(a_read8, s, offset, size, 1);
}

void
sysctl_a_write(struct sysctl *s, unsigned offset, unsigned size, uint32_t val)
{
	hw_write_bytes(a_write8, s, offset, size, val, 1);
}

uint32_t
sysctl_reset_read(struct sysctl *s, unsigned offset, unsigned size)
{
	return hw_read_bytes(reset_read8, s, offset, size, 1);
}

void
sysctl_reset_write(struct sysctl *s, unsigned offset, unsigned size,
    uint32_t val)
{
	hw_write_bytes(reset_write8, s, offset, size, val, 1);
}

BUS_HANDLER(sysctl_a_io, struct sysctl, sysctl_a_read, sysctl_a_write)
BUS_HANDLER(sysctl_reset_io, struct sysctl, sysctl_reset_read,
    sysctl_reset_write)

#define SYSCTL_TAG	HW_TAG('S', 'Y', 'S', 'C')

int
sysctl_save(const struct sysctl *s, struct hw_blob *b)
{
	hw_blob_put_header(b, SYSCTL_TAG, 1);
	hw_put8(b, s->port_a);
	hw_put8(b, s->reset_ctl);
	return hw_blob_saved(b);
}

int
sysctl_load(struct sysctl *s, struct hw_blob *b)
{
	struct sysctl n = *s;
	int r = hw_blob_get_header(b, SYSCTL_TAG, 1);

	if (r < 0)
		return r;
	n.port_a = hw_get8(b);
	n.reset_ctl = hw_get8(b);
	r = hw_blob_done(b, false);
	if (r == 0)
		*s = n;
	return r;
}
