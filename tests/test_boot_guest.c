/*
 * The built-in guest goes through the ELF/PVH loader like any kernel:
 * its segments land where they are linked, its note gives the entry.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/boot/boot.h"
#include "../vmm/guest/builtin.h"
#include "../vmm/pc.h"
#include "t.h"

TEST(guest_is_an_elf64_pvh_kernel)
{
	const uint8_t *image = builtin_guest_start;
	size_t len = builtin_guest_end - builtin_guest_start;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int loads = 0, notes = 0;

	T_ASSERT(len > sizeof(eh));
	memcpy(&eh, image, sizeof(eh));
	T_EQ(eh.e_ident[EI_CLASS], ELFCLASS64);
	T_EQ(eh.e_machine, EM_X86_64);
	T_EQ(eh.e_entry, PC_KERNEL);
	for (int i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		loads += ph.p_type == PT_LOAD;
		notes += ph.p_type == PT_NOTE;
	}
	T_EQ(loads, 2);
	T_EQ(notes, 1);
}

/* It needs no more than the smallest RAM the loaders accept. */
TEST(guest_loads_in_the_smallest_ram)
{
	const uint8_t *image = builtin_guest_start;
	size_t len = builtin_guest_end - builtin_guest_start;
	uint8_t *host = calloc(1, BOOT_RAM_MIN);
	struct boot_cpu cpu;
	struct boot_ram ram;
	char err[128] = "";
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	T_ASSERT(host != NULL);
	T_OK(boot_ram_init(&ram, host, BOOT_RAM_MIN));
	if (boot_load_linux(&ram, image, len, NULL, NULL, 0, 2, &cpu, err,
	    sizeof(err)) != 0)
		t_fail(__FILE__, __LINE__, "load: %s", err);
	memcpy(&eh, image, sizeof(eh));
	T_EQ(cpu.rip, eh.e_entry);
	T_EQ(cpu.rbx, PC_PVH_START_INFO);
	T_EQ(cpu.cr0, 0x11);
	for (int i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		T_EQ(memcmp(host + ph.p_paddr, image + ph.p_offset,
		    ph.p_filesz), 0);
		for (uint64_t a = ph.p_filesz; a < ph.p_memsz; a++)
			T_EQ(host[ph.p_paddr + a], 0);
	}
	free(host);
}
