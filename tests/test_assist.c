/*
 * The assists in real guests on KVM. MMIO instructions in 64-bit mode are
 * checked three ways: against the host CPU running the same instruction on
 * ordinary memory (the oracle), against what KVM itself leaves after
 * finishing the instruction, and by the exact number of device accesses.
 * Real and 32-bit modes, and string I/O, with hand-computed values.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "vm.h"

#define WIN		4096
#define M(off)		(MMIO_GPA + (off))
#define R(off)		(SCRATCH_GPA + (off))
#define FLAGS_ARITH	0xCD5ULL	/* OF DF SF ZF AF PF CF */
#define SENTINEL	0xF0

void oracle_run(uint64_t gprs[NVMM_X64_NGPR], const void *code);

/* ---- The device behind MMIO_GPA, and its log ---------------------------- */

static uint8_t dev[WIN];
static uint64_t dev_base = MMIO_GPA;
static struct {
	uint64_t gpa;
	bool write;
	size_t size;
} mlog[64];
static unsigned nmlog;

static void
mem_cb(struct nvmm_mem *m)
{
	uint64_t off = m->gpa - dev_base;

	if (m->gpa < dev_base || off + m->size > WIN)
		t_fail(__FILE__, __LINE__, "access outside the device: 0x%llx",
		    (unsigned long long)m->gpa);
	if (nmlog < 64) {
		mlog[nmlog].gpa = m->gpa;
		mlog[nmlog].write = m->write;
		mlog[nmlog].size = m->size;
	}
	nmlog++;
	if (m->write)
		memcpy(dev + off, m->data, m->size);
	else
		memcpy(m->data, dev + off, m->size);
}

static uint8_t port_in[64];
static uint8_t port_out[64];
static unsigned nio, io_size;
static uint16_t io_port;

static void
io_cb(struct nvmm_io *io)
{
	T_ASSERT(nio + io->size <= sizeof(port_out));
	io_port = io->port;
	io_size = (unsigned)io->size;
	if (io->in)
		memcpy(io->data, port_in + nio, io->size);
	else
		memcpy(port_out + nio, io->data, io->size);
	nio += (unsigned)io->size;
}

static void
patterns(uint8_t *d, uint8_t *ram)
{
	for (unsigned i = 0; i < WIN; i++) {
		d[i] = (uint8_t)(i * 7 + 0x31);
		ram[i] = (uint8_t)(i * 13 + 5);
	}
	/* REPE CMPS stops at its third byte, REPNE CMPS too. */
	d[0x1D2] ^= 0xFF;
	d[0xE3] = d[0xE2];
}

static void
setup(struct vm *vm)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };

	vm_create(vm);
	T_OK(nvmm_vcpu_configure(&vm->mach, &vm->vcpu[0],
	    NVMM_VCPU_CONF_CALLBACKS, &cbs));
	patterns(dev, vm->ram + SCRATCH_GPA);
	nmlog = nio = 0;
}

/* ---- 64-bit MMIO instructions against the oracle ------------------------ */

#define CASE_DECL(n) extern const uint8_t n##_start[], n##_end[]
#define CASE(n, acc, flags, ...) \
	{ #n, n##_start, n##_end, acc, flags, { __VA_ARGS__ } }

struct reg_init {
	int gpr;
	uint64_t val;
};

struct acase {
	const char *name;
	const uint8_t *start, *end;
	unsigned accesses;
	uint64_t rflags;
	struct reg_init regs[4];
};

#define CF 0x1
#define DF 0x400
#define RCX NVMM_X64_GPR_RCX
#define RSI NVMM_X64_GPR_RSI
#define RDI NVMM_X64_GPR_RDI

/* name, device accesses, RFLAGS, registers: one test each. */
#define CASES(X)							\
	X(mov_w8, 1, 0) X(mov_w16, 1, 0) X(mov_w32, 1, 0)		\
	X(mov_w64, 1, 0) X(mov_r8, 1, 0) X(mov_r16, 1, 0)		\
	X(mov_r32, 1, 0) X(mov_r64, 1, 0) X(mov_ah, 1, 0)		\
	X(mov_dh, 1, 0) X(mov_r12b, 1, 0) X(mov_sil, 1, 0)		\
	X(mov_imm8, 1, 0) X(mov_imm16, 1, 0) X(mov_imm32, 1, 0)		\
	X(mov_imm64, 1, 0) X(mov_sib, 1, 0) X(mov_disp32, 1, 0)		\
	X(movzx_b, 1, 0) X(movzx_w, 1, 0) X(movsx_b, 1, 0)		\
	X(movsx_w, 1, 0) X(movsxd, 1, 0)					\
	X(or_mr, 2, 0) X(and_mr, 2, 0) X(xor_mr8, 2, 0)			\
	X(add_mr64, 2, 0) X(sub_mr16, 2, 0) X(adc_mr, 2, CF)		\
	X(sbb_mr, 2, CF) X(cmp_mr, 1, 0)					\
	X(or_rm, 1, 0) X(and_rm8, 1, 0) X(xor_rm64, 1, 0)		\
	X(add_rm, 1, 0) X(sub_rm, 1, 0) X(cmp_rm64, 1, 0)		\
	X(or_imm, 2, 0) X(and_imm8s, 2, 0) X(xor_imm8, 2, 0)		\
	X(add_imm16, 2, 0) X(sub_imm, 2, 0) X(cmp_imm8, 1, 0)		\
	X(cmp_imm64, 1, 0)						\
	X(test_mr, 1, 0) X(test_imm8, 1, 0) X(test_imm32, 1, 0)		\
	X(xchg32, 2, 0) X(xchg8, 2, 0)					\
	X(stos32, 1, 0, { RDI, M(0x60) })				\
	X(rep_stos8, 3, DF, { RDI, M(0x70) }, { RCX, 3 })		\
	X(lods64, 1, 0, { RSI, M(0x88) })				\
	X(rep_lods8, 2, 0, { RSI, M(0x90) }, { RCX, 2 })			\
	X(movs32, 2, 0, { RSI, M(0x20) }, { RDI, M(0x200) })		\
	X(movs64, 1, 0, { RSI, R(0x10) }, { RDI, M(0x300) })		\
	X(movs8, 1, DF, { RSI, M(0x30) }, { RDI, R(0x40) })		\
	X(rep_movs16, 6, 0, { RSI, M(0x50) }, { RDI, M(0x400) },		\
	    { RCX, 3 })							\
	X(cmps32, 2, 0, { RSI, M(0xA0) }, { RDI, M(0xB0) })		\
	X(repe_cmps8, 6, 0, { RSI, M(0xD0) }, { RDI, M(0x1D0) },	\
	    { RCX, 4 })							\
	X(repne_cmps8, 6, 0, { RSI, M(0xE0) }, { RDI, M(0xE1) },	\
	    { RCX, 4 })

#define DECLARE(n, ...) CASE_DECL(n);
CASES(DECLARE)

static void
initial_gprs(const struct acase *c, uint64_t *g)
{
	for (int i = 0; i < 16; i++)
		g[i] = 0x0102030405060708ULL * (uint64_t)(i + 3) ^ 0x8000F00DULL;
	g[NVMM_X64_GPR_RAX] = 0x8877665544332211ULL;
	g[NVMM_X64_GPR_RBX] = M(0x40);
	g[NVMM_X64_GPR_RSI] = 2;
	g[NVMM_X64_GPR_RSP] = STACK_TOP;
	g[NVMM_X64_GPR_RFLAGS] = 0x2 | c->rflags;
	for (int i = 0; i < 4 && c->regs[i].gpr != 0; i++)
		g[c->regs[i].gpr] = c->regs[i].val;
}

/* Addresses in the two windows, between the guest's and the host's. */
static uint64_t
to_host(uint64_t v, uint8_t *hdev, uint8_t *hram)
{
	if (v >= MMIO_GPA && v < MMIO_GPA + WIN)
		return (uint64_t)(uintptr_t)hdev + (v - MMIO_GPA);
	if (v >= SCRATCH_GPA && v < SCRATCH_GPA + WIN)
		return (uint64_t)(uintptr_t)hram + (v - SCRATCH_GPA);
	return v;
}

static uint64_t
to_guest(uint64_t v, uint8_t *hdev, uint8_t *hram)
{
	if (v >= (uintptr_t)hdev && v <= (uintptr_t)hdev + WIN)
		return MMIO_GPA + (v - (uintptr_t)hdev);
	if (v >= (uintptr_t)hram && v <= (uintptr_t)hram + WIN)
		return SCRATCH_GPA + (v - (uintptr_t)hram);
	return v;
}

static void
oracle(const struct acase *c, uint64_t *g, uint8_t *hdev, uint8_t *hram)
{
	size_t len = (size_t)(c->end - c->start);
	uint8_t *code;

	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(code != MAP_FAILED);
	memcpy(code, c->start, len);
	code[len] = 0xC3;	/* ret */
	for (int i = 0; i < 16; i++)
		g[i] = to_host(g[i], hdev, hram);
	oracle_run(g, code);
	for (int i = 0; i < 16; i++)
		g[i] = to_guest(g[i], hdev, hram);
	munmap(code, 4096);
}

static void
run_case(const struct acase *c)
{
	static uint8_t hdev[WIN], hram[WIN];
	uint64_t want[NVMM_X64_NGPR], pred[NVMM_X64_NGPR], *g;
	size_t len = (size_t)(c->end - c->start);
	struct vm vm;
	unsigned exits = 0;
	uint8_t code[32];

	setup(&vm);
	memcpy(code, c->start, len);
	code[len] = 0xE6;		/* out %al, $SENTINEL */
	code[len + 1] = SENTINEL;
	code[len + 2] = 0xF4;		/* hlt */
	vm_load(&vm, code, len + 3);
	vm_mode(&vm, 0, VM_LONG64);
	g = vm.vcpu[0].state->gprs;
	initial_gprs(c, g);
	g[NVMM_X64_GPR_RIP] = PAYLOAD_GPA;
	T_OK(nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[0], NVMM_X64_STATE_GPRS));
	memcpy(want, g, sizeof(want));

	for (;;) {
		uint64_t reason = vm_run(&vm, 0);

		if (reason == NVMM_VCPU_EXIT_IO &&
		    vm.vcpu[0].exit->u.io.port == SENTINEL)
			break;
		if (reason != NVMM_VCPU_EXIT_MEMORY)
			t_fail(__FILE__, __LINE__, "%s: exit 0x%llx", c->name,
			    (unsigned long long)reason);
		T_ASSERT(++exits <= c->accesses);
		T_OK(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]));
		/* Complete now, in the comm page, with no syscall. */
		T_OK(nvmm_vcpu_getstate(&vm.mach, &vm.vcpu[0],
		    NVMM_X64_STATE_GPRS));
		memcpy(pred, g, sizeof(pred));
	}
	T_OK(nvmm_vcpu_getstate(&vm.mach, &vm.vcpu[0], NVMM_X64_STATE_GPRS));

	/* What the assist showed is what KVM did. */
	T_ASSERT(exits > 0);
	for (int i = 0; i < 16; i++)
		if (pred[i] != g[i])
			t_fail(__FILE__, __LINE__, "%s: GPR %d predicted 0x%llx, "
			    "KVM 0x%llx", c->name, i, (unsigned long long)pred[i],
			    (unsigned long long)g[i]);
	if (pred[NVMM_X64_GPR_RIP] != PAYLOAD_GPA + len ||
	    (pred[NVMM_X64_GPR_RFLAGS] & FLAGS_ARITH) !=
	    (g[NVMM_X64_GPR_RFLAGS] & FLAGS_ARITH))
		t_fail(__FILE__, __LINE__, "%s: predicted RIP 0x%llx RFLAGS "
		    "0x%llx, KVM RFLAGS 0x%llx", c->name,
		    (unsigned long long)pred[NVMM_X64_GPR_RIP],
		    (unsigned long long)pred[NVMM_X64_GPR_RFLAGS],
		    (unsigned long long)g[NVMM_X64_GPR_RFLAGS]);

	/* And what the host CPU does. */
	patterns(hdev, hram);
	oracle(c, want, hdev, hram);
	for (int i = 0; i < 16; i++)
		if (want[i] != g[i])
			t_fail(__FILE__, __LINE__, "%s: GPR %d is 0x%llx, the CPU "
			    "says 0x%llx", c->name, i, (unsigned long long)g[i],
			    (unsigned long long)want[i]);
	if ((want[NVMM_X64_GPR_RFLAGS] & FLAGS_ARITH) !=
	    (g[NVMM_X64_GPR_RFLAGS] & FLAGS_ARITH))
		t_fail(__FILE__, __LINE__, "%s: RFLAGS 0x%llx, the CPU says "
		    "0x%llx", c->name, (unsigned long long)g[NVMM_X64_GPR_RFLAGS],
		    (unsigned long long)want[NVMM_X64_GPR_RFLAGS]);
	T_ASSERT(memcmp(dev, hdev, WIN) == 0);
	T_ASSERT(memcmp(vm.ram + SCRATCH_GPA, hram, WIN) == 0);
	if (nmlog != c->accesses)
		t_fail(__FILE__, __LINE__, "%s: %u device accesses, want %u",
		    c->name, nmlog, c->accesses);
	vm_destroy(&vm);
}

#define CASE_TEST(n, ...)						\
	TEST(mmio64_##n)						\
	{								\
		static const struct acase c = CASE(n, __VA_ARGS__);	\
		run_case(&c);						\
	}
CASES(CASE_TEST)

/* ---- Hand-checked forms: string I/O, other modes, special addressing ---- */

PAYLOAD_DECL(p64_rep_outsb);
PAYLOAD_DECL(p64_rep_insw);
PAYLOAD_DECL(p64_in_dx_byte);
PAYLOAD_DECL(p64_moffs);
PAYLOAD_DECL(p64_riprel);
PAYLOAD_DECL(p64_fs_addr32);
PAYLOAD_DECL(p16_rep_insb);
PAYLOAD_DECL(p16_mmio);
PAYLOAD_DECL(p32_outsl_fs);
PAYLOAD_DECL(p32_mmio);

/* Runs to the sentinel, completing every I/O and MMIO exit with the assists. */
static unsigned
run_assisted(struct vm *vm)
{
	unsigned exits = 0;

	for (;;) {
		uint64_t reason = vm_run(vm, 0);

		if (reason == NVMM_VCPU_EXIT_IO &&
		    vm->vcpu[0].exit->u.io.port == SENTINEL)
			return exits;
		if (reason == NVMM_VCPU_EXIT_IO)
			T_OK(nvmm_assist_io(&vm->mach, &vm->vcpu[0]));
		else if (reason == NVMM_VCPU_EXIT_MEMORY)
			T_OK(nvmm_assist_mem(&vm->mach, &vm->vcpu[0]));
		else
			t_fail(__FILE__, __LINE__, "exit 0x%llx at 0x%llx",
			    (unsigned long long)reason, (unsigned long long)
			    vm_gpr(vm, 0, NVMM_X64_GPR_RIP));
		T_ASSERT(++exits < 100);
	}
}

static struct nvmm_x64_state *
state(struct vm *vm)
{
	T_OK(nvmm_vcpu_getstate(&vm->mach, &vm->vcpu[0], NVMM_X64_STATE_ALL));
	return vm->vcpu[0].state;
}

static void
commit(struct vm *vm)
{
	T_OK(nvmm_vcpu_setstate(&vm->mach, &vm->vcpu[0], NVMM_X64_STATE_ALL));
}

/* REP OUTSB across a page boundary: ten bytes, in order, one callback each. */
TEST(io_rep_outsb_page_crossing)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	vm_load(&vm, PAYLOAD(p64_rep_outsb));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[NVMM_X64_GPR_RSI] = R(0xFFA);
	st->gprs[NVMM_X64_GPR_RCX] = 10;
	st->gprs[NVMM_X64_GPR_RDX] = 0x99;
	commit(&vm);
	T_ASSERT(run_assisted(&vm) >= 1);
	T_EQ(io_port, 0x99);
	T_EQ(io_size, 1);
	T_EQ(nio, 10);
	T_ASSERT(memcmp(port_out, vm.ram + R(0xFFA), 10) == 0);
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RSI], R(0x1004));
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	vm_destroy(&vm);
}

/* REP INSW with DF=1: words stored downwards from RDI. */
TEST(io_rep_insw_backwards)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	for (int i = 0; i < 10; i++)
		port_in[i] = (uint8_t)(0xA0 + i);
	vm_load(&vm, PAYLOAD(p64_rep_insw));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[NVMM_X64_GPR_RDI] = R(0x100);
	st->gprs[NVMM_X64_GPR_RCX] = 5;
	st->gprs[NVMM_X64_GPR_RDX] = 0x9A;
	st->gprs[NVMM_X64_GPR_RFLAGS] |= 0x400;
	commit(&vm);
	run_assisted(&vm);
	T_EQ(nio, 10);
	T_EQ(io_size, 2);
	for (int i = 0; i < 5; i++) {
		T_EQ(vm.ram[R(0x100) - 2 * i], 0xA0 + 2 * i);
		T_EQ(vm.ram[R(0x100) - 2 * i + 1], 0xA1 + 2 * i);
	}
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RDI], R(0x100) - 10);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	vm_destroy(&vm);
}

/* IN AL, DX keeps the other bytes of RAX. */
/* REP OUTSB from a device: each byte read from it once, in order. */
TEST(io_rep_outsb_from_mmio)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	for (int i = 0; i < 5; i++)
		dev[0x80 + i] = (uint8_t)(0xC0 + i);
	vm_load(&vm, PAYLOAD(p64_rep_outsb));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[NVMM_X64_GPR_RSI] = M(0x80);
	st->gprs[NVMM_X64_GPR_RCX] = 5;
	st->gprs[NVMM_X64_GPR_RDX] = 0x9A;
	commit(&vm);
	run_assisted(&vm);
	T_EQ(nio, 5);
	T_EQ(nmlog, 5);
	for (unsigned i = 0; i < 5; i++) {
		T_EQ(mlog[i].gpa, M(0x80) + i);
		T_EQ(mlog[i].write, false);
		T_EQ(mlog[i].size, 1);
		T_EQ(port_out[i], 0xC0 + i);
	}
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RSI], M(0x80) + 5);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	vm_destroy(&vm);
}

/*
 * REP INSW into a device: each word reaches it once, in the order of
 * execution, though KVM writes the block again in 8-byte pieces as it
 * finishes the instruction (DF=0) or word by word (DF=1).
 */
static void
rep_insw_into_mmio(unsigned count, bool down)
{
	uint64_t di = down ? M(0x100) : M(0x40);
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	for (unsigned i = 0; i < 2 * count; i++)
		port_in[i] = (uint8_t)(0x80 + i);
	vm_load(&vm, PAYLOAD(p64_rep_insw));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[NVMM_X64_GPR_RDI] = di;
	st->gprs[NVMM_X64_GPR_RCX] = count;
	st->gprs[NVMM_X64_GPR_RDX] = 0x9A;
	if (down)
		st->gprs[NVMM_X64_GPR_RFLAGS] |= 0x400;
	commit(&vm);
	run_assisted(&vm);
	T_EQ(nio, 2 * count);
	T_EQ(nmlog, count);
	for (unsigned i = 0; i < count; i++) {
		uint64_t gpa = down ? di - 2 * i : di + 2 * i;

		T_EQ(mlog[i].gpa, gpa);
		T_EQ(mlog[i].write, true);
		T_EQ(mlog[i].size, 2);
		T_EQ(dev[gpa - MMIO_GPA], 0x80 + 2 * i);
		T_EQ(dev[gpa - MMIO_GPA + 1], 0x81 + 2 * i);
	}
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RDI], down ? di - 2 * count : di + 2 * count);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	vm_destroy(&vm);
}

TEST(io_rep_insw_into_mmio)
{
	rep_insw_into_mmio(5, false);
	rep_insw_into_mmio(30, false);
}

TEST(io_rep_insw_into_mmio_backwards)
{
	rep_insw_into_mmio(7, true);
}

TEST(io_in_byte_merges)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	port_in[0] = 0x5C;
	vm_load(&vm, PAYLOAD(p64_in_dx_byte));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[NVMM_X64_GPR_RAX] = 0x1122334455667788ULL;
	st->gprs[NVMM_X64_GPR_RDX] = 0x3F8;
	commit(&vm);
	run_assisted(&vm);
	T_EQ(io_port, 0x3F8);
	T_EQ(vm_gpr(&vm, 0, NVMM_X64_GPR_RAX), 0x112233445566775CULL);
	vm_destroy(&vm);
}

/* 32-bit mode: OUTSL with an FS override, then REP OUTSB with 16-bit SI wrapping. */
TEST(io_outs_override_and_addr16)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	vm.ram[0xFFFE] = 0x11;
	vm.ram[0xFFFF] = 0x22;
	vm.ram[0x0000] = 0x33;
	vm.ram[0x0001] = 0x44;
	vm_load(&vm, PAYLOAD(p32_outsl_fs));
	vm_mode(&vm, 0, VM_PROT32);
	st = state(&vm);
	st->segs[NVMM_X64_SEG_FS].base = SCRATCH_GPA - 0x10;
	st->gprs[NVMM_X64_GPR_RSI] = 0x20;
	st->gprs[NVMM_X64_GPR_RDX] = 0x9B;
	st->gprs[NVMM_X64_GPR_RCX] = 0xABCD0004;
	commit(&vm);
	run_assisted(&vm);
	T_EQ(nio, 8);
	T_ASSERT(memcmp(port_out, vm.ram + R(0x10), 4) == 0);
	/* SI wraps from 0xFFFF to 0; the upper half of ESI and ECX stays. */
	T_EQ(port_out[4], 0x11);
	T_EQ(port_out[5], 0x22);
	T_EQ(port_out[6], 0x33);
	T_EQ(port_out[7], 0x44);
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RSI], 0x12340002);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0xABCD0000);
	vm_destroy(&vm);
}

/* Real mode REP INSB into ES:DI. */
TEST(io_rep_insb_real_mode)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	port_in[0] = 0x61;
	port_in[1] = 0x62;
	port_in[2] = 0x63;
	vm_load(&vm, PAYLOAD(p16_rep_insb));
	vm_mode(&vm, 0, VM_REAL);
	st = state(&vm);
	st->segs[NVMM_X64_SEG_ES].selector = SCRATCH_GPA >> 4;
	st->segs[NVMM_X64_SEG_ES].base = SCRATCH_GPA;
	st->gprs[NVMM_X64_GPR_RDI] = 0x10;
	st->gprs[NVMM_X64_GPR_RCX] = 3;
	st->gprs[NVMM_X64_GPR_RDX] = 0x9C;
	commit(&vm);
	run_assisted(&vm);
	T_EQ(vm.ram[R(0x10)], 0x61);
	T_EQ(vm.ram[R(0x12)], 0x63);
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RDI], 0x13);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	vm_destroy(&vm);
}

/* moffs loads and stores, and a RIP-relative load. */
TEST(mmio_moffs_and_riprel)
{
	struct vm vm;

	setup(&vm);
	vm_load(&vm, PAYLOAD(p64_moffs));
	vm_mode(&vm, 0, VM_LONG64);
	vm_set_gpr(&vm, 0, NVMM_X64_GPR_RAX, 0xFFFFFFFFFFFFFFFFULL);
	T_EQ(run_assisted(&vm), 2);
	/* dev[0x40..0x43] = F1 F8 FF 06: loaded, then AL stored at 0x41. */
	T_EQ(vm_gpr(&vm, 0, NVMM_X64_GPR_RAX), 0x06FFF8F1);
	T_EQ(dev[0x41], 0xF1);
	T_EQ(nmlog, 2);
	T_EQ(mlog[0].gpa, M(0x40));
	T_EQ(mlog[0].size, 4);
	T_EQ(mlog[1].gpa, M(0x41));
	T_EQ(mlog[1].write, 1);
	vm_destroy(&vm);

	setup(&vm);
	vm_load(&vm, PAYLOAD(p64_riprel));
	vm_mode(&vm, 0, VM_LONG64);
	T_EQ(run_assisted(&vm), 1);
	T_EQ(mlog[0].gpa, M(0x50));
	T_EQ(vm_gpr(&vm, 0, NVMM_X64_GPR_RAX), 0x766F6861);
	vm_destroy(&vm);
}

/* An FS override in 64-bit mode adds FS.base; an address-size prefix truncates. */
TEST(mmio_fs_and_addr32)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	vm_load(&vm, PAYLOAD(p64_fs_addr32));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->segs[NVMM_X64_SEG_FS].base = MMIO_GPA - 0x1000;
	st->gprs[NVMM_X64_GPR_RBX] = 0xFFFFFFFF00000000ULL | M(0x70);
	commit(&vm);
	T_EQ(run_assisted(&vm), 2);
	T_EQ(mlog[0].gpa, M(0x60));
	T_EQ(mlog[1].gpa, M(0x70));
	T_EQ(vm_gpr(&vm, 0, NVMM_X64_GPR_RCX), 0xE6DFD8D1);
	T_EQ(vm_gpr(&vm, 0, NVMM_X64_GPR_RDX), 0x564F4841);
	vm_destroy(&vm);
}

/* Real mode: a store, an indexed load, ADD with flags, REP STOSW, on MMIO at 0xB0000. */
TEST(mmio_real_mode)
{
	struct nvmm_x64_state *st;
	struct vm vm;
	uint64_t base = 0xB0000;

	setup(&vm);
	dev_base = base;
	T_OK(nvmm_gpa_unmap(&vm.mach, (uintptr_t)vm.ram + base, base, 4096));
	vm_load(&vm, PAYLOAD(p16_mmio));
	vm_mode(&vm, 0, VM_REAL);
	st = state(&vm);
	for (int i = NVMM_X64_SEG_ES; i <= NVMM_X64_SEG_DS; i += 3) {
		st->segs[i].selector = base >> 4;
		st->segs[i].base = base;
	}
	st->gprs[NVMM_X64_GPR_RAX] = 0xBEEF;
	st->gprs[NVMM_X64_GPR_RBX] = 0x10;
	st->gprs[NVMM_X64_GPR_RSI] = 0x4;
	st->gprs[NVMM_X64_GPR_RDI] = 0x20;
	st->gprs[NVMM_X64_GPR_RCX] = 2;
	commit(&vm);
	T_EQ(run_assisted(&vm), 5);
	T_EQ(mlog[0].gpa, base + 0x10);
	T_EQ(mlog[0].write, 1);
	T_EQ(mlog[1].gpa, base + 0x16);
	T_EQ(mlog[2].gpa, base + 0x14);
	T_EQ(mlog[3].gpa, base + 0x14);
	T_EQ(mlog[3].write, 1);
	T_EQ(mlog[4].gpa, base + 0x20);
	T_EQ(mlog[5].gpa, base + 0x22);
	T_EQ(nmlog, 6);
	/* 0xBEEF stored; DX = the word at 0x16; the word at 0x14 0xC4BD + 1. */
	T_EQ(dev[0x10], 0xEF);
	T_EQ(dev[0x11], 0xBE);
	T_EQ(dev[0x14], 0xBE);
	T_EQ(dev[0x15], 0xC4);
	T_EQ(dev[0x20], 0xEF);
	T_EQ(dev[0x23], 0xBE);
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	T_EQ(st->gprs[NVMM_X64_GPR_RDX], 0xD2CB);
	T_EQ(st->gprs[NVMM_X64_GPR_RFLAGS] & 0x8D5, 0x84);	/* SF PF */
	T_EQ(st->gprs[NVMM_X64_GPR_RDI], 0x24);
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	vm_destroy(&vm);
}

/* 32-bit mode: store, SUB with flags, MOVZX with an operand-size prefix, REP STOSL. */
TEST(mmio_prot32_mode)
{
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	vm_load(&vm, PAYLOAD(p32_mmio));
	vm_mode(&vm, 0, VM_PROT32);
	st = state(&vm);
	st->gprs[NVMM_X64_GPR_RAX] = 0x00000005;
	st->gprs[NVMM_X64_GPR_RBX] = M(0x80);
	st->gprs[NVMM_X64_GPR_RSI] = 2;
	st->gprs[NVMM_X64_GPR_RCX] = 2;
	st->gprs[NVMM_X64_GPR_RDX] = 0xFFFFFFFF;
	st->gprs[NVMM_X64_GPR_RDI] = M(0x100);
	commit(&vm);
	T_EQ(run_assisted(&vm), 5);
	/* ESI = 2 - 5: a borrow and a negative result, flags from the SUB. */
	st = state(&vm);
	T_EQ(st->gprs[NVMM_X64_GPR_RSI], 0xFFFFFFFD);
	T_EQ(st->gprs[NVMM_X64_GPR_RFLAGS] & 0x8D5, 0x91);	/* SF AF CF */
	T_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	T_EQ(dev[0x80], 5);
	T_EQ(dev[0x81], 0);
	T_EQ(st->gprs[NVMM_X64_GPR_RDX], 0xFFFF0000);
	T_EQ(st->gprs[NVMM_X64_GPR_RDI], M(0x100) + 8);
	T_EQ(dev[0x100], 5);
	T_EQ(dev[0x104], 5);
	T_EQ(mlog[1].write, 0);
	vm_destroy(&vm);
}

/* ---- Settling, and callbacks that change guest memory -------------------- */

PAYLOAD_DECL(p64_rep_movsb_intr);
PAYLOAD_DECL(p64_remap_loop);

static void
log_access(const struct nvmm_mem *m)
{
	if (nmlog < 64) {
		mlog[nmlog].gpa = m->gpa;
		mlog[nmlog].write = m->write;
		mlog[nmlog].size = m->size;
	}
	nmlog++;
}

/*
 * REP MOVSB of 300 bytes from MMIO to RAM: one exit per byte. After four
 * assists in five, the VMM does something that makes the library finish
 * the instruction in KVM before the guest runs again (an interrupt, a
 * commit of SEGS or GPRS, a stop), and KVM's emulator goes on there with
 * the next iterations, up to 299 of them. The runs must not fail (they did
 * with EIO past 64), and those iterations must reach neither the device
 * nor the guest: each byte is read from the device once, in order.
 */
TEST_TIMEOUT(mmio_rep_movs_settled_between_exits, 120)
{
	const unsigned n = 300;
	struct nvmm_vcpu *vcpu;
	struct nvmm_x64_state *st;
	unsigned exits = 0, injected = 0;
	struct vm vm;
	uint8_t after;

	setup(&vm);
	vcpu = &vm.vcpu[0];
	vm_load(&vm, PAYLOAD(p64_rep_movsb_intr));
	vm_mode(&vm, 0, VM_LONG64);
	vm_set_gate(&vm, 0x40, PAYLOAD_GPA + 0x20);
	after = vm.ram[R(0x100) + n];
	st = state(&vm);
	st->gprs[RSI] = M(0);
	st->gprs[RDI] = R(0x100);
	st->gprs[RCX] = n;
	st->gprs[NVMM_X64_GPR_R12] = 0;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x202;
	commit(&vm);

	for (;;) {
		uint64_t reason;

		T_OK(nvmm_vcpu_run(&vm.mach, vcpu));
		reason = vcpu->exit->reason;
		if (reason == NVMM_VCPU_EXIT_NONE ||
		    reason == NVMM_VCPU_EXIT_STOPPED)
			continue;
		if (reason == NVMM_VCPU_EXIT_IO &&
		    vcpu->exit->u.io.port == SENTINEL)
			break;
		T_EQ(reason, NVMM_VCPU_EXIT_MEMORY);
		T_EQ(vcpu->exit->u.mem.gpa, M(exits));
		T_OK(nvmm_assist_mem(&vm.mach, vcpu));
		switch (exits++ % 5) {
		case 0:
			vcpu->event->type = NVMM_VCPU_EVENT_INTR;
			vcpu->event->vector = 0x40;
			T_OK(nvmm_vcpu_inject(&vm.mach, vcpu));
			injected++;
			break;
		case 1:
			T_OK(nvmm_vcpu_getstate(&vm.mach, vcpu,
			    NVMM_X64_STATE_SEGS));
			T_OK(nvmm_vcpu_setstate(&vm.mach, vcpu,
			    NVMM_X64_STATE_SEGS));
			break;
		case 2:
			T_OK(nvmm_vcpu_stop(vcpu));
			break;
		case 3:
			T_OK(nvmm_vcpu_setstate(&vm.mach, vcpu,
			    NVMM_X64_STATE_GPRS));
			break;
		}
		T_ASSERT(exits <= n);
	}
	T_EQ(exits, n);
	T_EQ(nmlog, n);
	for (unsigned i = 0; i < 64; i++) {
		T_EQ(mlog[i].gpa, M(i));
		T_EQ(mlog[i].write, 0);
		T_EQ(mlog[i].size, 1);
	}
	T_ASSERT(memcmp(vm.ram + R(0x100), dev, n) == 0);
	T_EQ(vm.ram[R(0x100) + n], after);
	st = state(&vm);
	T_EQ(st->gprs[RCX], 0);
	T_EQ(st->gprs[RSI], M(n));
	T_EQ(st->gprs[RDI], R(0x100) + n);
	T_EQ(st->gprs[NVMM_X64_GPR_R12], injected);
	vm_destroy(&vm);
}

#define SRC_GPA		0x400000ULL	/* past the RAM of vm.c */

/* A host page of 0xA5 bytes, guest RAM at gpa. */
static uint8_t *
ram_page(struct vm *vm, uint64_t gpa)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_ASSERT(p != MAP_FAILED);
	memset(p, 0xA5, 4096);
	T_OK(nvmm_hva_map(&vm->mach, (uintptr_t)p, 4096));
	T_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)p, gpa, 4096,
	    PROT_READ | PROT_WRITE));
	return p;
}

static uint8_t *src_page;
static bool src_unmapped;

/*
 * A device at MMIO_GPA whose first write unmaps the guest RAM page at
 * SRC_GPA; from then on that page is a device of its own, read as 0x77.
 */
static void
unmap_src_cb(struct nvmm_mem *m)
{
	uintptr_t hva;
	nvmm_prot_t prot;

	log_access(m);
	if (!m->write) {
		T_ASSERT(src_unmapped && m->gpa - SRC_GPA < 4096);
		memset(m->data, 0x77, m->size);
		return;
	}
	T_ASSERT(m->gpa - MMIO_GPA < WIN);
	memcpy(dev + (m->gpa - MMIO_GPA), m->data, m->size);
	if (src_unmapped)
		return;
	T_OK(nvmm_gpa_to_hva(m->mach, SRC_GPA, &hva, &prot));
	T_EQ(hva, (uintptr_t)src_page);
	T_OK(nvmm_gpa_unmap(m->mach, (uintptr_t)src_page, SRC_GPA, 4096));
	T_ERR(nvmm_gpa_to_hva(m->mach, SRC_GPA, &hva, &prot), ENOENT);
	src_unmapped = true;
}

/*
 * REP MOVSB from RAM to MMIO, whose device unmaps the RAM at its first
 * write: no deadlock (the callback runs inside nvmm_assist_mem), and the
 * later iterations read the source where it is now, a device, never the
 * host page it was mapped from.
 */
TEST(callback_unmaps_movs_source)
{
	struct nvmm_assist_callbacks cbs = { io_cb, unmap_src_cb };
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	T_OK(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
	    NVMM_VCPU_CONF_CALLBACKS, &cbs));
	src_page = ram_page(&vm, SRC_GPA);
	src_unmapped = false;
	vm_load(&vm, PAYLOAD(p64_rep_movsb_intr));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[RSI] = SRC_GPA;
	st->gprs[RDI] = M(0x10);
	st->gprs[RCX] = 4;
	commit(&vm);
	T_EQ(run_assisted(&vm), 4);
	/* Written, then read from the unmapped source and written, 3 times. */
	T_EQ(nmlog, 7);
	T_EQ(mlog[0].gpa, M(0x10));
	T_EQ(mlog[0].write, 1);
	for (unsigned i = 1; i < 4; i++) {
		T_EQ(mlog[2 * i - 1].gpa, SRC_GPA + i);
		T_EQ(mlog[2 * i - 1].write, 0);
		T_EQ(mlog[2 * i].gpa, M(0x10 + i));
		T_EQ(mlog[2 * i].write, 1);
	}
	T_EQ(dev[0x10], 0xA5);
	T_EQ(dev[0x11], 0x77);
	T_EQ(dev[0x12], 0x77);
	T_EQ(dev[0x13], 0x77);
	st = state(&vm);
	T_EQ(st->gprs[RSI], SRC_GPA + 4);
	T_EQ(st->gprs[RDI], M(0x14));
	T_EQ(st->gprs[RCX], 0);
	vm_destroy(&vm);
	munmap(src_page, 4096);
}

static uint8_t *dst_page;
static bool dst_unmapped;

/*
 * A device at MMIO_GPA whose first read unmaps the guest RAM page at
 * SRC_GPA; from then on writes there reach this callback.
 */
static void
unmap_dst_cb(struct nvmm_mem *m)
{
	uintptr_t hva;
	nvmm_prot_t prot;

	log_access(m);
	if (m->write) {
		T_ASSERT(dst_unmapped && m->gpa - SRC_GPA < 4096);
		T_EQ(m->size, 1);
		T_EQ(m->data[0], dev[0x10 + (m->gpa - SRC_GPA)]);
		return;
	}
	T_ASSERT(m->gpa - MMIO_GPA < WIN);
	memcpy(m->data, dev + (m->gpa - MMIO_GPA), m->size);
	if (dst_unmapped)
		return;
	T_OK(nvmm_gpa_unmap(m->mach, (uintptr_t)dst_page, SRC_GPA, 4096));
	T_ERR(nvmm_gpa_to_hva(m->mach, SRC_GPA, &hva, &prot), ENOENT);
	dst_unmapped = true;
}

/*
 * REP MOVSB from MMIO to RAM, whose device unmaps that RAM at its first
 * read, inside nvmm_assist_mem: the write that follows in the same
 * instruction goes to the device, not to the host page the RAM was.
 */
TEST(callback_unmaps_movs_destination)
{
	struct nvmm_assist_callbacks cbs = { io_cb, unmap_dst_cb };
	struct nvmm_x64_state *st;
	struct vm vm;

	setup(&vm);
	T_OK(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
	    NVMM_VCPU_CONF_CALLBACKS, &cbs));
	dst_page = ram_page(&vm, SRC_GPA);
	dst_unmapped = false;
	vm_load(&vm, PAYLOAD(p64_rep_movsb_intr));
	vm_mode(&vm, 0, VM_LONG64);
	st = state(&vm);
	st->gprs[RSI] = M(0x10);
	st->gprs[RDI] = SRC_GPA;
	st->gprs[RCX] = 4;
	commit(&vm);
	T_EQ(run_assisted(&vm), 4);
	T_EQ(nmlog, 8);
	for (unsigned i = 0; i < 4; i++) {
		T_EQ(mlog[2 * i].gpa, M(0x10 + i));
		T_EQ(mlog[2 * i].write, 0);
		T_EQ(mlog[2 * i + 1].gpa, SRC_GPA + i);
		T_EQ(mlog[2 * i + 1].write, 1);
	}
	for (unsigned i = 0; i < 4096; i++)
		T_EQ(dst_page[i], 0xA5);
	st = state(&vm);
	T_EQ(st->gprs[RSI], M(0x14));
	T_EQ(st->gprs[RDI], SRC_GPA + 4);
	T_EQ(st->gprs[RCX], 0);
	vm_destroy(&vm);
	munmap(dst_page, 4096);
}

/*
 * Several VCPU threads, each with a page of guest RAM that its callbacks
 * move between two host pages at every I/O and MMIO access, with every
 * memory call NVMM has (gpa and hva map and unmap, gpa_to_hva, gva_to_gpa),
 * from inside nvmm_assist_io and nvmm_assist_mem. The guest's MOVSB reads a
 * byte from MMIO, whose callback moves the page, into that page: the byte
 * must land in the host page mapped now, and the one left must not change.
 */
#define NREMAP		3
#define REMAP_ROUNDS	20

static struct remapper {
	struct vm *vm;
	unsigned id;
	uint64_t gpa;		/* its page of guest RAM */
	uint64_t mmio;		/* its device */
	uint8_t *page[2];	/* the host pages, page[cur] mapped */
	int cur;
	uint8_t last;		/* the byte the device gave MOVSB */
	unsigned ios, mems, remaps;
} remappers[NREMAP];

static void
remap(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu, struct remapper *s)
{
	uint8_t *old = s->page[s->cur], *new = s->page[!s->cur];
	uintptr_t hva;
	nvmm_prot_t prot;
	gpaddr_t gpa;

	T_OK(nvmm_gpa_unmap(mach, (uintptr_t)old, s->gpa, 4096));
	T_ERR(nvmm_gpa_to_hva(mach, s->gpa, &hva, &prot), ENOENT);
	T_OK(nvmm_hva_unmap(mach, (uintptr_t)old, 4096));
	T_OK(nvmm_hva_map(mach, (uintptr_t)old, 4096));
	old[0] = 0xEE;
	T_OK(nvmm_gpa_map(mach, (uintptr_t)new, s->gpa, 4096,
	    PROT_READ | PROT_WRITE));
	T_OK(nvmm_gpa_to_hva(mach, s->gpa + 8, &hva, &prot));
	T_EQ(hva, (uintptr_t)new + 8);
	T_EQ(prot, NVMM_PROT_READ | NVMM_PROT_WRITE);
	T_OK(nvmm_gva_to_gpa(mach, vcpu, s->gpa + 8, &gpa, &prot));
	T_EQ(gpa, s->gpa + 8);
	s->cur = !s->cur;
	s->remaps++;
}

static void
remap_io_cb(struct nvmm_io *io)
{
	struct remapper *s = &remappers[io->vcpu->cpuid];

	if (io->in) {
		T_EQ(io->port, 0x71);
		/* The MOVSB before: into the page mapped after its read. */
		T_EQ(s->page[s->cur][0], s->last);
		T_EQ(s->page[!s->cur][0], 0xEE);
		memset(io->data, 0, io->size);
	} else {
		T_EQ(io->port, 0x70);
	}
	remap(io->mach, io->vcpu, s);
	s->ios++;
}

static void
remap_mem_cb(struct nvmm_mem *m)
{
	struct remapper *s = &remappers[m->vcpu->cpuid];

	T_ASSERT(!m->write);
	remap(m->mach, m->vcpu, s);
	if (m->gpa == s->mmio + 8) {
		T_EQ(m->size, 1);
		s->last = (uint8_t)(0x10 + s->mems);
		m->data[0] = s->last;
	} else {
		T_EQ(m->gpa, s->mmio);
		T_EQ(m->size, 4);
		memset(m->data, 0x5A, m->size);
	}
	s->mems++;
}

static void *
remap_run(void *arg)
{
	struct remapper *s = arg;
	struct nvmm_vcpu *vcpu = &s->vm->vcpu[s->id];

	for (;;) {
		uint64_t reason = vm_run(s->vm, s->id);

		if (reason == NVMM_VCPU_EXIT_IO &&
		    vcpu->exit->u.io.port == SENTINEL)
			return NULL;
		if (reason == NVMM_VCPU_EXIT_IO)
			T_OK(nvmm_assist_io(&s->vm->mach, vcpu));
		else if (reason == NVMM_VCPU_EXIT_MEMORY)
			T_OK(nvmm_assist_mem(&s->vm->mach, vcpu));
		else
			t_fail(__FILE__, __LINE__, "VCPU %u: exit 0x%llx",
			    s->id, (unsigned long long)reason);
	}
}

TEST_TIMEOUT(callbacks_remap_from_threads, 120)
{
	struct nvmm_assist_callbacks cbs = { remap_io_cb, remap_mem_cb };
	pthread_t th[NREMAP];
	struct vm vm;

	vm_create(&vm);
	vm_load(&vm, PAYLOAD(p64_remap_loop));
	for (unsigned i = 0; i < NREMAP; i++) {
		struct remapper *s = &remappers[i];
		struct nvmm_x64_state *st;

		if (i > 0)
			vm_create_vcpu(&vm, i);
		T_OK(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[i],
		    NVMM_VCPU_CONF_CALLBACKS, &cbs));
		memset(s, 0, sizeof(*s));
		s->vm = &vm;
		s->id = i;
		s->gpa = SRC_GPA + i * 4096;
		s->mmio = M(0x100 * i);
		for (int j = 0; j < 2; j++) {
			s->page[j] = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			T_ASSERT(s->page[j] != MAP_FAILED);
			memset(s->page[j], 0xEE, 4096);
			T_OK(nvmm_hva_map(&vm.mach, (uintptr_t)s->page[j], 4096));
		}
		T_OK(nvmm_gpa_map(&vm.mach, (uintptr_t)s->page[0], s->gpa,
		    4096, PROT_READ | PROT_WRITE));
		vm_mode(&vm, i, VM_LONG64);
		st = vm.vcpu[i].state;
		st->gprs[NVMM_X64_GPR_RBX] = s->mmio;
		st->gprs[NVMM_X64_GPR_R8] = s->mmio + 8;
		st->gprs[NVMM_X64_GPR_R9] = s->gpa;
		st->gprs[NVMM_X64_GPR_R10] = REMAP_ROUNDS;
		T_OK(nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[i],
		    NVMM_X64_STATE_GPRS));
	}
	for (unsigned i = 0; i < NREMAP; i++)
		T_EQ(pthread_create(&th[i], NULL, remap_run, &remappers[i]), 0);
	for (unsigned i = 0; i < NREMAP; i++)
		T_EQ(pthread_join(th[i], NULL), 0);
	for (unsigned i = 0; i < NREMAP; i++) {
		struct remapper *s = &remappers[i];

		T_EQ(s->ios, 2 * REMAP_ROUNDS);
		T_EQ(s->mems, 2 * REMAP_ROUNDS);
		T_EQ(s->remaps, 4 * REMAP_ROUNDS);
		T_EQ(vm_gpr(&vm, i, NVMM_X64_GPR_R10), 0);
		T_EQ(vm_gpr(&vm, i, NVMM_X64_GPR_RDI), s->gpa + 1);
		T_EQ(vm_gpr(&vm, i, NVMM_X64_GPR_RSI), s->mmio + 9);
	}
	vm_destroy(&vm);
	for (unsigned i = 0; i < NREMAP; i++)
		for (int j = 0; j < 2; j++)
			munmap(remappers[i].page[j], 4096);
}
