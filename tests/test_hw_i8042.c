/* The i8042 keyboard controller with nothing attached. */
#include "t.h"

#include "hw_snap.h"
#include "hw/i8042.h"
#include "pc.h"

static int kbd_level, aux_level, resets;

static void
on_irq(void *opaque, int line, int level)
{
	(void)opaque;
	if (line == PC_IRQ_KBD)
		kbd_level = level;
	if (line == PC_IRQ_MOUSE)
		aux_level = level;
}

static void
on_request(void *opaque, enum hw_request req)
{
	(void)opaque;
	if (req == HW_RESET)
		resets++;
}

static void
setup(struct i8042 *k)
{
	i8042_init(k, on_irq, PC_IRQ_KBD, PC_IRQ_MOUSE, on_request, NULL);
}

static uint8_t
status(struct i8042 *k)
{
	return i8042_cmd_read(k, 0, 1);
}

static void
command(struct i8042 *k, uint8_t cmd)
{
	i8042_cmd_write(k, 0, 1, cmd);
}

static uint8_t
data(struct i8042 *k)
{
	return i8042_data_read(k, 0, 1);
}

TEST(i8042_probe)
{
	struct i8042 k;

	setup(&k);
	/* i8042_flush(): nothing waiting. */
	T_EQ(status(&k), I8042_STR_SYS | I8042_STR_UNLOCKED);
	command(&k, 0xAA);
	T_EQ(status(&k), I8042_STR_OBF | I8042_STR_SYS | I8042_STR_CMD |
	    I8042_STR_UNLOCKED);
	T_EQ(data(&k), 0x55);
	T_EQ(status(&k) & I8042_STR_OBF, 0);
	command(&k, 0x20);
	T_EQ(data(&k), 0x34);
	command(&k, 0x60);
	i8042_data_write(&k, 0, 1, 0x47);
	T_EQ(status(&k), I8042_STR_SYS | I8042_STR_UNLOCKED);
	command(&k, 0x20);
	T_EQ(data(&k), 0x47);
	command(&k, 0xAD);
	command(&k, 0xA7);
	command(&k, 0x20);
	T_EQ(data(&k), 0x77);
	command(&k, 0xAE);
	command(&k, 0xA8);
	command(&k, 0x20);
	T_EQ(data(&k), 0x47);
	command(&k, 0xA9);
	T_EQ(data(&k), 0x01);
	command(&k, 0xAB);
	T_EQ(data(&k), 0x01);
}

TEST(i8042_loopback_and_irqs)
{
	struct i8042 k;

	setup(&k);
	command(&k, 0xD3);
	i8042_data_write(&k, 0, 1, 0x5A);
	T_EQ(status(&k) & (I8042_STR_OBF | I8042_STR_AUXDATA),
	    I8042_STR_OBF | I8042_STR_AUXDATA);
	T_EQ(aux_level, 0);			/* AUXINT off */
	T_EQ(data(&k), 0x5A);
	command(&k, 0x60);
	i8042_data_write(&k, 0, 1, I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	command(&k, 0xD3);
	i8042_data_write(&k, 0, 1, 0xA5);
	T_EQ(aux_level, 1);
	T_EQ(kbd_level, 0);
	T_EQ(data(&k), 0xA5);
	T_EQ(aux_level, 0);
	command(&k, 0xD2);
	i8042_data_write(&k, 0, 1, 0x11);
	T_EQ(kbd_level, 1);
	T_EQ(status(&k) & I8042_STR_AUXDATA, 0);
	T_EQ(data(&k), 0x11);
	T_EQ(kbd_level, 0);
}

TEST(i8042_absent_devices_time_out)
{
	struct i8042 k;

	setup(&k);
	command(&k, 0x60);
	i8042_data_write(&k, 0, 1, I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	i8042_data_write(&k, 0, 1, 0xF2);	/* keyboard: get ID */
	T_EQ(status(&k) & 0x61, I8042_STR_OBF | I8042_STR_TIMEOUT);
	T_EQ(kbd_level, 1);
	T_EQ(data(&k), 0xFF);
	command(&k, 0xD4);
	i8042_data_write(&k, 0, 1, 0xFF);	/* mouse: reset */
	T_EQ(status(&k) & 0x61,
	    I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA);
	T_EQ(aux_level, 1);
	T_EQ(data(&k), 0xFF);
}

TEST(i8042_reset_pulse)
{
	struct i8042 k;
	uint8_t b = 0xFE;

	setup(&k);
	command(&k, 0xFF);			/* pulses nothing */
	T_EQ(resets, 0);
	T_EQ(status(&k) & I8042_STR_IBF, 0);	/* Linux's kb_wait() */
	i8042_cmd_io(&k, 0, &b, 1, true);
	T_EQ(resets, 1);
	command(&k, 0xF0);
	T_EQ(resets, 2);
	i8042_data_io(&k, 0, &b, 1, false);
	T_EQ(b, 0x00);				/* nothing was output yet */
}

TEST(i8042_snapshot_round_trip)
{
	struct i8042 a, b;

	setup(&a);
	command(&a, 0x60);
	i8042_data_write(&a, 0, 1, 0x47);	/* keyboard interrupt on */
	command(&a, 0xD2);			/* as if from the keyboard */
	i8042_data_write(&a, 0, 1, 0x99);
	T_EQ(kbd_level, 1);
	command(&a, 0x60);			/* its data byte comes later */

	setup(&b);
	T_SNAP(i8042, &a, &b);
	T_EQ(status(&b), status(&a));
	T_EQ(data(&b), 0x99);
	T_EQ(kbd_level, 0);
	i8042_data_write(&b, 0, 1, 0x45);
	command(&b, 0x20);
	T_EQ(data(&b), 0x45);
}
