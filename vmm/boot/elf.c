/*
 * ELF kernels (vmlinux, the built-in guest) through their PVH entry: load
 * the PT_LOAD segments at their physical addresses, take the 32-bit entry
 * point from the "Xen" note XEN_ELFNOTE_PHYS32_ENTRY and hand the kernel a
 * struct hvm_start_info (Xen's public arch-x86/hvm/start_info.h).
 */
#include "load.h"

#include <elf.h>
#include <errno.h>

#include "../pc.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18

#define HVM_START_MAGIC		0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;			/* the e820 types */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap ABI");

/* Where the three go in the start info page. */
#define MODLIST_AT	(PC_PVH_START_INFO + 0x40)
#define MEMMAP_AT	(PC_PVH_START_INFO + 0x80)

/* A program header of either class. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz, align;
};

struct elf {
	bool is64;
	uint64_t phoff;
	uint16_t phnum;
};

static int
read_ehdr(struct boot_load *ld, struct elf *e)
{
	const uint8_t *k = ld->image;
	uint16_t type, machine, phentsize;

	if (ld->len < EI_NIDENT || k[EI_DATA] != ELFDATA2LSB ||
	    k[EI_VERSION] != EV_CURRENT ||
	    (k[EI_CLASS] != ELFCLASS32 && k[EI_CLASS] != ELFCLASS64))
		return boot_fail(ld, -ENOEXEC, "ELF is not a little-endian "
		    "ELF32 or ELF64 file");
	e->is64 = k[EI_CLASS] == ELFCLASS64;
	if (ld->len < (e->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return boot_fail(ld, -ENOEXEC, "ELF header is truncated");
	/* e_type and e_machine sit at the same offsets in both classes. */
	type = get16(k + offsetof(Elf64_Ehdr, e_type));
	machine = get16(k + offsetof(Elf64_Ehdr, e_machine));
	if (type != ET_EXEC)
		return boot_fail(ld, -ENOEXEC, "ELF type %u is not an "
		    "executable", type);
	if (machine != (e->is64 ? EM_X86_64 : EM_386))
		return boot_fail(ld, -ENOEXEC, "ELF machine %u is not x86",
		    machine);
	if (e->is64) {
		e->phoff = get64(k + offsetof(Elf64_Ehdr, e_phoff));
		phentsize = get16(k + offsetof(Elf64_Ehdr, e_phentsize));
		e->phnum = get16(k + offsetof(Elf64_Ehdr, e_phnum));
	} else {
		e->phoff = get32(k + offsetof(Elf32_Ehdr, e_phoff));
		phentsize = get16(k + offsetof(Elf32_Ehdr, e_phentsize));
		e->phnum = get16(k + offsetof(Elf32_Ehdr, e_phnum));
	}
	if (phentsize != (e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return boot_fail(ld, -ENOEXEC, "ELF program header size %u is "
		    "wrong", phentsize);
	if (e->phnum == 0)
		return boot_fail(ld, -ENOEXEC, "ELF has no program headers");
	if (e->phoff > ld->len ||
	    (uint64_t)e->phnum * phentsize > ld->len - e->phoff)
		return boot_fail(ld, -ENOEXEC, "ELF program headers are "
		    "outside the image");
	return 0;
}

static void
read_phdr(struct boot_load *ld, const struct elf *e, int i, struct phdr *ph)
{
	Elf64_Phdr p64;
	Elf32_Phdr p32;

	if (e->is64) {
		memcpy(&p64, ld->image + e->phoff + i * sizeof(p64),
		    sizeof(p64));
		*ph = (struct phdr){ p64.p_type, p64.p_offset, p64.p_paddr,
		    p64.p_filesz, p64.p_memsz, p64.p_align };
	} else {
		memcpy(&p32, ld->image + e->phoff + i * sizeof(p32),
		    sizeof(p32));
		*ph = (struct phdr){ p32.p_type, p32.p_offset, p32.p_paddr,
		    p32.p_filesz, p32.p_memsz, p32.p_align };
	}
}

/* Looks for the PVH entry note in one PT_NOTE segment. */
static int
find_pvh_entry(struct boot_load *ld, const struct phdr *ph, int i,
    uint64_t *entry, bool *found)
{
	uint64_t align = ph->align == 8 ? 8 : 4;
	uint64_t left = ph->filesz;
	const uint8_t *p;

	if (ph->offset > ld->len || ph->filesz > ld->len - ph->offset)
		return boot_fail(ld, -ENOEXEC, "ELF note segment %d is outside "
		    "the image", i);
	p = ld->image + ph->offset;
	while (left > 0) {
		uint64_t namesz, descsz, name_end, size;

		if (left < 12)
			return boot_fail(ld, -ENOEXEC, "ELF note segment %d is "
			    "truncated", i);
		namesz = get32(p);
		descsz = get32(p + 4);
		/* The value starts, and the next note, at an aligned offset. */
		name_end = (12 + namesz + align - 1) & ~(align - 1);
		if (name_end > left || descsz > left - name_end)
			return boot_fail(ld, -ENOEXEC, "ELF note in segment %d "
			    "is larger than its segment", i);
		if (namesz == 4 && memcmp(p + 12, "Xen", 4) == 0 &&
		    get32(p + 8) == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz == 4)
				*entry = get32(p + name_end);
			else if (descsz == 8)
				*entry = get64(p + name_end);
			else
				return boot_fail(ld, -ENOEXEC, "ELF PVH entry "
				    "note has a %llu-byte value",
				    (unsigned long long)descsz);
			*found = true;
		}
		size = name_end + ((descsz + align - 1) & ~(align - 1));
		if (size > left)
			size = left;	/* the last padding may be cut */
		p += size;
		left -= size;
	}
	return 0;
}

/*
 * Checks every segment and finds the entry point; *end is where the
 * loaded kernel ends.
 */
static int
check_segments(struct boot_load *ld, const struct elf *e, uint64_t *entry,
    uint64_t *end)
{
	bool loads = false, found = false, entry_loaded = false;
	struct phdr ph;
	int r;

	*end = 0;
	for (int i = 0; i < e->phnum; i++) {
		read_phdr(ld, e, i, &ph);
		if (ph.type == PT_NOTE &&
		    (r = find_pvh_entry(ld, &ph, i, entry, &found)) != 0)
			return r;
		if (ph.type != PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz)
			return boot_fail(ld, -ENOEXEC, "ELF segment %d has "
			    "more file than memory bytes", i);
		if (ph.offset > ld->len || ph.filesz > ld->len - ph.offset)
			return boot_fail(ld, -ENOEXEC, "ELF segment %d is "
			    "outside the image", i);
		if ((r = boot_check_kernel(ld, ph.paddr,
		    add_sat(ph.paddr, ph.memsz))) != 0)
			return r;
		loads = true;
		if (ph.paddr + ph.memsz > *end)
			*end = ph.paddr + ph.memsz;
	}
	if (!loads)
		return boot_fail(ld, -ENOEXEC, "ELF has no loadable segment");
	if (!found)
		return boot_fail(ld, -ENOEXEC, "ELF has no PVH entry note");
	for (int i = 0; i < e->phnum; i++) {
		read_phdr(ld, e, i, &ph);
		if (ph.type == PT_LOAD && *entry >= ph.paddr &&
		    *entry < ph.paddr + ph.memsz)
			entry_loaded = true;
	}
	if (!entry_loaded)
		return boot_fail(ld, -ENOEXEC, "ELF PVH entry 0x%llx is not in "
		    "a loaded segment", (unsigned long long)*entry);
	return 0;
}

static void
put_start_info(struct boot_load *ld, uint64_t initrd_at)
{
	struct boot_e820 map[BOOT_E820_MAX];
	int n = boot_e820(ld->ram, map);
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = PC_CMDLINE,
		.rsdp_paddr = ld->rsdp,
		.memmap_paddr = MEMMAP_AT,
		.memmap_entries = n,
	};
	struct hvm_modlist_entry mod = { initrd_at, ld->initrd_len, 0, 0 };

	if (ld->initrd_len > 0) {
		si.nr_modules = 1;
		si.modlist_paddr = MODLIST_AT;
		memcpy(boot_gpa(ld->ram, MODLIST_AT, sizeof(mod)), &mod,
		    sizeof(mod));
	}
	memcpy(boot_gpa(ld->ram, PC_PVH_START_INFO, sizeof(si)), &si,
	    sizeof(si));
	for (int i = 0; i < n; i++) {
		struct hvm_memmap_table_entry m = { map[i].addr, map[i].size,
		    map[i].type, 0 };

		memcpy(boot_gpa(ld->ram, MEMMAP_AT + i * sizeof(m), sizeof(m)),
		    &m, sizeof(m));
	}
}

int
boot_load_elf(struct boot_load *ld)
{
	uint64_t entry, end, initrd_at;
	struct phdr ph;
	struct elf e;
	int r;

	if ((r = read_ehdr(ld, &e)) != 0 ||
	    (r = check_segments(ld, &e, &entry, &end)) != 0 ||
	    (r = boot_put_cmdline(ld, PC_CMDLINE_MAX - 1)) != 0 ||
	    (r = boot_put_initrd(ld, end, PC_PCI_HOLE, true, &initrd_at)) != 0)
		return r;
	for (int i = 0; i < e.phnum; i++) {
		uint8_t *to;

		read_phdr(ld, &e, i, &ph);
		if (ph.type != PT_LOAD)
			continue;
		to = boot_gpa(ld->ram, ph.paddr, ph.memsz);
		memcpy(to, ld->image + ph.offset, ph.filesz);
		memset(to + ph.filesz, 0, ph.memsz - ph.filesz);
	}
	put_start_info(ld, initrd_at);
	boot_set_entry(ld, BOOT_ENTRY_PVH32, entry);
	return 0;
}
