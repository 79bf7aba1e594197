/*
 * Guest memory through segmentation and paging: x86_read_virt,
 * x86_write_virt and x86_fetch_insn on the fake guest.
 */
#include <errno.h>
#include <string.h>

#include "t.h"
#include "test_x86_guest.h"

#define DS	NVMM_X64_SEG_DS
#define ES	NVMM_X64_SEG_ES
#define FS	NVMM_X64_SEG_FS
#define GS	NVMM_X64_SEG_GS
#define CS	NVMM_X64_SEG_CS

static struct fake f;
static struct nvmm_x64_state st;

TEST(virt_real_mode_base_and_limit)
{
	uint8_t b[4] = { 0 };

	fake_init_pc(&f);
	fake_real(&st);
	st.segs[DS].selector = 0x1234;
	st.segs[DS].base = 0x12340;
	fake_put(&f, 0x12350, "\x11\x22\x33\x44", 4);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10, b, 4), 0);
	T_EQ(memcmp(b, "\x11\x22\x33\x44", 4), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFF, b, 1), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFF, b, 2), -EFAULT);
	/* Unreal mode: a 4 GiB limit kept from protected mode. */
	st.segs[DS].limit = 0xFFFFFFFF;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFF, b, 2), 0);
	/* Real mode does not look at the present bit. */
	st.segs[DS].attrib.p = 0;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10, b, 4), 0);
	T_EQ(f.nlog, 0);
	T_EQ(x86_read_virt(&f.g, &st, 6, 0, b, 1), -EINVAL);
	T_EQ(x86_read_virt(&f.g, &st, -1, 0, b, 1), -EINVAL);
}

TEST(virt_protected_mode_limits)
{
	uint8_t b[4] = { 0 };

	fake_init_pc(&f);
	fake_prot32(&st);
	st.segs[DS].limit = 0xFFF;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFE, b, 2), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFE, b, 3), -EFAULT);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x1000, b, 1), -EFAULT);
	/* An unusable segment. */
	st.segs[DS].attrib.p = 0;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0, b, 1), -EFAULT);

	/* Expand-down: offsets above the limit, up to 4 GiB with D=1... */
	st.segs[DS].attrib.p = 1;
	st.segs[DS].attrib.type = 0x7;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFF, b, 1), -EFAULT);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x1000, b, 4), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFFFFFF, b, 1), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFFFFFF, b, 2), -EFAULT);
	/* ...and up to 64 KiB with D=0. */
	st.segs[DS].attrib.def = 0;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFF, b, 1), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0xFFFF, b, 2), -EFAULT);
	/* A code segment with the same type bit is not expand-down. */
	st.segs[CS].limit = 0xFFF;
	st.segs[CS].attrib.type = 0xF;
	T_EQ(x86_read_virt(&f.g, &st, CS, 0x1000, b, 1), -EFAULT);
	T_EQ(x86_read_virt(&f.g, &st, CS, 0xFFF, b, 1), 0);
}

TEST(virt_protected_mode_segment_types)
{
	uint8_t b = 0;

	fake_init_pc(&f);
	fake_prot32(&st);
	/* Code: readable with R, never writable. */
	T_EQ(x86_read_virt(&f.g, &st, CS, 0x1000, &b, 1), 0);
	T_EQ(x86_write_virt(&f.g, &st, CS, 0x1000, &b, 1), -EFAULT);
	st.segs[CS].attrib.type = 0x8;
	T_EQ(x86_read_virt(&f.g, &st, CS, 0x1000, &b, 1), -EFAULT);
	T_EQ(x86_fetch_insn(&f.g, &st, (uint8_t[X86_INSN_MAX]){ 0 }), 15);
	/* Data: writable with W only. */
	st.segs[DS].attrib.type = 0x1;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x1000, &b, 1), 0);
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x1000, &b, 1), -EFAULT);
	/* Real mode ignores the type. */
	st.crs[NVMM_X64_CR_CR0] = 0;
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x1000, &b, 1), 0);
	T_EQ(x86_read_virt(&f.g, &st, CS, 0x1000, &b, 1), 0);
}

TEST(virt_linear_wraps_at_4g_outside_long_mode)
{
	uint8_t b[4];

	fake_init_pc(&f);
	fake_prot32(&st);
	st.segs[ES].base = 0xFFFFFFFE;
	fake_put(&f, 0, "\xCC\xDD", 2);
	fake_mmio_in(&f, 0xBBAA, 2);
	T_EQ(x86_read_virt(&f.g, &st, ES, 0, b, 4), 0);
	T_EQ(memcmp(b, "\xAA\xBB\xCC\xDD", 4), 0);
	T_EQ(f.nlog, 1);
	T_EQ(f.log[0].gpa, 0xFFFFFFFE);
	T_EQ(f.log[0].size, 2);
	T_EQ(f.log[0].write, 0);
}

TEST(virt_long_mode_bases)
{
	uint64_t v = 0;

	fake_init_pc(&f);
	fake_long(&f, &st);
	fake_put64(&f, 0x5000, 0x1111);
	fake_put64(&f, 0x6000, 0x2222);
	fake_put64(&f, 0x7000, 0x3333);
	/* Only FS and GS have a base in 64-bit mode, and no limit. */
	st.segs[DS].base = 0x1000;
	st.segs[DS].limit = 0;
	st.segs[FS].base = 0x1000;
	st.segs[GS].base = 0x2000;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x5000, &v, 8), 0);
	T_EQ(v, 0x1111);
	T_EQ(x86_read_virt(&f.g, &st, FS, 0x5000, &v, 8), 0);
	T_EQ(v, 0x2222);
	T_EQ(x86_read_virt(&f.g, &st, GS, 0x5000, &v, 8), 0);
	T_EQ(v, 0x3333);
	/* Non-canonical. */
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x800000000000ULL, &v, 1), -EFAULT);

	/* Compatibility mode segments like protected mode. */
	st.segs[CS].attrib.l = 0;
	st.segs[CS].attrib.def = 1;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x5000, &v, 8), -EFAULT);
	st.segs[DS].limit = 0xFFFFFFFF;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x5000, &v, 8), 0);
	T_EQ(v, 0x2222);
}

TEST(virt_split_at_ram_end_and_page)
{
	uint8_t b[8];

	fake_init_pc(&f);
	fake_prot32(&st);
	/* RAM ends at 0xA0000: 4 bytes from RAM, 4 from one MMIO access. */
	fake_put(&f, 0x9FFFC, "\x01\x02\x03\x04", 4);
	fake_mmio_in(&f, 0x08070605, 4);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x9FFFC, b, 8), 0);
	T_EQ(memcmp(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0);
	T_EQ(f.nlog, 1);
	T_EQ(f.log[0].gpa, 0xA0000);
	T_EQ(f.log[0].size, 4);

	/* An MMIO access crossing a page is split per page. */
	T_EQ(x86_write_virt(&f.g, &st, DS, 0xA0FFD, "\x0A\x0B\x0C\x0D", 4), 0);
	T_EQ(f.nlog, 3);
	T_EQ(f.log[1].gpa, 0xA0FFD);
	T_EQ(f.log[1].size, 3);
	T_EQ(f.log[1].write, 1);
	T_EQ(fake_logged(&f, 1), 0x0C0B0A);
	T_EQ(f.log[2].gpa, 0xA1000);
	T_EQ(f.log[2].size, 1);
	T_EQ(fake_logged(&f, 2), 0x0D);
}

/* 64-bit mode with linear 0x10000 -> 0x30000 and 0x11000 -> 0x20000. */
static void
two_pages(uint64_t pte_bits)
{
	fake_init_pc(&f);
	fake_long(&f, &st);
	fake_put64(&f, 0x2000, 0x3000 | 0x7);
	fake_put64(&f, 0x3000, 0x4000 | 0x7);
	fake_put64(&f, 0x4000 + 0x10 * 8, 0x30000 | pte_bits);
	fake_put64(&f, 0x4000 + 0x11 * 8, 0x20000 | pte_bits);
}

TEST(virt_page_split_translates_each_page)
{
	uint8_t b[4] = { 0 };

	two_pages(0x7);
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x10FFE, "\x01\x02\x03\x04", 4), 0);
	T_EQ(memcmp(fake_ram(&f, 0x30FFE), "\x01\x02", 2), 0);
	T_EQ(memcmp(fake_ram(&f, 0x20000), "\x03\x04", 2), 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10FFE, b, 4), 0);
	T_EQ(memcmp(b, "\x01\x02\x03\x04", 4), 0);
	T_EQ(f.nlog, 0);

	/* The second page missing fails the access. */
	fake_put64(&f, 0x4000 + 0x11 * 8, 0);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10FFE, b, 4), -EFAULT);
}

TEST(virt_page_permissions)
{
	uint8_t b = 0;

	/* Read-only supervisor page. */
	two_pages(0x1);
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10000, &b, 1), 0);
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x10000, &b, 1), -EFAULT);
	/* CR0.WP clear: the supervisor may write it anyway. */
	st.crs[NVMM_X64_CR_CR0] &= ~X86_CR0_WP;
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x10000, &b, 1), 0);
	/* CPL 3 may neither touch a supervisor page nor write read-only. */
	st.segs[NVMM_X64_SEG_SS].attrib.dpl = 3;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10000, &b, 1), -EFAULT);
	two_pages(0x5);
	st.segs[NVMM_X64_SEG_SS].attrib.dpl = 3;
	st.crs[NVMM_X64_CR_CR0] &= ~X86_CR0_WP;
	T_EQ(x86_read_virt(&f.g, &st, DS, 0x10000, &b, 1), 0);
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x10000, &b, 1), -EFAULT);
	two_pages(0x7);
	st.segs[NVMM_X64_SEG_SS].attrib.dpl = 3;
	T_EQ(x86_write_virt(&f.g, &st, DS, 0x10000, &b, 1), 0);
}

TEST(virt_readonly_ram_write_goes_to_mmio)
{
	static uint8_t rom[4096];

	fake_init_pc(&f);
	fake_prot32(&st);
	fake_add_ram(&f, 0xFFFF0000, sizeof(rom), rom,
	    NVMM_PROT_READ | NVMM_PROT_EXEC);
	rom[0] = 0x5A;
	T_EQ(x86_write_virt(&f.g, &st, DS, 0xFFFF0000, "\x99", 1), 0);
	T_EQ(rom[0], 0x5A);
	T_EQ(f.nlog, 1);
	T_EQ(f.log[0].gpa, 0xFFFF0000);
	T_EQ(f.log[0].write, 1);
	T_EQ(fake_logged(&f, 0), 0x99);
}

TEST(virt_fetch)
{
	uint8_t b[X86_INSN_MAX];

	/* Real mode, CS:IP = 1000:0100. */
	fake_init_pc(&f);
	fake_real(&st);
	st.segs[CS].base = 0x10000;
	st.gprs[NVMM_X64_GPR_RIP] = 0x100;
	fake_put(&f, 0x10100, "\x89\x07\x90", 3);
	T_EQ(x86_fetch_insn(&f.g, &st, b), 15);
	T_EQ(memcmp(b, "\x89\x07\x90", 3), 0);
	/* The CS limit ends the fetch early. */
	st.gprs[NVMM_X64_GPR_RIP] = 0xFFFD;
	T_EQ(x86_fetch_insn(&f.g, &st, b), 3);

	/* Code right before an unmapped page. */
	two_pages(0x7);
	fake_put64(&f, 0x4000 + 0x11 * 8, 0);
	st.gprs[NVMM_X64_GPR_RIP] = 0x10FFC;
	fake_put(&f, 0x30FFC, "\xA1\xB2\xC3\xD4", 4);
	T_EQ(x86_fetch_insn(&f.g, &st, b), 4);
	T_EQ(memcmp(b, "\xA1\xB2\xC3\xD4", 4), 0);
	/* No byte at all, code in MMIO, or in an NX page. */
	st.gprs[NVMM_X64_GPR_RIP] = 0x11000;
	T_EQ(x86_fetch_insn(&f.g, &st, b), -EFAULT);
	fake_init_pc(&f);
	fake_prot32(&st);
	st.gprs[NVMM_X64_GPR_RIP] = 0x9FFFE;
	T_EQ(x86_fetch_insn(&f.g, &st, b), 2);
	T_EQ(f.nlog, 0);
	two_pages(0x7 | (1ULL << 63));
	st.gprs[NVMM_X64_GPR_RIP] = 0x10000;
	T_EQ(x86_fetch_insn(&f.g, &st, b), -EFAULT);
}
