/*
 * Completion of IN, OUT, INS and OUTS (nvmm_assist_io). String elements
 * move through guest memory in chunks, so a batch of thousands costs a few
 * page walks rather than one per element.
 */
#include "x86/x86.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Bytes of guest memory moved per x86_read_virt/x86_write_virt call. */
#define CHUNK	256

/*
 * n elements of a chunk at lo (element i at byte off(i) of buf). A chunk
 * goes through guest RAM in one call, but a device must see what the CPU
 * does: one access per element, in the order of execution. So a chunk
 * that reaches a device is done again element by element.
 */
static int
chunk_access(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t lo, uint8_t *buf, uint64_t n, unsigned size,
    bool down, bool write)
{
	bool device;
	int rc;

	rc = x86_probe_virt(g, st, seg, lo, buf, n * size, write, &device);
	for (uint64_t i = 0; rc == 0 && device && i < n; i++) {
		uint64_t off = (down ? n - 1 - i : i) * size;

		rc = write ? x86_write_virt(g, st, seg, lo + off, buf + off, size) :
		    x86_read_virt(g, st, seg, lo + off, buf + off, size);
	}
	return rc;
}

/* count string elements from the rSI (OUTS) or rDI (INS) of st. */
static int64_t
string_io(const struct x86_guest *g, struct nvmm_x64_state *st,
    const struct nvmm_x86_exit_io *io, uint64_t count,
    void (*cb)(void *, uint8_t *, size_t), void *opaque)
{
	unsigned size = io->operand_size, reg;
	uint64_t amask = x86_mask(io->address_size), done = 0;
	bool down = st->gprs[NVMM_X64_GPR_RFLAGS] & X86_FLAG_DF;
	uint8_t buf[CHUNK];
	int seg = io->seg, rc = 0;

	reg = io->in ? NVMM_X64_GPR_RDI : NVMM_X64_GPR_RSI;
	if (seg < 0)
		seg = io->in ? NVMM_X64_SEG_ES : NVMM_X64_SEG_DS;

	while (done < count) {
		uint64_t addr = st->gprs[reg] & amask, n = count - done, lo;

		/* A chunk stays within the address size: no wrap inside. */
		if (n > CHUNK / size)
			n = CHUNK / size;
		if (!down && (amask - addr) / size < n - 1)
			n = (amask - addr) / size + 1;
		if (down && addr / size < n - 1)
			n = addr / size + 1;
		lo = down ? addr - (n - 1) * size : addr;

		if (!io->in && (rc = chunk_access(g, st, seg, lo, buf, n, size,
		    down, false)) != 0)
			break;
		/* Element i of a DF=1 chunk lies i elements below addr. */
		for (uint64_t i = 0; i < n; i++) {
			uint8_t *data = buf + (down ? n - 1 - i : i) * size;

			if (io->in)
				memset(data, 0, size);
			cb(opaque, data, size);
		}
		if (io->in && (rc = chunk_access(g, st, seg, lo, buf, n, size,
		    down, true)) != 0)
			break;

		x86_gpr_write(st, reg, 0, io->address_size,
		    down ? addr - n * size : addr + n * size);
		if (io->rep)
			x86_gpr_write(st, NVMM_X64_GPR_RCX, 0, io->address_size,
			    st->gprs[NVMM_X64_GPR_RCX] - n);
		done += n;
	}
	return done > 0 ? (int64_t)done : rc;
}

int
x86_emulate_io(const struct x86_guest *g, struct nvmm_x64_state *st,
    const struct nvmm_x86_exit_io *io, uint64_t count,
    void (*cb)(void *opaque, uint8_t *data, size_t size), void *opaque)
{
	unsigned size = io->operand_size, asize = io->address_size;
	uint64_t rcx = st->gprs[NVMM_X64_GPR_RCX] & x86_mask(asize), v = 0;
	int64_t done = 1;

	if ((size != 1 && size != 2 && size != 4) ||
	    (asize != 2 && asize != 4 && asize != 8) ||
	    io->seg > NVMM_X64_SEG_GS || count == 0)
		return -EINVAL;

	if (io->str) {
		if (io->rep && rcx == 0) {
			st->gprs[NVMM_X64_GPR_RIP] = io->npc;
			return 0;
		}
		/* The count returned must fit an int. */
		count = !io->rep ? 1 : count < rcx ? count : rcx;
		if (count > INT_MAX)
			count = INT_MAX;
		done = string_io(g, st, io, count, cb, opaque);
		if (done < 0 || (io->rep && (uint64_t)done != rcx))
			return done;
	} else if (io->in) {
		cb(opaque, (uint8_t *)&v, size);
		x86_gpr_write(st, NVMM_X64_GPR_RAX, 0, size, v);
	} else {
		v = st->gprs[NVMM_X64_GPR_RAX];
		cb(opaque, (uint8_t *)&v, size);
	}
	st->gprs[NVMM_X64_GPR_RIP] = io->npc;
	return done;
}
