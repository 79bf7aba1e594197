/*
 * The machine nvmm-run builds: a minimal PC. Ports, MMIO windows, IRQ
 * lines and the guest-physical layout used at boot. Plain #defines only, so
 * the built-in guest's assembly can include it too.
 */
#ifndef VMM_PC_H
#define VMM_PC_H

/* Legacy ports. */
#define PC_PORT_PIC_MASTER	0x20	/* 0x20-0x21 */
#define PC_PORT_PIT		0x40	/* 0x40-0x43 */
#define PC_PORT_KBD_DATA	0x60
#define PC_PORT_SYSCTL_B	0x61	/* PIT channel 2 gate, speaker */
#define PC_PORT_KBD_CMD		0x64	/* 0xFE written here resets */
#define PC_PORT_CMOS		0x70	/* 0x70-0x71 */
#define PC_CMOS_CENTURY		0x32	/* CMOS index, named in the FADT */
#define PC_PORT_POST		0x80
#define PC_PORT_SYSCTL_A	0x92	/* fast A20 and reset */
#define PC_PORT_PIC_SLAVE	0xA0	/* 0xA0-0xA1 */
#define PC_PORT_ELCR		0x4D0	/* 0x4D0-0x4D1 */
#define PC_PORT_COM1		0x3F8	/* 0x3F8-0x3FF */
#define PC_PORT_PCI_ADDR	0xCF8
#define PC_PORT_PCI_DATA	0xCFC	/* 0xCFC-0xCFF */
#define PC_PORT_RESET		0xCF9	/* 0x06 or 0x0E resets */

/* ACPI fixed hardware (PIIX4-like PM block). */
#define PC_PORT_PM1A_EVT	0x600	/* status (2) + enable (2) */
#define PC_PORT_PM1A_CNT	0x604	/* SLP_TYP bits 12:10, SLP_EN bit 13 */
#define PC_PORT_PM_TMR		0x608	/* 24-bit 3.579545 MHz timer */
#define PC_ACPI_SLP_TYP_S5	5
#define PC_ACPI_SLP_EN		(1 << 13)
#define PC_ACPI_SCI_IRQ		9

/* IRQ lines (ISA numbering; the I/O APIC uses the same pins 0-15). */
#define PC_IRQ_PIT		0
#define PC_IRQ_KBD		1
#define PC_IRQ_CASCADE		2
#define PC_IRQ_COM1		4
#define PC_IRQ_RTC		8
#define PC_IRQ_MOUSE		12	/* i8042 auxiliary port */
#define PC_IOAPIC_PINS		24

/* MMIO windows. */
#define PC_IOAPIC_BASE		0xFEC00000
#define PC_IOAPIC_SIZE		0x1000
#define PC_IOAPIC_ID		0	/* its reset ID, as the MADT reports it */
#define PC_LAPIC_BASE		0xFEE00000
#define PC_LAPIC_SIZE		0x1000
#define PC_PCI_HOLE		0xC0000000	/* RAM above this moves to 4 GiB */
#define PC_HIGH_RAM		0x100000000

/* Guest-physical layout used when loading a kernel. */
#define PC_BOOT_GDT		0x0500
#define PC_PVH_START_INFO	0x6000	/* struct hvm_start_info + memmap */
#define PC_BOOT_STACK		0x6000	/* initial RSP, grows down to the GDT */
#define PC_ZERO_PAGE		0x7000	/* Linux boot_params */
#define PC_AP_TRAMPOLINE	0x8000	/* free for the guest's SIPI code */
#define PC_BOOT_PML4		0x9000	/* identity tables for 64-bit entry */
#define PC_BOOT_PDPT		0xA000
#define PC_BOOT_PD		0xB000	/* four pages: 4 GiB with 2 MiB pages */
#define PC_CMDLINE		0x20000
#define PC_CMDLINE_MAX		0x10000
#define PC_EBDA			0x9FC00
#define PC_LOW_RAM_END		0xA0000	/* 0xA0000-0xFFFFF is reserved */
#define PC_ACPI_TABLES		0xE0000	/* RSDP and tables, 64 KiB */
#define PC_ACPI_TABLES_SIZE	0x10000
#define PC_KERNEL		0x100000

#endif
