/*
 * A fake guest for the x86 layer's tests and fuzzers: RAM regions backed
 * by host buffers, and everything else MMIO, logged access by access and
 * answered from a script of bytes.
 */
#ifndef TEST_X86_GUEST_H
#define TEST_X86_GUEST_H

#include "x86/x86.h"

#define FAKE_NRAM	4
#define FAKE_NLOG	64
#define FAKE_DATA	512

struct fake_access {
	uint64_t gpa;
	bool write;
	size_t size;
	uint8_t data[FAKE_DATA];	/* the first FAKE_DATA bytes */
};

struct fake {
	struct x86_guest g;
	struct {
		uint64_t gpa;
		size_t size;
		uint8_t *mem;
		int prot;
	} ram[FAKE_NRAM];
	int nram;
	unsigned ram_calls;
	struct fake_access log[FAKE_NLOG];
	unsigned nlog;		/* may exceed FAKE_NLOG; the rest is dropped */
	uint8_t in[FAKE_DATA];	/* what MMIO reads return, in order, then 0 */
	size_t nin, inpos;
};

/* No RAM, an empty log. */
void fake_init(struct fake *f);
void fake_add_ram(struct fake *f, uint64_t gpa, size_t size, uint8_t *mem,
    int prot);
/*
 * The layout of the unit tests: zeroed RAM at [0, 0xA0000) and
 * [0x100000, 0x400000), MMIO elsewhere (VGA at 0xA0000, 0xFEE00000...).
 */
void fake_init_pc(struct fake *f);
/* The host address of guest RAM at gpa, which must be RAM. */
uint8_t *fake_ram(struct fake *f, uint64_t gpa);
void fake_put(struct fake *f, uint64_t gpa, const void *data, size_t n);
void fake_put64(struct fake *f, uint64_t gpa, uint64_t v);
uint64_t fake_get64(struct fake *f, uint64_t gpa);
/* Appends the n low bytes of v to what MMIO reads return. */
void fake_mmio_in(struct fake *f, uint64_t v, size_t n);
/* The low bytes (up to 8) of logged access i, as a number. */
uint64_t fake_logged(const struct fake *f, unsigned i);

/* CPU states with all segments flat (base 0) and the given mode. */
void fake_real(struct nvmm_x64_state *st);
void fake_prot32(struct nvmm_x64_state *st);
/*
 * 64-bit mode, with an identity map of the low 4 GiB in 1 GiB pages:
 * PML4 at 0x1000, PDPT at 0x2000.
 */
void fake_long(struct fake *f, struct nvmm_x64_state *st);

#endif
