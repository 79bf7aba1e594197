/*
 * The assists (nvmm_assist_io, nvmm_assist_mem) and nvmm_gva_to_gpa: the
 * glue between the VCPU, guest memory and the pure x86 layer in lib/x86/.
 *
 * The x86 layer completes the instruction in the comm page (GPRS) and calls
 * the VMM's callbacks. KVM, which still holds the instruction, is handed
 * the same data so that it finishes it identically at the next KVM_RUN: the
 * registers need no commit, and the exit costs no syscall but KVM_RUN.
 */
#include "nvmm_impl.h"

#include <string.h>

#include "x86/x86.h"

struct assist {
	struct mach *m;
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	/* MMIO accesses in order, for KVM's completion of the instruction. */
	struct kvm_mmio_rec recs[KVM_JOURNAL_MAX + 1];
	unsigned nrecs;
	bool untracked;		/* an access the journal can't describe */
	bool ins;		/* an INS: its device writes make a span */
	struct kvm_mmio_span span;
	enum kvm_exit_state exit_state;
	/* I/O: KVM's data buffer and the element being moved. */
	uint8_t *kvm_data;
	uint32_t elem;
};

/*
 * Every guest RAM access is a fresh lookup and copy (mem_copy): no lock is
 * held between two accesses, so the VMM's callbacks in between may remap
 * guest memory (nvmm_gpa_map/unmap, nvmm_hva_map/unmap), and the next
 * access sees their map.
 */
static size_t
guest_ram(void *opaque, uint64_t gpa, bool write, uint8_t *buf, size_t len)
{
	struct assist *a = opaque;

	return mem_copy(a->m, gpa, write, buf, len);
}

/* Instruction fetch and page walks never reach a device. */
static void
no_mmio(void *opaque, uint64_t gpa, bool write, uint8_t *data, size_t size)
{
	(void)opaque, (void)gpa;
	if (!write)
		memset(data, 0xFF, size);
}

static void
assist_mmio(void *opaque, uint64_t gpa, bool write, uint8_t *data,
    size_t size)
{
	struct assist *a = opaque;
	struct kvm_mmio_rec *rec = &a->recs[a->nrecs];
	struct nvmm_mem mem = {
		.mach = a->mach,
		.vcpu = a->vcpu,
		.gpa = gpa,
		.write = write,
		.size = size,
		.data = data,
	};

	if (a->vcpu->cbs.mem != NULL)
		a->vcpu->cbs.mem(&mem);
	else if (!write)
		memset(data, 0xFF, size);
	if (a->ins && write) {
		uint64_t lo = a->span.len == 0 || gpa < a->span.gpa ?
		    gpa : a->span.gpa;
		uint64_t hi = a->span.gpa + a->span.len > gpa + size ?
		    a->span.gpa + a->span.len : gpa + size;

		a->span.gpa = lo;
		a->span.len = (uint32_t)(hi - lo);
		return;
	}
	if (size > sizeof(rec->data) || a->nrecs == KVM_JOURNAL_MAX + 1) {
		a->untracked = true;
		return;
	}
	rec->gpa = gpa;
	rec->len = (uint8_t)size;
	rec->write = write;
	memcpy(rec->data, data, size);
	a->nrecs++;
}

static void
assist_io_cb(void *opaque, uint8_t *data, size_t size)
{
	struct assist *a = opaque;
	const struct nvmm_x86_exit_io *e = &a->vcpu->exit->u.io;
	struct nvmm_io io = {
		.mach = a->mach,
		.vcpu = a->vcpu,
		.port = e->port,
		.in = e->in,
		.size = size,
		.data = data,
	};

	if (a->vcpu->cbs.io != NULL)
		a->vcpu->cbs.io(&io);
	else if (e->in)
		memset(data, 0xFF, size);
	if (e->in)
		memcpy(a->kvm_data + (size_t)a->elem * size, data, size);
	a->elem++;
}

/* Reads the instruction at CS:RIP; n bytes, or a negative errno. */
static int
fetch(struct mach *m, const struct nvmm_x64_state *st,
    uint8_t insn[X86_INSN_MAX])
{
	struct assist a = { .m = m };
	const struct x86_guest g = { &a, guest_ram, no_mmio };

	return x86_fetch_insn(&g, st, insn);
}

#define RFLAGS_RF	(1ULL << 16)

bool
assist_io_exit(struct vcpu *v, struct nvmm_x86_exit_io *io)
{
	bool out_emulated = kvm_vcpu_out_emulated();
	const struct nvmm_x64_state *st = &v->comm->state;
	uint8_t insn[X86_INSN_MAX];
	struct nvmm_x86_exit_io d;
	bool match = false;
	int n;

	/*
	 * Where KVM emulates OUT, it is done unless a REP string instruction
	 * is under way (KVM's emulator sets RF for that): no need to decode.
	 */
	kvm_vcpu_code(v);
	if (!io->in && out_emulated && !(st->gprs[NVMM_X64_GPR_RFLAGS] & RFLAGS_RF))
		goto past;
	n = fetch(v->mach, st, insn);
	if (n > 0)
		n = x86_decode_io(st, insn, (size_t)n, &d);
	match = n > 0 && d.in == io->in && d.operand_size == io->operand_size &&
	    (d.str || d.port == io->port);
	/*
	 * An IN waits at RIP for its data; so does an OUT on hardware
	 * virtualization. KVM's emulator has done a string OUT's batch, and
	 * stays at a REP OUTS until its count is out.
	 */
	if (match && (io->in || (d.str && d.rep) || (!d.str && !out_emulated))) {
		io->seg = d.seg;
		io->address_size = d.address_size;
		io->rep = d.rep;
		io->str = d.str;
		io->npc = d.npc;
		return !io->in && d.str;
	}
	/* Otherwise KVM's emulator already executed the OUT: RIP is past it. */
past:
	io->seg = -1;
	io->address_size = x86_code_size(st);
	io->rep = io->str = false;
	io->npc = st->gprs[NVMM_X64_GPR_RIP];
	return !io->in;
}

/*
 * KVM leaves a REP string instruction whose count ran out at its RIP, and
 * finishes it when the guest runs again: NVMM shows it finished now.
 */
static void
rep_finished(struct nvmm_x64_state *st, unsigned adsize, uint64_t npc)
{
	if ((st->gprs[NVMM_X64_GPR_RCX] & x86_mask(adsize)) != 0)
		return;
	st->gprs[NVMM_X64_GPR_RIP] = npc;
	st->gprs[NVMM_X64_GPR_RFLAGS] &= ~RFLAGS_RF;
}

static int
assist_begin(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t reason, struct assist *a, struct vcpu **vp)
{
	struct vcpu *v;
	int r;

	a->nrecs = a->elem = 0;
	a->untracked = a->ins = false;
	a->span.gpa = a->span.len = 0;
	r = vcpu_lookup(mach, vcpu, &a->m, &v);
	if (r < 0)
		return r;
	a->exit_state = kvm_vcpu_exit_state(v);
	if (vcpu->exit == NULL || vcpu->exit->reason != reason ||
	    a->exit_state == KVM_EXIT_DONE)
		return -EINVAL;
	/* An OUT KVM executed needs no segment: decoding and emulating do. */
	r = vcpu_getstate(v, a->exit_state == KVM_EXIT_EXECUTED &&
	    reason == NVMM_VCPU_EXIT_IO ?
	    NVMM_X64_STATE_GPRS : NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS);
	if (r < 0)
		return r;
	kvm_vcpu_paging(v);
	a->mach = mach;
	a->vcpu = vcpu;
	*vp = v;
	return 0;
}

/*
 * The accesses after the first-th are KVM's to absorb. The registers are
 * KVM's result too; commit them only with the comm page off.
 */
static int
assist_end(struct vcpu *v, const struct assist *a, unsigned first)
{
	int r = kvm_vcpu_assisted(v, a->recs + first,
	    a->untracked ? 0 : a->nrecs - first, &a->span);

	if (r == 0 && nvmm_cache_off)
		r = vcpu_setstate(v, NVMM_X64_STATE_GPRS);
	return r;
}

/*
 * KVM reads the port ahead for a whole batch of an INS, but where DF is
 * set and the element goes to a device it writes that one element, drops
 * the rest and runs the INS again: the assist moves one element too.
 */
static bool
ins_one_element(const struct x86_guest *g, const struct nvmm_x64_state *st,
    const struct nvmm_x86_exit_io *io)
{
	uint64_t di = st->gprs[NVMM_X64_GPR_RDI] & x86_mask(io->address_size);
	uint8_t elem[4];
	bool device;

	if (!(st->gprs[NVMM_X64_GPR_RFLAGS] & X86_FLAG_DF) ||
	    io->operand_size > sizeof(elem))
		return false;
	return x86_probe_virt(g, st, NVMM_X64_SEG_ES, di, elem,
	    io->operand_size, false, &device) == 0 && device;
}

NVMM_API int
nvmm_assist_io(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct assist a;
	struct vcpu *v;
	uint32_t count;
	int r;

	r = assist_begin(mach, vcpu, NVMM_VCPU_EXIT_IO, &a, &v);
	if (r < 0)
		return nvmm_ret(r);
	a.kvm_data = kvm_vcpu_io_data(v, &count);
	/* KVM did the OUT and its registers: only the device is left. */
	if (a.exit_state == KVM_EXIT_EXECUTED) {
		const struct nvmm_x86_exit_io *io = &vcpu->exit->u.io;

		for (uint32_t i = 0; i < count; i++)
			assist_io_cb(&a, a.kvm_data + (size_t)i * io->operand_size,
			    io->operand_size);
		if (io->rep)
			rep_finished(&v->comm->state, io->address_size, io->npc);
		return 0;
	}
	const struct x86_guest g = { &a, guest_ram, assist_mmio };

	a.ins = vcpu->exit->u.io.in && vcpu->exit->u.io.str;
	if (a.ins && ins_one_element(&g, &v->comm->state, &vcpu->exit->u.io))
		count = 1;
	r = x86_emulate_io(&g, &v->comm->state, &vcpu->exit->u.io, count,
	    assist_io_cb, &a);
	if (r < 0)
		return nvmm_ret(r);
	return nvmm_ret(assist_end(v, &a, 0));
}

NVMM_API int
nvmm_assist_mem(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	uint64_t gprs[NVMM_X64_NGPR], gpa;
	uint8_t insn[X86_INSN_MAX], *data;
	struct nvmm_x86_exit_io io;
	struct nvmm_x64_state *st;
	struct assist a;
	struct vcpu *v;
	uint32_t len;
	bool write;
	int n, r;

	r = assist_begin(mach, vcpu, NVMM_VCPU_EXIT_MEMORY, &a, &v);
	if (r < 0)
		return nvmm_ret(r);
	kvm_vcpu_mmio_data(v, &gpa, &data, &len, &write);
	st = &v->comm->state;
	n = fetch(a.m, st, insn);
	/* KVM's emulator did the write and moved RIP: only the device is left. */
	if (a.exit_state == KVM_EXIT_EXECUTED) {
		struct x86_insn d;

		assist_mmio(&a, gpa, true, data, len);
		if (n > 0 && x86_decode(st, insn, (size_t)n, &d) == 0 && d.rep &&
		    (d.flags & (X86_D_SI | X86_D_DI)))
			rep_finished(st, d.adsize, x86_next_rip(st, d.len));
		/* Without the comm page, getstate reads KVM: it must agree. */
		return nvmm_ret(nvmm_cache_off ?
		    vcpu_setstate(v, NVMM_X64_STATE_GPRS) : 0);
	}
	if (n < 0)
		return nvmm_ret(n);
	/*
	 * KVM reads the source of an OUTS before it goes to the port: the
	 * device gives the element, and the OUT comes as an I/O exit of its
	 * own, where KVM has the data.
	 */
	if (!write && x86_decode_io(st, insn, (size_t)n, &io) > 0 && io.str &&
	    !io.in) {
		assist_mmio(&a, gpa, false, data, len);
		return nvmm_ret(kvm_vcpu_assisted(v, a.recs, 0, &a.span));
	}
	memcpy(gprs, st->gprs, sizeof(gprs));
	const struct x86_guest g = { &a, guest_ram, assist_mmio };

	r = x86_emulate_mem(&g, st, vcpu->exit->u.mem.gpa, insn, (size_t)n);
	if (r < 0)
		return nvmm_ret(r);

	/* The first device access is the one KVM stopped at. */
	if (a.nrecs == 0 || a.recs[0].gpa != gpa || a.recs[0].len != len ||
	    a.recs[0].write != write) {
		memcpy(st->gprs, gprs, sizeof(gprs));
		return nvmm_ret(-ENODEV);
	}
	if (!write)
		memcpy(data, a.recs[0].data, len);
	return nvmm_ret(assist_end(v, &a, 1));
}

NVMM_API int
nvmm_gva_to_gpa(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    gvaddr_t gva, gpaddr_t *gpa, nvmm_prot_t *prot)
{
	struct assist a;
	struct mach *m;
	struct vcpu *v;
	uint64_t pa;
	int r, p;

	r = vcpu_lookup(mach, vcpu, &m, &v);
	if (r < 0)
		return nvmm_ret(r);
	if (gpa == NULL || prot == NULL)
		return nvmm_ret(-EFAULT);
	kvm_vcpu_paging(v);
	a.m = m;
	const struct x86_guest g = { &a, guest_ram, no_mmio };

	r = x86_gva_to_gpa(&g, &v->comm->state, gva & ~NVMM_PAGE_MASK, &pa, &p);
	if (r < 0)
		return nvmm_ret(r);
	*gpa = pa + (gva & NVMM_PAGE_MASK);
	*prot = (nvmm_prot_t)p;
	return 0;
}
