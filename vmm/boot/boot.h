/*
 * Booting a guest: the PC memory map (e820), the ACPI tables, the Linux
 * bzImage and ELF/PVH loaders, and the boot CPU's entry state as a neutral
 * description that the VMM turns into VCPU state. Plain C over a host
 * buffer, with no hypervisor in sight, so all of it is unit tested.
 *
 * Errors: functions return 0 or a negative errno, and the loader also
 * writes a one-line message (no newline) into the caller's buffer, if any:
 *	-EINVAL	 bad arguments (RAM too small, CPU count out of range)
 *	-ENOEXEC the kernel image is malformed or of a kind we do not boot
 *	-ENOMEM	 the kernel or the initrd does not fit in guest RAM
 *	-E2BIG	 the command line is longer than the kernel accepts
 * A load never writes outside guest RAM nor reads outside the image,
 * whatever the image says; after a failure guest RAM may be half written.
 */
#ifndef VMM_BOOT_BOOT_H
#define VMM_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM of mem bytes laid out as a PC: guest-physical [0, low), then
 * the rest from PC_HIGH_RAM up, backed by one host buffer in that order.
 * Filled by boot_ram_init.
 */
struct boot_ram {
	uint8_t *host;
	uint64_t mem;
	uint64_t low;		/* min(mem, PC_PCI_HOLE) */
};

/* Everything the loaders place below 1 MiB and a kernel above it. */
#define BOOT_RAM_MIN	(2u << 20)

/* mem must be a multiple of 4 KiB and at least BOOT_RAM_MIN: else -EINVAL. */
int boot_ram_init(struct boot_ram *ram, void *host, uint64_t mem);

/* The host address of guest-physical [gpa, gpa + len), or NULL if not RAM. */
void *boot_gpa(const struct boot_ram *ram, uint64_t gpa, uint64_t len);

/* The memory map, sorted, in the e820 types Linux and PVH share. */
#define BOOT_E820_RAM		1
#define BOOT_E820_RESERVED	2
#define BOOT_E820_ACPI		3
#define BOOT_E820_MAX		8

struct boot_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fills map and returns the number of entries. */
int boot_e820(const struct boot_ram *ram, struct boot_e820 map[BOOT_E820_MAX]);

/* APIC IDs are 8 bits and 0xFF is the broadcast ID. */
#define BOOT_MAX_CPUS	255

/*
 * Writes RSDP, XSDT, RSDT, FADT, FACS, DSDT and MADT (CPUs with APIC IDs
 * 0..ncpus-1) at PC_ACPI_TABLES and sets *rsdp to the RSDP's address.
 */
int boot_acpi(const struct boot_ram *ram, int ncpus, uint64_t *rsdp);

/* A segment register as the CPU caches it; limit in bytes (g applied). */
struct boot_seg {
	uint16_t selector;
	uint64_t base;
	uint32_t limit;
	uint8_t type, s, dpl, p, db, l, g;
};

/*
 * The boot CPU at the kernel's entry point. Other general registers are
 * zero; IDT, debug registers and MSRs other than EFER keep reset values.
 */
struct boot_cpu {
	uint64_t rip, rsp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	struct boot_seg cs, ds, es, ss, fs, gs, tr, ldtr;
};

/*
 * Loads a Linux bzImage (64-bit boot protocol: zero page at PC_ZERO_PAGE,
 * identity page tables) or an ELF kernel with a PVH entry note (32-bit
 * entry, struct hvm_start_info at PC_PVH_START_INFO), with its command line
 * (NULL for none) and initrd (NULL or empty for none), builds the ACPI
 * tables for ncpus CPUs and describes the entry state in *cpu.
 */
int boot_load_linux(const struct boot_ram *ram, const void *kernel,
    size_t kernel_len, const char *cmdline, const void *initrd,
    size_t initrd_len, int ncpus, struct boot_cpu *cpu, char *err,
    size_t errlen);

#endif
