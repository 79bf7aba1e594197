/*
 * The pure x86 layer under libnvmm's assists: the guest page walker, guest
 * memory through segmentation and paging, the instruction decoder, and the
 * emulation of I/O and MMIO instructions. It has no global state and makes
 * no system calls; guest memory is reached only through struct x86_guest.
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure.
 */
#ifndef LIBNVMM_X86_H
#define LIBNVMM_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

/* How the x86 layer reaches guest memory. */
struct x86_guest {
	void *opaque;
	/*
	 * Copies between buf and guest RAM at guest-physical gpa (into RAM
	 * when write): len bytes, or fewer where the RAM range holding gpa
	 * ends. Returns the bytes copied, 0 when gpa is not RAM that allows
	 * the access (NVMM_PROT_WRITE for a write, else NVMM_PROT_READ). The
	 * layer keeps no host pointer: guest memory may be remapped between
	 * two calls (by mmio() or an I/O callback, or by another thread), and
	 * each access sees the map as it is then.
	 */
	size_t (*ram)(void *opaque, uint64_t gpa, bool write, uint8_t *buf,
	    size_t len);
	/*
	 * An access of size bytes to a guest-physical address that is not RAM
	 * (or is RAM without the permission the access needs, as a ROM write):
	 * 1 to 8 bytes for an instruction operand, one element of a string
	 * I/O, in the order the CPU accesses them. A read fills data. Never
	 * called for instruction fetches or page-table reads, which need RAM.
	 */
	void (*mmio)(void *opaque, uint64_t gpa, bool write, uint8_t *data,
	    size_t size);
};

/*
 * Translates the linear address gva with the paging mode of st (CR0.PG,
 * CR3, CR4.PAE/PSE/LA57, EFER.LMA/NXE): identity with paging off, else a
 * 32-bit, PAE, 4-level or 5-level walk. *prot is NVMM_PROT_READ plus WRITE
 * unless some level lacks R/W, EXEC unless some level has NX (with
 * EFER.NXE), USER unless some level lacks U/S. -EFAULT for a non-present
 * entry, a reserved bit, a non-canonical (or, outside long mode, above
 * 4 GiB) address, or a table that is not readable RAM. A and D bits are
 * not updated.
 */
int x86_gva_to_gpa(const struct x86_guest *g, const struct nvmm_x64_state *st,
    uint64_t gva, uint64_t *gpa, int *prot);

/*
 * Reads or writes len bytes at seg:off (seg an NVMM_X64_SEG_* index up to
 * GS, off the effective address, already wrapped to the address size), as
 * an instruction at the current privilege level (SS.DPL) would. Outside
 * 64-bit mode: the segment base, limit (in bytes; expand-down included)
 * and, in protected mode, present bit and type; in 64-bit mode only the FS
 * and GS bases. Then paging with the U/S and R/W checks (CR0.WP honoured),
 * split at every page boundary, RAM through ram() and the rest through
 * mmio(). -EFAULT when a check fails; nothing is rolled back if a later
 * page fails.
 */
int x86_read_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, void *buf, size_t len);
int x86_write_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, const void *buf, size_t len);
/*
 * The same access, to RAM only: where a device lies, nothing is accessed
 * (a read leaves zeros) and *device is set. It tells whether an access
 * would reach a device before any device sees it.
 */
int x86_probe_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, void *buf, size_t len, bool write, bool *device);

/* Bytes of one instruction: the architectural limit. */
#define X86_INSN_MAX	15

/*
 * Reads the instruction bytes at CS:RIP into buf: X86_INSN_MAX of them, or
 * fewer when the code ends at the edge of executable RAM (or of CS).
 * Returns the number read (at least 1), or -EFAULT when not even one byte
 * is. MMIO is never read.
 */
int x86_fetch_insn(const struct x86_guest *g, const struct nvmm_x64_state *st,
    uint8_t buf[X86_INSN_MAX]);

/*
 * Decodes the I/O instruction (IN, OUT, INS, OUTS with any prefixes) in the
 * len bytes at insn, executed at RIP in the mode of st, into NVMM's exit
 * payload: in, port (the imm8, or DX), seg (ES for INS, DS or the override
 * for OUTS, -1 when not a string), address_size (2/4/8), operand_size
 * (1/2/4), rep (string forms only), str and npc. Returns the instruction's
 * length, -ENODEV when it is not an I/O instruction, or -EFAULT when len is
 * too short for it.
 */
int x86_decode_io(const struct nvmm_x64_state *st, const uint8_t *insn,
    size_t len, struct nvmm_x86_exit_io *io);

/*
 * Completes the I/O instruction described by io as NetBSD's nvmm_assist_io
 * does, moving count elements (the hypervisor's batch; only meaningful for
 * rep+str, clamped to the masked RCX) and calling cb once per element with
 * size = io->operand_size. OUT takes the data from RAX or io->seg:rSI; IN
 * puts it into RAX (merged for sizes 1 and 2, zero-extended for 4) or
 * ES:rDI (a seg of -1 means ES for IN, DS for OUT). rSI/rDI step per DF
 * and RCX counts down, both in the address size; RIP becomes io->npc once
 * the instruction is finished. A rep with a zero count sets RIP = npc
 * without a callback. Returns the elements done, fewer than asked when
 * guest memory fails partway (RIP then stays); -EINVAL for a malformed io
 * or a zero count; -EFAULT when not one element could be moved (an IN
 * whose memory write fails has still called cb).
 */
int x86_emulate_io(const struct x86_guest *g, struct nvmm_x64_state *st,
    const struct nvmm_x86_exit_io *io, uint64_t count,
    void (*cb)(void *opaque, uint8_t *data, size_t size), void *opaque);

/*
 * Completes the instruction at RIP that faulted on MMIO at guest-physical
 * gpa (see the list at the top of emul.c): insn/insn_len are its bytes when
 * the hypervisor gave them, else NULL/0 and they are fetched from CS:RIP.
 * Registers, RFLAGS and RIP are left as the CPU would leave them; a rep
 * string instruction does one iteration per call. Returns 0, -ENODEV for an
 * instruction outside the list, or -EFAULT when its bytes or a string
 * operand cannot be reached; on failure no register has changed.
 */
int x86_emulate_mem(const struct x86_guest *g, struct nvmm_x64_state *st,
    uint64_t gpa, const uint8_t *insn, size_t insn_len);

/* ---- Shared by the files of lib/x86 only. ---- */

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PSE	(1ULL << 4)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_LA57	(1ULL << 12)
#define X86_EFER_LMA	(1ULL << 10)
#define X86_EFER_NXE	(1ULL << 11)

#define X86_FLAG_CF	(1ULL << 0)
#define X86_FLAG_PF	(1ULL << 2)
#define X86_FLAG_AF	(1ULL << 4)
#define X86_FLAG_ZF	(1ULL << 6)
#define X86_FLAG_SF	(1ULL << 7)
#define X86_FLAG_DF	(1ULL << 10)
#define X86_FLAG_OF	(1ULL << 11)
#define X86_FLAG_VM	(1ULL << 17)

#define X86_PAGE_SIZE	4096ULL

/* The emulated operations. ADD..CMP are in group 1's ModRM.reg order. */
enum x86_op {
	X86_OP_NONE,
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
	X86_OP_TEST, X86_OP_MOV, X86_OP_MOVZX, X86_OP_MOVSX, X86_OP_XCHG,
	X86_OP_MOVS, X86_OP_CMPS, X86_OP_STOS, X86_OP_LODS, X86_OP_SCAS,
	/* Opcodes whose ModRM.reg selects the operation. */
	X86_OP_GRP1, X86_OP_GRP3, X86_OP_GRP11,
};

/* Properties of an opcode, from its operand notation in the SDM. */
#define X86_D_MODRM	0x001	/* a ModRM byte: E (memory) and G operands */
#define X86_D_BYTE	0x002	/* b: byte operands */
#define X86_D_TO_MEM	0x004	/* the memory operand is the first (E, O, Y) */
#define X86_D_IMM8	0x008	/* Ib, sign-extended to the operand size */
#define X86_D_IMMZ	0x010	/* Iz: 16 or 32 bits, sign-extended */
#define X86_D_MOFFS	0x020	/* O: a moffs of the address size */
#define X86_D_SI	0x040	/* X: a string source at seg:rSI */
#define X86_D_DI	0x080	/* Y: a string operand at ES:rDI */
#define X86_D_O64	0x100	/* valid in 64-bit mode only */

/* A decoded instruction. */
struct x86_insn {
	uint8_t len;		/* bytes */
	uint8_t op;		/* enum x86_op, groups resolved */
	uint16_t flags;		/* X86_D_* */
	uint8_t opsize;		/* 1, 2, 4 or 8 */
	uint8_t memsize;	/* the memory operand: opsize, or MOVZX/MOVSX's source */
	uint8_t adsize;		/* 2, 4 or 8 */
	uint8_t seg;		/* NVMM_X64_SEG_* of a string source (DS or override) */
	uint8_t rep;		/* 0xF3, 0xF2 (the last one given) or 0 */
	uint8_t reg;		/* the register operand: ModRM.reg, or rAX */
	uint8_t reg_shift;	/* 8 for AH, CH, DH, BH, else 0 */
	uint64_t imm;		/* immediate, sign-extended and masked to opsize */
};

/*
 * Decodes the instruction in the len bytes at insn for the mode of st.
 * Returns 0, -ENODEV for an unsupported or invalid one, or -EFAULT when it
 * needs more than len bytes.
 */
int x86_decode(const struct nvmm_x64_state *st, const uint8_t *insn, size_t len,
    struct x86_insn *d);

enum x86_access {
	X86_ACC_READ,
	X86_ACC_WRITE,
	/* A read that must hit RAM: instruction bytes and page tables. */
	X86_ACC_FETCH,
};

/*
 * Moves len bytes between buf and guest-physical gpa: RAM that allows the
 * access directly, anything else through mmio() (-EFAULT for a fetch).
 */
int x86_access_gpa(const struct x86_guest *g, uint64_t gpa,
    enum x86_access acc, uint8_t *buf, size_t len);

/* The code size: 8 in 64-bit mode, else 4 or 2 from CS.D (2 in VM86). */
static inline unsigned
x86_code_size(const struct nvmm_x64_state *st)
{
	const struct nvmm_x64_state_seg *cs = &st->segs[NVMM_X64_SEG_CS];

	if ((st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_LMA) && cs->attrib.l)
		return 8;
	if (st->gprs[NVMM_X64_GPR_RFLAGS] & X86_FLAG_VM)
		return 2;
	return cs->attrib.def ? 4 : 2;
}

static inline uint64_t
x86_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* v's low size bytes, sign-extended to 64 bits. */
static inline uint64_t
x86_sext(uint64_t v, unsigned size)
{
	unsigned shift = 64 - size * 8;

	return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* RIP after an instruction of len bytes: EIP wraps outside 64-bit mode. */
static inline uint64_t
x86_next_rip(const struct nvmm_x64_state *st, unsigned len)
{
	uint64_t rip = st->gprs[NVMM_X64_GPR_RIP] + len;

	return x86_code_size(st) == 8 ? rip : (uint32_t)rip;
}

/*
 * Writes the low size bytes of v into a GPR, at bit shift (8 for AH..BH):
 * sizes 1 and 2 merge, 4 zero-extends to 64 bits as the CPU does.
 */
static inline void
x86_gpr_write(struct nvmm_x64_state *st, unsigned reg, unsigned shift,
    unsigned size, uint64_t v)
{
	uint64_t m = x86_mask(size) << shift;

	if (size == 4)
		st->gprs[reg] = (uint32_t)v;
	else
		st->gprs[reg] = (st->gprs[reg] & ~m) | ((v << shift) & m);
}

#endif
