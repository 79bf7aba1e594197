/*
 * Emulation of the instructions that fault on MMIO (nvmm_assist_mem).
 *
 * Supported, in real, VM86, 16/32-bit protected, compatibility and 64-bit
 * mode, with any legacy prefixes (66, 67, segment overrides, LOCK, F2/F3)
 * and REX:
 *   MOV    88 Eb,Gb  89 Ev,Gv  8A Gb,Eb  8B Gv,Ev  C6 /0 Eb,Ib  C7 /0 Ev,Iz
 *          A0 AL,Ob  A1 rAX,Ov  A2 Ob,AL  A3 Ov,rAX
 *   MOVZX  0F B6 Gv,Eb  0F B7 Gv,Ew
 *   MOVSX  0F BE Gv,Eb  0F BF Gv,Ew     MOVSXD 63 Gv,Ed (64-bit mode)
 *   ADD 00-03, OR 08-0B, ADC 10-13, SBB 18-1B, AND 20-23, SUB 28-2B,
 *   XOR 30-33, CMP 38-3B: Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev
 *   group 1 (ADD OR ADC SBB AND SUB XOR CMP): 80 Eb,Ib  81 Ev,Iz  83 Ev,Ib
 *   TEST   84 Eb,Gb  85 Ev,Gv  F6 /0 (/1) Eb,Ib  F7 /0 (/1) Ev,Iz
 *   XCHG   86 Eb,Gb  87 Ev,Gv
 *   MOVS A4/A5, CMPS A6/A7, STOS AA/AB, LODS AC/AD, SCAS AE/AF, each with
 *   or without REP/REPE (F3) or REPNE (F2).
 * The memory operand of a ModRM or moffs form is the faulting GPA, as in
 * NetBSD; string operands go through segmentation and paging from rSI/rDI,
 * so MOVS and CMPS work between any mix of MMIO and RAM. A rep string
 * instruction does one iteration per call: RCX -= 1, and RIP advances when
 * RCX reaches 0 or, for CMPS/SCAS, when the REPE/REPNE condition ends it.
 * Flags are those the SDM gives; AF, undefined after AND/OR/XOR/TEST, is
 * cleared as current CPUs do.
 */
#include "x86/x86.h"

#include <errno.h>
#include <string.h>

#define ARITH_FLAGS	(X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_AF | \
			 X86_FLAG_ZF | X86_FLAG_SF | X86_FLAG_OF)

/* a op b at size bytes; sets the arithmetic flags in *rflags. */
static uint64_t
alu(unsigned op, unsigned size, uint64_t a, uint64_t b, uint64_t *rflags)
{
	uint64_t mask = x86_mask(size), sign = 1ULL << (size * 8 - 1);
	uint64_t c = *rflags & X86_FLAG_CF, r, fl = 0;

	a &= mask;
	b &= mask;
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
		c = op == X86_OP_ADC ? c : 0;
		r = (a + b + c) & mask;
		if (r < a || (c && r == a))
			fl |= X86_FLAG_CF;
		if ((a ^ r) & (b ^ r) & sign)
			fl |= X86_FLAG_OF;
		fl |= (a ^ b ^ r) & X86_FLAG_AF;
		break;
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
		c = op == X86_OP_SBB ? c : 0;
		r = (a - b - c) & mask;
		if (a < b || (c && a == b))
			fl |= X86_FLAG_CF;
		if ((a ^ b) & (a ^ r) & sign)
			fl |= X86_FLAG_OF;
		fl |= (a ^ b ^ r) & X86_FLAG_AF;
		break;
	case X86_OP_OR:
		r = a | b;
		break;
	case X86_OP_XOR:
		r = a ^ b;
		break;
	default:	/* AND, TEST */
		r = a & b;
		break;
	}
	if (r == 0)
		fl |= X86_FLAG_ZF;
	if (r & sign)
		fl |= X86_FLAG_SF;
	if (!__builtin_parity(r & 0xFF))
		fl |= X86_FLAG_PF;
	*rflags = (*rflags & ~ARITH_FLAGS) | fl;
	return r;
}

static int
load(const struct x86_guest *g, uint64_t gpa, unsigned size, uint64_t *v)
{
	*v = 0;
	return x86_access_gpa(g, gpa, X86_ACC_READ, (uint8_t *)v, size);
}

static int
store(const struct x86_guest *g, uint64_t gpa, unsigned size, uint64_t v)
{
	return x86_access_gpa(g, gpa, X86_ACC_WRITE, (uint8_t *)&v, size);
}

static uint64_t
reg_read(const struct nvmm_x64_state *st, const struct x86_insn *d)
{
	return (st->gprs[d->reg] >> d->reg_shift) & x86_mask(d->opsize);
}

static void
reg_write(struct nvmm_x64_state *st, const struct x86_insn *d, uint64_t v)
{
	x86_gpr_write(st, d->reg, d->reg_shift, d->opsize, v);
}

/* A ModRM or moffs form whose memory operand is at gpa. */
static int
emulate_operand(const struct x86_guest *g, struct nvmm_x64_state *st,
    uint64_t gpa, const struct x86_insn *d)
{
	uint64_t rflags = st->gprs[NVMM_X64_GPR_RFLAGS], mem = 0, src, r;
	bool to_mem = d->flags & X86_D_TO_MEM;
	int rc;

	src = (d->flags & (X86_D_IMM8 | X86_D_IMMZ)) ? d->imm : reg_read(st, d);
	/* Reads come first: only a store does not read memory. */
	if (!(d->op == X86_OP_MOV && to_mem) &&
	    (rc = load(g, gpa, d->memsize, &mem)) != 0)
		return rc;

	switch (d->op) {
	case X86_OP_MOV:
		if (to_mem)
			return store(g, gpa, d->opsize, src);
		reg_write(st, d, mem);
		return 0;
	case X86_OP_MOVZX:
		reg_write(st, d, mem);
		return 0;
	case X86_OP_MOVSX:
		reg_write(st, d, x86_sext(mem, d->memsize));
		return 0;
	case X86_OP_XCHG:
		if ((rc = store(g, gpa, d->opsize, src)) != 0)
			return rc;
		reg_write(st, d, mem);
		return 0;
	}

	/* ALU operations and TEST: the first operand is the destination. */
	r = to_mem ? alu(d->op, d->opsize, mem, src, &rflags) :
	    alu(d->op, d->opsize, src, mem, &rflags);
	if (d->op != X86_OP_CMP && d->op != X86_OP_TEST) {
		if (!to_mem)
			reg_write(st, d, r);
		else if ((rc = store(g, gpa, d->opsize, r)) != 0)
			return rc;
	}
	st->gprs[NVMM_X64_GPR_RFLAGS] = rflags;
	return 0;
}

/* One iteration of a string instruction; *done when it has finished. */
static int
emulate_string(const struct x86_guest *g, struct nvmm_x64_state *st,
    const struct x86_insn *d, bool *done)
{
	uint64_t *gprs = st->gprs, amask = x86_mask(d->adsize);
	uint64_t rflags = gprs[NVMM_X64_GPR_RFLAGS], count = 0, src = 0, dst = 0;
	uint64_t si = gprs[NVMM_X64_GPR_RSI] & amask;
	uint64_t di = gprs[NVMM_X64_GPR_RDI] & amask;
	uint64_t step = (rflags & X86_FLAG_DF) ? -(uint64_t)d->opsize : d->opsize;
	unsigned size = d->opsize;
	int rc = 0;

	if (d->rep) {
		count = gprs[NVMM_X64_GPR_RCX] & amask;
		if (count == 0)
			return 0;
	}

	if (d->flags & X86_D_SI)
		rc = x86_read_virt(g, st, d->seg, si, &src, size);
	else
		src = gprs[NVMM_X64_GPR_RAX];
	if (rc == 0 && (d->op == X86_OP_CMPS || d->op == X86_OP_SCAS))
		rc = x86_read_virt(g, st, NVMM_X64_SEG_ES, di, &dst, size);
	if (rc == 0 && (d->op == X86_OP_MOVS || d->op == X86_OP_STOS))
		rc = x86_write_virt(g, st, NVMM_X64_SEG_ES, di, &src, size);
	if (rc != 0)
		return rc;

	if (d->op == X86_OP_CMPS || d->op == X86_OP_SCAS) {
		alu(X86_OP_CMP, size, src, dst, &rflags);
		gprs[NVMM_X64_GPR_RFLAGS] = rflags;
	}
	if (d->op == X86_OP_LODS)
		x86_gpr_write(st, NVMM_X64_GPR_RAX, 0, size, src);
	if (d->flags & X86_D_SI)
		x86_gpr_write(st, NVMM_X64_GPR_RSI, 0, d->adsize, si + step);
	if (d->flags & X86_D_DI)
		x86_gpr_write(st, NVMM_X64_GPR_RDI, 0, d->adsize, di + step);
	if (d->rep) {
		bool zf = rflags & X86_FLAG_ZF;

		x86_gpr_write(st, NVMM_X64_GPR_RCX, 0, d->adsize, --count);
		/* REPE goes on while ZF is set, REPNE while it is clear. */
		*done = count == 0 ||
		    ((d->op == X86_OP_CMPS || d->op == X86_OP_SCAS) &&
		    zf != (d->rep == 0xF3));
	}
	return 0;
}

int
x86_emulate_mem(const struct x86_guest *g, struct nvmm_x64_state *st,
    uint64_t gpa, const uint8_t *insn, size_t insn_len)
{
	uint8_t buf[X86_INSN_MAX];
	struct x86_insn d;
	bool done = true;
	int rc;

	if (insn == NULL || insn_len == 0) {
		if ((rc = x86_fetch_insn(g, st, buf)) < 0)
			return rc;
		insn = buf;
		insn_len = rc;
	}
	if ((rc = x86_decode(st, insn, insn_len, &d)) != 0)
		return rc;
	if (d.flags & (X86_D_SI | X86_D_DI))
		rc = emulate_string(g, st, &d, &done);
	else
		rc = emulate_operand(g, st, gpa, &d);
	if (rc == 0 && done)
		st->gprs[NVMM_X64_GPR_RIP] = x86_next_rip(st, d.len);
	return rc;
}
