/*
 * nvmm_vcpu_dump(): the whole VCPU state, readably, on stdout.
 */
#include "nvmm_impl.h"

#include <stdio.h>

static const char *const gpr_names[NVMM_X64_NGPR] = {
	"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
	"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "RIP", "RFLAGS",
};
static const char *const seg_names[NVMM_X64_NSEG] = {
	"ES", "CS", "SS", "DS", "FS", "GS", "GDT", "IDT", "LDT", "TR",
};
static const char *const cr_names[NVMM_X64_NCR] = {
	"CR0", "CR2", "CR3", "CR4", "CR8", "XCR0",
};
static const char *const dr_names[NVMM_X64_NDR] = {
	"DR0", "DR1", "DR2", "DR3", "DR6", "DR7",
};
static const char *const msr_names[NVMM_X64_NMSR] = {
	"EFER", "STAR", "LSTAR", "CSTAR", "SFMASK", "KERNELGSBASE",
	"SYSENTER_CS", "SYSENTER_ESP", "SYSENTER_EIP", "PAT", "TSC",
};

static void
dump_array(const char *const *names, const uint64_t *vals, int n)
{
	for (int i = 0; i < n; i++)
		printf("| %-12s 0x%016llx%s", names[i],
		    (unsigned long long)vals[i], (i % 3 == 2 || i == n - 1) ?
		    "\n" : " ");
}

NVMM_API int
nvmm_vcpu_dump(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x64_state *st;
	struct mach *m;
	struct vcpu *v;
	int r;

	r = vcpu_lookup(mach, vcpu, &m, &v);
	if (r == 0)
		r = vcpu_getstate(v, NVMM_X64_STATE_ALL);
	if (r < 0)
		return nvmm_ret(r);
	st = &v->comm->state;

	printf("+ VCPU id=%u (machine %u)\n", v->id, m->id);
	dump_array(gpr_names, st->gprs, NVMM_X64_NGPR);
	for (int i = 0; i < NVMM_X64_NSEG; i++) {
		const struct nvmm_x64_state_seg *s = &st->segs[i];

		printf("| %-3s sel=0x%04x base=0x%016llx limit=0x%08x "
		    "type=%u s=%u dpl=%u p=%u avl=%u l=%u def=%u g=%u\n",
		    seg_names[i], s->selector, (unsigned long long)s->base,
		    s->limit, s->attrib.type, s->attrib.s, s->attrib.dpl,
		    s->attrib.p, s->attrib.avl, s->attrib.l, s->attrib.def,
		    s->attrib.g);
	}
	dump_array(cr_names, st->crs, NVMM_X64_NCR);
	dump_array(dr_names, st->drs, NVMM_X64_NDR);
	dump_array(msr_names, st->msrs, NVMM_X64_NMSR);
	printf("| INTR int_shadow=%u int_window_exiting=%u "
	    "nmi_window_exiting=%u evt_pending=%u\n",
	    st->intr.int_shadow, st->intr.int_window_exiting,
	    st->intr.nmi_window_exiting, st->intr.evt_pending);
	printf("| FPU cw=0x%04x sw=0x%04x tw=0x%02x opcode=0x%04x "
	    "ip=0x%016llx dp=0x%016llx mxcsr=0x%08x mask=0x%08x\n",
	    st->fpu.fx_cw, st->fpu.fx_sw, st->fpu.fx_tw, st->fpu.fx_opcode,
	    (unsigned long long)st->fpu.fx_ip.fa_64,
	    (unsigned long long)st->fpu.fx_dp.fa_64, st->fpu.fx_mxcsr,
	    st->fpu.fx_mxcsr_mask);
	for (int i = 0; i < 8; i++)
		printf("| ST%d mantissa=0x%016llx exp_sign=0x%04x\n", i,
		    (unsigned long long)st->fpu.fx_87_ac[i].r.f87_mantissa,
		    st->fpu.fx_87_ac[i].r.f87_exp_sign);
	for (int i = 0; i < 16; i++) {
		printf("| XMM%-2d ", i);
		for (int j = 15; j >= 0; j--)
			printf("%02x", st->fpu.fx_xmm[i].xmm_bytes[j]);
		printf("\n");
	}
	fflush(stdout);
	return 0;
}
