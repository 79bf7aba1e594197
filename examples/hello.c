/*
 * hello: the smallest complete VMM on libnvmm. It gives a machine 64 KiB
 * of RAM, loads a real-mode guest that writes a greeting to I/O port 0xE9
 * one byte at a time, prints what the guest writes, and exits when the
 * guest halts.
 *
 *	cc -o hello hello.c $(pkg-config --cflags --libs nvmm)
 */
#include <nvmm.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_SIZE	0x10000
#define GUEST_GPA	0x1000	/* where the guest code is loaded */
#define DEBUG_PORT	0xE9

/* Real mode, DS = 0, loaded at GUEST_GPA. */
static const uint8_t guest[] = {
	0xBE, 0x0E, 0x10,	/*	mov  si, msg			*/
	0xFC,			/*	cld				*/
	0xAC,			/* 1:	lodsb				*/
	0x84, 0xC0,		/*	test al, al			*/
	0x74, 0x04,		/*	jz   2f				*/
	0xE6, DEBUG_PORT,	/*	out  DEBUG_PORT, al		*/
	0xEB, 0xF7,		/*	jmp  1b				*/
	0xF4,			/* 2:	hlt				*/
	'H', 'e', 'l', 'l', 'o', ' ', 'f', 'r', 'o', 'm', ' ',	/* msg */
	't', 'h', 'e', ' ', 'g', 'u', 'e', 's', 't', '\n', 0,
};

/* Called by nvmm_assist_io() for each port access the guest makes. */
static void
io_callback(struct nvmm_io *io)
{
	if (io->port == DEBUG_PORT && !io->in)
		fwrite(io->data, 1, io->size, stdout);
	else if (io->in)
		memset(io->data, 0xFF, io->size);	/* nothing there */
}

int
main(void)
{
	struct nvmm_assist_callbacks cbs = { .io = io_callback };
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_x64_state *st;
	uint8_t *ram;

	if (nvmm_init() == -1)
		err(1, "nvmm_init");
	if (nvmm_machine_create(&mach) == -1)
		err(1, "nvmm_machine_create");

	/* Host memory becomes guest RAM in two steps: register, then map. */
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		err(1, "mmap");
	if (nvmm_hva_map(&mach, (uintptr_t)ram, RAM_SIZE) == -1)
		err(1, "nvmm_hva_map");
	if (nvmm_gpa_map(&mach, (uintptr_t)ram, 0, RAM_SIZE,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		err(1, "nvmm_gpa_map");
	memcpy(ram + GUEST_GPA, guest, sizeof(guest));

	if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		err(1, "nvmm_vcpu_create");
	if (nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs) == -1)
		err(1, "nvmm_vcpu_configure");

	/* The VCPU starts in real mode at F000:FFF0; send it to 0:GUEST_GPA. */
	if (nvmm_vcpu_getstate(&mach, &vcpu,
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS) == -1)
		err(1, "nvmm_vcpu_getstate");
	st = vcpu.state;
	st->segs[NVMM_X64_SEG_CS].selector = 0;
	st->segs[NVMM_X64_SEG_CS].base = 0;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_GPA;
	nvmm_vcpu_setstate(&mach, &vcpu,
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS);

	for (;;) {
		if (nvmm_vcpu_run(&mach, &vcpu) == -1)
			err(1, "nvmm_vcpu_run");
		switch (vcpu.exit->reason) {
		case NVMM_VCPU_EXIT_NONE:
			break;
		case NVMM_VCPU_EXIT_IO:
			if (nvmm_assist_io(&mach, &vcpu) == -1)
				err(1, "nvmm_assist_io");
			break;
		case NVMM_VCPU_EXIT_HALTED:
			nvmm_machine_destroy(&mach);
			return 0;
		default:
			errx(1, "unexpected exit 0x%llx",
			    (unsigned long long)vcpu.exit->reason);
		}
	}
}
