/*
 * The assists in real guests on KVM. MMIO instructions in 64-bit mode are
 * checked three ways: against the host CPU running the same instruction on
 * ordinary memory (the oracle), against what KVM itself leaves after
 * finishing the instruction, and by the exact number of device accesses.
 * Real and 32-bit modes, and string I/O, with hand-computed values.
 */
#include <errno.h>
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
static struct {
	uint64_t gpa;
	bool write;
	size_t size;
} mlog[64];
static unsigned nmlog;

static void
mem_cb(struct nvmm_mem *m)
{
	uint64_t off = m->gpa - MMIO_GPA;

	if (m->gpa < MMIO_GPA || off + m->size > WIN)
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

CASE_DECL(mov_w8); CASE_DECL(mov_w16); CASE_DECL(mov_w32); CASE_DECL(mov_w64);
CASE_DECL(mov_r8); CASE_DECL(mov_r16); CASE_DECL(mov_r32); CASE_DECL(mov_r64);
CASE_DECL(mov_ah); CASE_DECL(mov_dh); CASE_DECL(mov_r12b); CASE_DECL(mov_sil);
CASE_DECL(mov_imm8); CASE_DECL(mov_imm16); CASE_DECL(mov_imm32);
CASE_DECL(mov_imm64); CASE_DECL(mov_sib); CASE_DECL(mov_disp32);
CASE_DECL(movzx_b); CASE_DECL(movzx_w); CASE_DECL(movsx_b); CASE_DECL(movsx_w);
CASE_DECL(movsxd);
CASE_DECL(or_mr); CASE_DECL(and_mr); CASE_DECL(xor_mr8); CASE_DECL(add_mr64);
CASE_DECL(sub_mr16); CASE_DECL(adc_mr); CASE_DECL(sbb_mr); CASE_DECL(cmp_mr);
CASE_DECL(or_rm); CASE_DECL(and_rm8); CASE_DECL(xor_rm64); CASE_DECL(add_rm);
CASE_DECL(sub_rm); CASE_DECL(cmp_rm64);
CASE_DECL(or_imm); CASE_DECL(and_imm8s); CASE_DECL(xor_imm8);
CASE_DECL(add_imm16); CASE_DECL(sub_imm); CASE_DECL(cmp_imm8);
CASE_DECL(cmp_imm64);
CASE_DECL(test_mr); CASE_DECL(test_imm8); CASE_DECL(test_imm32);
CASE_DECL(xchg32); CASE_DECL(xchg8);
CASE_DECL(stos32); CASE_DECL(rep_stos8); CASE_DECL(lods64); CASE_DECL(rep_lods8);
CASE_DECL(movs32); CASE_DECL(movs64); CASE_DECL(movs8); CASE_DECL(rep_movs16);
CASE_DECL(cmps32); CASE_DECL(repe_cmps8); CASE_DECL(repne_cmps8);

#define CF 0x1
#define DF 0x400
#define RCX NVMM_X64_GPR_RCX
#define RSI NVMM_X64_GPR_RSI
#define RDI NVMM_X64_GPR_RDI

static const struct acase cases[] = {
	CASE(mov_w8, 1, 0), CASE(mov_w16, 1, 0), CASE(mov_w32, 1, 0),
	CASE(mov_w64, 1, 0), CASE(mov_r8, 1, 0), CASE(mov_r16, 1, 0),
	CASE(mov_r32, 1, 0), CASE(mov_r64, 1, 0), CASE(mov_ah, 1, 0),
	CASE(mov_dh, 1, 0), CASE(mov_r12b, 1, 0), CASE(mov_sil, 1, 0),
	CASE(mov_imm8, 1, 0), CASE(mov_imm16, 1, 0), CASE(mov_imm32, 1, 0),
	CASE(mov_imm64, 1, 0), CASE(mov_sib, 1, 0), CASE(mov_disp32, 1, 0),
	CASE(movzx_b, 1, 0), CASE(movzx_w, 1, 0), CASE(movsx_b, 1, 0),
	CASE(movsx_w, 1, 0), CASE(movsxd, 1, 0),
	CASE(or_mr, 2, 0), CASE(and_mr, 2, 0), CASE(xor_mr8, 2, 0),
	CASE(add_mr64, 2, 0), CASE(sub_mr16, 2, 0), CASE(adc_mr, 2, CF),
	CASE(sbb_mr, 2, CF), CASE(cmp_mr, 1, 0),
	CASE(or_rm, 1, 0), CASE(and_rm8, 1, 0), CASE(xor_rm64, 1, 0),
	CASE(add_rm, 1, 0), CASE(sub_rm, 1, 0), CASE(cmp_rm64, 1, 0),
	CASE(or_imm, 2, 0), CASE(and_imm8s, 2, 0), CASE(xor_imm8, 2, 0),
	CASE(add_imm16, 2, 0), CASE(sub_imm, 2, 0), CASE(cmp_imm8, 1, 0),
	CASE(cmp_imm64, 1, 0),
	CASE(test_mr, 1, 0), CASE(test_imm8, 1, 0), CASE(test_imm32, 1, 0),
	CASE(xchg32, 2, 0), CASE(xchg8, 2, 0),
	CASE(stos32, 1, 0, { RDI, M(0x60) }),
	CASE(rep_stos8, 3, DF, { RDI, M(0x70) }, { RCX, 3 }),
	CASE(lods64, 1, 0, { RSI, M(0x88) }),
	CASE(rep_lods8, 2, 0, { RSI, M(0x90) }, { RCX, 2 }),
	CASE(movs32, 2, 0, { RSI, M(0x20) }, { RDI, M(0x200) }),
	CASE(movs64, 1, 0, { RSI, R(0x10) }, { RDI, M(0x300) }),
	CASE(movs8, 1, DF, { RSI, M(0x30) }, { RDI, R(0x40) }),
	CASE(rep_movs16, 6, 0, { RSI, M(0x50) }, { RDI, M(0x400) }, { RCX, 3 }),
	CASE(cmps32, 2, 0, { RSI, M(0xA0) }, { RDI, M(0xB0) }),
	CASE(repe_cmps8, 6, 0, { RSI, M(0xD0) }, { RDI, M(0x1D0) }, { RCX, 4 }),
	CASE(repne_cmps8, 6, 0, { RSI, M(0xE0) }, { RDI, M(0xE1) }, { RCX, 4 }),
};

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

TEST_TIMEOUT(mmio_64bit_against_cpu, 60)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}
