/* Guest RAM as the loaders see it, and the memory map that describes it. */
#include "boot.h"

#include <errno.h>

#include "../pc.h"

int
boot_ram_init(struct boot_ram *ram, void *host, uint64_t mem)
{
	if (host == NULL || mem < BOOT_RAM_MIN || mem % 4096 != 0)
		return -EINVAL;
	ram->host = host;
	ram->mem = mem;
	ram->low = mem < PC_PCI_HOLE ? mem : PC_PCI_HOLE;
	return 0;
}

void *
boot_gpa(const struct boot_ram *ram, uint64_t gpa, uint64_t len)
{
	uint64_t high = ram->mem - ram->low;

	if (gpa <= ram->low && len <= ram->low - gpa)
		return ram->host + gpa;
	if (gpa >= PC_HIGH_RAM && gpa - PC_HIGH_RAM <= high &&
	    len <= high - (gpa - PC_HIGH_RAM))
		return ram->host + ram->low + (gpa - PC_HIGH_RAM);
	return NULL;
}

int
boot_e820(const struct boot_ram *ram, struct boot_e820 map[BOOT_E820_MAX])
{
	const uint64_t acpi_end = PC_ACPI_TABLES + PC_ACPI_TABLES_SIZE;
	int n = 0;

	/* The EBDA and the BIOS areas stay reserved, as on a real PC. */
	map[n++] = (struct boot_e820){ 0, PC_EBDA, BOOT_E820_RAM };
	map[n++] = (struct boot_e820){ PC_EBDA, PC_ACPI_TABLES - PC_EBDA,
	    BOOT_E820_RESERVED };
	map[n++] = (struct boot_e820){ PC_ACPI_TABLES, PC_ACPI_TABLES_SIZE,
	    BOOT_E820_ACPI };
	map[n++] = (struct boot_e820){ acpi_end, PC_KERNEL - acpi_end,
	    BOOT_E820_RESERVED };
	map[n++] = (struct boot_e820){ PC_KERNEL, ram->low - PC_KERNEL,
	    BOOT_E820_RAM };
	map[n++] = (struct boot_e820){ PC_IOAPIC_BASE, PC_IOAPIC_SIZE,
	    BOOT_E820_RESERVED };
	map[n++] = (struct boot_e820){ PC_LAPIC_BASE, PC_LAPIC_SIZE,
	    BOOT_E820_RESERVED };
	if (ram->mem > ram->low)
		map[n++] = (struct boot_e820){ PC_HIGH_RAM,
		    ram->mem - ram->low, BOOT_E820_RAM };
	return n;
}
