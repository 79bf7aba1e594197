/*
 * The Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst). The setup header has the same offsets in the image and in
 * boot_params (the "zero page"), so one set of offsets serves both.
 */
#include "load.h"

#include <errno.h>

#include "../pc.h"

/* Setup header fields. */
#define HDR_START		0x1F1	/* setup_sects, the first field */
#define HDR_SYSSIZE		0x1F4
#define HDR_BOOT_FLAG		0x1FE
#define HDR_JUMP		0x200	/* 2nd byte: header end - 0x202 */
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21C
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22C
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_HARDWARE_SUBARCH	0x23C
#define HDR_SUBARCH_DATA	0x240
#define HDR_SETUP_DATA		0x250
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_2_12		0x268	/* after handover_offset */
#define HDR_END_MAX		0x290	/* the room in boot_params */

/* boot_params fields outside the header. */
#define BP_ACPI_RSDP_ADDR	0x070	/* protocol 2.14 */
#define BP_EXT_RAMDISK_IMAGE	0x0C0
#define BP_EXT_RAMDISK_SIZE	0x0C4
#define BP_E820_ENTRIES		0x1E8
#define BP_E820_TABLE		0x2D0
#define BP_SIZE			0x1000

#define BOOT_FLAG		0xAA55
#define LOADED_HIGH		(1u << 0)
#define CAN_USE_HEAP		(1u << 7)
#define XLF_KERNEL_64		(1u << 0)
#define XLF_ABOVE_4G		(1u << 1)

#define ENTRY_64		0x200	/* from the load address */
/*
 * The real-mode setup code never runs on the 64-bit path; the heap end is
 * that of its 64 KiB segment, a harmless value.
 */
#define HEAP_END		0xFE00

/* Validates the header and returns where it ends in the image. */
static int
check_header(struct boot_load *ld)
{
	const uint8_t *k = ld->image;
	uint16_t version;
	int hdr_end;

	if (ld->len < HDR_MAGIC + 4 || memcmp(k + HDR_MAGIC, "HdrS", 4) != 0)
		return boot_fail(ld, -ENOEXEC, "not a bzImage or ELF kernel");
	if (ld->len < HDR_END_2_12)
		return boot_fail(ld, -ENOEXEC, "bzImage header is truncated "
		    "(%zu bytes)", ld->len);
	version = get16(k + HDR_VERSION);
	if (version < 0x20C)
		return boot_fail(ld, -ENOEXEC, "bzImage protocol %x.%02x too "
		    "old (need 2.12)", version >> 8, version & 0xFF);
	hdr_end = HDR_MAGIC + k[HDR_JUMP + 1];
	if (hdr_end < HDR_END_2_12 || (size_t)hdr_end > ld->len)
		return boot_fail(ld, -ENOEXEC, "bzImage header length 0x%x is "
		    "wrong for protocol %x.%02x", hdr_end - HDR_START,
		    version >> 8, version & 0xFF);
	if (get16(k + HDR_BOOT_FLAG) != BOOT_FLAG)
		return boot_fail(ld, -ENOEXEC, "bzImage boot flag is 0x%04x, "
		    "not 0xaa55", get16(k + HDR_BOOT_FLAG));
	if (!(k[HDR_LOADFLAGS] & LOADED_HIGH))
		return boot_fail(ld, -ENOEXEC, "zImage kernels (not loaded "
		    "high) are not supported");
	if (!(get16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return boot_fail(ld, -ENOEXEC, "bzImage has no 64-bit entry "
		    "point (XLF_KERNEL_64)");
	return hdr_end < HDR_END_MAX ? hdr_end : HDR_END_MAX;
}

static void
fill_zero_page(struct boot_load *ld, uint8_t *zp, int hdr_end,
    uint64_t load, uint64_t initrd_at)
{
	struct boot_e820 map[BOOT_E820_MAX];
	int n = boot_e820(ld->ram, map);

	memset(zp, 0, BP_SIZE);
	memcpy(zp + HDR_START, ld->image + HDR_START, hdr_end - HDR_START);
	zp[HDR_TYPE_OF_LOADER] = 0xFF;
	zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put16(zp + HDR_HEAP_END_PTR, HEAP_END);
	put32(zp + HDR_CODE32_START, load);
	put32(zp + HDR_CMD_LINE_PTR, PC_CMDLINE);
	put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_at);
	put32(zp + HDR_RAMDISK_SIZE, (uint32_t)ld->initrd_len);
	put32(zp + BP_EXT_RAMDISK_IMAGE, initrd_at >> 32);
	put32(zp + BP_EXT_RAMDISK_SIZE, (uint64_t)ld->initrd_len >> 32);
	/* Fields the loader owns: never pass on what the image put there. */
	put32(zp + HDR_HARDWARE_SUBARCH, 0);
	put64(zp + HDR_SUBARCH_DATA, 0);
	put64(zp + HDR_SETUP_DATA, 0);
	if (get16(zp + HDR_VERSION) >= 0x20E)
		put64(zp + BP_ACPI_RSDP_ADDR, ld->rsdp);
	zp[BP_E820_ENTRIES] = n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;

		put64(e, map[i].addr);
		put64(e + 8, map[i].size);
		put32(e + 16, map[i].type);
	}
}

int
boot_load_bzimage(struct boot_load *ld)
{
	const uint8_t *k = ld->image;
	uint64_t setup, payload, load, start, end, initrd_at;
	int hdr_end = check_header(ld), r;
	uint32_t align;

	if (hdr_end < 0)
		return hdr_end;
	setup = ((k[HDR_START] != 0 ? k[HDR_START] : 4) + 1) * 512;
	if (setup + ENTRY_64 >= ld->len)
		return boot_fail(ld, -ENOEXEC, "bzImage setup of %llu sectors "
		    "leaves no kernel in the %zu-byte image",
		    (unsigned long long)setup / 512 - 1, ld->len);
	payload = ld->len - setup;
	/* syssize counts 16-byte paragraphs, the last one maybe partial. */
	if (get32(k + HDR_SYSSIZE) == 0 ||
	    (uint64_t)get32(k + HDR_SYSSIZE) * 16 > payload + 15)
		return boot_fail(ld, -ENOEXEC, "bzImage syssize says %llu "
		    "bytes but %llu follow the setup",
		    (unsigned long long)get32(k + HDR_SYSSIZE) * 16,
		    (unsigned long long)payload);

	/*
	 * A relocatable kernel loads and runs at pref_address, aligned; any
	 * other loads at 1 MiB and moves itself to pref_address. Either way
	 * it needs init_size bytes from where it runs.
	 */
	start = get64(k + HDR_PREF_ADDRESS);
	if (k[HDR_RELOCATABLE]) {
		align = get32(k + HDR_KERNEL_ALIGNMENT);
		if (align == 0 || (align & (align - 1)) != 0)
			return boot_fail(ld, -ENOEXEC, "bzImage "
			    "kernel_alignment 0x%x is not a power of two",
			    align);
		if (start < PC_KERNEL)
			start = PC_KERNEL;
		start = add_sat(start, align - 1) & ~(uint64_t)(align - 1);
		load = start;
	} else {
		load = PC_KERNEL;
	}
	end = add_sat(start, get32(k + HDR_INIT_SIZE));
	if (end < add_sat(load, payload))
		end = add_sat(load, payload);
	if ((r = boot_check_kernel(ld, start < load ? start : load, end)) != 0)
		return r;

	if ((r = boot_put_cmdline(ld, get32(k + HDR_CMDLINE_SIZE))) != 0)
		return r;
	if ((r = boot_put_initrd(ld, end,
	    (uint64_t)get32(k + HDR_INITRD_ADDR_MAX) + 1,
	    get16(k + HDR_XLOADFLAGS) & XLF_ABOVE_4G, &initrd_at)) != 0)
		return r;
	fill_zero_page(ld, boot_gpa(ld->ram, PC_ZERO_PAGE, BP_SIZE), hdr_end,
	    load, initrd_at);
	memcpy(boot_gpa(ld->ram, load, payload), k + setup, payload);
	boot_set_entry(ld, BOOT_ENTRY_LINUX64, load + ENTRY_64);
	return 0;
}
