/*
 * Shared by the x86 fuzz targets: the input is a header the target reads
 * field by field, then the bytes of guest RAM at GPA 0, in a buffer of
 * exactly that size so that AddressSanitizer sees any access past it.
 */
#ifndef FUZZ_X86_H
#define FUZZ_X86_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_x86_guest.h"

/* Aborts with the failed invariant: libFuzzer keeps the input. */
#define ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();					\
		}							\
	} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

/* The next n bytes as a little-endian number; zeros past the end. */
static inline uint64_t
take(struct input *in, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		if (in->n > 0) {
			v |= (uint64_t)*in->p++ << (8 * i);
			in->n--;
		}
	return v;
}

/*
 * A CPU state from the input: segments, GPRs, control registers and EFER
 * raw, so every mode and every hostile combination is reachable.
 */
static inline void
take_state(struct input *in, struct nvmm_x64_state *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < NVMM_X64_SEG_GDT; i++) {
		uint16_t attrib = take(in, 2);

		st->segs[i].selector = take(in, 2);
		memcpy(&st->segs[i].attrib, &attrib, 2);
		st->segs[i].limit = take(in, 4);
		st->segs[i].base = take(in, 8);
	}
	for (int i = 0; i < NVMM_X64_NGPR; i++)
		st->gprs[i] = take(in, 8);
	st->crs[NVMM_X64_CR_CR0] = take(in, 8);
	st->crs[NVMM_X64_CR_CR3] = take(in, 8);
	st->crs[NVMM_X64_CR_CR4] = take(in, 8);
	st->msrs[NVMM_X64_MSR_EFER] = take(in, 8);
}

/* The rest of the input as RAM at GPA 0; free() the result. */
static inline uint8_t *
take_ram(struct input *in, struct fake *f)
{
	uint8_t *mem = malloc(in->n ? in->n : 1);

	ASSERT(mem != NULL);
	memcpy(mem, in->p, in->n);
	fake_init(f);
	if (in->n > 0)
		fake_add_ram(f, 0, in->n, mem, NVMM_PROT_ALL);
	return mem;
}

#endif
