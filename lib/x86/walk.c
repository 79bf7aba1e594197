/*
 * The guest page walker. Tables are read through ram() only and the walk
 * has at most five levels, so hostile tables (loops, garbage, huge
 * addresses) can neither hang it nor make it read outside guest RAM.
 */
#include "x86/x86.h"

#include <errno.h>

/* The guest's physical address width: the architectural maximum. */
#define MAXPHYADDR	52

/* Bits hi..lo; empty when hi < lo. */
#define BITS(hi, lo)	((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))

#define PTE_P		0x001ULL
#define PTE_RW		0x002ULL
#define PTE_US		0x004ULL
#define PTE_PS		0x080ULL
#define PTE_NX		(1ULL << 63)

#define ADDR_32		BITS(31, 12)
#define ADDR_64		BITS(MAXPHYADDR - 1, 12)

/* PAE PDPTEs have no R/W, U/S or NX: those bits, and PS, are reserved. */
#define PDPTE_RSVD	(BITS(2, 1) | BITS(8, 5) | BITS(63, MAXPHYADDR))

/* A 4 MiB PDE's bit 21; bits 20:13 are PSE-36 address bits 39:32. */
#define PDE4M_RSVD	BITS(21, 21)

int
x86_gva_to_gpa(const struct x86_guest *g, const struct nvmm_x64_state *st,
    uint64_t gva, uint64_t *gpa, int *prot)
{
	uint64_t cr0 = st->crs[NVMM_X64_CR_CR0];
	uint64_t cr3 = st->crs[NVMM_X64_CR_CR3];
	uint64_t cr4 = st->crs[NVMM_X64_CR_CR4];
	uint64_t efer = st->msrs[NVMM_X64_MSR_EFER];
	uint64_t table, e, nx, rsvd, page, psize;
	unsigned levels, esize, ibits, level;
	bool pae = cr4 & X86_CR4_PAE, lm = efer & X86_EFER_LMA;
	int p = NVMM_PROT_ALL;

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = gva;
		*prot = NVMM_PROT_ALL;
		return 0;
	}

	nx = (efer & X86_EFER_NXE) ? PTE_NX : 0;
	if (lm) {
		unsigned va_bits = (cr4 & X86_CR4_LA57) ? 57 : 48;

		if (!pae || (uint64_t)((int64_t)(gva << (64 - va_bits)) >>
		    (64 - va_bits)) != gva)
			return -EFAULT;
		levels = va_bits == 57 ? 5 : 4;
		esize = 8;
		ibits = 9;
		table = cr3 & ADDR_64;
		rsvd = BITS(51, MAXPHYADDR) | (PTE_NX & ~nx);
	} else {
		if (gva >> 32)
			return -EFAULT;
		levels = pae ? 3 : 2;
		esize = pae ? 8 : 4;
		ibits = pae ? 9 : 10;
		table = cr3 & (pae ? BITS(31, 5) : ADDR_32);
		rsvd = pae ? BITS(62, MAXPHYADDR) | (PTE_NX & ~nx) : 0;
	}

	for (level = levels;; level--) {
		unsigned shift = 12 + ibits * (level - 1);
		uint64_t idx = (gva >> shift) & ((1ULL << ibits) - 1);

		e = 0;
		if (x86_access_gpa(g, table + idx * esize, X86_ACC_FETCH,
		    (uint8_t *)&e, esize) != 0 || !(e & PTE_P))
			return -EFAULT;

		if (pae && !lm && level == 3) {
			if (e & PDPTE_RSVD)
				return -EFAULT;
			table = e & ADDR_64;
			continue;
		}
		if (e & rsvd)
			return -EFAULT;
		if (!(e & PTE_RW))
			p &= ~NVMM_PROT_WRITE;
		if (!(e & PTE_US))
			p &= ~NVMM_PROT_USER;
		if (e & nx)
			p &= ~NVMM_PROT_EXEC;

		psize = 1ULL << shift;
		if (level == 1) {
			page = e & (esize == 4 ? ADDR_32 : ADDR_64);
			break;
		}
		if (esize == 4 && (e & PTE_PS) && (cr4 & X86_CR4_PSE)) {
			if (e & PDE4M_RSVD)
				return -EFAULT;
			page = (e & BITS(31, 22)) | ((e & BITS(20, 13)) << 19);
			break;
		}
		if (esize == 8 && (e & PTE_PS)) {
			/* 2 MiB and 1 GiB pages; PS is reserved higher up. */
			if (level > 3 || (e & BITS(shift - 1, 13)))
				return -EFAULT;
			page = e & ADDR_64 & ~(psize - 1);
			break;
		}
		/* Without CR4.PSE a 32-bit PDE's PS bit is ignored. */
		table = e & (esize == 4 ? ADDR_32 : ADDR_64);
	}

	*gpa = page | (gva & (psize - 1));
	*prot = p;
	return 0;
}
