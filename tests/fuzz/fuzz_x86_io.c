/*
 * x86_emulate_io with a CPU state, an exit payload and guest RAM from the
 * input, string forms mostly: it must stay within guest RAM and change
 * exactly the registers NVMM's assist changes, consistently with the
 * element count it returns.
 */
#include <errno.h>

#include "fuzz_x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned calls, bad_size;
static size_t want_size;

static void
cb(void *opaque, uint8_t *data, size_t size)
{
	(void)opaque;
	calls++;
	if (size != want_size)
		bad_size++;
	memset(data, 0xA5, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sizes[4] = { 1, 2, 4, 3 }, asizes[4] = { 2, 4, 8, 1 };
	struct input in = { data, size };
	struct nvmm_x64_state st, old;
	struct nvmm_x86_exit_io io;
	static struct fake f;
	uint64_t count, kind, amask, step, moved;
	uint8_t *mem;
	int rc, reg;

	take_state(&in, &st);
	kind = take(&in, 2);
	memset(&io, 0, sizeof(io));
	io.in = kind & 1;
	io.str = (kind & 6) != 0;
	io.rep = kind & 8;
	io.operand_size = sizes[(kind >> 4) & 3];
	io.address_size = asizes[(kind >> 6) & 3];
	io.seg = (int8_t)((kind >> 8) % 8) - 1;
	io.port = take(&in, 2);
	io.npc = take(&in, 8);
	count = take(&in, 2) % 4100;
	mem = take_ram(&in, &f);

	old = st;
	calls = bad_size = 0;
	want_size = io.operand_size;
	rc = x86_emulate_io(&f.g, &st, &io, count, cb, NULL);

	ASSERT(bad_size == 0);
	ASSERT(rc >= -EINVAL);
	ASSERT(rc == -EINVAL || rc == -EFAULT || rc >= 0);
	ASSERT(memcmp(st.segs, old.segs, sizeof(st.segs)) == 0);
	ASSERT(memcmp(st.crs, old.crs, sizeof(st.crs)) == 0);
	for (unsigned i = 0; i < f.nlog && i < FAKE_NLOG; i++)
		ASSERT(f.log[i].size >= 1 && f.log[i].size <= 256);
	for (int i = 0; i < NVMM_X64_NGPR; i++)
		if (i != NVMM_X64_GPR_RAX && i != NVMM_X64_GPR_RCX &&
		    i != NVMM_X64_GPR_RSI && i != NVMM_X64_GPR_RDI &&
		    i != NVMM_X64_GPR_RIP)
			ASSERT(st.gprs[i] == old.gprs[i]);
	if (rc < 0) {
		ASSERT(memcmp(st.gprs, old.gprs, sizeof(st.gprs)) == 0);
		ASSERT(rc == -EINVAL || io.str);
		goto out;
	}
	ASSERT((uint64_t)rc <= count);
	ASSERT(st.gprs[NVMM_X64_GPR_RIP] == old.gprs[NVMM_X64_GPR_RIP] ||
	    st.gprs[NVMM_X64_GPR_RIP] == io.npc);
	if (!io.str) {
		ASSERT(rc == 1 && calls == 1);
		ASSERT(st.gprs[NVMM_X64_GPR_RIP] == io.npc);
		goto out;
	}
	/* A string: rc elements, rSI or rDI moved by them, RCX counted. */
	ASSERT(calls >= (unsigned)rc);
	ASSERT(st.gprs[NVMM_X64_GPR_RAX] == old.gprs[NVMM_X64_GPR_RAX]);
	amask = x86_mask(io.address_size);
	reg = io.in ? NVMM_X64_GPR_RDI : NVMM_X64_GPR_RSI;
	step = (uint64_t)rc * io.operand_size;
	moved = (old.gprs[NVMM_X64_GPR_RFLAGS] & X86_FLAG_DF) ?
	    old.gprs[reg] - step : old.gprs[reg] + step;
	ASSERT((st.gprs[reg] & amask) == (moved & amask));
	ASSERT(st.gprs[NVMM_X64_GPR_RSI + NVMM_X64_GPR_RDI - reg] ==
	    old.gprs[NVMM_X64_GPR_RSI + NVMM_X64_GPR_RDI - reg]);
	if (io.rep) {
		uint64_t rcx = old.gprs[NVMM_X64_GPR_RCX] & amask;

		ASSERT((st.gprs[NVMM_X64_GPR_RCX] & amask) == rcx - rc);
		ASSERT(st.gprs[NVMM_X64_GPR_RIP] == ((uint64_t)rc == rcx ?
		    io.npc : old.gprs[NVMM_X64_GPR_RIP]));
	} else {
		ASSERT(rc == 1);
		ASSERT(st.gprs[NVMM_X64_GPR_RCX] == old.gprs[NVMM_X64_GPR_RCX]);
		ASSERT(st.gprs[NVMM_X64_GPR_RIP] == io.npc);
	}
out:
	free(mem);
	return 0;
}
