/*
 * The decoder and x86_emulate_mem with a CPU state, instruction bytes, a
 * faulting GPA and guest RAM from the input: they must stay within guest
 * RAM and the given bytes, leave the registers alone on failure, and move
 * RIP by the decoded length or not at all.
 */
#include <errno.h>

#include "fuzz_x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct nvmm_x64_state st, old;
	static struct fake f;
	struct x86_insn d;
	uint8_t *insn = NULL, *mem;
	size_t len;
	uint64_t gpa, rip;
	int rc, drc;

	take_state(&in, &st);
	gpa = take(&in, 8);
	/* 0: fetch from CS:RIP; else that many bytes, in their own buffer. */
	len = take(&in, 1) % 16;
	if (len > 0) {
		insn = malloc(len);
		ASSERT(insn != NULL);
		for (size_t i = 0; i < len; i++)
			insn[i] = take(&in, 1);
	}
	mem = take_ram(&in, &f);
	fake_mmio_in(&f, 0x0123456789ABCDEFULL, 16);

	old = st;
	rc = x86_emulate_mem(&f.g, &st, gpa, insn, len);
	ASSERT(rc == 0 || rc == -ENODEV || rc == -EFAULT || rc == -EINVAL);
	ASSERT(memcmp(st.segs, old.segs, sizeof(st.segs)) == 0);
	ASSERT(memcmp(st.crs, old.crs, sizeof(st.crs)) == 0);
	ASSERT(memcmp(st.msrs, old.msrs, sizeof(st.msrs)) == 0);
	/* Operands are at most 8 bytes, split at most once per page. */
	ASSERT(f.nlog <= 4);
	for (unsigned i = 0; i < f.nlog; i++)
		ASSERT(f.log[i].size >= 1 && f.log[i].size <= 8);
	if (rc != 0) {
		ASSERT(memcmp(st.gprs, old.gprs, sizeof(st.gprs)) == 0);
		goto out;
	}
	if (len > 0) {
		drc = x86_decode(&old, insn, len, &d);
		ASSERT(drc == 0);
		ASSERT(d.len >= 1 && d.len <= len && d.len <= X86_INSN_MAX);
		ASSERT(d.opsize == 1 || d.opsize == 2 || d.opsize == 4 ||
		    d.opsize == 8);
		ASSERT(d.memsize <= d.opsize && d.reg < 16);
		rip = x86_next_rip(&old, d.len);
		ASSERT(st.gprs[NVMM_X64_GPR_RIP] == rip ||
		    (d.rep && (d.flags & (X86_D_SI | X86_D_DI)) &&
		    st.gprs[NVMM_X64_GPR_RIP] == old.gprs[NVMM_X64_GPR_RIP]));
		/* A ModRM or moffs operand outside RAM is MMIO at gpa. */
		if (!(d.flags & (X86_D_SI | X86_D_DI)) &&
		    (f.nram == 0 || gpa >= f.ram[0].size))
			ASSERT(f.nlog >= 1 && f.log[0].gpa == gpa);
	}
out:
	free(insn);
	free(mem);
	return 0;
}
