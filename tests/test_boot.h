/* What the vmm/boot tests share: a guest RAM buffer and loader calls. */
#ifndef TEST_BOOT_H
#define TEST_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../vmm/boot/boot.h"
#include "../vmm/pc.h"
#include "t.h"

#define MiB	(1ull << 20)
#define GiB	(1ull << 30)

/* The guest RAM of the test, fresh and zeroed from ram_new. */
extern struct boot_ram ram;
void ram_new(uint64_t mem);

/* The host address of guest-physical [addr, addr + len): must be RAM. */
uint8_t *gpa(uint64_t addr, uint64_t len);

/* Little-endian fields at any alignment. */
uint64_t rd(const void *p, int size);
void wr(void *p, int size, uint64_t v);

/* A copy of the image in a buffer of its exact size, for ASan. */
void *dup_image(const void *image, size_t len);

/* boot_load_linux must succeed with 2 CPUs. */
void load_ok(const void *kernel, size_t len, const char *cmdline,
    const void *initrd, size_t initrd_len, struct boot_cpu *cpu);

/* boot_load_linux must fail with code and exactly msg. */
void load_fails(const void *kernel, size_t len, const char *cmdline,
    size_t initrd_len, int code, const char *msg);

/* A flat 4 GiB segment with this selector and type. */
void check_flat_seg(const struct boot_seg *s, uint16_t selector,
    uint8_t type, uint8_t db, uint8_t l);

/* The GDT, TR and LDTR every entry state has. */
void check_tables(const struct boot_cpu *cpu, uint64_t code_desc);

/* The boot_e820 map of the test's RAM, as in boot_params or hvm_memmap. */
void check_memmap(const uint8_t *table, int entry_size, int n);

#endif
