/*
 * What the kernel loaders share: one load in progress and the steps every
 * boot protocol takes. Internal to vmm/boot.
 */
#ifndef VMM_BOOT_LOAD_H
#define VMM_BOOT_LOAD_H

#include "boot.h"

#include <stdbool.h>
#include <string.h>

struct boot_load {
	const struct boot_ram *ram;
	const uint8_t *image;
	size_t len;
	const char *cmdline;
	const uint8_t *initrd;
	size_t initrd_len;
	uint64_t rsdp;
	struct boot_cpu *cpu;
	char *err;
	size_t errlen;
};

enum boot_entry {
	BOOT_ENTRY_PVH32,	/* 32-bit, no paging, EBX: start info */
	BOOT_ENTRY_LINUX64,	/* long mode, identity map, RSI: zero page */
};

void boot_msg(struct boot_load *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes the message and yields code, a constant the compiler can see. */
#define boot_fail(ld, code, ...)	(boot_msg((ld), __VA_ARGS__), (code))

/*
 * A kernel, or one of its segments, takes guest-physical [start, end): it
 * must lie in low RAM at or above PC_KERNEL, clear of the boot data.
 */
int boot_check_kernel(struct boot_load *ld, uint64_t start, uint64_t end);

/* Copies the command line to PC_CMDLINE; max is the kernel's limit. */
int boot_put_cmdline(struct boot_load *ld, uint64_t max);

/*
 * Copies the initrd, if any, page-aligned and as high as it goes in low
 * RAM below limit and above kernel_end, else (if high_ok) at the top of
 * high RAM. *addr is 0 without an initrd.
 */
int boot_put_initrd(struct boot_load *ld, uint64_t kernel_end,
    uint64_t limit, bool high_ok, uint64_t *addr);

/* Writes the GDT (and page tables for long mode) and fills *ld->cpu. */
void boot_set_entry(struct boot_load *ld, enum boot_entry mode, uint64_t rip);

int boot_load_bzimage(struct boot_load *ld);
int boot_load_elf(struct boot_load *ld);

/* Little-endian fields at any alignment, in the image or in guest RAM. */
static inline uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* a + b, or UINT64_MAX where it would wrap: hostile sizes stay out of RAM. */
static inline uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Bytes in MiB, rounded up, for messages. */
static inline unsigned long long
mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20) + ((bytes & 0xFFFFF) != 0);
}

#endif
