/*
 * vmm/boot: the bzImage loader on synthetic images, checked against the
 * offsets of Documentation/arch/x86/boot.rst.
 */
#include "test_boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_SECTS	4
#define SETUP_SIZE	((SETUP_SECTS + 1) * 512)
#define PAYLOAD		0x10000
#define IMAGE_SIZE	(SETUP_SIZE + PAYLOAD)
#define PREF		0x1000000
#define INIT_SIZE	0x800000
#define HDR_END		0x26C		/* a 2.15 header */

/* A 2.15 relocatable 64-bit bzImage whose bytes say where they came from. */
static uint8_t *
bzimage(void)
{
	uint8_t *k = malloc(IMAGE_SIZE);

	T_ASSERT(k != NULL);
	for (int i = 0; i < IMAGE_SIZE; i++)
		k[i] = i * 7 + 1;
	k[0x1F1] = SETUP_SECTS;
	wr(k + 0x1F4, 4, PAYLOAD / 16);		/* syssize */
	wr(k + 0x1FE, 2, 0xAA55);		/* boot_flag */
	k[0x201] = HDR_END - 0x202;		/* jump */
	memcpy(k + 0x202, "HdrS", 4);
	wr(k + 0x206, 2, 0x20F);		/* version */
	k[0x210] = 0;				/* type_of_loader */
	k[0x211] = 0x01;			/* loadflags: LOADED_HIGH */
	wr(k + 0x214, 4, 0x100000);		/* code32_start */
	wr(k + 0x218, 8, 0);			/* ramdisk_image, size */
	wr(k + 0x224, 2, 0);			/* heap_end_ptr */
	wr(k + 0x228, 4, 0);			/* cmd_line_ptr */
	wr(k + 0x22C, 4, 0x7FFFFFFF);		/* initrd_addr_max */
	wr(k + 0x230, 4, 0x200000);		/* kernel_alignment */
	k[0x234] = 1;				/* relocatable_kernel */
	wr(k + 0x236, 2, 0x3);			/* 64-bit, above 4 GiB */
	wr(k + 0x238, 4, 2047);			/* cmdline_size */
	wr(k + 0x23C, 4, 0x12345678);		/* hardware_subarch */
	wr(k + 0x250, 8, 0xDEADBEEF);		/* setup_data: junk */
	wr(k + 0x258, 8, PREF);			/* pref_address */
	wr(k + 0x260, 4, INIT_SIZE);		/* init_size */
	return k;
}

static const uint8_t *
zero_page(void)
{
	return gpa(PC_ZERO_PAGE, 4096);
}

static void
check_loaded_at(const uint8_t *k, uint64_t addr)
{
	T_ASSERT(memcmp(gpa(addr, PAYLOAD), k + SETUP_SIZE, PAYLOAD) == 0);
}

TEST(bz_loads_and_fills_zero_page)
{
	static const char cmdline[] = "console=ttyS0 root=/dev/vda";
	uint8_t *k = bzimage(), initrd[100000];
	const uint8_t *zp;
	struct boot_cpu cpu;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = i ^ (i >> 8);
	ram_new(64 * MiB);
	load_ok(k, IMAGE_SIZE, cmdline, initrd, sizeof(initrd), &cpu);
	check_loaded_at(k, PREF);
	zp = zero_page();

	/* Only the header comes from the image; the rest starts zeroed. */
	for (int i = 0; i < 0x1F1; i++)
		if ((i < 0x70 || i >= 0x78) && i != 0x1E8 && zp[i] != 0)
			t_fail(__FILE__, __LINE__, "zero page byte 0x%x", i);
	for (int i = HDR_END; i < 0x2D0; i++)
		T_EQ(zp[i], 0);
	T_EQ(memcmp(zp + 0x1F1, k + 0x1F1, 0x210 - 0x1F1), 0);
	T_EQ(zp[0x210], 0xFF);			/* type_of_loader */
	T_EQ(zp[0x211], 0x81);			/* + CAN_USE_HEAP */
	T_EQ(rd(zp + 0x212, 2), rd(k + 0x212, 2));
	T_EQ(rd(zp + 0x214, 4), PREF);		/* code32_start */
	T_EQ(rd(zp + 0x218, 4), 0x3FE7000);	/* ramdisk_image */
	T_EQ(rd(zp + 0x21C, 4), sizeof(initrd));
	T_EQ(memcmp(zp + 0x220, k + 0x220, 4), 0);
	T_EQ(rd(zp + 0x224, 2), 0xFE00);	/* heap_end_ptr */
	T_EQ(memcmp(zp + 0x226, k + 0x226, 2), 0);
	T_EQ(rd(zp + 0x228, 4), PC_CMDLINE);
	T_EQ(memcmp(zp + 0x22C, k + 0x22C, 0x23C - 0x22C), 0);
	T_EQ(rd(zp + 0x23C, 4), 0);		/* hardware_subarch */
	T_EQ(rd(zp + 0x240, 8), 0);
	T_EQ(memcmp(zp + 0x248, k + 0x248, 8), 0);
	T_EQ(rd(zp + 0x250, 8), 0);		/* setup_data */
	T_EQ(memcmp(zp + 0x258, k + 0x258, HDR_END - 0x258), 0);
	T_EQ(rd(zp + 0x70, 8), PC_ACPI_TABLES);	/* acpi_rsdp_addr */
	T_EQ(rd(zp + 0xC0, 4), 0);		/* ext_ramdisk_image */
	T_EQ(rd(zp + 0xC4, 4), 0);
	T_EQ(rd(zp + 0xC8, 4), 0);		/* ext_cmd_line_ptr */
	T_EQ(zp[0x1E8], 7);
	check_memmap(zp + 0x2D0, 20, zp[0x1E8]);
	for (int i = 0x2D0 + 20 * 7; i < 0xCD0; i++)
		T_EQ(zp[i], 0);

	T_EQ(memcmp(gpa(PC_CMDLINE, sizeof(cmdline)), cmdline,
	    sizeof(cmdline)), 0);
	T_EQ(memcmp(gpa(0x3FE7000, sizeof(initrd)), initrd, sizeof(initrd)), 0);
	free(k);
}

TEST(bz_entry_state_is_64_bit)
{
	uint8_t *k = bzimage();
	const uint8_t *pml4, *pdpt, *pd;
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	T_EQ(cpu.rip, PREF + 0x200);
	T_EQ(cpu.rsi, PC_ZERO_PAGE);
	T_EQ(cpu.rbx, 0);
	T_EQ(cpu.cr0, 0x80000011);
	T_EQ(cpu.cr3, PC_BOOT_PML4);
	T_EQ(cpu.cr4, 0x20);
	T_EQ(cpu.efer, 0x500);
	check_flat_seg(&cpu.cs, 0x10, 0xB, 0, 1);
	check_tables(&cpu, 0x00AF9B000000FFFF);

	pml4 = gpa(PC_BOOT_PML4, 4096);
	pdpt = gpa(PC_BOOT_PDPT, 4096);
	pd = gpa(PC_BOOT_PD, 4 * 4096);
	T_EQ(rd(pml4, 8), 0xA003);
	for (int i = 1; i < 512; i++)
		T_EQ(rd(pml4 + 8 * i, 8), 0);
	T_EQ(rd(pdpt, 8), 0xB003);
	T_EQ(rd(pdpt + 8, 8), 0xC003);
	T_EQ(rd(pdpt + 16, 8), 0xD003);
	T_EQ(rd(pdpt + 24, 8), 0xE003);
	T_EQ(rd(pdpt + 32, 8), 0);
	for (uint64_t i = 0; i < 2048; i++)
		T_EQ(rd(pd + 8 * i, 8), i << 21 | 0x83);
	T_EQ(*gpa(PC_CMDLINE, 1), 0);		/* no command line */
	T_EQ(rd(zero_page() + 0x218, 8), 0);	/* no initrd */
	free(k);
}

TEST(bz_rsdp_only_from_protocol_2_14)
{
	uint8_t *k = bzimage();
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	wr(k + 0x206, 2, 0x20D);
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	T_EQ(rd(zero_page() + 0x70, 8), 0);
	wr(k + 0x206, 2, 0x20E);
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	T_EQ(rd(zero_page() + 0x70, 8), PC_ACPI_TABLES);
	free(k);
}

TEST(bz_setup_sects_zero_means_four)
{
	uint8_t *k = bzimage();
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	k[0x1F1] = 0;
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	check_loaded_at(k, PREF);
	free(k);
}

TEST(bz_long_header_is_cut_at_boot_params_room)
{
	uint8_t *k = bzimage();
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	k[0x201] = 0xFF;			/* claims 0x301 */
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	T_EQ(memcmp(zero_page() + 0x268, k + 0x268, 0x290 - 0x268), 0);
	for (int i = 0x290; i < 0x2D0; i++)
		T_EQ(zero_page()[i], 0);
	free(k);
}

TEST(bz_relocatable_aligns_pref_address)
{
	uint8_t *k = bzimage();
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	wr(k + 0x258, 8, PREF + 0x1000);
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	check_loaded_at(k, PREF + 0x200000);
	T_EQ(cpu.rip, PREF + 0x200200);
	T_EQ(rd(zero_page() + 0x214, 4), PREF + 0x200000);
	wr(k + 0x258, 8, 0x1000);		/* never below 1 MiB */
	load_ok(k, IMAGE_SIZE, NULL, NULL, 0, &cpu);
	T_EQ(cpu.rip, 0x200200);
	free(k);
}

TEST(bz_fixed_kernel_loads_at_1_mib)
{
	uint8_t *k = bzimage(), initrd[5000] = { 1 };
	struct boot_cpu cpu;

	ram_new(32 * MiB);
	k[0x234] = 0;
	wr(k + 0x22C, 4, PREF + INIT_SIZE + 0x1FFF);	/* initrd max */
	load_ok(k, IMAGE_SIZE, NULL, initrd, sizeof(initrd), &cpu);
	check_loaded_at(k, 0x100000);
	T_EQ(cpu.rip, 0x100200);
	/* The initrd stays clear of where the kernel runs. */
	T_EQ(rd(zero_page() + 0x218, 4), PREF + INIT_SIZE);
	free(k);
}

TEST(bz_initrd_below_initrd_addr_max)
{
	uint8_t *k = bzimage(), initrd[4096] = { 1 };
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	wr(k + 0x22C, 4, 0x1FFFFFF);
	load_ok(k, IMAGE_SIZE, NULL, initrd, sizeof(initrd), &cpu);
	T_EQ(rd(zero_page() + 0x218, 4), 0x1FFF000);
	free(k);
}

TEST(bz_initrd_above_4_gib)
{
	uint64_t size = 9 * MiB + 5;
	uint64_t at = (4 * GiB + 64 * MiB - size) & ~0xFFFull;
	uint8_t *k = bzimage(), *initrd = malloc(size);
	const uint8_t *zp;
	struct boot_cpu cpu;

	T_ASSERT(initrd != NULL);
	memset(initrd, 0x5A, size);
	ram_new(3 * GiB + 64 * MiB);
	/* 8 MiB between the kernel's end and initrd_addr_max: too small. */
	wr(k + 0x22C, 4, PREF + INIT_SIZE + 8 * MiB - 1);
	load_ok(k, IMAGE_SIZE, NULL, initrd, size, &cpu);
	zp = zero_page();
	T_EQ(rd(zp + 0x218, 4), (uint32_t)at);
	T_EQ(rd(zp + 0x21C, 4), size);
	T_EQ(rd(zp + 0xC0, 4), 1);		/* ext_ramdisk_image */
	T_EQ(rd(zp + 0xC4, 4), 0);
	T_EQ(memcmp(gpa(at, size), initrd, size), 0);
	T_EQ(zp[0x1E8], 8);
	check_memmap(zp + 0x2D0, 20, 8);

	wr(k + 0x236, 2, 0x1);			/* not above 4 GiB */
	load_fails(k, IMAGE_SIZE, NULL, size, -ENOMEM,
	    "initrd of 10 MiB does not fit in guest RAM beside the kernel");
	free(initrd);
	free(k);
}

TEST(bz_command_line_limit)
{
	uint8_t *k = bzimage();
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	wr(k + 0x238, 4, 10);
	load_ok(k, IMAGE_SIZE, "0123456789", NULL, 0, &cpu);
	T_EQ(memcmp(gpa(PC_CMDLINE, 11), "0123456789", 11), 0);
	load_fails(k, IMAGE_SIZE, "0123456789A", 0, -E2BIG,
	    "command line is 11 bytes, the kernel takes at most 10");
	free(k);
}

TEST(bz_kernel_too_big_for_ram)
{
	uint8_t *k = bzimage();

	ram_new(16 * MiB);
	wr(k + 0x260, 4, 48 * MiB);
	load_fails(k, IMAGE_SIZE, NULL, 0, -ENOMEM,
	    "kernel needs 64 MiB but guest RAM is 16 MiB");
	free(k);
}

TEST(bz_initrd_too_big_for_ram)
{
	uint8_t *k = bzimage();

	ram_new(32 * MiB);
	load_fails(k, IMAGE_SIZE, NULL, 8 * MiB + 1, -ENOMEM,
	    "initrd of 9 MiB does not fit in guest RAM beside the kernel");
	free(k);
}

/* One malformed header field at a time; each image is of exact size. */
struct bad {
	int off, size;
	uint64_t value;
	int code;
	const char *msg;
};

static const struct bad bad_headers[] = {
	{ 0x202, 4, 0x53726448 + 1, -ENOEXEC, "not a bzImage or ELF kernel" },
	{ 0x206, 2, 0x20A, -ENOEXEC,
	    "bzImage protocol 2.0a too old (need 2.12)" },
	{ 0x206, 2, 0x105, -ENOEXEC,
	    "bzImage protocol 1.05 too old (need 2.12)" },
	{ 0x201, 1, 0x60, -ENOEXEC,
	    "bzImage header length 0x71 is wrong for protocol 2.0f" },
	{ 0x1FE, 2, 0x1234, -ENOEXEC,
	    "bzImage boot flag is 0x1234, not 0xaa55" },
	{ 0x211, 1, 0x80, -ENOEXEC,
	    "zImage kernels (not loaded high) are not supported" },
	{ 0x236, 2, 0x2, -ENOEXEC,
	    "bzImage has no 64-bit entry point (XLF_KERNEL_64)" },
	{ 0x1F1, 1, 255, -ENOEXEC,
	    "bzImage setup of 255 sectors leaves no kernel in the "
	    "68096-byte image" },
	{ 0x1F1, 1, 131, -ENOEXEC,
	    "bzImage setup of 131 sectors leaves no kernel in the "
	    "68096-byte image" },
	{ 0x1F4, 4, PAYLOAD / 16 + 1, -ENOEXEC,
	    "bzImage syssize says 65552 bytes but 65536 follow the setup" },
	{ 0x1F4, 4, 0xFFFFFFFF, -ENOEXEC,
	    "bzImage syssize says 68719476720 bytes but 65536 follow the "
	    "setup" },
	{ 0x1F4, 4, 0, -ENOEXEC,
	    "bzImage syssize says 0 bytes but 65536 follow the setup" },
	{ 0x230, 4, 0x300000, -ENOEXEC,
	    "bzImage kernel_alignment 0x300000 is not a power of two" },
	{ 0x230, 4, 0, -ENOEXEC,
	    "bzImage kernel_alignment 0x0 is not a power of two" },
	{ 0x258, 8, 0xFFFFFFFFFFFFF000, -ENOEXEC,
	    "kernel at 0xffffffffffe00000-0xffffffffffffffff is not in guest "
	    "RAM below 3 GiB" },
	{ 0x258, 8, 0xBFF00000, -ENOEXEC,
	    "kernel at 0xc0000000-0xc0800000 is not in guest RAM below 3 GiB" },
	{ 0x260, 4, 0xFFFFFFFF, -ENOEXEC,
	    "kernel at 0x1000000-0x100ffffff is not in guest RAM below 3 GiB" },
	{ 0x260, 4, 0xB0000000, -ENOMEM,
	    "kernel needs 2832 MiB but guest RAM is 64 MiB" },
};

TEST(bz_malformed_headers)
{
	uint8_t *k = bzimage();

	ram_new(64 * MiB);
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]);
	    i++) {
		const struct bad *b = &bad_headers[i];
		uint8_t *img = dup_image(k, IMAGE_SIZE);

		wr(img + b->off, b->size, b->value);
		load_fails(img, IMAGE_SIZE, NULL, 0, b->code, b->msg);
		free(img);
	}
	free(k);
}

TEST(bz_fixed_kernel_must_run_above_1_mib)
{
	uint8_t *k = bzimage();

	ram_new(64 * MiB);
	k[0x234] = 0;
	wr(k + 0x258, 8, 0x10000);
	load_fails(k, IMAGE_SIZE, NULL, 0, -ENOEXEC,
	    "kernel at 0x10000 would overwrite the boot data below 1 MiB");
	free(k);
}

TEST(bz_truncated_images)
{
	uint8_t *k = bzimage();

	ram_new(64 * MiB);
	for (size_t len = 0; len < 0x206; len += 0x41) {
		uint8_t *img = dup_image(k, len);

		load_fails(img, len, NULL, 0, -ENOEXEC,
		    "not a bzImage or ELF kernel");
		free(img);
	}
	for (size_t len = 0x206; len < 0x268; len++) {
		uint8_t *img = dup_image(k, len);
		char msg[64];

		snprintf(msg, sizeof(msg),
		    "bzImage header is truncated (%zu bytes)", len);
		load_fails(img, len, NULL, 0, -ENOEXEC, msg);
		free(img);
	}
	/* The jump says the header ends past the image. */
	for (size_t len = 0x268; len < HDR_END; len++) {
		uint8_t *img = dup_image(k, len);

		load_fails(img, len, NULL, 0, -ENOEXEC,
		    "bzImage header length 0x7b is wrong for protocol 2.0f");
		free(img);
	}
	free(k);
}

/* Random damage to the setup header: any answer but a crash. */
TEST(bz_random_damage)
{
	uint8_t *k = bzimage();
	unsigned seed = 1;

	ram_new(64 * MiB);
	for (int i = 0; i < 3000; i++) {
		uint8_t *img = dup_image(k, IMAGE_SIZE);
		struct boot_cpu cpu;
		char err[160];

		for (int j = 0; j < 1 + i % 4; j++)
			img[0x1F1 + rand_r(&seed) % (HDR_END - 0x1F1)] =
			    rand_r(&seed);
		boot_load_linux(&ram, img, IMAGE_SIZE, NULL, NULL, 0, 1, &cpu,
		    err, sizeof(err));
		free(img);
	}
	free(k);
}
