/* The ACPI PM block. */
#include "t.h"
#include "hw_clock.h"

#include "hw_snap.h"
#include "hw/pm.h"

static int sci_level, sci_line = -1, poweroffs, resets;


static void
on_irq(void *opaque, int line, int level)
{
	(void)opaque;
	sci_line = line;
	sci_level = level;
}

static void
on_request(void *opaque, enum hw_request req)
{
	(void)opaque;
	if (req == HW_POWEROFF)
		poweroffs++;
	else
		resets++;
}

static void
setup(struct pm *pm)
{
	pm_init(pm, &fake_clock, on_irq, PC_ACPI_SCI_IRQ, on_request, NULL);
}

TEST(pm_registers)
{
	struct pm pm;

	setup(&pm);
	T_EQ(pm_read(&pm, PM_STS, 2), 0);
	T_EQ(pm_read(&pm, PM_EN, 2), 0);
	T_EQ(pm_read(&pm, PM_CNT, 2), PM_CNT_SCI_EN);
	pm_write(&pm, PM_EN, 2, 0xFFFF);
	T_EQ(pm_read(&pm, PM_EN, 2), 0x0721);
	T_EQ(pm_read(&pm, PM_STS, 4), 0x07210000);	/* status + enable */
	pm_write(&pm, PM_CNT, 2, 0x0C06);	/* SLP_TYP 3, no SLP_EN */
	T_EQ(pm_read(&pm, PM_CNT, 2), 0x0C06);
	T_EQ(poweroffs, 0);
}

TEST(pm_poweroff)
{
	struct pm pm;

	setup(&pm);
	/* S3 is not supported: ignored. */
	pm_write(&pm, PM_CNT, 2, PC_ACPI_SLP_EN | 3 << 10 | PM_CNT_SCI_EN);
	T_EQ(poweroffs, 0);
	pm_write(&pm, PM_CNT, 2,
	    PC_ACPI_SLP_EN | PC_ACPI_SLP_TYP_S5 << 10 | PM_CNT_SCI_EN);
	T_EQ(poweroffs, 1);
	T_EQ(resets, 0);
	/* SLP_EN reads 0; SLP_TYP stays. */
	T_EQ(pm_read(&pm, PM_CNT, 2), 0x1401);
	/* Through the bus handler, as ACPICA writes it: a 16-bit OUT. */
	uint16_t v = PC_ACPI_SLP_EN | PC_ACPI_SLP_TYP_S5 << 10;
	pm_io(&pm, PM_CNT, &v, 2, true);
	T_EQ(poweroffs, 2);
}

TEST(pm_timer)
{
	struct pm pm;

	setup(&pm);
	now_ns = 1000000000;			/* one second */
	T_EQ(pm_read(&pm, PM_TMR, 4), 3579545);
	now_ns = hw_ticks_to_ns(0x1000000 + 5, PM_TMR_HZ);
	T_EQ(pm_read(&pm, PM_TMR, 4), 5);	/* 24 bits wrap */
	now_ns = hw_ticks_to_ns(0xABCDEF, PM_TMR_HZ);
	T_EQ(pm_read(&pm, PM_TMR + 1, 2), 0xABCD);
	T_EQ(pm_read(&pm, PM_TMR + 3, 1), 0x00);
	pm_write(&pm, PM_TMR, 4, 0);		/* read-only */
	T_EQ(pm_read(&pm, PM_TMR, 4), 0xABCDEF);
}

TEST(pm_power_button_sci)
{
	struct pm pm;

	setup(&pm);
	pm_power_button(&pm);
	T_EQ(pm_read(&pm, PM_STS, 2), PM_STS_PWRBTN);
	T_EQ(sci_level, 0);			/* not enabled */
	pm_write(&pm, PM_EN, 2, PM_EN_PWRBTN);
	T_EQ(sci_level, 1);
	T_EQ(sci_line, PC_ACPI_SCI_IRQ);
	pm_write(&pm, PM_STS, 2, 0x00FF);	/* other bits: no effect */
	T_EQ(sci_level, 1);
	pm_write(&pm, PM_STS, 2, PM_STS_PWRBTN);	/* write 1 to clear */
	T_EQ(pm_read(&pm, PM_STS, 2), 0);
	T_EQ(sci_level, 0);
	/* No SCI while SCI_EN is clear. */
	pm_write(&pm, PM_CNT, 2, 0);
	pm_power_button(&pm);
	T_EQ(sci_level, 0);
	pm_write(&pm, PM_CNT, 2, PM_CNT_SCI_EN);
	T_EQ(sci_level, 1);
}

TEST(pm_snapshot_round_trip)
{
	struct pm a, b;

	setup(&a);
	pm_write(&a, PM_EN, 2, PM_EN_PWRBTN);
	pm_power_button(&a);
	T_EQ(sci_level, 1);

	setup(&b);
	T_SNAP(pm, &a, &b);
	T_EQ(pm_read(&b, PM_STS, 4), pm_read(&a, PM_STS, 4));
	T_EQ(pm_read(&b, PM_CNT, 2), PM_CNT_SCI_EN);
	now_ns = 1000000000;
	T_EQ(pm_read(&b, PM_TMR, 4), pm_read(&a, PM_TMR, 4));
	pm_write(&b, PM_STS, 2, PM_STS_PWRBTN);	/* write 1 to clear */
	T_EQ(sci_level, 0);
}
