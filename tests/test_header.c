/*
 * Source compatibility of <nvmm.h> with NetBSD's: every name, field,
 * constant and layout that NVMM programs (QEMU's accelerator among them)
 * use, checked at compile time, and the NetBSD-isms they rely on.
 */
#include <nvmm.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "t.h"

#define SA(c) _Static_assert(c, #c)

/* Sizes and offsets (NetBSD amd64). */
SA(sizeof(struct nvmm_x64_state) == 1008);
SA(offsetof(struct nvmm_x64_state, gprs) == 160);
SA(offsetof(struct nvmm_x64_state, crs) == 304);
SA(offsetof(struct nvmm_x64_state, drs) == 352);
SA(offsetof(struct nvmm_x64_state, msrs) == 400);
SA(offsetof(struct nvmm_x64_state, intr) == 488);
SA(offsetof(struct nvmm_x64_state, fpu) == 496);
SA(sizeof(struct nvmm_vcpu_exit) == 64);
SA(offsetof(struct nvmm_x86_exit, exitstate) == 40);
SA(sizeof(struct nvmm_x86_exit_io) == 24);
SA(sizeof(struct nvmm_x86_exit_memory) == 32);
SA(sizeof(struct nvmm_capability) == 104);
SA(sizeof(struct nvmm_cap_md) == 80);
SA(sizeof(struct nvmm_vcpu_event) == 16);
SA(offsetof(struct nvmm_comm_page, state) == 32);
SA(offsetof(struct nvmm_comm_page, event_commit) == 1040);
SA(offsetof(struct nvmm_comm_page, event) == 1048);
SA(offsetof(struct nvmm_comm_page, stop) == 1064);
SA(sizeof(struct nvmm_ctl_mach_info) == 32);
SA(sizeof(struct nvmm_vcpu_conf_cpuid) == 40);
SA(sizeof(struct fxsave) == 512);
SA(offsetof(struct fxsave, fx_mxcsr) == 24);
SA(offsetof(struct fxsave, fx_87_ac) == 32);
SA(offsetof(struct fxsave, fx_xmm) == 160);

/* Constants. */
SA(NVMM_USER_VERSION == 2 && NVMM_KERN_VERSION == 2);
SA(NVMM_VCPU_EXIT_NONE == 0 && NVMM_VCPU_EXIT_MEMORY == 1 &&
    NVMM_VCPU_EXIT_IO == 2 && NVMM_VCPU_EXIT_SHUTDOWN == 0x1000 &&
    NVMM_VCPU_EXIT_INT_READY == 0x1001 && NVMM_VCPU_EXIT_NMI_READY == 0x1002 &&
    NVMM_VCPU_EXIT_HALTED == 0x1003 && NVMM_VCPU_EXIT_TPR_CHANGED == 0x1004 &&
    NVMM_VCPU_EXIT_RDMSR == 0x2000 && NVMM_VCPU_EXIT_WRMSR == 0x2001 &&
    NVMM_VCPU_EXIT_MONITOR == 0x2002 && NVMM_VCPU_EXIT_MWAIT == 0x2003 &&
    NVMM_VCPU_EXIT_CPUID == 0x2004 &&
    NVMM_VCPU_EXIT_STOPPED == 0xFFFFFFFFFFFFFFFEULL &&
    NVMM_VCPU_EXIT_INVALID == 0xFFFFFFFFFFFFFFFFULL);
SA(NVMM_VCPU_EVENT_EXCP == 0 && NVMM_VCPU_EVENT_INTR == 1);
SA(NVMM_X64_STATE_SEGS == 0x01 && NVMM_X64_STATE_GPRS == 0x02 &&
    NVMM_X64_STATE_CRS == 0x04 && NVMM_X64_STATE_DRS == 0x08 &&
    NVMM_X64_STATE_MSRS == 0x10 && NVMM_X64_STATE_INTR == 0x20 &&
    NVMM_X64_STATE_FPU == 0x40 && NVMM_X64_STATE_ALL == 0x7F);
SA(NVMM_X64_SEG_ES == 0 && NVMM_X64_SEG_TR == 9 && NVMM_X64_NSEG == 10);
SA(NVMM_X64_GPR_RAX == 0 && NVMM_X64_GPR_RDI == 7 && NVMM_X64_GPR_R15 == 15 &&
    NVMM_X64_GPR_RIP == 16 && NVMM_X64_GPR_RFLAGS == 17 && NVMM_X64_NGPR == 18);
SA(NVMM_X64_CR_CR8 == 4 && NVMM_X64_CR_XCR0 == 5 && NVMM_X64_NCR == 6);
SA(NVMM_X64_DR_DR6 == 4 && NVMM_X64_DR_DR7 == 5 && NVMM_X64_NDR == 6);
SA(NVMM_X64_MSR_EFER == 0 && NVMM_X64_MSR_PAT == 9 &&
    NVMM_X64_MSR_TSC == 10 && NVMM_X64_NMSR == 11);
SA(NVMM_VCPU_CONF_CALLBACKS == 0 && NVMM_VCPU_CONF_CPUID == 200 &&
    NVMM_VCPU_CONF_TPR == 201 && NVMM_VCPU_CONF_MD(201) == 1);
SA(NVMM_CAP_ARCH_VCPU_CONF_CPUID == 1 && NVMM_CAP_ARCH_VCPU_CONF_TPR == 2);
SA(NVMM_PROT_READ == 1 && NVMM_PROT_WRITE == 2 && NVMM_PROT_EXEC == 4 &&
    NVMM_PROT_USER == 8 && NVMM_PROT_ALL == 15);
SA(NVMM_CTL_MACH_INFO == 0);
SA(NVMM_COMM_OFF(3, 5) == ((3ULL << 20) | (5ULL << 12)) &&
    NVMM_COMM_MACHID(NVMM_COMM_OFF(3, 5)) == 3 &&
    NVMM_COMM_CPUID(NVMM_COMM_OFF(3, 5)) == 5);
/* NetBSD's <sys/cdefs.h> macros, as QEMU applies them to attributes. */
SA(__BIT(3) == 8 && __BITS(7, 4) == 0xF0 && __SHIFTOUT(0xA5, __BITS(7, 4)) == 0xA &&
    __SHIFTIN(0x3, __BITS(5, 4)) == 0x30);

TEST(names_qemu_uses)
{
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_x64_state st;
	struct nvmm_vcpu_exit exit;
	struct nvmm_vcpu_event ev;
	struct nvmm_vcpu_conf_cpuid cpuid;
	struct nvmm_vcpu_conf_tpr tpr;
	struct nvmm_assist_callbacks cbs = { NULL, NULL };
	struct nvmm_io io;
	struct nvmm_mem mem;
	u_int type = NVMM_VCPU_EVENT_INTR;
	int e = EPROGMISMATCH;

	memset(&mach, 0, sizeof(mach));
	memset(&vcpu, 0, sizeof(vcpu));
	memset(&st, 0, sizeof(st));
	memset(&exit, 0, sizeof(exit));
	memset(&io, 0, sizeof(io));
	memset(&mem, 0, sizeof(mem));
	vcpu.cbs = cbs;
	vcpu.state = &st;
	vcpu.event = &ev;
	vcpu.exit = &exit;
	st.segs[NVMM_X64_SEG_CS].attrib.type = 11;
	st.segs[NVMM_X64_SEG_CS].attrib.s = 1;
	st.segs[NVMM_X64_SEG_CS].attrib.dpl = 3;
	st.segs[NVMM_X64_SEG_CS].attrib.p = 1;
	st.segs[NVMM_X64_SEG_CS].attrib.avl = 1;
	st.segs[NVMM_X64_SEG_CS].attrib.l = 1;
	st.segs[NVMM_X64_SEG_CS].attrib.def = 0;
	st.segs[NVMM_X64_SEG_CS].attrib.g = 1;
	st.intr.int_window_exiting = 1;
	st.fpu.fx_cw = 0x37F;
	st.fpu.fx_sw = st.fpu.fx_tw = st.fpu.fx_opcode = 0;
	st.fpu.fx_ip.fa_64 = st.fpu.fx_dp.fa_64 = 0;
	st.fpu.fx_mxcsr = 0x1F80;
	st.fpu.fx_mxcsr_mask = 0xFFFF;
	st.fpu.fx_87_ac[0].r.f87_mantissa = 1;
	st.fpu.fx_xmm[15].xmm_bytes[15] = 0xAA;
	exit.exitstate.int_shadow = exit.exitstate.int_window_exiting = 1;
	exit.exitstate.nmi_window_exiting = exit.exitstate.evt_pending = 1;
	exit.u.io.port = 0x3F8;
	exit.u.mem.gpa = 0xFEE00000;
	exit.u.rdmsr.npc = exit.u.wrmsr.val = exit.u.inv.hwcode = 0;
	ev.type = type;
	ev.vector = 6;
	ev.u.excp.error = 0;
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.mask = 1;
	cpuid.leaf = 1;
	cpuid.u.mask.set.edx = 1;
	tpr.exit_changed = 1;
	io.port = 0x80;
	io.in = false;
	mem.write = true;
	T_EQ(e, EPROTO);
	T_EQ(exit.exitstate.evt_pending, 1);
	T_EQ(tpr.exit_changed, 1);
	T_EQ(__SHIFTOUT(0xF0, __BITS(7, 4)), 0xF);
	T_EQ(st.fpu.fx_xmm[15].xmm_bytes[15], 0xAA);
	T_EQ(*(uint16_t *)((char *)&st.segs[NVMM_X64_SEG_CS] + 2), 0x0BFB);	/* type s dpl p avl l def g, low to high */
}
