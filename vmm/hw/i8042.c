/* i8042 keyboard controller, no devices attached. */
#include "i8042.h"

static void
update_irq(struct i8042 *k)
{
	bool full = k->status & I8042_STR_OBF;
	bool aux = k->status & I8042_STR_AUXDATA;

	hw_irq_set(&k->kbd_irq, full && !aux && (k->ctr & I8042_CTR_KBDINT));
	hw_irq_set(&k->aux_irq, full && aux && (k->ctr & I8042_CTR_AUXINT));
}

/* FLAGS: I8042_STR_AUXDATA and/or I8042_STR_TIMEOUT. */
static void
output(struct i8042 *k, uint8_t byte, uint8_t flags)
{
	k->out = byte;
	k->status = (k->status & ~(I8042_STR_AUXDATA | I8042_STR_TIMEOUT)) |
	    I8042_STR_OBF | flags;
	update_irq(k);
}

/* A byte for a device that is not there: it times out. */
static void
to_device(struct i8042 *k, bool aux)
{
	output(k, 0xFF, I8042_STR_TIMEOUT | (aux ? I8042_STR_AUXDATA : 0));
}

void
i8042_init(struct i8042 *kbc, hw_irq_fn *irq, int kbd_line, int aux_line,
    hw_request_fn *request, void *opaque)
{
	*kbc = (struct i8042){
		.status = I8042_STR_SYS | I8042_STR_UNLOCKED,
		/* As firmware leaves it: self test passed, ports disabled. */
		.ctr = I8042_CTR_SYS | I8042_CTR_KBDDIS | I8042_CTR_AUXDIS,
		.request = request,
		.opaque = opaque,
	};
	hw_irq_init(&kbc->kbd_irq, irq, opaque, kbd_line);
	hw_irq_init(&kbc->aux_irq, irq, opaque, aux_line);
}

static uint8_t
data_read8(void *dev, unsigned offset)
{
	struct i8042 *k = dev;

	(void)offset;
	k->status &= ~I8042_STR_OBF;
	update_irq(k);
	return k->out;
}

static void
data_write8(void *dev, unsigned offset, uint8_t val)
{
	struct i8042 *k = dev;
	uint8_t cmd = k->pending;

	(void)offset;
	k->status &= ~I8042_STR_CMD;
	k->pending = 0;
	switch (cmd) {
	case 0x60:		/* write the config byte */
		k->ctr = val;
		k->status = (k->status & ~I8042_STR_SYS) |
		    (val & I8042_CTR_SYS);
		update_irq(k);
		break;
	case 0xD2:		/* loop back as keyboard data */
		output(k, val, 0);
		break;
	case 0xD3:		/* loop back as mouse data */
		output(k, val, I8042_STR_AUXDATA);
		break;
	case 0xD4:		/* to the mouse */
		to_device(k, true);
		break;
	default:		/* to the keyboard */
		to_device(k, false);
		break;
	}
}

static uint8_t
cmd_read8(void *dev, unsigned offset)
{
	struct i8042 *k = dev;

	(void)offset;
	return k->status;
}

static void
cmd_write8(void *dev, unsigned offset, uint8_t val)
{
	struct i8042 *k = dev;

	(void)offset;
	k->status |= I8042_STR_CMD;
	k->pending = 0;
	switch (val) {
	case 0x20:		/* read the config byte */
		output(k, k->ctr, 0);
		break;
	case 0x60:
	case 0xD2:
	case 0xD3:
	case 0xD4:
		k->pending = val;
		break;
	case 0xA7:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case 0xA8:
		k->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case 0xA9:		/* port tests: clock line stuck low */
	case 0xAB:
		output(k, 0x01, 0);
		break;
	case 0xAA:		/* controller self test: passed */
		output(k, 0x55, 0);
		break;
	case 0xAD:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case 0xAE:
		k->ctr &= ~I8042_CTR_KBDDIS;
		break;
	default:
		/* 0xF0-0xFF pulse output lines low; bit 0 is CPU reset. */
		if (val >= 0xF0 && !(val & 1) && k->request != NULL)
			k->request(k->opaque, HW_RESET);
		break;
	}
	update_irq(k);
}

uint32_t
i8042_data_read(struct i8042 *kbc, unsigned offset, unsigned size)
{
	return hw_read_bytes(data_read8, kbc, offset, size, 1);
}

void
i8042_data_write(struct i8042 *kbc, unsigned offset, unsigned size,
    uint32_t val)
{
	hw_write_bytes(data_write8, kbc, offset, size, val, 1);
}

uint32_t
i8042_cmd_read(struct i8042 *kbc, unsigned offset, unsigned size)
{
	return hw_read_bytes(cmd_read8, kbc, offset, size, 1);
}

void
i8042_cmd_write(struct i8042 *kbc, unsigned offset, unsigned size,
    uint32_t val)
{
	hw_write_bytes(cmd_write8, kbc, offset, size, val, 1);
}

BUS_HANDLER(i8042_data_io, struct i8042, i8042_data_read, i8042_data_write)
BUS_HANDLER(i8042_cmd_io, struct i8042, i8042_cmd_read, i8042_cmd_write)

#define I8042_TAG	HW_TAG('K', 'B', 'C', ' ')

int
i8042_save(const struct i8042 *kbc, struct hw_blob *b)
{
	hw_blob_put_header(b, I8042_TAG, 1);
	hw_put8(b, kbc->status);
	hw_put8(b, kbc->ctr);
	hw_put8(b, kbc->out);
	hw_put8(b, kbc->pending);
	hw_put_irq(b, &kbc->kbd_irq);
	hw_put_irq(b, &kbc->aux_irq);
	return hw_blob_saved(b);
}

int
i8042_load(struct i8042 *kbc, struct hw_blob *b)
{
	struct i8042 n = *kbc;
	int r = hw_blob_get_header(b, I8042_TAG, 1);

	if (r < 0)
		return r;
	n.status = hw_get8(b);
	n.ctr = hw_get8(b);
	n.out = hw_get8(b);
	n.pending = hw_get8(b);
	hw_get_irq(b, &n.kbd_irq);
	hw_get_irq(b, &n.aux_irq);
	r = hw_blob_done(b, false);
	if (r == 0)
		*kbc = n;
	return r;
}
