/* x86_decode_io and x86_emulate_io on byte strings and the fake guest. */
#include <errno.h>
#include <string.h>

#include "t.h"
#include "test_x86_guest.h"

#define RAX	NVMM_X64_GPR_RAX
#define RCX	NVMM_X64_GPR_RCX
#define RDX	NVMM_X64_GPR_RDX
#define RSI	NVMM_X64_GPR_RSI
#define RDI	NVMM_X64_GPR_RDI
#define RIP	NVMM_X64_GPR_RIP
#define RFLAGS	NVMM_X64_GPR_RFLAGS

#define ES	NVMM_X64_SEG_ES
#define CS	NVMM_X64_SEG_CS
#define DS	NVMM_X64_SEG_DS
#define FS	NVMM_X64_SEG_FS

#define RIP0	0x7000ULL
#define NPC	0x7002ULL

static struct fake f;
static struct nvmm_x64_state st;
static struct nvmm_x86_exit_io io;

/* ---- Decoding ---- */

#define DECODE(s)							\
	x86_decode_io(&st, (const uint8_t *)(s), sizeof(s) - 1, &io)

/* The decoded exit payload, field by field. */
#define IO(len_, in_, port_, opsz, adsz, str_, rep_, seg_)		\
	do {								\
		T_EQ(io.in, (in_));					\
		T_EQ(io.port, (port_));					\
		T_EQ(io.operand_size, (opsz));				\
		T_EQ(io.address_size, (adsz));				\
		T_EQ(io.str, (str_));					\
		T_EQ(io.rep, (rep_));					\
		T_EQ(io.seg, (seg_));					\
		T_EQ(io.npc, st.gprs[RIP] + (len_));			\
	} while (0)

TEST(decode_io_in_out_32)
{
	fake_prot32(&st);
	st.gprs[RIP] = RIP0;
	st.gprs[RDX] = 0xFFFFFFFF000003F8ULL;
	T_EQ(DECODE("\xE4\x60"), 2);
	IO(2, 1, 0x60, 1, 4, 0, 0, -1);
	T_EQ(DECODE("\xE5\x71"), 2);
	IO(2, 1, 0x71, 4, 4, 0, 0, -1);
	T_EQ(DECODE("\x66\xE5\x71"), 3);
	IO(3, 1, 0x71, 2, 4, 0, 0, -1);
	T_EQ(DECODE("\xE6\x80"), 2);
	IO(2, 0, 0x80, 1, 4, 0, 0, -1);
	T_EQ(DECODE("\xE7\xFF"), 2);
	IO(2, 0, 0xFF, 4, 4, 0, 0, -1);
	T_EQ(DECODE("\xEC"), 1);
	IO(1, 1, 0x3F8, 1, 4, 0, 0, -1);
	T_EQ(DECODE("\xED"), 1);
	IO(1, 1, 0x3F8, 4, 4, 0, 0, -1);
	T_EQ(DECODE("\xEE"), 1);
	IO(1, 0, 0x3F8, 1, 4, 0, 0, -1);
	T_EQ(DECODE("\x66\xEF"), 2);
	IO(2, 0, 0x3F8, 2, 4, 0, 0, -1);
	/* REP means nothing to IN and OUT. */
	T_EQ(DECODE("\xF3\xEC"), 2);
	IO(2, 1, 0x3F8, 1, 4, 0, 0, -1);
	/* EIP wraps. */
	st.gprs[RIP] = 0xFFFFFFFF;
	T_EQ(DECODE("\xE4\x60"), 2);
	T_EQ(io.npc, 1);
}

TEST(decode_io_strings)
{
	fake_prot32(&st);
	st.gprs[RIP] = RIP0;
	st.gprs[RDX] = 0x1F0;
	T_EQ(DECODE("\x6C"), 1);
	IO(1, 1, 0x1F0, 1, 4, 1, 0, ES);
	T_EQ(DECODE("\xF3\x6D"), 2);
	IO(2, 1, 0x1F0, 4, 4, 1, 1, ES);
	T_EQ(DECODE("\xF3\x66\x6D"), 3);
	IO(3, 1, 0x1F0, 2, 4, 1, 1, ES);
	T_EQ(DECODE("\xF2\x6C"), 2);
	IO(2, 1, 0x1F0, 1, 4, 1, 1, ES);
	T_EQ(DECODE("\xF3\x6E"), 2);
	IO(2, 0, 0x1F0, 1, 4, 1, 1, DS);
	T_EQ(DECODE("\x2E\xF3\x6F"), 3);
	IO(3, 0, 0x1F0, 4, 4, 1, 1, CS);
	T_EQ(DECODE("\x26\x6E"), 2);
	IO(2, 0, 0x1F0, 1, 4, 1, 0, ES);
	/* INS always writes ES:rDI. */
	T_EQ(DECODE("\x64\x6C"), 2);
	IO(2, 1, 0x1F0, 1, 4, 1, 0, ES);
	T_EQ(DECODE("\x67\x6E"), 2);
	IO(2, 0, 0x1F0, 1, 2, 1, 0, DS);
}

TEST(decode_io_16_and_64)
{
	fake_real(&st);
	st.gprs[RIP] = RIP0;
	T_EQ(DECODE("\xE5\x60"), 2);
	IO(2, 1, 0x60, 2, 2, 0, 0, -1);
	T_EQ(DECODE("\x66\xE5\x60"), 3);
	IO(3, 1, 0x60, 4, 2, 0, 0, -1);
	T_EQ(DECODE("\x67\xF3\x6D"), 3);
	IO(3, 1, 0, 2, 4, 1, 1, ES);

	fake_init_pc(&f);
	fake_long(&f, &st);
	st.gprs[RIP] = RIP0;
	T_EQ(DECODE("\x6E"), 1);
	IO(1, 0, 0, 1, 8, 1, 0, DS);
	T_EQ(DECODE("\x67\x6E"), 2);
	IO(2, 0, 0, 1, 4, 1, 0, DS);
	/* REX.W does not make a 64-bit port access. */
	T_EQ(DECODE("\x48\x6D"), 2);
	IO(2, 1, 0, 4, 8, 1, 0, ES);
	T_EQ(DECODE("\x66\x48\xE5\x10"), 3 + 1);
	IO(4, 1, 0x10, 2, 8, 0, 0, -1);
	T_EQ(DECODE("\x64\xF3\x6E"), 3);
	IO(3, 0, 0, 1, 8, 1, 1, FS);
	/* RIP does not wrap at 4 GiB in 64-bit mode. */
	st.gprs[RIP] = 0xFFFFFFFF;
	T_EQ(DECODE("\xEC"), 1);
	T_EQ(io.npc, 0x100000000ULL);
}

TEST(decode_io_rejects)
{
	fake_prot32(&st);
	T_EQ(DECODE("\x90"), -ENODEV);
	T_EQ(DECODE("\x89\x03"), -ENODEV);
	T_EQ(DECODE("\xE4"), -EFAULT);
	T_EQ(DECODE("\x66"), -EFAULT);
	T_EQ(DECODE("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
	    "\xEC"), 15);
	T_EQ(DECODE("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
	    "\x66\xEC"), -ENODEV);
	/* A REX is DEC EAX outside 64-bit mode. */
	T_EQ(DECODE("\x48\xEC"), -ENODEV);
}

/* ---- Emulation ---- */

/* What the I/O callback saw, and what it answers to IN. */
static struct {
	bool in;
	size_t size;
	unsigned n;
	uint8_t data[8192];
	uint8_t next;		/* IN element i gets bytes next+i, next+i+1... */
} cbl;

static void
cb(void *opaque, uint8_t *data, size_t size)
{
	T_ASSERT(opaque == &cbl);
	T_EQ(size, cbl.size);
	if (cbl.in) {
		for (size_t i = 0; i < size; i++) {
			T_EQ(data[i], 0);
			data[i] = cbl.next++;
		}
	}
	if ((cbl.n + 1) * size <= sizeof(cbl.data))
		memcpy(cbl.data + cbl.n * size, data, size);
	cbl.n++;
}

static void
exit_io(bool in, bool str, bool rep, unsigned size, unsigned asize, int seg)
{
	memset(&io, 0, sizeof(io));
	io.in = in;
	io.port = 0x3F8;
	io.str = str;
	io.rep = rep;
	io.operand_size = size;
	io.address_size = asize;
	io.seg = seg;
	io.npc = NPC;
	memset(&cbl, 0, sizeof(cbl));
	cbl.in = in;
	cbl.size = size;
	cbl.next = 0x10;
	f.nlog = 0;
	st.gprs[RIP] = RIP0;
}

static int
emulate(uint64_t count)
{
	return x86_emulate_io(&f.g, &st, &io, count, cb, &cbl);
}

TEST(io_out_in_rax)
{
	static const uint64_t in[] = { 0, 0x1122334455667710ULL,
	    0x1122334455661110ULL, 0, 0x13121110ULL };

	fake_init_pc(&f);
	fake_prot32(&st);
	for (unsigned size = 1; size <= 4; size *= 2) {
		st.gprs[RAX] = 0x1122334455667788ULL;
		exit_io(false, false, false, size, 4, -1);
		T_EQ(emulate(1), 1);
		T_EQ(cbl.n, 1);
		T_EQ(memcmp(cbl.data, "\x88\x77\x66\x55", size), 0);
		T_EQ(st.gprs[RAX], 0x1122334455667788ULL);
		T_EQ(st.gprs[RIP], NPC);

		/* IN merges sizes 1 and 2 and zero-extends size 4. */
		exit_io(true, false, false, size, 4, -1);
		T_EQ(emulate(1), 1);
		T_EQ(st.gprs[RAX], in[size]);
		T_EQ(st.gprs[RIP], NPC);
	}
	/* Only string forms look at rep and count. */
	exit_io(false, false, true, 1, 4, -1);
	st.gprs[RCX] = 0;
	T_EQ(emulate(7), 1);
	T_EQ(cbl.n, 1);
	T_EQ(st.gprs[RIP], NPC);
}

TEST(io_ins_outs_single)
{
	fake_init_pc(&f);
	fake_prot32(&st);
	st.gprs[RDI] = 0x5000;
	exit_io(true, true, false, 2, 4, ES);
	T_EQ(emulate(5), 1);
	T_EQ(memcmp(fake_ram(&f, 0x5000), "\x10\x11", 2), 0);
	T_EQ(st.gprs[RDI], 0x5002);
	T_EQ(st.gprs[RIP], NPC);

	st.gprs[RFLAGS] |= X86_FLAG_DF;
	exit_io(true, true, false, 4, 4, ES);
	T_EQ(emulate(1), 1);
	T_EQ(memcmp(fake_ram(&f, 0x5002), "\x10\x11\x12\x13", 4), 0);
	T_EQ(st.gprs[RDI], 0x4FFE);

	/* OUTS from FS:ESI, and the DS default for seg -1. */
	st.gprs[RFLAGS] = 0x2;
	st.segs[FS].base = 0x1000;
	st.gprs[RSI] = 0x5000;
	fake_put(&f, 0x6000, "\xA1\xA2", 2);
	fake_put(&f, 0x5000, "\xB1\xB2", 2);
	exit_io(false, true, false, 2, 4, FS);
	T_EQ(emulate(1), 1);
	T_EQ(memcmp(cbl.data, "\xA1\xA2", 2), 0);
	T_EQ(st.gprs[RSI], 0x5002);
	st.gprs[RSI] = 0x5000;
	exit_io(false, true, false, 2, 4, -1);
	T_EQ(emulate(1), 1);
	T_EQ(memcmp(cbl.data, "\xB1\xB2", 2), 0);
}

TEST(io_rep_outs_batches)
{
	fake_init_pc(&f);
	fake_prot32(&st);
	fake_put(&f, 0x5000, "hello", 5);
	st.gprs[RSI] = 0x5000;
	st.gprs[RCX] = 5;
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(3), 3);
	T_EQ(memcmp(cbl.data, "hel", 3), 0);
	T_EQ(st.gprs[RSI], 0x5003);
	T_EQ(st.gprs[RCX], 2);
	T_EQ(st.gprs[RIP], RIP0);
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(2), 2);
	T_EQ(memcmp(cbl.data, "lo", 2), 0);
	T_EQ(st.gprs[RCX], 0);
	T_EQ(st.gprs[RIP], NPC);

	/* The count is clamped to ECX. */
	st.gprs[RSI] = 0x5000;
	st.gprs[RCX] = 0xFFFFFFFF00000003ULL;
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(100), 3);
	T_EQ(st.gprs[RCX], 0);
	T_EQ(st.gprs[RIP], NPC);

	/* A zero count: only RIP moves. */
	st.gprs[RCX] = 0x100000000ULL;
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(1), 0);
	T_EQ(cbl.n, 0);
	T_EQ(st.gprs[RCX], 0x100000000ULL);
	T_EQ(st.gprs[RSI], 0x5003);
	T_EQ(st.gprs[RIP], NPC);
}

TEST(io_rep_ins_backwards)
{
	fake_init_pc(&f);
	fake_prot32(&st);
	st.gprs[RFLAGS] |= X86_FLAG_DF;
	st.gprs[RDI] = 0x5008;
	st.gprs[RCX] = 4;
	exit_io(true, true, true, 2, 4, ES);
	T_EQ(emulate(4), 4);
	/* Element i at EDI - 2i. */
	T_EQ(memcmp(fake_ram(&f, 0x5002),
	    "\x16\x17\x14\x15\x12\x13\x10\x11", 8), 0);
	T_EQ(st.gprs[RDI], 0x5000);
	T_EQ(st.gprs[RCX], 0);
	T_EQ(st.gprs[RIP], NPC);
}

TEST(io_address_size_wraps)
{
	/* Real mode: SI wraps in DS's 64 KiB, bits 63:16 of RSI/RCX kept. */
	fake_init_pc(&f);
	fake_real(&st);
	st.segs[DS].base = 0x10000;
	fake_put(&f, 0x1FFFE, "\x01\x02", 2);
	fake_put(&f, 0x10000, "\x03\x04", 2);
	st.gprs[RSI] = 0xABCD0000FFFEULL;
	st.gprs[RCX] = 0x55550004;
	exit_io(false, true, true, 1, 2, DS);
	T_EQ(emulate(4), 4);
	T_EQ(memcmp(cbl.data, "\x01\x02\x03\x04", 4), 0);
	T_EQ(st.gprs[RSI], 0xABCD00000002ULL);
	T_EQ(st.gprs[RCX], 0x55550000);
	T_EQ(st.gprs[RIP], NPC);

	/* 67 in 64-bit mode: ESI wraps and RSI is zero-extended. */
	fake_init_pc(&f);
	fake_long(&f, &st);
	fake_put(&f, 0, "\x03\x04", 2);
	fake_mmio_in(&f, 0x0201, 2);
	st.gprs[RSI] = 0x1FFFFFFFEULL;
	st.gprs[RCX] = 4;
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(4), 4);
	T_EQ(memcmp(cbl.data, "\x01\x02\x03\x04", 4), 0);
	/* The device sees each element on its own. */
	T_EQ(f.nlog, 2);
	T_EQ(f.log[0].gpa, 0xFFFFFFFE);
	T_EQ(f.log[0].size, 1);
	T_EQ(f.log[1].gpa, 0xFFFFFFFF);
	T_EQ(f.log[1].size, 1);
	T_EQ(st.gprs[RSI], 2);

	/* 64-bit addresses. */
	st.gprs[RDI] = 0x300000;
	st.gprs[RCX] = 0xFFFFFFFF00000002ULL;
	exit_io(true, true, true, 4, 8, ES);
	T_EQ(emulate(2), 2);
	T_EQ(st.gprs[RDI], 0x300008);
	T_EQ(st.gprs[RCX], 0xFFFFFFFF00000000ULL);
	T_EQ(st.gprs[RIP], RIP0);
}

/* 64-bit mode with linear 0x10000 -> 0x30000 and 0x11000 -> 0x20000. */
static void
two_pages(uint64_t second)
{
	fake_init_pc(&f);
	fake_long(&f, &st);
	fake_put64(&f, 0x2000, 0x3000 | 0x7);
	fake_put64(&f, 0x3000, 0x4000 | 0x7);
	fake_put64(&f, 0x4000 + 0x10 * 8, 0x30000 | 0x7);
	fake_put64(&f, 0x4000 + 0x11 * 8, second);
}

TEST(io_crosses_pages)
{
	two_pages(0x20000 | 0x7);
	fake_put(&f, 0x30FF8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	fake_put(&f, 0x20000, "\x09\x0A\x0B\x0C\x0D\x0E\x0F\x10", 8);
	st.gprs[RSI] = 0x10FF8;
	st.gprs[RCX] = 4;
	exit_io(false, true, true, 4, 8, DS);
	T_EQ(emulate(4), 4);
	T_EQ(memcmp(cbl.data, "\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x09\x0A\x0B\x0C\x0D\x0E\x0F\x10", 16), 0);
	T_EQ(st.gprs[RSI], 0x11008);

	/* An element across the boundary. */
	st.gprs[RDI] = 0x10FFE;
	exit_io(true, true, false, 4, 8, ES);
	T_EQ(emulate(1), 1);
	T_EQ(memcmp(fake_ram(&f, 0x30FFE), "\x10\x11", 2), 0);
	T_EQ(memcmp(fake_ram(&f, 0x20000), "\x12\x13", 2), 0);
	T_EQ(st.gprs[RDI], 0x11002);
}

TEST(io_long_batches)
{
	fake_init_pc(&f);
	fake_prot32(&st);
	for (int i = 0; i < 1000; i++)
		fake_ram(&f, 0x5000)[i] = i * 7;

	st.gprs[RSI] = 0x5000;
	st.gprs[RCX] = 1000;
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(1000), 1000);
	T_EQ(memcmp(cbl.data, fake_ram(&f, 0x5000), 1000), 0);
	T_EQ(st.gprs[RSI], 0x5000 + 1000);
	T_EQ(st.gprs[RIP], NPC);

	/* Backwards: the callback sees the bytes from the top down. */
	st.gprs[RFLAGS] |= X86_FLAG_DF;
	st.gprs[RSI] = 0x5000 + 999;
	st.gprs[RCX] = 1000;
	exit_io(false, true, true, 1, 4, DS);
	T_EQ(emulate(1000), 1000);
	for (int i = 0; i < 1000; i++)
		T_EQ(cbl.data[i], (uint8_t)((999 - i) * 7));
	T_EQ(st.gprs[RSI], 0x5000 - 1);

	/* INS of words into RAM. */
	st.gprs[RFLAGS] = 0x2;
	st.gprs[RDI] = 0x8000;
	st.gprs[RCX] = 700;
	exit_io(true, true, true, 2, 4, ES);
	T_EQ(emulate(700), 700);
	for (int i = 0; i < 1400; i++)
		T_EQ(fake_ram(&f, 0x8000)[i], (uint8_t)(0x10 + i));
	T_EQ(st.gprs[RDI], 0x8000 + 1400);
}

TEST(io_ins_to_mmio)
{
	fake_init_pc(&f);
	fake_prot32(&st);
	st.gprs[RDI] = 0xA0000;
	st.gprs[RCX] = 3;
	exit_io(true, true, true, 1, 4, ES);
	T_EQ(emulate(3), 3);
	/* One write per element, as the CPU makes them. */
	T_EQ(f.nlog, 3);
	for (unsigned i = 0; i < 3; i++) {
		T_EQ(f.log[i].gpa, 0xA0000 + i);
		T_EQ(f.log[i].write, 1);
		T_EQ(f.log[i].size, 1);
		T_EQ(fake_logged(&f, i), 0x10 + i);
	}

	/* Downwards with DF, words: the highest first. */
	fake_init_pc(&f);
	fake_prot32(&st);
	st.gprs[RFLAGS] |= 0x400;
	st.gprs[RDI] = 0xA0010;
	st.gprs[RCX] = 3;
	exit_io(true, true, true, 2, 4, ES);
	T_EQ(emulate(3), 3);
	T_EQ(f.nlog, 3);
	for (unsigned i = 0; i < 3; i++) {
		T_EQ(f.log[i].gpa, 0xA0010 - 2 * i);
		T_EQ(f.log[i].size, 2);
		T_EQ(fake_logged(&f, i), 0x1110 + 0x202 * i);
	}
	T_EQ(st.gprs[RDI], 0xA000A);
}

TEST(io_errors)
{
	struct nvmm_x64_state before;

	fake_init_pc(&f);
	fake_prot32(&st);
	exit_io(false, false, false, 3, 4, -1);
	T_EQ(emulate(1), -EINVAL);
	exit_io(false, false, false, 8, 4, -1);
	T_EQ(emulate(1), -EINVAL);
	exit_io(false, true, false, 1, 3, -1);
	T_EQ(emulate(1), -EINVAL);
	exit_io(false, true, false, 1, 4, 6);
	T_EQ(emulate(1), -EINVAL);
	exit_io(false, true, false, 1, 4, DS);
	T_EQ(emulate(0), -EINVAL);
	T_EQ(cbl.n, 0);

	/* Nothing readable: no callback, no change. */
	two_pages(0);
	st.gprs[RSI] = 0x11000;
	st.gprs[RCX] = 8;
	before = st;
	exit_io(false, true, true, 1, 8, DS);
	before.gprs[RIP] = RIP0;
	T_EQ(emulate(8), -EFAULT);
	T_EQ(cbl.n, 0);
	T_ASSERT(memcmp(&st, &before, sizeof(st)) == 0);

	/* A batch that runs into the missing page stops after the chunk. */
	st.gprs[RSI] = 0x10F00;
	st.gprs[RCX] = 600;
	exit_io(false, true, true, 1, 8, DS);
	T_EQ(emulate(600), 256);
	T_EQ(cbl.n, 256);
	T_EQ(st.gprs[RSI], 0x11000);
	T_EQ(st.gprs[RCX], 600 - 256);
	T_EQ(st.gprs[RIP], RIP0);
	exit_io(false, true, true, 1, 8, DS);
	T_EQ(emulate(344), -EFAULT);
}
