/*
 * A minimal i8042 keyboard controller (0x60 data, 0x64 status/command)
 * with no keyboard or mouse attached.
 *
 * It answers the controller commands Linux's i8042 driver uses (config
 * byte, self tests, port enables, loopback), so the probe finds a working
 * controller; bytes sent to the absent devices come back as 0xFF with the
 * timeout bit, so drivers give up at once. 0xFE (pulse the reset line)
 * asks the machine to reset.
 */
#ifndef HW_I8042_H
#define HW_I8042_H

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define I8042_STR_OBF		0x01
#define I8042_STR_IBF		0x02
#define I8042_STR_SYS		0x04
#define I8042_STR_CMD		0x08	/* the last write was a command */
#define I8042_STR_UNLOCKED	0x10
#define I8042_STR_AUXDATA	0x20
#define I8042_STR_TIMEOUT	0x40

#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

struct i8042 {
	uint8_t status, ctr, out;
	uint8_t pending;	/* a command awaiting its data byte, or 0 */
	struct hw_irq kbd_irq, aux_irq;
	hw_request_fn *request;
	void *opaque;
};

void i8042_init(struct i8042 *kbc, hw_irq_fn *irq, int kbd_line,
    int aux_line, hw_request_fn *request, void *opaque);
uint32_t i8042_data_read(struct i8042 *kbc, unsigned offset, unsigned size);
void i8042_data_write(struct i8042 *kbc, unsigned offset, unsigned size,
    uint32_t val);
uint32_t i8042_cmd_read(struct i8042 *kbc, unsigned offset, unsigned size);
void i8042_cmd_write(struct i8042 *kbc, unsigned offset, unsigned size,
    uint32_t val);
bus_handler i8042_data_io, i8042_cmd_io;

/* Snapshots: the state, and back into a device from i8042_init() (blob.h). */
int i8042_save(const struct i8042 *kbc, struct hw_blob *b);
int i8042_load(struct i8042 *kbc, struct hw_blob *b);

#endif
