/* Reset ports 0x92 and 0xCF9. */
#include "t.h"

#include "hw_snap.h"
#include "hw/sysctl.h"

static int resets;

static void
on_request(void *opaque, enum hw_request req)
{
	(void)opaque;
	if (req == HW_RESET)
		resets++;
}

TEST(sysctl_port_a)
{
	struct sysctl s;

	sysctl_init(&s, on_request, NULL);
	T_EQ(sysctl_a_read(&s, 0, 1), SYSCTL_A_A20);
	sysctl_a_write(&s, 0, 1, 0x00);
	T_EQ(sysctl_a_read(&s, 0, 1), 0x00);
	T_EQ(resets, 0);
	sysctl_a_write(&s, 0, 1, 0xFF);
	T_EQ(resets, 1);
	T_EQ(sysctl_a_read(&s, 0, 1), 0x03);
	sysctl_a_write(&s, 0, 1, 0x03);		/* no new 0 to 1 edge */
	T_EQ(resets, 1);
}

TEST(sysctl_reset_control)
{
	struct sysctl s;
	uint8_t cf9;

	sysctl_init(&s, on_request, NULL);
	/* Linux's reboot=pci sequence. */
	cf9 = sysctl_reset_read(&s, 0, 1) & ~0x06;
	sysctl_reset_write(&s, 0, 1, cf9 | 0x02);
	T_EQ(resets, 0);
	T_EQ(sysctl_reset_read(&s, 0, 1), 0x02);
	sysctl_reset_write(&s, 0, 1, cf9 | 0x06);
	T_EQ(resets, 1);
	T_EQ(sysctl_reset_read(&s, 0, 1), 0x02);
	cf9 = 0x0E;
	sysctl_reset_io(&s, 0, &cf9, 1, true);
	T_EQ(resets, 2);
	sysctl_reset_io(&s, 0, &cf9, 1, false);
	T_EQ(cf9, 0x0A);
}

TEST(sysctl_snapshot_round_trip)
{
	struct sysctl a, b;

	sysctl_init(&a, on_request, NULL);
	sysctl_a_write(&a, 0, 1, 0x00);		/* A20 off */
	sysctl_reset_write(&a, 0, 1, 0x02);

	sysctl_init(&b, on_request, NULL);
	T_SNAP(sysctl, &a, &b);
	T_EQ(sysctl_a_read(&b, 0, 1), 0x00);
	T_EQ(sysctl_reset_read(&b, 0, 1), sysctl_reset_read(&a, 0, 1));
	sysctl_reset_write(&b, 0, 1, 0x02 | RESET_CTL_CPU);
	T_EQ(resets, 1);
}
