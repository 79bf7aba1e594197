/*
 * The benchmark guest: one 64 KiB firmware image (image.S) that every VMM
 * under test maps as a PC does, at 0xF0000 and at 4 GiB - 64 KiB, and
 * starts at the reset vector. The guest enters long mode by itself, so raw
 * KVM, libnvmm and QEMU run the very same bytes and no VMM sets a register;
 * then it loops, one exit per iteration, and ends on QEMU's isa-debug-exit.
 */
#ifndef BENCH_GUEST_H
#define BENCH_GUEST_H

#define GUEST_RAM_SIZE	0xA0000		/* RAM below the legacy hole */
#define GUEST_MMIO_GPA	0xA0000		/* in the hole: reads exit as MMIO */
#define GUEST_ROM_GPA	0xF0000
#define GUEST_ROM_SIZE	0x10000
#define GUEST_RESET_GPA	0xFFFF0000ULL	/* the ROM again, for the reset */
#define GUEST_MEM_SIZE	0x100000	/* the host block: RAM, hole, ROM */
#define GUEST_OUT_PORT	0x80		/* POST codes: no device behind it */
#define GUEST_EXIT_PORT	0xF4		/* QEMU's isa-debug-exit */

/* The image's two parameters, 32-bit words at these offsets. */
#define GUEST_COUNT_OFF	0xFFE0		/* iterations of the loop */
#define GUEST_LOOP_OFF	0xFFE4		/* which loop: enum guest_loop */

#ifndef __ASSEMBLER__
#include <stdint.h>

enum guest_loop { GUEST_OUT_LOOP, GUEST_MMIO_LOOP };	/* image.S's order */

/* The image, running loop for iterations (0: 2^32) before it exits. */
void guest_image(uint8_t rom[GUEST_ROM_SIZE], enum guest_loop loop,
    uint32_t iterations);
/* A fresh zeroed host block of GUEST_MEM_SIZE with the image in place. */
uint8_t *guest_mem(enum guest_loop loop);
void guest_mem_free(uint8_t *mem);
#endif

#endif
