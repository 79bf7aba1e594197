/* The fake guest behind the x86 layer's tests and fuzzers. */
#include "test_x86_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *
fake_find(struct fake *f, uint64_t gpa, size_t *avail, int *prot)
{
	for (int i = 0; i < f->nram; i++) {
		if (gpa - f->ram[i].gpa < f->ram[i].size) {
			uint64_t off = gpa - f->ram[i].gpa;

			*avail = f->ram[i].size - off;
			*prot = f->ram[i].prot;
			return f->ram[i].mem + off;
		}
	}
	return NULL;
}

static size_t
fake_ram_cb(void *opaque, uint64_t gpa, bool write, uint8_t *buf, size_t len)
{
	struct fake *f = opaque;
	size_t avail;
	int prot;
	uint8_t *p = fake_find(f, gpa, &avail, &prot);

	f->ram_calls++;
	if (p == NULL ||
	    !(prot & (write ? NVMM_PROT_WRITE : NVMM_PROT_READ)))
		return 0;
	if (len > avail)
		len = avail;
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return len;
}

static void
fake_mmio_cb(void *opaque, uint64_t gpa, bool write, uint8_t *data,
    size_t size)
{
	struct fake *f = opaque;

	if (!write) {
		for (size_t i = 0; i < size; i++)
			data[i] = f->inpos < f->nin ? f->in[f->inpos++] : 0;
	}
	if (f->nlog < FAKE_NLOG) {
		struct fake_access *a = &f->log[f->nlog];

		a->gpa = gpa;
		a->write = write;
		a->size = size;
		memcpy(a->data, data, size < FAKE_DATA ? size : FAKE_DATA);
	}
	f->nlog++;
}

void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->g.opaque = f;
	f->g.ram = fake_ram_cb;
	f->g.mmio = fake_mmio_cb;
}

void
fake_add_ram(struct fake *f, uint64_t gpa, size_t size, uint8_t *mem,
    int prot)
{
	if (f->nram == FAKE_NRAM)
		abort();
	f->ram[f->nram].gpa = gpa;
	f->ram[f->nram].size = size;
	f->ram[f->nram].mem = mem;
	f->ram[f->nram].prot = prot;
	f->nram++;
}

void
fake_init_pc(struct fake *f)
{
	static const size_t low = 0xA0000, high = 0x300000;
	static uint8_t *mem;

	if (mem == NULL && (mem = malloc(low + high)) == NULL)
		abort();
	memset(mem, 0, low + high);
	fake_init(f);
	fake_add_ram(f, 0, low, mem, NVMM_PROT_ALL);
	fake_add_ram(f, 0x100000, high, mem + low, NVMM_PROT_ALL);
}

uint8_t *
fake_ram(struct fake *f, uint64_t gpa)
{
	size_t avail;
	int prot;
	uint8_t *p = fake_find(f, gpa, &avail, &prot);

	if (p == NULL) {
		fprintf(stderr, "fake_ram: 0x%llx is not RAM\n",
		    (unsigned long long)gpa);
		abort();
	}
	return p;
}

void
fake_put(struct fake *f, uint64_t gpa, const void *data, size_t n)
{
	memcpy(fake_ram(f, gpa), data, n);
}

void
fake_put64(struct fake *f, uint64_t gpa, uint64_t v)
{
	fake_put(f, gpa, &v, 8);
}

uint64_t
fake_get64(struct fake *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, fake_ram(f, gpa), 8);
	return v;
}

void
fake_mmio_in(struct fake *f, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n && f->nin < FAKE_DATA; i++)
		f->in[f->nin++] = v >> (8 * (i % 8));
}

uint64_t
fake_logged(const struct fake *f, unsigned i)
{
	uint64_t v = 0;

	memcpy(&v, f->log[i].data, f->log[i].size < 8 ? f->log[i].size : 8);
	return v;
}

static void
flat(struct nvmm_x64_state *st, bool def)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < NVMM_X64_NSEG; i++) {
		struct nvmm_x64_state_seg *s = &st->segs[i];

		s->attrib.type = i == NVMM_X64_SEG_CS ? 0xB : 0x3;
		s->attrib.s = 1;
		s->attrib.p = 1;
		s->attrib.def = def;
		s->attrib.g = def;
		s->limit = def ? 0xFFFFFFFF : 0xFFFF;
	}
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
}

void
fake_real(struct nvmm_x64_state *st)
{
	flat(st, false);
}

void
fake_prot32(struct nvmm_x64_state *st)
{
	flat(st, true);
	st->crs[NVMM_X64_CR_CR0] = X86_CR0_PE;
}

void
fake_long(struct fake *f, struct nvmm_x64_state *st)
{
	flat(st, true);
	st->segs[NVMM_X64_SEG_CS].attrib.l = 1;
	st->segs[NVMM_X64_SEG_CS].attrib.def = 0;
	st->crs[NVMM_X64_CR_CR0] = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
	st->crs[NVMM_X64_CR_CR3] = 0x1000;
	st->crs[NVMM_X64_CR_CR4] = X86_CR4_PAE;
	st->msrs[NVMM_X64_MSR_EFER] = X86_EFER_LMA | (1 << 8) | X86_EFER_NXE;
	fake_put64(f, 0x1000, 0x2000 | 0x7);
	for (uint64_t i = 0; i < 4; i++)
		fake_put64(f, 0x2000 + i * 8, (i << 30) | 0x87);
}
