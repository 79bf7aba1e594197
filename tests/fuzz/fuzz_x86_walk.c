/*
 * The page walker on page tables, control registers and an address from
 * the input: it must end, read only within guest RAM, and return a
 * translation consistent with the mode.
 */
#include <errno.h>

#include "fuzz_x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct nvmm_x64_state st;
	static struct fake f;
	uint64_t gva, gpa, gpa2;
	int prot, prot2, rc;
	uint8_t *mem;

	memset(&st, 0, sizeof(st));
	st.crs[NVMM_X64_CR_CR0] = take(&in, 4);
	st.crs[NVMM_X64_CR_CR3] = take(&in, 8);
	st.crs[NVMM_X64_CR_CR4] = take(&in, 2);
	st.msrs[NVMM_X64_MSR_EFER] = take(&in, 2);
	gva = take(&in, 8);
	mem = take_ram(&in, &f);

	rc = x86_gva_to_gpa(&f.g, &st, gva, &gpa, &prot);
	ASSERT(rc == 0 || rc == -EFAULT);
	ASSERT(f.ram_calls <= 10);
	if (rc == 0) {
		ASSERT(((gpa ^ gva) & 0xFFF) == 0);
		ASSERT(prot & NVMM_PROT_READ);
		ASSERT((prot & ~NVMM_PROT_ALL) == 0);
		if (!(st.crs[NVMM_X64_CR_CR0] & X86_CR0_PG)) {
			ASSERT(gpa == gva && prot == NVMM_PROT_ALL);
		} else {
			ASSERT(gpa < (1ULL << 52));
			if (!(st.msrs[NVMM_X64_MSR_EFER] & X86_EFER_NXE))
				ASSERT(prot & NVMM_PROT_EXEC);
		}
		/* The same walk gives the same answer. */
		ASSERT(x86_gva_to_gpa(&f.g, &st, gva, &gpa2, &prot2) == 0);
		ASSERT(gpa2 == gpa && prot2 == prot);
	}
	free(mem);
	return 0;
}
