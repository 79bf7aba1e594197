/*
 * The decoder and x86_emulate_mem on byte strings: exact registers, RFLAGS,
 * RIP and MMIO accesses for every supported form, in 16, 32 and 64-bit
 * mode; ALU flags checked against the host CPU.
 */
#include <errno.h>
#include <string.h>

#include "t.h"
#include "test_x86_guest.h"

#define RAX	NVMM_X64_GPR_RAX
#define RCX	NVMM_X64_GPR_RCX
#define RDX	NVMM_X64_GPR_RDX
#define RBX	NVMM_X64_GPR_RBX
#define RSP	NVMM_X64_GPR_RSP
#define RSI	NVMM_X64_GPR_RSI
#define RDI	NVMM_X64_GPR_RDI
#define R8	NVMM_X64_GPR_R8
#define R12	NVMM_X64_GPR_R12
#define RIP	NVMM_X64_GPR_RIP
#define RFLAGS	NVMM_X64_GPR_RFLAGS

#define CF	X86_FLAG_CF
#define PF	X86_FLAG_PF
#define AF	X86_FLAG_AF
#define ZF	X86_FLAG_ZF
#define SF	X86_FLAG_SF
#define DF	X86_FLAG_DF
#define OF	X86_FLAG_OF
#define ARITH	(CF | PF | AF | ZF | SF | OF)

#define MMIO	0xFEE00300ULL
#define RIP0	0x7000ULL

static struct fake f;
static struct nvmm_x64_state st, want;

/* Emulates the instruction in string literal s, faulting at gpa. */
#define RUN(gpa, s)							\
	x86_emulate_mem(&f.g, &st, (gpa), (const uint8_t *)(s), sizeof(s) - 1)

/* The registers are those of want. */
#define CHECK()	check(__LINE__)

static void
check(int line)
{
	for (int i = 0; i < NVMM_X64_NGPR; i++)
		if (st.gprs[i] != want.gprs[i])
			t_fail(__FILE__, line, "gpr %d: 0x%llx, want 0x%llx", i,
			    (unsigned long long)st.gprs[i],
			    (unsigned long long)want.gprs[i]);
	T_ASSERT(memcmp(st.segs, want.segs, sizeof(st.segs)) == 0);
}

/* MMIO access i was this one. */
#define LOG(i, a, w, sz, v)						\
	do {								\
		T_ASSERT(f.nlog > (i));					\
		T_EQ(f.log[i].gpa, (a));				\
		T_EQ(f.log[i].write, (w));				\
		T_EQ(f.log[i].size, (sz));				\
		T_EQ(fake_logged(&f, (i)), (v));			\
	} while (0)

/* A new case: empty log and script, RIP back at RIP0, want = st. */
static void
next(void)
{
	f.nlog = 0;
	f.nin = f.inpos = 0;
	st.gprs[RIP] = RIP0;
	want = st;
}

static void
set(int reg, uint64_t v)
{
	st.gprs[reg] = want.gprs[reg] = v;
}

static void
mode16(void)
{
	fake_init_pc(&f);
	fake_real(&st);
	next();
}

static void
mode32(void)
{
	fake_init_pc(&f);
	fake_prot32(&st);
	next();
}

static void
mode64(void)
{
	fake_init_pc(&f);
	fake_long(&f, &st);
	next();
}

/* ---- MOV ---- */

TEST(mem_mov_store_64)
{
	mode64();
	set(RAX, 0x1122334455667788ULL);
	set(R8, 0x99AABBCCDDEEFF00ULL);
	T_EQ(RUN(MMIO, "\x48\x89\x03"), 0);		/* mov [rbx],rax */
	want.gprs[RIP] += 3;
	CHECK();
	T_EQ(f.nlog, 1);
	LOG(0, MMIO, 1, 8, 0x1122334455667788ULL);

	next();
	T_EQ(RUN(MMIO, "\x89\x03"), 0);			/* mov [rbx],eax */
	want.gprs[RIP] += 2;
	CHECK();
	LOG(0, MMIO, 1, 4, 0x55667788);

	next();
	T_EQ(RUN(MMIO, "\x66\x89\x03"), 0);		/* mov [rbx],ax */
	LOG(0, MMIO, 1, 2, 0x7788);

	next();
	T_EQ(RUN(MMIO, "\x4C\x89\x03"), 0);		/* mov [rbx],r8 */
	LOG(0, MMIO, 1, 8, 0x99AABBCCDDEEFF00ULL);

	next();
	T_EQ(RUN(MMIO, "\x88\x23"), 0);			/* mov [rbx],ah */
	LOG(0, MMIO, 1, 1, 0x77);

	next();
	set(RSP, 0x1234);
	T_EQ(RUN(MMIO, "\x40\x88\x23"), 0);		/* mov [rbx],spl */
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, MMIO, 1, 1, 0x34);

	next();
	set(R12, 0xABCD);
	T_EQ(RUN(MMIO, "\x44\x88\x23"), 0);		/* mov [rbx],r12b */
	LOG(0, MMIO, 1, 1, 0xCD);
}

TEST(mem_mov_load_64)
{
	mode64();
	set(RAX, 0xFFFFFFFFFFFFFFFFULL);
	fake_mmio_in(&f, 0x8877665544332211ULL, 8);
	T_EQ(RUN(MMIO, "\x48\x8B\x03"), 0);		/* mov rax,[rbx] */
	want.gprs[RAX] = 0x8877665544332211ULL;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, MMIO, 0, 8, 0x8877665544332211ULL);

	/* A 32-bit load clears bits 63:32; 8 and 16-bit loads merge. */
	next();
	set(RAX, 0xFFFFFFFFFFFFFFFFULL);
	fake_mmio_in(&f, 0x44332211, 4);
	T_EQ(RUN(MMIO, "\x8B\x03"), 0);
	want.gprs[RAX] = 0x44332211;
	want.gprs[RIP] += 2;
	CHECK();

	next();
	set(RAX, 0xFFFFFFFFFFFFFFFFULL);
	fake_mmio_in(&f, 0x2211, 2);
	T_EQ(RUN(MMIO, "\x66\x8B\x03"), 0);
	want.gprs[RAX] = 0xFFFFFFFFFFFF2211ULL;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, MMIO, 0, 2, 0x2211);

	next();
	set(RAX, 0xFFFFFFFFFFFFFFFFULL);
	fake_mmio_in(&f, 0x5A, 1);
	T_EQ(RUN(MMIO, "\x8A\x23"), 0);			/* mov ah,[rbx] */
	want.gprs[RAX] = 0xFFFFFFFFFFFF5AFFULL;
	want.gprs[RIP] += 2;
	CHECK();

	next();
	set(RDI, 0xFFFFFFFFFFFFFFFFULL);
	fake_mmio_in(&f, 0x5A, 1);
	T_EQ(RUN(MMIO, "\x40\x8A\x3B"), 0);		/* mov dil,[rbx] */
	want.gprs[RDI] = 0xFFFFFFFFFFFFFF5AULL;
	want.gprs[RIP] += 3;
	CHECK();

	next();
	fake_mmio_in(&f, 0xCAFEF00D, 4);
	T_EQ(RUN(MMIO, "\x44\x8B\x03"), 0);		/* mov r8d,[rbx] */
	want.gprs[R8] = 0xCAFEF00D;
	want.gprs[RIP] += 3;
	CHECK();
}

TEST(mem_mov_imm_and_addressing_forms_64)
{
	mode64();
	T_EQ(RUN(MMIO, "\xC6\x03\xAB"), 0);		/* mov byte [rbx],0xab */
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, MMIO, 1, 1, 0xAB);

	next();
	T_EQ(RUN(MMIO, "\x48\xC7\x03\xFE\xFF\xFF\xFF"), 0);
	want.gprs[RIP] += 7;
	CHECK();
	LOG(0, MMIO, 1, 8, 0xFFFFFFFFFFFFFFFEULL);

	next();
	T_EQ(RUN(MMIO, "\x66\xC7\x03\x34\x12"), 0);
	LOG(0, MMIO, 1, 2, 0x1234);
	T_EQ(st.gprs[RIP], RIP0 + 5);

	/* RIP-relative: disp32, then the immediate. */
	next();
	T_EQ(RUN(MMIO, "\xC7\x05\x10\x00\x00\x00\x78\x56\x34\x12"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 10);
	LOG(0, MMIO, 1, 4, 0x12345678);

	/* SIB + disp8; SIB with no base (disp32); disp32 forms. */
	next();
	T_EQ(RUN(MMIO, "\xC7\x44\x24\x08\x01\x00\x00\x00"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 8);
	LOG(0, MMIO, 1, 4, 1);
	next();
	T_EQ(RUN(MMIO, "\xC7\x04\x8D\x00\x10\x00\x00\x02\x00\x00\x00"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 11);
	LOG(0, MMIO, 1, 4, 2);
	next();
	T_EQ(RUN(MMIO, "\xC7\x83\x00\x10\x00\x00\x03\x00\x00\x00"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 10);
	LOG(0, MMIO, 1, 4, 3);
	next();
	T_EQ(RUN(MMIO, "\x41\xC6\x44\x24\xFF\x04"), 0);	/* [r12-1] */
	T_EQ(st.gprs[RIP], RIP0 + 6);
	LOG(0, MMIO, 1, 1, 4);

	/* Group 11 other than /0 is not MOV. */
	next();
	T_EQ(RUN(MMIO, "\xC6\x0B\x01"), -ENODEV);
	CHECK();
	T_EQ(f.nlog, 0);
}

TEST(mem_mov_moffs)
{
	mode64();
	fake_mmio_in(&f, 0xDEADBEEF, 4);
	T_EQ(RUN(MMIO, "\xA1\x00\x03\xE0\xFE\x00\x00\x00\x00"), 0);
	want.gprs[RAX] = 0xDEADBEEF;
	want.gprs[RIP] += 9;
	CHECK();
	LOG(0, MMIO, 0, 4, 0xDEADBEEF);

	next();
	set(RAX, 0x0102030405060708ULL);
	T_EQ(RUN(MMIO, "\x48\xA3\x00\x03\xE0\xFE\x00\x00\x00\x00"), 0);
	want.gprs[RIP] += 10;
	CHECK();
	LOG(0, MMIO, 1, 8, 0x0102030405060708ULL);

	/* 67: a 32-bit moffs. */
	next();
	fake_mmio_in(&f, 0x77, 1);
	T_EQ(RUN(MMIO, "\x67\xA0\x00\x03\xE0\xFE"), 0);
	want.gprs[RAX] = 0x0102030405060777ULL;
	want.gprs[RIP] += 6;
	CHECK();

	mode32();
	set(RAX, 0x11223344);
	T_EQ(RUN(MMIO, "\xA2\x00\x03\xE0\xFE"), 0);
	want.gprs[RIP] += 5;
	CHECK();
	LOG(0, MMIO, 1, 1, 0x44);
	next();
	T_EQ(RUN(MMIO, "\x66\xA3\x00\x03\xE0\xFE"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 6);
	LOG(0, MMIO, 1, 2, 0x3344);
	next();
	T_EQ(RUN(MMIO, "\x67\xA3\x00\x03"), 0);	/* 16-bit moffs */
	T_EQ(st.gprs[RIP], RIP0 + 4);
	LOG(0, MMIO, 1, 4, 0x11223344);

	mode16();
	fake_mmio_in(&f, 0xBEEF, 2);
	T_EQ(RUN(0xB8000, "\xA1\x00\x80"), 0);
	want.gprs[RAX] = 0xBEEF;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, 0xB8000, 0, 2, 0xBEEF);
}

TEST(mem_mov_32bit_mode)
{
	mode32();
	set(RAX, 0xAABBCCDD);
	T_EQ(RUN(MMIO, "\x89\x03"), 0);
	want.gprs[RIP] += 2;
	CHECK();
	LOG(0, MMIO, 1, 4, 0xAABBCCDD);

	next();
	T_EQ(RUN(MMIO, "\x66\x89\x03"), 0);
	LOG(0, MMIO, 1, 2, 0xCCDD);

	/* 67: 16-bit addressing, [bp+di+disp8]. */
	next();
	T_EQ(RUN(MMIO, "\x67\x89\x43\x10"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 4);
	LOG(0, MMIO, 1, 4, 0xAABBCCDD);

	/* A REX byte is DEC outside 64-bit mode. */
	next();
	T_EQ(RUN(MMIO, "\x48\x89\x03"), -ENODEV);
	CHECK();

	/* EIP wraps at 4 GiB. */
	next();
	set(RIP, 0xFFFFFFFF);
	T_EQ(RUN(MMIO, "\xC6\x03\x01"), 0);
	want.gprs[RIP] = 2;
	CHECK();
}

TEST(mem_mov_16bit_mode)
{
	mode16();
	set(RAX, 0x12345678);
	T_EQ(RUN(0xB8000, "\x89\x07"), 0);		/* mov [bx],ax */
	want.gprs[RIP] += 2;
	CHECK();
	LOG(0, 0xB8000, 1, 2, 0x5678);

	next();
	T_EQ(RUN(0xB8000, "\x66\x89\x07"), 0);		/* mov [bx],eax */
	LOG(0, 0xB8000, 1, 4, 0x12345678);
	T_EQ(st.gprs[RIP], RIP0 + 3);

	next();
	T_EQ(RUN(0xB8000, "\x88\x27"), 0);		/* mov [bx],ah */
	LOG(0, 0xB8000, 1, 1, 0x56);

	/* disp16 alone, [bx+si+disp8], [bp+disp16], 32-bit addressing. */
	next();
	T_EQ(RUN(0xB8000, "\xC7\x06\x34\x12\xCD\xAB"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 6);
	LOG(0, 0xB8000, 1, 2, 0xABCD);
	next();
	T_EQ(RUN(0xB8000, "\xC7\x40\x05\x11\x22"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 5);
	LOG(0, 0xB8000, 1, 2, 0x2211);
	next();
	T_EQ(RUN(0xB8000, "\xC6\x86\x00\x01\x33"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 5);
	LOG(0, 0xB8000, 1, 1, 0x33);
	next();
	T_EQ(RUN(0xB8000, "\x67\xC6\x04\x24\x44"), 0);	/* [esp] */
	T_EQ(st.gprs[RIP], RIP0 + 5);
	LOG(0, 0xB8000, 1, 1, 0x44);
	next();
	T_EQ(RUN(0xB8000, "\x66\xC7\x07\x78\x56\x34\x12"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 7);
	LOG(0, 0xB8000, 1, 4, 0x12345678);

	next();
	fake_mmio_in(&f, 0x9988, 2);
	T_EQ(RUN(0xB8000, "\x8B\x1F"), 0);		/* mov bx,[bx] */
	want.gprs[RBX] = 0x9988;
	want.gprs[RIP] += 2;
	CHECK();

	/* Segment overrides are accepted (the GPA is the exit's). */
	next();
	T_EQ(RUN(0xB8000, "\x26\x2E\x36\x3E\x64\x65\x88\x07"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 8);
	LOG(0, 0xB8000, 1, 1, 0x78);
}

/* ---- MOVZX, MOVSX, MOVSXD ---- */

TEST(mem_movzx_movsx)
{
	mode64();
	set(RAX, ~0ULL);
	fake_mmio_in(&f, 0x80, 1);
	T_EQ(RUN(MMIO, "\x0F\xB6\x03"), 0);		/* movzx eax,byte */
	want.gprs[RAX] = 0x80;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, MMIO, 0, 1, 0x80);

	next();
	set(RAX, ~0ULL);
	fake_mmio_in(&f, 0x8000, 2);
	T_EQ(RUN(MMIO, "\x48\x0F\xB7\x03"), 0);	/* movzx rax,word */
	want.gprs[RAX] = 0x8000;
	want.gprs[RIP] += 4;
	CHECK();
	LOG(0, MMIO, 0, 2, 0x8000);

	next();
	set(RAX, 0x1111111111111111ULL);
	fake_mmio_in(&f, 0x80, 1);
	T_EQ(RUN(MMIO, "\x66\x0F\xBE\x03"), 0);	/* movsx ax,byte */
	want.gprs[RAX] = 0x111111111111FF80ULL;
	want.gprs[RIP] += 4;
	CHECK();

	next();
	fake_mmio_in(&f, 0x8001, 2);
	T_EQ(RUN(MMIO, "\x48\x0F\xBF\x03"), 0);	/* movsx rax,word */
	want.gprs[RAX] = 0xFFFFFFFFFFFF8001ULL;
	want.gprs[RIP] += 4;
	CHECK();

	next();
	fake_mmio_in(&f, 0x8001, 2);
	T_EQ(RUN(MMIO, "\x0F\xBF\x03"), 0);		/* movsx eax,word */
	want.gprs[RAX] = 0xFFFF8001;
	want.gprs[RIP] += 3;
	CHECK();

	next();
	fake_mmio_in(&f, 0x7F, 1);
	T_EQ(RUN(MMIO, "\x66\x0F\xB6\x03"), 0);	/* movzx ax,byte */
	want.gprs[RAX] = 0xFFFF007F;
	want.gprs[RIP] += 4;
	CHECK();

	next();
	fake_mmio_in(&f, 0x80000000, 4);
	T_EQ(RUN(MMIO, "\x4C\x63\x03"), 0);		/* movsxd r8,dword */
	want.gprs[R8] = 0xFFFFFFFF80000000ULL;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, MMIO, 0, 4, 0x80000000);

	next();
	set(RAX, ~0ULL);
	fake_mmio_in(&f, 0x80000000, 4);
	T_EQ(RUN(MMIO, "\x63\x03"), 0);		/* movsxd eax: a move */
	want.gprs[RAX] = 0x80000000;
	want.gprs[RIP] += 2;
	CHECK();

	/* 63 is ARPL outside 64-bit mode. */
	mode32();
	T_EQ(RUN(MMIO, "\x63\x03"), -ENODEV);
	mode16();
	fake_mmio_in(&f, 0xF0, 1);
	T_EQ(RUN(0xB8000, "\x0F\xBE\x07"), 0);	/* movsx ax,byte [bx] */
	want.gprs[RAX] = 0xFFF0;
	want.gprs[RIP] += 3;
	CHECK();
}

/* ---- ALU, TEST, XCHG ---- */

TEST(mem_alu_forms)
{
	mode32();
	/* add [ebx],eax: read, then write; flags. */
	set(RAX, 1);
	fake_mmio_in(&f, 0xFFFFFFFF, 4);
	T_EQ(RUN(MMIO, "\x01\x03"), 0);
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | ZF;
	CHECK();
	T_EQ(f.nlog, 2);
	LOG(0, MMIO, 0, 4, 0xFFFFFFFF);
	LOG(1, MMIO, 1, 4, 0);

	/* add eax,[ebx]: read only. */
	next();
	set(RAX, 0x7FFFFFFF);
	fake_mmio_in(&f, 1, 4);
	T_EQ(RUN(MMIO, "\x03\x03"), 0);
	want.gprs[RAX] = 0x80000000;
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | PF | AF | SF | OF;
	CHECK();
	T_EQ(f.nlog, 1);

	/* sub dword [ebx],1 via 83 /5 with 0 in memory. */
	next();
	fake_mmio_in(&f, 0, 4);
	T_EQ(RUN(MMIO, "\x83\x2B\x01"), 0);
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | SF;
	CHECK();
	LOG(1, MMIO, 1, 4, 0xFFFFFFFF);

	/* add byte [ebx],0x0f via 80 /0. */
	next();
	fake_mmio_in(&f, 0xF1, 1);
	T_EQ(RUN(MMIO, "\x80\x03\x0F"), 0);
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | ZF;
	CHECK();
	LOG(1, MMIO, 1, 1, 0);

	/* cmp [ebx],al and cmp eax,[ebx]: no write. */
	next();
	set(RAX, 0x05);
	fake_mmio_in(&f, 0x05, 1);
	T_EQ(RUN(MMIO, "\x38\x03"), 0);
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | ZF | PF;
	CHECK();
	T_EQ(f.nlog, 1);
	next();
	fake_mmio_in(&f, 6, 4);
	T_EQ(RUN(MMIO, "\x3B\x03"), 0);
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | SF;
	CHECK();
	T_EQ(f.nlog, 1);

	/* cmp dword [ebx],0x12345678 via 81 /7. */
	next();
	fake_mmio_in(&f, 0x12345678, 4);
	T_EQ(RUN(MMIO, "\x81\x3B\x78\x56\x34\x12"), 0);
	want.gprs[RIP] += 6;
	want.gprs[RFLAGS] = 0x2 | ZF | PF;
	CHECK();

	/* or/and/xor r/m,reg and reg,r/m, with the old flags replaced. */
	next();
	set(RFLAGS, 0x2 | ARITH);
	set(RCX, 0xF0F0);
	fake_mmio_in(&f, 0x0FF0, 2);
	T_EQ(RUN(MMIO, "\x66\x09\x0B"), 0);		/* or [ebx],cx */
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2 | PF | SF;
	CHECK();
	LOG(1, MMIO, 1, 2, 0xFFF0);
	next();
	fake_mmio_in(&f, 0x0FF0, 2);
	T_EQ(RUN(MMIO, "\x66\x23\x0B"), 0);		/* and cx,[ebx] */
	want.gprs[RCX] = 0x00F0;
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2 | PF;
	CHECK();
	next();
	fake_mmio_in(&f, 0xF0, 1);
	T_EQ(RUN(MMIO, "\x32\x0B"), 0);		/* xor cl,[ebx] */
	want.gprs[RCX] = 0;
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | PF | ZF;
	CHECK();

	/* adc and sbb use CF. */
	next();
	set(RFLAGS, 0x2 | CF);
	set(RAX, 0xFF);
	fake_mmio_in(&f, 0x00, 1);
	T_EQ(RUN(MMIO, "\x10\x03"), 0);		/* adc [ebx],al */
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | ZF;
	CHECK();
	LOG(1, MMIO, 1, 1, 0);
	next();
	fake_mmio_in(&f, 0x00, 1);
	T_EQ(RUN(MMIO, "\x80\x1B\x00"), 0);		/* sbb byte [ebx],0 */
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | SF;
	CHECK();
	LOG(1, MMIO, 1, 1, 0xFF);
}

TEST(mem_alu_64bit_sign_extended_imm)
{
	mode64();
	fake_mmio_in(&f, 5, 8);
	T_EQ(RUN(MMIO, "\x48\x83\x03\xFF"), 0);	/* add qword [rbx],-1 */
	want.gprs[RIP] += 4;
	want.gprs[RFLAGS] = 0x2 | CF | AF;
	CHECK();
	LOG(1, MMIO, 1, 8, 4);

	next();
	fake_mmio_in(&f, 0, 8);
	T_EQ(RUN(MMIO, "\x48\x81\x23\x00\x00\x00\x80"), 0); /* and ,imm32 */
	want.gprs[RIP] += 7;
	want.gprs[RFLAGS] = 0x2 | PF | ZF;
	CHECK();
	next();
	fake_mmio_in(&f, 0x1, 8);
	T_EQ(RUN(MMIO, "\x48\x81\x0B\x00\x00\x00\x80"), 0); /* or */
	LOG(1, MMIO, 1, 8, 0xFFFFFFFF80000001ULL);
	next();
	fake_mmio_in(&f, 0x1234, 2);
	T_EQ(RUN(MMIO, "\x66\x81\x33\xFF\x00"), 0);	/* xor word,0xff */
	T_EQ(st.gprs[RIP], RIP0 + 5);
	LOG(1, MMIO, 1, 2, 0x12CB);
	next();
	T_EQ(RUN(MMIO, "\x66\x83\x33"), -EFAULT);	/* cut short */
	CHECK();
}

TEST(mem_test)
{
	mode64();
	set(RAX, 0x80);
	set(RFLAGS, 0x2 | CF | OF | AF);
	fake_mmio_in(&f, 0x81, 1);
	T_EQ(RUN(MMIO, "\x84\x03"), 0);		/* test [rbx],al */
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | SF;
	CHECK();
	T_EQ(f.nlog, 1);

	next();
	fake_mmio_in(&f, 0x7F, 4);
	T_EQ(RUN(MMIO, "\x85\x03"), 0);		/* test [rbx],eax */
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | ZF | PF;
	CHECK();

	next();
	fake_mmio_in(&f, 0x03, 1);
	T_EQ(RUN(MMIO, "\xF6\x03\x01"), 0);		/* test byte [rbx],1 */
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2;
	CHECK();

	next();
	fake_mmio_in(&f, 0x8000000000000000ULL, 8);
	T_EQ(RUN(MMIO, "\x48\xF7\x0B\x00\x00\x00\x80"), 0); /* /1 alias */
	want.gprs[RIP] += 7;
	want.gprs[RFLAGS] = 0x2 | SF | PF;
	CHECK();

	/* NOT, NEG, MUL... are not emulated. */
	for (int r = 2; r < 8; r++) {
		uint8_t insn[] = { 0xF7, (uint8_t)(0x03 | r << 3) };

		next();
		T_EQ(x86_emulate_mem(&f.g, &st, MMIO, insn, 2), -ENODEV);
		CHECK();
	}
}

TEST(mem_xchg)
{
	mode64();
	set(RAX, 0x1111222233334444ULL);
	fake_mmio_in(&f, 0xAAAABBBB, 4);
	T_EQ(RUN(MMIO, "\x87\x03"), 0);		/* xchg [rbx],eax */
	want.gprs[RAX] = 0xAAAABBBB;
	want.gprs[RIP] += 2;
	CHECK();
	T_EQ(f.nlog, 2);
	LOG(0, MMIO, 0, 4, 0xAAAABBBB);
	LOG(1, MMIO, 1, 4, 0x33334444);

	next();
	fake_mmio_in(&f, 0xEE, 1);
	T_EQ(RUN(MMIO, "\xF0\x86\x23"), 0);		/* lock xchg [rbx],ah */
	want.gprs[RAX] = 0xAAAAEEBB;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(1, MMIO, 1, 1, 0xBB);
}

/*
 * The host CPU computes the same operation on the same inputs. The stack
 * pointer moves past the red zone before pushf/popf.
 */
#define HOST_ASM(insn, dst, src, fl)					\
	__asm__("sub $128, %%rsp\n\tpush %[f]\n\tpopf\n\t"		\
	    insn " %[s], %[d]\n\tpushf\n\tpop %[f]\n\tadd $128, %%rsp"	\
	    : [d] "+q"(dst), [f] "+r"(fl) : [s] "q"(src) : "cc", "memory")

#define HOST_OP(name, insn)						\
	static uint64_t							\
	name(unsigned size, uint64_t a, uint64_t b, uint64_t *flags)	\
	{								\
		uint64_t fl = (*flags & ARITH) | 0x2;			\
		switch (size) {						\
		case 1: {						\
			uint8_t x = a, y = b;				\
			HOST_ASM(insn, x, y, fl);			\
			a = x;						\
			break;						\
		}							\
		case 2: {						\
			uint16_t x = a, y = b;				\
			HOST_ASM(insn, x, y, fl);			\
			a = x;						\
			break;						\
		}							\
		case 4: {						\
			uint32_t x = a, y = b;				\
			HOST_ASM(insn, x, y, fl);			\
			a = x;						\
			break;						\
		}							\
		default:						\
			HOST_ASM(insn, a, b, fl);			\
			break;						\
		}							\
		*flags = fl & ARITH;					\
		return a;						\
	}

HOST_OP(host_add, "add")
HOST_OP(host_or, "or")
HOST_OP(host_adc, "adc")
HOST_OP(host_sbb, "sbb")
HOST_OP(host_and, "and")
HOST_OP(host_sub, "sub")
HOST_OP(host_xor, "xor")
HOST_OP(host_cmp, "cmp")
HOST_OP(host_test, "test")

typedef uint64_t (*host_fn)(unsigned, uint64_t, uint64_t, uint64_t *);

/* In group 1 order; TEST last. */
static const host_fn host[9] = {
	host_add, host_or, host_adc, host_sbb, host_and, host_sub, host_xor,
	host_cmp, host_test,
};

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An operand: random, or an edge value of the size. */
static uint64_t
operand(unsigned size)
{
	uint64_t m = x86_mask(size), sign = 1ULL << (size * 8 - 1);

	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return m;
	case 2: return sign;
	case 3: return sign - 1;
	case 4: return rnd() % 16;
	default: return rnd() & m;
	}
}

/*
 * Emulates op in one form on mem (from MMIO) and reg (RCX) or imm and
 * checks the result and flags against the host.
 */
static void
cross_check(int op, unsigned size, int form, uint64_t mem, uint64_t reg,
    uint64_t imm, uint64_t cf)
{
	static const uint8_t opsize_prefix[9] = { [2] = 0x66, [8] = 0x48 };
	uint8_t insn[16];
	size_t n = 0;
	uint64_t hflags = cf, expect, a, b, m = x86_mask(size);
	unsigned isize = 0;
	bool to_mem = true, writes = op != 7 && op != 8;

	next();
	set(RCX, reg);
	set(RFLAGS, 0x2 | cf);
	if (opsize_prefix[size])
		insn[n++] = opsize_prefix[size];
	switch (form) {
	case 0:		/* op Ev,Gv (84/85 for TEST) */
		insn[n++] = op == 8 ? 0x84 | (size > 1) : op * 8 + (size > 1);
		insn[n++] = 0x0B;
		break;
	case 1:		/* op Gv,Ev */
		insn[n++] = op * 8 + 2 + (size > 1);
		insn[n++] = 0x0B;
		to_mem = false;
		break;
	case 2:		/* group 1 Ib/Iz, or F6/F7 /0 for TEST */
		if (op == 8)
			insn[n++] = 0xF6 | (size > 1);
		else
			insn[n++] = 0x80 | (size > 1);
		insn[n++] = 0x03 | (op == 8 ? 0 : op << 3);
		isize = size == 1 ? 1 : size == 2 ? 2 : 4;
		break;
	default:	/* group 1 83: Ib sign-extended */
		insn[n++] = 0x83;
		insn[n++] = 0x03 | op << 3;
		isize = 1;
		break;
	}
	for (unsigned i = 0; i < isize; i++)
		insn[n++] = imm >> (8 * i);
	if (isize)
		reg = x86_sext(imm, isize);
	a = to_mem ? mem : reg;
	b = to_mem ? reg : mem;
	expect = host[op](size, a, b, &hflags) & m;

	fake_mmio_in(&f, mem, size);
	T_EQ(x86_emulate_mem(&f.g, &st, MMIO, insn, n), 0);
	want.gprs[RIP] += n;
	want.gprs[RFLAGS] = 0x2 | hflags;
	if (writes && !to_mem)
		x86_gpr_write(&want, RCX, 0, size, expect);
	if (memcmp(st.gprs, want.gprs, sizeof(st.gprs)) != 0 ||
	    f.nlog != 1u + (writes && to_mem) ||
	    (writes && to_mem && fake_logged(&f, 1) != expect))
		t_fail(__FILE__, __LINE__, "op %d size %u form %d mem 0x%llx "
		    "reg 0x%llx cf %d: flags 0x%llx want 0x%llx", op, size,
		    form, (unsigned long long)mem, (unsigned long long)reg,
		    (int)cf, (unsigned long long)st.gprs[RFLAGS],
		    (unsigned long long)want.gprs[RFLAGS]);
}

TEST(mem_alu_flags_match_host)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	mode64();
	for (int op = 0; op < 9; op++)
		for (int s = 0; s < 4; s++)
			for (int form = 0; form < 4; form++)
				for (int i = 0; i < 300; i++) {
					unsigned size = sizes[s];

					if ((op == 8 && form % 2 == 1) ||
					    (form == 3 && size == 1))
						continue;
					cross_check(op, size, form,
					    operand(size), operand(size),
					    operand(4), rnd() & CF);
				}
}

/* ---- String instructions ---- */

TEST(mem_stos)
{
	mode32();
	set(RAX, 0x11223344);
	set(RDI, 0xA0000);
	T_EQ(RUN(0xA0000, "\xAA"), 0);
	want.gprs[RDI] = 0xA0001;
	want.gprs[RIP] += 1;
	CHECK();
	LOG(0, 0xA0000, 1, 1, 0x44);

	next();
	set(RFLAGS, 0x2 | DF);
	T_EQ(RUN(0xA0001, "\xAB"), 0);
	want.gprs[RDI] = 0x9FFFD;
	want.gprs[RIP] += 1;
	CHECK();
	LOG(0, 0xA0001, 1, 4, 0x11223344);

	/* ES is fixed: an override does not move it. */
	mode32();
	set(RAX, 0x5A);
	set(RDI, 0x100);
	st.segs[NVMM_X64_SEG_ES].base = want.segs[NVMM_X64_SEG_ES].base =
	    0xA0000;
	T_EQ(RUN(0xA0100, "\x64\xAA"), 0);
	want.gprs[RDI] = 0x101;
	want.gprs[RIP] += 2;
	CHECK();
	LOG(0, 0xA0100, 1, 1, 0x5A);
}

TEST(mem_rep_stos_one_iteration_per_call)
{
	mode32();
	set(RAX, 0xCAFEBABE);
	set(RDI, 0xA0000);
	set(RCX, 3);
	for (int i = 0; i < 3; i++) {
		f.nlog = 0;
		T_EQ(RUN(0xA0000 + 4 * i, "\xF3\xAB"), 0);
		want.gprs[RDI] += 4;
		want.gprs[RCX] -= 1;
		want.gprs[RIP] = i == 2 ? RIP0 + 2 : RIP0;
		CHECK();
		LOG(0, 0xA0000 + 4 * i, 1, 4, 0xCAFEBABE);
	}

	/* A zero count only moves RIP; RCX is masked to the address size. */
	next();
	set(RCX, 0x100000000ULL);
	T_EQ(RUN(0xA0000, "\xF3\xAA"), 0);
	want.gprs[RIP] += 2;
	CHECK();
	T_EQ(f.nlog, 0);

	/* REPNE acts as REP: ZF does not stop STOS. */
	next();
	set(RCX, 2);
	set(RFLAGS, 0x2 | ZF);
	T_EQ(RUN(0xA0000, "\xF2\xAA"), 0);
	want.gprs[RCX] = 1;
	want.gprs[RDI] += 1;
	CHECK();
}

TEST(mem_string_address_size_wrap)
{
	/* 16-bit: DI wraps, bits 63:16 kept; CX counts in 16 bits. */
	mode16();
	set(RAX, 0x77);
	set(RDI, 0x12340FFFFULL);
	set(RCX, 0xABCD0000FFFFULL);
	st.segs[NVMM_X64_SEG_ES].base = want.segs[NVMM_X64_SEG_ES].base =
	    0xA0000;
	T_EQ(RUN(0xAFFFF, "\xF3\xAA"), 0);
	want.gprs[RDI] = 0x123400000ULL;
	want.gprs[RCX] = 0xABCD0000FFFEULL;
	CHECK();
	LOG(0, 0xAFFFF, 1, 1, 0x77);

	/* 67 in 64-bit mode: EDI, zero-extended on write. */
	mode64();
	set(RAX, 0x66);
	set(RDI, 0xFFFFFFFFFFFFFFFFULL);
	T_EQ(RUN(MMIO, "\x67\xAA"), 0);
	want.gprs[RDI] = 0;
	want.gprs[RIP] += 2;
	CHECK();
	LOG(0, 0xFFFFFFFF, 1, 1, 0x66);

	/* 67 in 16-bit mode: EDI. */
	mode16();
	st.segs[NVMM_X64_SEG_ES].limit = want.segs[NVMM_X64_SEG_ES].limit =
	    0xFFFFFFFF;
	set(RDI, 0xB8000);
	set(RFLAGS, 0x2 | DF);
	T_EQ(RUN(0xB8000, "\x67\x66\xAB"), 0);
	want.gprs[RDI] = 0xB7FFC;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, 0xB8000, 1, 4, 0);
}

TEST(mem_lods)
{
	mode32();
	set(RAX, 0xFFFFFFFF);
	set(RSI, 0xA0000);
	fake_mmio_in(&f, 0x12, 1);
	T_EQ(RUN(0xA0000, "\xAC"), 0);
	want.gprs[RAX] = 0xFFFFFF12;
	want.gprs[RSI] = 0xA0001;
	want.gprs[RIP] += 1;
	CHECK();
	LOG(0, 0xA0000, 0, 1, 0x12);

	/* A segment override moves the source. */
	next();
	set(RSI, 0xA0000);
	st.segs[NVMM_X64_SEG_ES].base = want.segs[NVMM_X64_SEG_ES].base =
	    0x10000;
	fake_mmio_in(&f, 0x3456, 2);
	T_EQ(RUN(0xB0000, "\x26\x66\xAD"), 0);
	want.gprs[RAX] = 0xFFFF3456;
	want.gprs[RSI] = 0xA0002;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, 0xB0000, 0, 2, 0x3456);

	/* 64-bit: FS base; REX.W loads RAX. */
	mode64();
	set(RSI, 0x1000);
	st.segs[NVMM_X64_SEG_FS].base = want.segs[NVMM_X64_SEG_FS].base =
	    0xFEE00000;
	fake_mmio_in(&f, 0x0123456789ABCDEFULL, 8);
	T_EQ(RUN(0xFEE01000, "\x64\x48\xAD"), 0);
	want.gprs[RAX] = 0x0123456789ABCDEFULL;
	want.gprs[RSI] = 0x1008;
	want.gprs[RIP] += 3;
	CHECK();
	LOG(0, 0xFEE01000, 0, 8, 0x0123456789ABCDEFULL);
}

TEST(mem_movs_between_mmio_and_ram)
{
	/* MMIO to MMIO. */
	mode32();
	set(RSI, 0xA0000);
	set(RDI, 0xB0000);
	fake_mmio_in(&f, 0xDEADBEEF, 4);
	T_EQ(RUN(0xA0000, "\xA5"), 0);
	want.gprs[RSI] = 0xA0004;
	want.gprs[RDI] = 0xB0004;
	want.gprs[RIP] += 1;
	CHECK();
	T_EQ(f.nlog, 2);
	LOG(0, 0xA0000, 0, 4, 0xDEADBEEF);
	LOG(1, 0xB0000, 1, 4, 0xDEADBEEF);

	/* MMIO to RAM, with DF. */
	next();
	set(RSI, 0xA0000);
	set(RDI, 0x5000);
	set(RFLAGS, 0x2 | DF);
	fake_mmio_in(&f, 0x1234, 2);
	T_EQ(RUN(0xA0000, "\x66\xA5"), 0);
	want.gprs[RSI] = 0x9FFFE;
	want.gprs[RDI] = 0x4FFE;
	want.gprs[RIP] += 2;
	CHECK();
	T_EQ(f.nlog, 1);
	T_EQ(memcmp(fake_ram(&f, 0x5000), "\x34\x12", 2), 0);

	/* RAM to MMIO, rep, CS override on the source. */
	next();
	set(RSI, 0x6000);
	set(RDI, 0xB0000);
	set(RCX, 2);
	set(RFLAGS, 0x2);
	fake_put(&f, 0x6000, "\xAB", 1);
	T_EQ(RUN(0xB0000, "\xF3\x2E\xA4"), 0);
	want.gprs[RSI] = 0x6001;
	want.gprs[RDI] = 0xB0001;
	want.gprs[RCX] = 1;
	CHECK();
	LOG(0, 0xB0000, 1, 1, 0xAB);
}

TEST(mem_movs_crossing_pages)
{
	/* A 4-byte MMIO element across a page: one access per page. */
	mode32();
	set(RSI, 0xA0FFE);
	set(RDI, 0x5000);
	fake_mmio_in(&f, 0x44332211, 4);
	T_EQ(RUN(0xA0FFE, "\xA5"), 0);
	T_EQ(f.nlog, 2);
	LOG(0, 0xA0FFE, 0, 2, 0x2211);
	LOG(1, 0xA1000, 0, 2, 0x4433);
	T_EQ(memcmp(fake_ram(&f, 0x5000), "\x11\x22\x33\x44", 4), 0);

	/* 64-bit: source pages mapped apart. */
	mode64();
	fake_put64(&f, 0x2000, 0x3000 | 0x7);
	fake_put64(&f, 0x3000, 0x4000 | 0x7);
	fake_put64(&f, 0x4000 + 0x10 * 8, 0xA0000 | 0x7);
	fake_put64(&f, 0x4000 + 0x11 * 8, 0x6000 | 0x7);
	fake_put64(&f, 0x4000 + 0x12 * 8, 0x7000 | 0x7);
	fake_put(&f, 0x6000, "\x55\x66", 2);
	set(RSI, 0x10FFE);
	set(RDI, 0x12000);
	fake_mmio_in(&f, 0x2211, 2);
	T_EQ(RUN(0xA0FFE, "\xA5"), 0);
	T_EQ(f.nlog, 1);
	LOG(0, 0xA0FFE, 0, 2, 0x2211);
	T_EQ(memcmp(fake_ram(&f, 0x7000), "\x11\x22\x55\x66", 4), 0);
	want.gprs[RSI] = 0x11002;
	want.gprs[RDI] = 0x12004;
	want.gprs[RIP] += 1;
	CHECK();

	/* The destination page read-only: nothing changes. */
	next();
	set(RSI, 0x10FFE);
	set(RDI, 0x12000);
	fake_put64(&f, 0x4000 + 0x12 * 8, 0x7000 | 0x5);
	fake_mmio_in(&f, 0x2211, 2);
	T_EQ(RUN(0xA0FFE, "\xA5"), -EFAULT);
	CHECK();
}

TEST(mem_cmps_scas)
{
	mode32();
	set(RSI, 0xA0000);
	set(RDI, 0xB0000);
	fake_mmio_in(&f, 0x10, 1);
	fake_mmio_in(&f, 0x20, 1);
	T_EQ(RUN(0xA0000, "\xA6"), 0);		/* [esi] - [edi] */
	want.gprs[RSI] += 1;
	want.gprs[RDI] += 1;
	want.gprs[RIP] += 1;
	want.gprs[RFLAGS] = 0x2 | CF | SF | PF;
	CHECK();
	T_EQ(f.nlog, 2);
	LOG(0, 0xA0000, 0, 1, 0x10);
	LOG(1, 0xB0000, 0, 1, 0x20);

	/* REPE: equal elements go on, a difference ends it. */
	next();
	set(RCX, 5);
	fake_mmio_in(&f, 0x1234, 2);
	fake_mmio_in(&f, 0x1234, 2);
	T_EQ(RUN(0xA0000, "\xF3\x66\xA7"), 0);
	want.gprs[RSI] += 2;
	want.gprs[RDI] += 2;
	want.gprs[RCX] = 4;
	want.gprs[RFLAGS] = 0x2 | ZF | PF;
	CHECK();
	f.nin = f.inpos = 0;
	fake_mmio_in(&f, 0x1234, 2);
	fake_mmio_in(&f, 0x1235, 2);
	T_EQ(RUN(0xA0002, "\xF3\x66\xA7"), 0);
	want.gprs[RSI] += 2;
	want.gprs[RDI] += 2;
	want.gprs[RCX] = 3;
	want.gprs[RIP] += 3;
	want.gprs[RFLAGS] = 0x2 | CF | SF | AF | PF;
	CHECK();

	/* REPNE SCAS: a match ends it. */
	next();
	set(RAX, 0x0A);
	set(RCX, 10);
	set(RDI, 0xB0000);
	fake_mmio_in(&f, 0x0B, 1);
	T_EQ(RUN(0xB0000, "\xF2\xAE"), 0);
	want.gprs[RDI] += 1;
	want.gprs[RCX] = 9;
	want.gprs[RFLAGS] = 0x2 | CF | SF | AF | PF;
	CHECK();
	LOG(0, 0xB0000, 0, 1, 0x0B);
	fake_mmio_in(&f, 0x0A, 1);
	T_EQ(RUN(0xB0001, "\xF2\xAE"), 0);
	want.gprs[RDI] += 1;
	want.gprs[RCX] = 8;
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | ZF | PF;
	CHECK();

	/* SCAS in 64-bit mode with DF: rAX - [rdi]. */
	mode64();
	set(RAX, 1);
	set(RDI, 0xFEE00008);
	set(RFLAGS, 0x2 | DF);
	fake_mmio_in(&f, 2, 8);
	T_EQ(RUN(0xFEE00008, "\x48\xAF"), 0);
	want.gprs[RDI] = 0xFEE00000;
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | DF | CF | SF | AF | PF;
	CHECK();
}

/* ---- Fetching and rejecting ---- */

TEST(mem_fetches_the_instruction)
{
	/* Real mode CS:IP 1000:0100. */
	mode16();
	st.segs[NVMM_X64_SEG_CS].base = want.segs[NVMM_X64_SEG_CS].base =
	    0x10000;
	set(RIP, 0x100);
	set(RAX, 0xABCD);
	fake_put(&f, 0x10100, "\x89\x07", 2);
	T_EQ(x86_emulate_mem(&f.g, &st, 0xB8000, NULL, 0), 0);
	want.gprs[RIP] = 0x102;
	CHECK();
	LOG(0, 0xB8000, 1, 2, 0xABCD);

	/* At the edge of RAM: fine if the instruction fits. */
	mode32();
	set(RIP, 0x9FFFE);
	set(RAX, 0x42);
	fake_put(&f, 0x9FFFE, "\x88\x03", 2);
	T_EQ(x86_emulate_mem(&f.g, &st, MMIO, NULL, 0), 0);
	want.gprs[RIP] = 0xA0000;
	CHECK();
	LOG(0, MMIO, 1, 1, 0x42);
	T_EQ(f.nlog, 1);
	next();
	set(RIP, 0x9FFFE);
	fake_put(&f, 0x9FFFE, "\xC6\x03", 2);
	T_EQ(x86_emulate_mem(&f.g, &st, MMIO, NULL, 0), -EFAULT);
	CHECK();
	T_EQ(f.nlog, 0);
}

TEST(mem_rejects)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "\xC5\xF8\x29\x03", 4 },		/* VEX vmovaps */
		{ "\xC4\xE1\x78\x29\x03", 5 },		/* VEX3 */
		{ "\x8F\xE9\x78\xE1\x03", 5 },		/* XOP */
		{ "\x62\xF1\x7C\x48\x29\x03", 6 },	/* EVEX */
		{ "\x0F\x29\x03", 3 },			/* movaps */
		{ "\xFF\x03", 2 },			/* inc */
		{ "\x89\xC3", 2 },			/* mov ebx,eax: no memory */
		{ "\x04\x01", 2 },			/* add al,1 */
		{ "\x8C\x1B", 2 },			/* mov [rbx],ds */
		{ "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
		  "\x89\x03", 16 },			/* 16 bytes */
	};

	mode64();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		next();
		T_EQ(x86_emulate_mem(&f.g, &st, MMIO,
		    (const uint8_t *)bad[i].bytes, bad[i].len), -ENODEV);
		CHECK();
		T_EQ(f.nlog, 0);
	}
	/* Truncated: more bytes needed than given. */
	next();
	T_EQ(RUN(MMIO, "\xC7\x03\x01"), -EFAULT);
	T_EQ(RUN(MMIO, "\x66"), -EFAULT);
	CHECK();
}

TEST(mem_prefixes)
{
	mode64();
	set(RAX, 0x1122334455667788ULL);
	/* 15 bytes: the limit. */
	T_EQ(RUN(MMIO, "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
	    "\x89\x03"), 0);
	want.gprs[RIP] += 15;
	CHECK();
	LOG(0, MMIO, 1, 2, 0x7788);

	/* A REX followed by a legacy prefix is ignored. */
	next();
	T_EQ(RUN(MMIO, "\x48\x66\x89\x03"), 0);
	LOG(0, MMIO, 1, 2, 0x7788);
	/* REX.W wins over 66. */
	next();
	T_EQ(RUN(MMIO, "\x66\x48\x89\x03"), 0);
	LOG(0, MMIO, 1, 8, 0x1122334455667788ULL);
	/* Any order and repetition, REX last. */
	next();
	T_EQ(RUN(MMIO, "\xF0\x2E\x67\xF3\x64\x66\x65\x41\x89\x03"), 0);
	T_EQ(st.gprs[RIP], RIP0 + 10);
	LOG(0, MMIO, 1, 2, 0x7788);
	/* A REX alone is not an instruction. */
	next();
	T_EQ(RUN(MMIO, "\x48"), -EFAULT);
}

TEST(mem_readonly_ram_write_goes_to_mmio)
{
	static uint8_t rom[4096];

	mode32();
	fake_add_ram(&f, 0xFFFF0000, sizeof(rom), rom,
	    NVMM_PROT_READ | NVMM_PROT_EXEC);
	rom[0] = 0x5A;
	set(RAX, 0x99);
	T_EQ(RUN(0xFFFF0000, "\x88\x03"), 0);
	T_EQ(rom[0], 0x5A);
	LOG(0, 0xFFFF0000, 1, 1, 0x99);
	/* Reads of it are RAM reads. */
	next();
	T_EQ(RUN(0xFFFF0000, "\x8A\x03"), 0);
	T_EQ(st.gprs[RAX], 0x5A);
	T_EQ(f.nlog, 0);
}

TEST(mem_alu_and_strings_16bit_mode)
{
	mode16();
	set(RAX, 0xFFFF);
	fake_mmio_in(&f, 0x0001, 2);
	T_EQ(RUN(0xB8000, "\x01\x07"), 0);		/* add [bx],ax */
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | CF | PF | AF | ZF;
	CHECK();
	LOG(1, 0xB8000, 1, 2, 0);

	next();
	fake_mmio_in(&f, 0x7FFFFFFF, 4);
	T_EQ(RUN(0xB8000, "\x66\x83\x07\x01"), 0);	/* add dword [bx],1 */
	want.gprs[RIP] += 4;
	want.gprs[RFLAGS] = 0x2 | PF | AF | SF | OF;
	CHECK();
	LOG(1, 0xB8000, 1, 4, 0x80000000);

	next();
	fake_mmio_in(&f, 0x00FF, 2);
	T_EQ(RUN(0xB8000, "\x85\x07"), 0);		/* test [bx],ax */
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | PF;
	CHECK();

	/* rep movsb from DS:SI (MMIO) to ES:DI (RAM), real-mode bases. */
	next();
	st.segs[NVMM_X64_SEG_DS].base = want.segs[NVMM_X64_SEG_DS].base =
	    0xB8000;
	st.segs[NVMM_X64_SEG_ES].base = want.segs[NVMM_X64_SEG_ES].base =
	    0x20000;
	set(RSI, 0x10);
	set(RDI, 0x20);
	set(RCX, 1);
	fake_mmio_in(&f, 0x5A, 1);
	T_EQ(RUN(0xB8010, "\xF3\xA4"), 0);
	want.gprs[RSI] = 0x11;
	want.gprs[RDI] = 0x21;
	want.gprs[RCX] = 0;
	want.gprs[RIP] += 2;
	CHECK();
	LOG(0, 0xB8010, 0, 1, 0x5A);
	T_EQ(*fake_ram(&f, 0x20020), 0x5A);

	/* cmpsw with an SS override on the source. */
	next();
	st.segs[NVMM_X64_SEG_SS].base = want.segs[NVMM_X64_SEG_SS].base =
	    0xA0000;
	fake_put(&f, 0x20021, "\x34\x12", 2);
	fake_mmio_in(&f, 0x1234, 2);
	T_EQ(RUN(0xA0011, "\x36\xA7"), 0);
	want.gprs[RSI] = 0x13;
	want.gprs[RDI] = 0x23;
	want.gprs[RIP] += 2;
	want.gprs[RFLAGS] = 0x2 | ZF | PF;
	CHECK();
	LOG(0, 0xA0011, 0, 2, 0x1234);
	T_EQ(f.nlog, 1);
}
