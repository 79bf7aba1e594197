/* The page walker on synthetic page tables in a fake guest RAM. */
#include <errno.h>
#include <string.h>

#include "t.h"
#include "test_x86_guest.h"

#define P	0x001ULL
#define RW	0x002ULL
#define US	0x004ULL
#define PS	0x080ULL
#define NX	(1ULL << 63)

#define R	NVMM_PROT_READ
#define W	NVMM_PROT_WRITE
#define X	NVMM_PROT_EXEC
#define U	NVMM_PROT_USER

#define EFER_LME	(1ULL << 8)

/* The table index of gva at a level of 4-level or 5-level paging. */
#define IDX(gva, level)	(((gva) >> (12 + 9 * ((level) - 1))) & 511)

static struct fake f;
static struct nvmm_x64_state st;
static uint64_t gpa;
static int prot;

static void
setup(uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	fake_init_pc(&f);
	memset(&st, 0, sizeof(st));
	st.crs[NVMM_X64_CR_CR0] = X86_CR0_PE | X86_CR0_PG;
	st.crs[NVMM_X64_CR_CR3] = cr3;
	st.crs[NVMM_X64_CR_CR4] = cr4;
	st.msrs[NVMM_X64_MSR_EFER] = efer;
}

static int
walk(uint64_t gva)
{
	gpa = prot = 0xDEAD;
	f.ram_calls = 0;
	return x86_gva_to_gpa(&f.g, &st, gva, &gpa, &prot);
}

static void
put32(uint64_t at, uint32_t v)
{
	fake_put(&f, at, &v, 4);
}

TEST(walk_paging_off_is_identity)
{
	setup(0, 0, 0);
	st.crs[NVMM_X64_CR_CR0] = X86_CR0_PE;
	T_EQ(walk(0x12345678), 0);
	T_EQ(gpa, 0x12345678);
	T_EQ(prot, NVMM_PROT_ALL);
	T_EQ(walk(0xFFFFFFFFFFFFFFFFULL), 0);
	T_EQ(gpa, 0xFFFFFFFFFFFFFFFFULL);
	T_EQ(f.ram_calls, 0);
}

TEST(walk_32bit_4k)
{
	setup(0x1000, 0, 0);
	/* 0x00403ABC: PDE 1, PTE 3. */
	put32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 3 * 4, 0xFEE00000 | P | RW | US);
	T_EQ(walk(0x00403ABC), 0);
	T_EQ(gpa, 0xFEE00ABC);
	T_EQ(prot, R | W | X | U);

	put32(0x2000 + 3 * 4, 0xFEE00000 | P | US);
	T_EQ(walk(0x00403ABC), 0);
	T_EQ(prot, R | X | U);

	put32(0x1000 + 1 * 4, 0x2000 | P | RW);
	put32(0x2000 + 3 * 4, 0xFEE00000 | P | RW | US);
	T_EQ(walk(0x00403ABC), 0);
	T_EQ(prot, R | W | X);

	/* Bits 11:0 of CR3 are not part of the address. */
	st.crs[NVMM_X64_CR_CR3] = 0x1FFF;
	T_EQ(walk(0x00403ABC), 0);
	T_EQ(gpa, 0xFEE00ABC);
}

TEST(walk_32bit_failures)
{
	setup(0x1000, X86_CR4_PSE, 0);
	put32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 3 * 4, 0xFEE00000 | RW | US);
	T_EQ(walk(0x00403ABC), -EFAULT);		/* PTE not present */
	put32(0x1000 + 1 * 4, 0x2000 | RW | US);
	T_EQ(walk(0x00403ABC), -EFAULT);		/* PDE not present */
	T_EQ(walk(0x100000000ULL), -EFAULT);		/* above 4 GiB */
	st.crs[NVMM_X64_CR_CR3] = 0xC0000000;		/* PD in MMIO */
	T_EQ(walk(0x00403ABC), -EFAULT);
}

TEST(walk_32bit_4m_pse36)
{
	setup(0x1000, X86_CR4_PSE, 0);
	/* 0x00C12345: PDE 3. */
	put32(0x1000 + 3 * 4, 0x01400000 | PS | P);
	T_EQ(walk(0x00C12345), 0);
	T_EQ(gpa, 0x01412345);
	T_EQ(prot, R | X);

	/* PSE-36: bits 20:13 are physical address bits 39:32. */
	put32(0x1000 + 3 * 4, 0x01400000 | (0x5A << 13) | PS | P | RW | US);
	T_EQ(walk(0x00C12345), 0);
	T_EQ(gpa, 0x5A01412345ULL);
	T_EQ(prot, R | W | X | U);

	/* PAT (bit 12) is not an address bit; bit 21 is reserved. */
	put32(0x1000 + 3 * 4, 0x01400000 | (1 << 12) | PS | P);
	T_EQ(walk(0x00C12345), 0);
	T_EQ(gpa, 0x01412345);
	put32(0x1000 + 3 * 4, 0x01400000 | (1 << 21) | PS | P);
	T_EQ(walk(0x00C12345), -EFAULT);
}

TEST(walk_32bit_ps_ignored_without_pse)
{
	setup(0x1000, 0, 0);
	put32(0x1000 + 3 * 4, 0x3000 | PS | P | RW | US);
	/* 0x00C12345: PTE 0x12. */
	put32(0x3000 + 0x12 * 4, 0x7000 | P | RW | US);
	T_EQ(walk(0x00C12345), 0);
	T_EQ(gpa, 0x7345);
	T_EQ(prot, R | W | X | U);
}

/* PAE: CR3 = 0x1020, 0xC0201ABC is PDPTE 3, PDE 1, PTE 1. */
static void
pae(uint64_t efer)
{
	setup(0x1020, X86_CR4_PAE, efer);
	fake_put64(&f, 0x1020 + 3 * 8, 0x3000 | P);
	fake_put64(&f, 0x3000 + 1 * 8, 0x4000 | P | RW | US);
	fake_put64(&f, 0x4000 + 1 * 8, 0xF12345000ULL | P | RW | US);
}

TEST(walk_pae_4k)
{
	pae(0);
	T_EQ(walk(0xC0201ABC), 0);
	T_EQ(gpa, 0xF12345ABCULL);
	T_EQ(prot, R | W | X | U);
	T_EQ(walk(0x1C0201ABCULL), -EFAULT);

	/* NX needs EFER.NXE; without it the bit is reserved. */
	fake_put64(&f, 0x4000 + 1 * 8, 0xF12345000ULL | P | RW | US | NX);
	T_EQ(walk(0xC0201ABC), -EFAULT);
	st.msrs[NVMM_X64_MSR_EFER] = X86_EFER_NXE;
	T_EQ(walk(0xC0201ABC), 0);
	T_EQ(prot, R | W | U);
	fake_put64(&f, 0x3000 + 1 * 8, 0x4000 | P | US | NX);
	T_EQ(walk(0xC0201ABC), 0);
	T_EQ(prot, R | U);
}

TEST(walk_pae_2m)
{
	pae(0);
	fake_put64(&f, 0x3000 + 1 * 8, 0x00600000 | PS | P | RW);
	T_EQ(walk(0xC0201ABC), 0);
	T_EQ(gpa, 0x601ABC);
	T_EQ(prot, R | W | X);
	fake_put64(&f, 0x3000 + 1 * 8, 0x00600000 | (1 << 12) | PS | P);
	T_EQ(walk(0xC0201ABC), 0);
	T_EQ(gpa, 0x601ABC);
	fake_put64(&f, 0x3000 + 1 * 8, 0x00600000 | (1 << 13) | PS | P);
	T_EQ(walk(0xC0201ABC), -EFAULT);
	fake_put64(&f, 0x3000 + 1 * 8, 0x00600000 | (1 << 20) | PS | P);
	T_EQ(walk(0xC0201ABC), -EFAULT);
}

TEST(walk_pae_reserved_bits)
{
	static const uint64_t pdpte_bad[] = {
		RW, US, 1 << 5, 1 << 6, PS, 1 << 8, 1ULL << 52, 1ULL << 62, NX,
	};

	for (size_t i = 0; i < sizeof(pdpte_bad) / sizeof(pdpte_bad[0]); i++) {
		pae(X86_EFER_NXE);
		fake_put64(&f, 0x1020 + 3 * 8, 0x3000 | P | pdpte_bad[i]);
		T_EQ(walk(0xC0201ABC), -EFAULT);
	}
	/* PDPTE bits 11:9 are available to software. */
	pae(0);
	fake_put64(&f, 0x1020 + 3 * 8, 0x3000 | P | (7 << 9));
	T_EQ(walk(0xC0201ABC), 0);

	/* Bits 62:52 of a PAE PDE or PTE are reserved. */
	pae(0);
	fake_put64(&f, 0x3000 + 1 * 8, 0x4000 | P | RW | US | (1ULL << 52));
	T_EQ(walk(0xC0201ABC), -EFAULT);
	pae(0);
	fake_put64(&f, 0x4000 + 1 * 8, 0xF12345000ULL | P | (1ULL << 62));
	T_EQ(walk(0xC0201ABC), -EFAULT);
	pae(0);
	fake_put64(&f, 0x1020 + 3 * 8, 0x3000);
	T_EQ(walk(0xC0201ABC), -EFAULT);
}

/* 4-level: 0x00007F1234567ABC through tables at 0x1000..0x4000. */
#define GVA4	0x00007F1234567ABCULL

static void
lm(uint64_t cr4, uint64_t efer)
{
	setup(0x1000, X86_CR4_PAE | cr4, X86_EFER_LMA | EFER_LME | efer);
	fake_put64(&f, 0x1000 + IDX(GVA4, 4) * 8, 0x2000 | P | RW | US);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x3000 | P | RW | US);
	fake_put64(&f, 0x3000 + IDX(GVA4, 2) * 8, 0x4000 | P | RW | US);
	fake_put64(&f, 0x4000 + IDX(GVA4, 1) * 8, 0xABCDEF000ULL | P | RW | US);
}

TEST(walk_4level_page_sizes)
{
	lm(0, 0);
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0xABCDEFABCULL);
	T_EQ(prot, R | W | X | U);

	fake_put64(&f, 0x3000 + IDX(GVA4, 2) * 8, 0x800200000ULL | PS | P | RW);
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0x800200000ULL | (GVA4 & 0x1FFFFF));
	T_EQ(prot, R | W | X);

	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x4040000000ULL | PS | P | US);
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0x4040000000ULL | (GVA4 & 0x3FFFFFFF));
	T_EQ(prot, R | X | U);

	/* The PAT bit of a large page is bit 12, not an address bit. */
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8,
	    0x4040000000ULL | (1 << 12) | PS | P);
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0x4040000000ULL | (GVA4 & 0x3FFFFFFF));

	/* The widest physical address: 52 bits. */
	lm(0, 0);
	fake_put64(&f, 0x4000 + IDX(GVA4, 1) * 8, 0x000FFFFFFFFFF000ULL | P);
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0x000FFFFFFFFFFABCULL);
}

TEST(walk_4level_prot)
{
	lm(0, X86_EFER_NXE);
	fake_put64(&f, 0x1000 + IDX(GVA4, 4) * 8, 0x2000 | P | US);
	T_EQ(walk(GVA4), 0);
	T_EQ(prot, R | X | U);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x3000 | P | RW);
	T_EQ(walk(GVA4), 0);
	T_EQ(prot, R | X);
	fake_put64(&f, 0x3000 + IDX(GVA4, 2) * 8, 0x4000 | P | RW | US | NX);
	T_EQ(walk(GVA4), 0);
	T_EQ(prot, R);
	T_EQ(gpa, 0xABCDEFABCULL);

	/* NX anywhere, NXE clear: reserved. */
	for (int level = 4; level >= 1; level--) {
		static const uint64_t table[] = { 0, 0x4000, 0x3000, 0x2000,
		    0x1000 };
		uint64_t at = table[level] + IDX(GVA4, level) * 8;

		lm(0, 0);
		fake_put64(&f, at, fake_get64(&f, at) | NX);
		T_EQ(walk(GVA4), -EFAULT);
		st.msrs[NVMM_X64_MSR_EFER] |= X86_EFER_NXE;
		T_EQ(walk(GVA4), 0);
		T_EQ(prot, R | W | U);
	}
}

TEST(walk_4level_not_present_each_level)
{
	static const uint64_t table[] = { 0, 0x4000, 0x3000, 0x2000, 0x1000 };

	for (int level = 4; level >= 1; level--) {
		uint64_t at = table[level] + IDX(GVA4, level) * 8;

		lm(0, 0);
		fake_put64(&f, at, fake_get64(&f, at) & ~P);
		T_EQ(walk(GVA4), -EFAULT);
	}
}

TEST(walk_4level_reserved_bits)
{
	/* PS in a PML4E. */
	lm(0, 0);
	fake_put64(&f, 0x1000 + IDX(GVA4, 4) * 8, 0x2000 | P | PS);
	T_EQ(walk(GVA4), -EFAULT);
	/* Bits 29:13 of a 1 GiB page, 20:13 of a 2 MiB page. */
	lm(0, 0);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x40000000 | (1 << 13) | PS | P);
	T_EQ(walk(GVA4), -EFAULT);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x40000000 | (1 << 29) | PS | P);
	T_EQ(walk(GVA4), -EFAULT);
	lm(0, 0);
	fake_put64(&f, 0x3000 + IDX(GVA4, 2) * 8, 0x200000 | (1 << 20) | PS | P);
	T_EQ(walk(GVA4), -EFAULT);

	/* Bits 62:52 are ignored in 4-level paging, at every level. */
	lm(0, 0);
	for (uint64_t t = 0x1000; t <= 0x4000; t += 0x1000) {
		int level = 4 - (t - 0x1000) / 0x1000;
		uint64_t at = t + IDX(GVA4, level) * 8;

		fake_put64(&f, at, fake_get64(&f, at) | (0x7FFULL << 52));
	}
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0xABCDEFABCULL);
}

TEST(walk_4level_canonical_and_mode)
{
	lm(0, 0);
	T_EQ(walk(0x0000800000000000ULL), -EFAULT);
	T_EQ(walk(0xFFFF7FFFFFFFF000ULL), -EFAULT);
	T_EQ(walk(0x8000000000000000ULL), -EFAULT);

	/* The upper half: PML4 entry 256. */
	fake_put64(&f, 0x1000 + 256 * 8, 0x2000 | P | RW);
	fake_put64(&f, 0x2000, 0x40000000 | PS | P | RW);
	T_EQ(walk(0xFFFF800000001234ULL), 0);
	T_EQ(gpa, 0x40001234);

	/* Long mode requires PAE. */
	st.crs[NVMM_X64_CR_CR4] = 0;
	T_EQ(walk(GVA4), -EFAULT);

	/* CR3's PCID bits are not part of the address. */
	lm(0, 0);
	st.crs[NVMM_X64_CR_CR3] = 0x1000 | 0xABC;
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0xABCDEFABCULL);
}

TEST(walk_4level_tables_outside_ram)
{
	static uint8_t high[4096], wronly[4096], half[4];

	/* A table in MMIO. */
	lm(0, 0);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x7FFFFFFFF000ULL | P | RW);
	T_EQ(walk(GVA4), -EFAULT);

	/* A table above 4 GiB is fine when it is RAM. */
	lm(0, 0);
	fake_add_ram(&f, 0x100000000ULL, sizeof(high), high, NVMM_PROT_ALL);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x100000000ULL | P | RW);
	fake_put64(&f, 0x100000000ULL + IDX(GVA4, 2) * 8, 0x4000 | P | RW);
	T_EQ(walk(GVA4), 0);
	T_EQ(gpa, 0xABCDEFABCULL);

	/* RAM that cannot be read, and an entry cut by the end of RAM. */
	lm(0, 0);
	fake_add_ram(&f, 0x200000000ULL, sizeof(wronly), wronly,
	    NVMM_PROT_WRITE);
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x200000000ULL | P | RW);
	T_EQ(walk(GVA4), -EFAULT);
	lm(0, 0);
	fake_add_ram(&f, 0x300000000ULL + IDX(GVA4, 2) * 8, sizeof(half), half,
	    NVMM_PROT_ALL);
	memset(half, 0xFF, sizeof(half));
	fake_put64(&f, 0x2000 + IDX(GVA4, 3) * 8, 0x300000000ULL | P | RW);
	T_EQ(walk(GVA4), -EFAULT);
}

/* 5-level: a 57-bit canonical address through tables at 0x1000..0x5000. */
#define GVA5	0x00ABCDEF12345678ULL

TEST(walk_5level)
{
	setup(0x1000, X86_CR4_PAE | X86_CR4_LA57, X86_EFER_LMA);
	fake_put64(&f, 0x1000 + IDX(GVA5, 5) * 8, 0x2000 | P | RW | US);
	fake_put64(&f, 0x2000 + IDX(GVA5, 4) * 8, 0x3000 | P | RW | US);
	fake_put64(&f, 0x3000 + IDX(GVA5, 3) * 8, 0x4000 | P | RW | US);
	fake_put64(&f, 0x4000 + IDX(GVA5, 2) * 8, 0x5000 | P | RW | US);
	fake_put64(&f, 0x5000 + IDX(GVA5, 1) * 8, 0x9000 | P | US);
	T_EQ(walk(GVA5), 0);
	T_EQ(gpa, 0x9678);
	T_EQ(prot, R | X | U);
	T_EQ(f.ram_calls, 5);

	/* Canonical means bits 63:57 copy bit 56. */
	T_EQ(walk(0x0100000000000000ULL), -EFAULT);
	T_EQ(walk(0xFE00000000000000ULL), -EFAULT);
	fake_put64(&f, 0x1000 + 256 * 8, 0x2000 | P | RW);
	fake_put64(&f, 0x2000, 0x3000 | P | RW);
	fake_put64(&f, 0x3000, 0x40000000 | PS | P | RW);
	T_EQ(walk(0xFF00000000000123ULL), 0);
	T_EQ(gpa, 0x40000123);

	/* The same address is not canonical for 4-level paging. */
	st.crs[NVMM_X64_CR_CR4] = X86_CR4_PAE;
	T_EQ(walk(GVA5), -EFAULT);

	/* PS in a PML5E is reserved. */
	st.crs[NVMM_X64_CR_CR4] = X86_CR4_PAE | X86_CR4_LA57;
	fake_put64(&f, 0x1000 + IDX(GVA5, 5) * 8, 0x2000 | P | PS);
	T_EQ(walk(GVA5), -EFAULT);
}

TEST(walk_hostile_self_reference)
{
	/* PML4[0] points at the PML4: every level reads the same page. */
	setup(0x1000, X86_CR4_PAE, X86_EFER_LMA);
	fake_put64(&f, 0x1000, 0x1000 | P | RW | US);
	T_EQ(walk(0x123), 0);
	T_EQ(gpa, 0x1123);
	T_EQ(prot, R | W | X | U);
	T_EQ(f.ram_calls, 4);

	setup(0x1000, 0, 0);
	put32(0x1000, 0x1000 | P);
	T_EQ(walk(0x456), 0);
	T_EQ(gpa, 0x1456);
	T_EQ(prot, R | X);

	setup(0x1000, X86_CR4_PAE, X86_EFER_LMA);
	fake_put64(&f, 0x1000, 0x1000 | P | PS);
	T_EQ(walk(0x123), -EFAULT);
}

TEST(walk_hostile_garbage)
{
	static const uint64_t cr4[] = { 0, X86_CR4_PSE, X86_CR4_PAE,
	    X86_CR4_PAE, X86_CR4_PAE | X86_CR4_LA57 };
	static const uint64_t efer[] = { 0, 0, 0, X86_EFER_LMA, X86_EFER_LMA };

	for (int m = 0; m < 5; m++) {
		setup(0x1000, cr4[m], efer[m]);
		memset(fake_ram(&f, 0x1000), 0xFF, 0x1000);
		T_EQ(walk(0x12345678), -EFAULT);
		T_ASSERT(f.ram_calls <= 5);
	}

	/* A PDE pointing at the top of the physical address space. */
	lm(0, 0);
	fake_put64(&f, 0x3000 + IDX(GVA4, 2) * 8, 0x000FFFFFFFFFF000ULL | P);
	T_EQ(walk(GVA4), -EFAULT);
	setup(0x1000, 0, 0);
	put32(0x1000 + 1 * 4, 0xFFFFF000 | P);
	T_EQ(walk(0x00403ABC), -EFAULT);
}

/* Random tables in every mode: the walk ends, and succeeds consistently. */
TEST(walk_random_tables)
{
	static const uint64_t cr4[] = { 0, X86_CR4_PSE, X86_CR4_PAE,
	    X86_CR4_PAE, X86_CR4_PAE | X86_CR4_LA57 };
	static const uint64_t efer[] = { 0, 0, X86_EFER_NXE, X86_EFER_LMA,
	    X86_EFER_LMA | X86_EFER_NXE };
	uint64_t s = 0x9E3779B97F4A7C15ULL;

	for (int m = 0; m < 5; m++) {
		setup(0x1000, cr4[m], efer[m]);
		for (uint64_t a = 0x1000; a < 0x11000; a += 8) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			/* Mostly present entries pointing into the tables. */
			uint64_t e = (s & 0xF000) | 0x1000 | (s & 0xFFF) | P;

			if ((s >> 60) == 0)
				e ^= s & 0xFFF0000000000000ULL;
			fake_put64(&f, a, e);
		}
		for (int i = 0; i < 2000; i++) {
			uint64_t gva;
			int rc;

			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			gva = m < 3 ? (uint32_t)s : s;
			rc = walk(gva);
			T_ASSERT(rc == 0 || rc == -EFAULT);
			if (rc == 0) {
				T_EQ(gpa & 0xFFF, gva & 0xFFF);
				T_ASSERT(prot & R);
			}
		}
	}
}
