/*
 * The instruction decoder: legacy prefixes and REX, then opcode tables
 * annotated with the SDM's operand notation. Only what the assists emulate
 * has an entry: everything else, VEX (C4/C5), XOP (8F) and EVEX (62)
 * included, is -ENODEV.
 *
 * The memory operand's effective address is not computed: the assists take
 * it from the exit's GPA (ModRM forms) or from rSI/rDI (string forms), so
 * ModRM, SIB and displacements are only measured.
 */
#include "x86/x86.h"

#include <errno.h>
#include <string.h>

struct opcode {
	uint8_t op;		/* enum x86_op */
	uint8_t msize;		/* the memory operand's size when fixed */
	uint16_t flags;		/* X86_D_* */
};

#define M	X86_D_MODRM
#define B	X86_D_BYTE
#define TO	X86_D_TO_MEM

/* The four ModRM forms of the ALU rows 00-3B. */
#define ALU(base, o)							\
	[(base) + 0] = { X86_OP_##o, 0, M | B | TO },	/* Eb,Gb */	\
	[(base) + 1] = { X86_OP_##o, 0, M | TO },	/* Ev,Gv */	\
	[(base) + 2] = { X86_OP_##o, 0, M | B },	/* Gb,Eb */	\
	[(base) + 3] = { X86_OP_##o, 0, M }		/* Gv,Ev */

static const struct opcode primary[256] = {
	ALU(0x00, ADD),
	ALU(0x08, OR),
	ALU(0x10, ADC),
	ALU(0x18, SBB),
	ALU(0x20, AND),
	ALU(0x28, SUB),
	ALU(0x30, XOR),
	ALU(0x38, CMP),
	[0x63] = { X86_OP_MOVSX, 4, M | X86_D_O64 },	/* MOVSXD Gv,Ed */
	[0x80] = { X86_OP_GRP1, 0, M | B | TO | X86_D_IMM8 },	/* Eb,Ib */
	[0x81] = { X86_OP_GRP1, 0, M | TO | X86_D_IMMZ },	/* Ev,Iz */
	[0x83] = { X86_OP_GRP1, 0, M | TO | X86_D_IMM8 },	/* Ev,Ib */
	[0x84] = { X86_OP_TEST, 0, M | B | TO },	/* TEST Eb,Gb */
	[0x85] = { X86_OP_TEST, 0, M | TO },		/* TEST Ev,Gv */
	[0x86] = { X86_OP_XCHG, 0, M | B | TO },	/* XCHG Eb,Gb */
	[0x87] = { X86_OP_XCHG, 0, M | TO },		/* XCHG Ev,Gv */
	[0x88] = { X86_OP_MOV, 0, M | B | TO },		/* MOV Eb,Gb */
	[0x89] = { X86_OP_MOV, 0, M | TO },		/* MOV Ev,Gv */
	[0x8A] = { X86_OP_MOV, 0, M | B },		/* MOV Gb,Eb */
	[0x8B] = { X86_OP_MOV, 0, M },			/* MOV Gv,Ev */
	[0xA0] = { X86_OP_MOV, 0, X86_D_MOFFS | B },		/* MOV AL,Ob */
	[0xA1] = { X86_OP_MOV, 0, X86_D_MOFFS },		/* MOV rAX,Ov */
	[0xA2] = { X86_OP_MOV, 0, X86_D_MOFFS | B | TO },	/* MOV Ob,AL */
	[0xA3] = { X86_OP_MOV, 0, X86_D_MOFFS | TO },		/* MOV Ov,rAX */
	[0xA4] = { X86_OP_MOVS, 0, X86_D_DI | X86_D_SI | B },	/* MOVS Yb,Xb */
	[0xA5] = { X86_OP_MOVS, 0, X86_D_DI | X86_D_SI },	/* MOVS Yv,Xv */
	[0xA6] = { X86_OP_CMPS, 0, X86_D_SI | X86_D_DI | B },	/* CMPS Xb,Yb */
	[0xA7] = { X86_OP_CMPS, 0, X86_D_SI | X86_D_DI },	/* CMPS Xv,Yv */
	[0xAA] = { X86_OP_STOS, 0, X86_D_DI | B },	/* STOS Yb,AL */
	[0xAB] = { X86_OP_STOS, 0, X86_D_DI },		/* STOS Yv,rAX */
	[0xAC] = { X86_OP_LODS, 0, X86_D_SI | B },	/* LODS AL,Xb */
	[0xAD] = { X86_OP_LODS, 0, X86_D_SI },		/* LODS rAX,Xv */
	[0xAE] = { X86_OP_SCAS, 0, X86_D_DI | B },	/* SCAS AL,Yb */
	[0xAF] = { X86_OP_SCAS, 0, X86_D_DI },		/* SCAS rAX,Yv */
	[0xC6] = { X86_OP_GRP11, 0, M | B | TO | X86_D_IMM8 },	/* Eb,Ib */
	[0xC7] = { X86_OP_GRP11, 0, M | TO | X86_D_IMMZ },	/* Ev,Iz */
	[0xF6] = { X86_OP_GRP3, 0, M | B | TO | X86_D_IMM8 },	/* Eb,Ib */
	[0xF7] = { X86_OP_GRP3, 0, M | TO | X86_D_IMMZ },	/* Ev,Iz */
};

/* After the 0F escape. */
static const struct opcode secondary[256] = {
	[0xB6] = { X86_OP_MOVZX, 1, M },	/* MOVZX Gv,Eb */
	[0xB7] = { X86_OP_MOVZX, 2, M },	/* MOVZX Gv,Ew */
	[0xBE] = { X86_OP_MOVSX, 1, M },	/* MOVSX Gv,Eb */
	[0xBF] = { X86_OP_MOVSX, 2, M },	/* MOVSX Gv,Ew */
};

#undef M
#undef B
#undef TO
#undef ALU

/* Group opcodes by ModRM.reg; only the forms with an immediate are here. */
static const uint8_t groups[][8] = {
	[X86_OP_GRP1 - X86_OP_GRP1] = {
		X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
		X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
	},
	/* F6/F7: TEST Ib/Iz; /1 is an undocumented alias of /0. */
	[X86_OP_GRP3 - X86_OP_GRP1] = { X86_OP_TEST, X86_OP_TEST },
	/* C6/C7: MOV Ib/Iz. */
	[X86_OP_GRP11 - X86_OP_GRP1] = { X86_OP_MOV },
};

/* The bytes of an instruction, read within len and the 15-byte limit. */
struct cursor {
	const uint8_t *insn;
	size_t len;
	size_t pos;
};

/* The next n bytes, little-endian. */
static int
take(struct cursor *c, unsigned n, uint64_t *v)
{
	*v = 0;
	for (unsigned i = 0; i < n; i++) {
		if (c->pos >= X86_INSN_MAX)
			return -ENODEV;
		if (c->pos >= c->len)
			return -EFAULT;
		*v |= (uint64_t)c->insn[c->pos++] << (8 * i);
	}
	return 0;
}

struct prefixes {
	int seg;		/* an NVMM_X64_SEG_* override, or -1 */
	uint8_t rep;		/* 0xF2, 0xF3 or 0 */
	bool opsz;		/* 66 */
	bool adsz;		/* 67 */
	uint8_t rex;		/* the REX byte, or 0 */
	uint8_t opcode;		/* the first byte after them */
};

/* Legacy prefixes in any number and order; REX counts only when last. */
static int
prefixes(struct cursor *c, unsigned mode, struct prefixes *p)
{
	uint64_t b;
	int rc;

	memset(p, 0, sizeof(*p));
	p->seg = -1;
	for (;;) {
		if ((rc = take(c, 1, &b)) != 0)
			return rc;
		switch (b) {
		case 0x26: p->seg = NVMM_X64_SEG_ES; break;
		case 0x2E: p->seg = NVMM_X64_SEG_CS; break;
		case 0x36: p->seg = NVMM_X64_SEG_SS; break;
		case 0x3E: p->seg = NVMM_X64_SEG_DS; break;
		case 0x64: p->seg = NVMM_X64_SEG_FS; break;
		case 0x65: p->seg = NVMM_X64_SEG_GS; break;
		case 0x66: p->opsz = true; break;
		case 0x67: p->adsz = true; break;
		case 0xF0: break;	/* LOCK: MMIO has no atomicity to give */
		case 0xF2:
		case 0xF3: p->rep = b; break;
		default:
			if (mode == 8 && (b & 0xF0) == 0x40) {
				p->rex = b;
				continue;
			}
			p->opcode = b;
			return 0;
		}
		p->rex = 0;
	}
}

/* The operand size without REX.W: 16 or 32 bits, 66 flips the default. */
static unsigned
opsize(unsigned mode, const struct prefixes *p)
{
	return (mode == 2) != p->opsz ? 2 : 4;
}

static unsigned
adsize(unsigned mode, const struct prefixes *p)
{
	if (mode == 8)
		return p->adsz ? 4 : 8;
	return (mode == 2) != p->adsz ? 2 : 4;
}

/*
 * Skips ModRM, SIB and displacement, and returns ModRM.reg. A register
 * operand (mod 3) is -ENODEV: such an instruction cannot touch MMIO.
 */
static int
modrm(struct cursor *c, unsigned asize, unsigned *reg)
{
	uint64_t m, sib = 0, disp;
	unsigned mod, rm, n;
	int rc;

	if ((rc = take(c, 1, &m)) != 0)
		return rc;
	mod = m >> 6;
	rm = m & 7;
	*reg = (m >> 3) & 7;
	if (mod == 3)
		return -ENODEV;
	if (asize == 2) {
		/* [BX+SI] ... [BX], or disp16 alone for mod 0, rm 6. */
		n = mod == 1 ? 1 : (mod == 2 || rm == 6) ? 2 : 0;
	} else {
		if (rm == 4 && (rc = take(c, 1, &sib)) != 0)
			return rc;
		/* mod 0, rm 5: disp32 (RIP-relative in 64-bit mode). */
		if (mod == 0)
			n = (rm == 5 || (rm == 4 && (sib & 7) == 5)) ? 4 : 0;
		else
			n = mod == 1 ? 1 : 4;
	}
	return take(c, n, &disp);
}

int
x86_decode(const struct nvmm_x64_state *st, const uint8_t *insn, size_t len,
    struct x86_insn *d)
{
	struct cursor c = { insn, len, 0 };
	unsigned mode = x86_code_size(st), reg;
	const struct opcode *o;
	struct prefixes p;
	uint64_t v;
	int rc;

	if ((rc = prefixes(&c, mode, &p)) != 0)
		return rc;
	o = &primary[p.opcode];
	if (p.opcode == 0x0F) {
		if ((rc = take(&c, 1, &v)) != 0)
			return rc;
		o = &secondary[v];
	}
	if (o->op == X86_OP_NONE || ((o->flags & X86_D_O64) && mode != 8))
		return -ENODEV;

	memset(d, 0, sizeof(*d));
	d->op = o->op;
	d->flags = o->flags;
	if (o->flags & X86_D_BYTE)
		d->opsize = 1;
	else
		d->opsize = (p.rex & 0x08) ? 8 : opsize(mode, &p);
	d->memsize = o->msize && o->msize < d->opsize ? o->msize : d->opsize;
	d->adsize = adsize(mode, &p);
	d->seg = p.seg >= 0 ? p.seg : NVMM_X64_SEG_DS;
	d->rep = p.rep;
	d->reg = NVMM_X64_GPR_RAX;

	if (o->flags & X86_D_MODRM) {
		if ((rc = modrm(&c, d->adsize, &reg)) != 0)
			return rc;
		if (d->op >= X86_OP_GRP1) {
			d->op = groups[d->op - X86_OP_GRP1][reg];
			if (d->op == X86_OP_NONE)
				return -ENODEV;
		} else if (d->opsize == 1 && p.rex == 0 && reg >= 4) {
			/* AH, CH, DH, BH: only without REX. */
			d->reg = reg - 4;
			d->reg_shift = 8;
		} else {
			d->reg = reg | ((p.rex & 0x04) << 1);
		}
	}
	if ((o->flags & X86_D_MOFFS) && (rc = take(&c, d->adsize, &v)) != 0)
		return rc;
	if (o->flags & (X86_D_IMM8 | X86_D_IMMZ)) {
		unsigned n = (o->flags & X86_D_IMM8) ? 1 : d->opsize == 2 ? 2 : 4;

		if ((rc = take(&c, n, &v)) != 0)
			return rc;
		d->imm = x86_sext(v, n) & x86_mask(d->opsize);
	}
	d->len = c.pos;
	return 0;
}

int
x86_decode_io(const struct nvmm_x64_state *st, const uint8_t *insn,
    size_t len, struct nvmm_x86_exit_io *io)
{
	struct cursor c = { insn, len, 0 };
	unsigned mode = x86_code_size(st);
	uint64_t port = st->gprs[NVMM_X64_GPR_RDX] & 0xFFFF;
	struct prefixes p;
	bool str = false;
	int rc;

	if ((rc = prefixes(&c, mode, &p)) != 0)
		return rc;
	switch (p.opcode) {
	case 0xE4 ... 0xE7:	/* IN AL/eAX,Ib; OUT Ib,AL/eAX */
		if ((rc = take(&c, 1, &port)) != 0)
			return rc;
		break;
	case 0xEC ... 0xEF:	/* IN AL/eAX,DX; OUT DX,AL/eAX */
		break;
	case 0x6C ... 0x6F:	/* INS Yb/Yz,DX; OUTS DX,Xb/Xz */
		str = true;
		break;
	default:
		return -ENODEV;
	}
	/* Bit 1 of every form is OUT; bit 0 is the full size (REX.W ignored). */
	io->in = !(p.opcode & 0x02);
	io->port = port;
	io->operand_size = (p.opcode & 0x01) ? opsize(mode, &p) : 1;
	io->address_size = adsize(mode, &p);
	io->str = str;
	io->rep = str && p.rep != 0;
	if (!str)
		io->seg = -1;
	else if (io->in)
		io->seg = NVMM_X64_SEG_ES;
	else
		io->seg = p.seg >= 0 ? p.seg : NVMM_X64_SEG_DS;
	io->npc = x86_next_rip(st, c.pos);
	return c.pos;
}
