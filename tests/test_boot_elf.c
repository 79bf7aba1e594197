/*
 * vmm/boot: ELF kernels through the PVH entry, on synthetic ELF32 and
 * ELF64 images, and the hvm_start_info they get.
 */
#include "test_boot.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Image layout: headers, notes, text, data. */
#define NOTE_OFF	0x100
#define TEXT_OFF	0x200
#define TEXT_SIZE	0x300
#define DATA_OFF	0x500
#define DATA_SIZE	0x100
#define IMAGE_LEN	0x600
#define TEXT_PA		0x100000
#define TEXT_MEMSZ	0x1000		/* the rest is bss */
#define DATA_PA		0x200000
#define ENTRY		0x100040
#define XEN_NOTE_OFF	(NOTE_OFF + 24)	/* after a GNU note */

static size_t
put_note(uint8_t *p, const char *name, uint32_t type, uint64_t value,
    uint32_t size, unsigned align)
{
	uint32_t namesz = strlen(name) + 1;
	size_t desc = (12 + namesz + align - 1) & ~(align - 1);

	wr(p, 4, namesz);
	wr(p + 4, 4, size);
	wr(p + 8, 4, type);
	memcpy(p + 12, name, namesz);
	wr(p + desc, size, value);
	return (desc + size + align - 1) & ~(align - 1);
}

static void
phdr(uint8_t *k, bool is64, int i, uint32_t type, uint64_t off,
    uint64_t pa, uint64_t filesz, uint64_t memsz, uint64_t align)
{
	if (is64) {
		Elf64_Phdr *p = (Elf64_Phdr *)(k + sizeof(Elf64_Ehdr)) + i;

		*p = (Elf64_Phdr){ .p_type = type, .p_offset = off,
		    .p_vaddr = pa, .p_paddr = pa, .p_filesz = filesz,
		    .p_memsz = memsz, .p_align = align };
	} else {
		Elf32_Phdr *p = (Elf32_Phdr *)(k + sizeof(Elf32_Ehdr)) + i;

		*p = (Elf32_Phdr){ .p_type = type, .p_offset = off,
		    .p_vaddr = pa, .p_paddr = pa, .p_filesz = filesz,
		    .p_memsz = memsz, .p_align = align };
	}
}

/*
 * Text and bss, data, and a PT_NOTE holding a GNU note and the PVH note
 * with a value of value_size bytes, notes aligned to note_align.
 */
static uint8_t *
elf(bool is64, uint32_t value_size, unsigned note_align)
{
	uint8_t *k = calloc(1, IMAGE_LEN);
	size_t notes;

	T_ASSERT(k != NULL);
	memcpy(k, ELFMAG, SELFMAG);
	k[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	k[EI_DATA] = ELFDATA2LSB;
	k[EI_VERSION] = EV_CURRENT;
	if (is64) {
		Elf64_Ehdr *e = (Elf64_Ehdr *)k;

		e->e_type = ET_EXEC;
		e->e_machine = EM_X86_64;
		e->e_version = EV_CURRENT;
		e->e_entry = ENTRY;
		e->e_phoff = sizeof(*e);
		e->e_ehsize = sizeof(*e);
		e->e_phentsize = sizeof(Elf64_Phdr);
		e->e_phnum = 3;
	} else {
		Elf32_Ehdr *e = (Elf32_Ehdr *)k;

		e->e_type = ET_EXEC;
		e->e_machine = EM_386;
		e->e_version = EV_CURRENT;
		e->e_entry = ENTRY;
		e->e_phoff = sizeof(*e);
		e->e_ehsize = sizeof(*e);
		e->e_phentsize = sizeof(Elf32_Phdr);
		e->e_phnum = 3;
	}
	notes = put_note(k + NOTE_OFF, "GNU", 3, 0x0123456789ABCDEF, 8,
	    note_align);
	notes += put_note(k + NOTE_OFF + notes, "Xen", 18, ENTRY, value_size,
	    note_align);
	phdr(k, is64, 0, PT_LOAD, TEXT_OFF, TEXT_PA, TEXT_SIZE, TEXT_MEMSZ,
	    0x1000);
	phdr(k, is64, 1, PT_LOAD, DATA_OFF, DATA_PA, DATA_SIZE, DATA_SIZE,
	    0x1000);
	phdr(k, is64, 2, PT_NOTE, NOTE_OFF, 0, notes, notes, note_align);
	for (int i = TEXT_OFF; i < IMAGE_LEN; i++)
		k[i] = i * 13 + 5;
	return k;
}

static void
check_loaded(const uint8_t *k)
{
	const uint8_t *text = gpa(TEXT_PA, TEXT_MEMSZ);

	T_EQ(memcmp(text, k + TEXT_OFF, TEXT_SIZE), 0);
	for (int i = TEXT_SIZE; i < TEXT_MEMSZ; i++)
		T_EQ(text[i], 0);
	T_EQ(memcmp(gpa(DATA_PA, DATA_SIZE), k + DATA_OFF, DATA_SIZE), 0);
}

static void
check_pvh_entry(const struct boot_cpu *cpu)
{
	T_EQ(cpu->rip, ENTRY);
	T_EQ(cpu->rbx, PC_PVH_START_INFO);
	T_EQ(cpu->rsi, 0);
	T_EQ(cpu->cr0, 0x11);			/* PE, ET */
	T_EQ(cpu->cr3, 0);
	T_EQ(cpu->cr4, 0);
	T_EQ(cpu->efer, 0);
	check_flat_seg(&cpu->cs, 0x10, 0xB, 1, 0);
	check_tables(cpu, 0x00CF9B000000FFFF);
}

TEST(elf64_loads_with_start_info)
{
	static const char cmdline[] = "console=ttyS0 smp=2";
	uint8_t *k = elf(true, 8, 4);
	const uint8_t *si;
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	memset(ram.host, 0xAA, 64 * MiB);	/* bss must come out zeroed */
	load_ok(k, IMAGE_LEN, cmdline, NULL, 0, &cpu);
	check_loaded(k);
	check_pvh_entry(&cpu);

	si = gpa(PC_PVH_START_INFO, 56);
	T_EQ(rd(si, 4), 0x336ec578);		/* magic */
	T_EQ(rd(si + 4, 4), 1);			/* version */
	T_EQ(rd(si + 8, 4), 0);			/* flags */
	T_EQ(rd(si + 12, 4), 0);		/* nr_modules */
	T_EQ(rd(si + 16, 8), 0);		/* modlist_paddr */
	T_EQ(rd(si + 24, 8), PC_CMDLINE);
	T_EQ(rd(si + 32, 8), PC_ACPI_TABLES);	/* rsdp_paddr */
	T_EQ(rd(si + 40, 8), PC_PVH_START_INFO + 0x80);	/* memmap */
	T_EQ(rd(si + 48, 4), 7);		/* memmap_entries */
	T_EQ(rd(si + 52, 4), 0);
	check_memmap(gpa(PC_PVH_START_INFO + 0x80, 7 * 24), 24, 7);
	for (int i = 0; i < 7; i++)
		T_EQ(rd(gpa(PC_PVH_START_INFO + 0x80 + 24 * i + 20, 4), 4), 0);
	T_EQ(memcmp(gpa(PC_CMDLINE, sizeof(cmdline)), cmdline,
	    sizeof(cmdline)), 0);
	T_EQ(memcmp(gpa(PC_ACPI_TABLES, 8), "RSD PTR ", 8), 0);
	free(k);
}

TEST(elf64_initrd_is_a_module)
{
	uint8_t *k = elf(true, 8, 4), initrd[12345];
	uint64_t at = (64 * MiB - sizeof(initrd)) & ~0xFFFull;
	const uint8_t *si, *mod;
	struct boot_cpu cpu;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = i * 3;
	ram_new(64 * MiB);
	load_ok(k, IMAGE_LEN, NULL, initrd, sizeof(initrd), &cpu);
	si = gpa(PC_PVH_START_INFO, 56);
	T_EQ(rd(si + 12, 4), 1);
	T_EQ(rd(si + 16, 8), PC_PVH_START_INFO + 0x40);
	mod = gpa(PC_PVH_START_INFO + 0x40, 32);
	T_EQ(rd(mod, 8), at);
	T_EQ(rd(mod + 8, 8), sizeof(initrd));
	T_EQ(rd(mod + 16, 8), 0);
	T_EQ(rd(mod + 24, 8), 0);
	T_EQ(memcmp(gpa(at, sizeof(initrd)), initrd, sizeof(initrd)), 0);
	T_EQ(*gpa(PC_CMDLINE, 1), 0);
	free(k);
}

TEST(elf32_loads)
{
	uint8_t *k = elf(false, 4, 4);
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	load_ok(k, IMAGE_LEN, NULL, NULL, 0, &cpu);
	check_loaded(k);
	check_pvh_entry(&cpu);
	free(k);
}

TEST(elf64_note_with_32_bit_value)
{
	uint8_t *k = elf(true, 4, 4);
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	load_ok(k, IMAGE_LEN, NULL, NULL, 0, &cpu);
	check_pvh_entry(&cpu);
	free(k);
}

TEST(elf64_notes_aligned_to_8)
{
	uint8_t *k = elf(true, 8, 8);
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	load_ok(k, IMAGE_LEN, NULL, NULL, 0, &cpu);
	check_pvh_entry(&cpu);
	free(k);
}

TEST(elf_command_line_limit)
{
	char *cmdline = malloc(PC_CMDLINE_MAX + 1);
	uint8_t *k = elf(true, 8, 4);
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	memset(cmdline, 'x', PC_CMDLINE_MAX);
	cmdline[PC_CMDLINE_MAX] = 0;
	load_fails(k, IMAGE_LEN, cmdline, 0, -E2BIG,
	    "command line is 65536 bytes, the kernel takes at most 65535");
	cmdline[PC_CMDLINE_MAX - 1] = 0;
	load_ok(k, IMAGE_LEN, cmdline, NULL, 0, &cpu);
	T_EQ(*gpa(PC_CMDLINE + PC_CMDLINE_MAX - 2, 2), 'x');
	T_EQ(*gpa(PC_CMDLINE + PC_CMDLINE_MAX - 1, 1), 0);
	free(cmdline);
	free(k);
}

TEST(elf_initrd_too_big)
{
	uint8_t *k = elf(true, 8, 4);

	ram_new(4 * MiB);
	load_fails(k, IMAGE_LEN, NULL, 2 * MiB, -ENOMEM,
	    "initrd of 2 MiB does not fit in guest RAM beside the kernel");
	free(k);
}

TEST(elf_no_loadable_segment)
{
	uint8_t *k = elf(true, 8, 4);

	ram_new(64 * MiB);
	wr(k + 64, 4, PT_NULL);
	wr(k + 64 + 56, 4, PT_NULL);
	load_fails(k, IMAGE_LEN, NULL, 0, -ENOEXEC,
	    "ELF has no loadable segment");
	free(k);
}

/* Offsets in the ELF64 image. */
#define PH(i)	(64 + 56 * (i))
#define PH_OFFSET	8
#define PH_PADDR	24
#define PH_FILESZ	32
#define PH_MEMSZ	40

struct bad {
	int off, size;
	uint64_t value;
	int code;
	const char *msg;
};

static const struct bad bad_elves[] = {
	{ EI_DATA, 1, ELFDATA2MSB, -ENOEXEC,
	    "ELF is not a little-endian ELF32 or ELF64 file" },
	{ EI_CLASS, 1, 3, -ENOEXEC,
	    "ELF is not a little-endian ELF32 or ELF64 file" },
	{ EI_VERSION, 1, 0, -ENOEXEC,
	    "ELF is not a little-endian ELF32 or ELF64 file" },
	{ 16, 2, ET_DYN, -ENOEXEC, "ELF type 3 is not an executable" },
	{ 18, 2, EM_ARM, -ENOEXEC, "ELF machine 40 is not x86" },
	{ 18, 2, EM_386, -ENOEXEC, "ELF machine 3 is not x86" },
	{ 54, 2, 32, -ENOEXEC, "ELF program header size 32 is wrong" },
	{ 56, 2, 0, -ENOEXEC, "ELF has no program headers" },
	{ 56, 2, 0xFFFF, -ENOEXEC,
	    "ELF program headers are outside the image" },
	{ 32, 8, IMAGE_LEN - 56, -ENOEXEC,
	    "ELF program headers are outside the image" },
	{ 32, 8, UINT64_MAX, -ENOEXEC,
	    "ELF program headers are outside the image" },
	{ PH(0) + PH_FILESZ, 8, TEXT_MEMSZ + 1, -ENOEXEC,
	    "ELF segment 0 has more file than memory bytes" },
	{ PH(0) + PH_OFFSET, 8, IMAGE_LEN - TEXT_SIZE + 1, -ENOEXEC,
	    "ELF segment 0 is outside the image" },
	{ PH(0) + PH_OFFSET, 8, UINT64_MAX, -ENOEXEC,
	    "ELF segment 0 is outside the image" },
	{ PH(0) + PH_PADDR, 8, 0x8000, -ENOEXEC,
	    "kernel at 0x8000 would overwrite the boot data below 1 MiB" },
	{ PH(1) + PH_PADDR, 8, 64 * MiB - 0x80, -ENOMEM,
	    "kernel needs 65 MiB but guest RAM is 64 MiB" },
	{ PH(1) + PH_PADDR, 8, 4 * GiB, -ENOEXEC,
	    "kernel at 0x100000000-0x100000100 is not in guest RAM below "
	    "3 GiB" },
	{ PH(1) + PH_PADDR, 8, UINT64_MAX - 0x7F, -ENOEXEC,
	    "kernel at 0xffffffffffffff80-0xffffffffffffffff is not in guest "
	    "RAM below 3 GiB" },
	{ PH(1) + PH_MEMSZ, 8, UINT64_MAX, -ENOEXEC,
	    "kernel at 0x200000-0xffffffffffffffff is not in guest RAM below "
	    "3 GiB" },
	{ PH(2) + PH_OFFSET, 8, IMAGE_LEN, -ENOEXEC,
	    "ELF note segment 2 is outside the image" },
	{ PH(2) + PH_FILESZ, 8, UINT64_MAX, -ENOEXEC,
	    "ELF note segment 2 is outside the image" },
	{ PH(2) + PH_FILESZ, 8, 8, -ENOEXEC,
	    "ELF note segment 2 is truncated" },
	{ PH(2) + PH_FILESZ, 8, 24 + 12, -ENOEXEC,
	    "ELF note in segment 2 is larger than its segment" },
	{ NOTE_OFF, 4, 0xFFFFFFFF, -ENOEXEC,
	    "ELF note in segment 2 is larger than its segment" },
	{ NOTE_OFF + 4, 4, 0xFFFFFFF0, -ENOEXEC,
	    "ELF note in segment 2 is larger than its segment" },
	{ XEN_NOTE_OFF + 8, 4, 19, -ENOEXEC, "ELF has no PVH entry note" },
	{ XEN_NOTE_OFF + 12, 1, 'x', -ENOEXEC, "ELF has no PVH entry note" },
	{ XEN_NOTE_OFF + 4, 4, 2, -ENOEXEC,
	    "ELF PVH entry note has a 2-byte value" },
	{ XEN_NOTE_OFF + 16, 8, 0x500000, -ENOEXEC,
	    "ELF PVH entry 0x500000 is not in a loaded segment" },
	{ XEN_NOTE_OFF + 16, 8, 0x100000000 + ENTRY, -ENOEXEC,
	    "ELF PVH entry 0x100100040 is not in a loaded segment" },
};

TEST(elf_malformed_images)
{
	uint8_t *k = elf(true, 8, 4);

	ram_new(64 * MiB);
	for (size_t i = 0; i < sizeof(bad_elves) / sizeof(bad_elves[0]); i++) {
		const struct bad *b = &bad_elves[i];
		uint8_t *img = dup_image(k, IMAGE_LEN);

		wr(img + b->off, b->size, b->value);
		load_fails(img, IMAGE_LEN, NULL, 0, b->code, b->msg);
		free(img);
	}
	free(k);
}

TEST(elf_entry_in_bss_is_fine)
{
	uint8_t *k = elf(true, 8, 4);
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	wr(k + XEN_NOTE_OFF + 16, 8, TEXT_PA + TEXT_MEMSZ - 1);
	load_ok(k, IMAGE_LEN, NULL, NULL, 0, &cpu);
	T_EQ(cpu.rip, TEXT_PA + TEXT_MEMSZ - 1);
	free(k);
}

/* Every prefix of a good image is a bad one, and is read in bounds. */
TEST(elf_truncated_images)
{
	uint8_t *k = elf(true, 8, 4);
	struct boot_cpu cpu;

	ram_new(64 * MiB);
	for (size_t len = SELFMAG; len < IMAGE_LEN; len++) {
		uint8_t *img = dup_image(k, len);
		char err[160] = "";

		T_EQ(boot_load_linux(&ram, img, len, NULL, NULL, 0, 1, &cpu,
		    err, sizeof(err)), -ENOEXEC);
		T_ASSERT(err[0] != 0);
		free(img);
	}
	load_fails(k, EI_NIDENT - 1, NULL, 0, -ENOEXEC,
	    "ELF is not a little-endian ELF32 or ELF64 file");
	load_fails(k, sizeof(Elf64_Ehdr) - 1, NULL, 0, -ENOEXEC,
	    "ELF header is truncated");
	free(k);
}

/* Random damage to the headers and notes: any answer but a crash. */
TEST(elf_random_damage)
{
	uint8_t *k = elf(true, 8, 4);
	unsigned seed = 1;

	ram_new(16 * MiB);
	for (int i = 0; i < 3000; i++) {
		uint8_t *img = dup_image(k, IMAGE_LEN);
		struct boot_cpu cpu;
		char err[160];

		for (int j = 0; j < 1 + i % 4; j++)
			img[rand_r(&seed) % TEXT_OFF] = rand_r(&seed);
		boot_load_linux(&ram, img, IMAGE_LEN, NULL, NULL, 0, 1, &cpu,
		    err, sizeof(err));
		free(img);
	}
	free(k);
}
