/*
 * NetBSD's default CPUID policy, applied to what KVM supports, then the
 * VMM's NVMM_VCPU_CONF_CPUID masks.
 */
#include "../nvmm_impl.h"

#include <stdlib.h>
#include <string.h>

#include "kvm_impl.h"

#define BIT(n)	(1U << (n))

/* Leaf 1 features NVMM hides. */
#define L1_ECX_HIDDEN (BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | \
	BIT(8) | BIT(10) | BIT(11) | BIT(14) | BIT(15) | BIT(17) | BIT(18) | \
	BIT(21) | BIT(24))	/* DTES64 MONITOR DS_CPL VMX SMX EST TM2 CNXTID
				   SDBG XTPR PDCM PCID DCA X2APIC TSC-deadline */
#define L1_EDX_HIDDEN (BIT(7) | BIT(12) | BIT(14) | BIT(18) | BIT(21) | \
	BIT(22) | BIT(29))	/* MCE MTRR MCA PSN DS ACPI TM */
#define L1_ECX_HYPERVISOR	BIT(31)
#define L1_ECX_XSAVE		BIT(26)

/* Leaf 7.0: AVX-512, PKU, RTM/HLE, SGX, PT, MPX, TSC_ADJUST, RDPID... */
#define L7_EBX_HIDDEN (BIT(1) | BIT(2) | BIT(4) | BIT(11) | BIT(14) | \
	BIT(16) | BIT(17) | BIT(21) | BIT(25) | BIT(26) | BIT(27) | BIT(28) | \
	BIT(30) | BIT(31))
#define L7_ECX_HIDDEN (BIT(1) | BIT(3) | BIT(4) | BIT(6) | BIT(11) | \
	BIT(12) | BIT(14) | BIT(22))
#define L7_EDX_HIDDEN (BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | \
	BIT(24) | BIT(25))	/* ... and AMX */

/* 0x80000001: SVM, SKINIT, WDT, perf counters, MWAITX; RDTSCP. */
#define LX1_ECX_HIDDEN (BIT(2) | BIT(12) | BIT(13) | BIT(23) | BIT(24) | \
	BIT(29))
#define LX1_EDX_HIDDEN BIT(27)

#define LX7_EDX_INVARIANT_TSC	BIT(8)

#define MAX_BASIC	0x16
#define MAX_EXT		0x80000008

static bool
zeroed_leaf(uint32_t fn)
{
	switch (fn) {
	case 0x3: case 0x5: case 0x6: case 0x8: case 0x9: case 0xA: case 0xC:
	case 0xE: case 0xF: case 0x10: case 0x11: case 0x12: case 0x13:
	case 0x14:
		return true;
	default:
		return false;
	}
}

static void
set_regs(struct kvm_cpuid_entry2 *e, uint32_t a, uint32_t b, uint32_t c,
    uint32_t d)
{
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
}

static void
policy(const struct vcpu *v, struct kvm_cpuid_entry2 *e)
{
	uint64_t xcr0 = nvmm_cap.arch.xcr0_mask;
	unsigned ncpus = v->mach->nvcpus ? v->mach->nvcpus : 1;

	switch (e->function) {
	case 0x0:
		if (e->eax > MAX_BASIC)
			e->eax = MAX_BASIC;
		break;
	case 0x1:
		e->ebx = (e->ebx & 0x00FFFFFF) | (v->id << 24);
		e->ecx = (e->ecx & ~L1_ECX_HIDDEN) | L1_ECX_HYPERVISOR;
		e->edx &= ~L1_EDX_HIDDEN;
		break;
	case 0x7:
		if (e->index != 0) {
			set_regs(e, 0, 0, 0, 0);
			break;
		}
		e->ebx &= ~L7_EBX_HIDDEN;
		e->ecx &= ~L7_ECX_HIDDEN;
		e->edx &= ~L7_EDX_HIDDEN;
		break;
	case 0xB:
		/* One thread per core, as many cores as VCPUs; x2APIC id = VCPU. */
		if (e->index == 0)
			set_regs(e, 0, 1, 0x100, v->id);
		else if (e->index == 1)
			set_regs(e, 32 - __builtin_clz(ncpus), ncpus,
			    0x201, v->id);
		else
			set_regs(e, 0, 0, e->index, v->id);
		break;
	case 0xD:
		/* Only the XCR0 bits NVMM allows: x87 and SSE, a 576-byte area. */
		if (e->index == 0)
			set_regs(e, (uint32_t)xcr0, 576, 576, (uint32_t)(xcr0 >> 32));
		else if (e->index == 1)
			e->eax &= BIT(0) | BIT(1) | BIT(2);
		else
			set_regs(e, 0, 0, 0, 0);
		if (e->index == 1)
			e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x80000000:
		if (e->eax > MAX_EXT)
			e->eax = MAX_EXT;
		break;
	case 0x80000001:
		e->ecx &= ~LX1_ECX_HIDDEN;
		e->edx &= ~LX1_EDX_HIDDEN;
		break;
	case 0x80000007:
		set_regs(e, 0, 0, 0, e->edx & LX7_EDX_INVARIANT_TSC);
		break;
	default:
		if (zeroed_leaf(e->function))
			set_regs(e, 0, 0, 0, 0);
		break;
	}
}

static void
user_masks(const struct vcpu *v, struct kvm_cpuid_entry2 *e)
{
	for (int i = 0; i < NVMM_CPUID_MAXOPS; i++) {
		const struct nvmm_vcpu_conf_cpuid *c = &v->cpuid[i].conf;

		if (!v->cpuid[i].used || c->leaf != e->function)
			continue;
		e->eax = (e->eax & ~c->u.mask.del.eax) | c->u.mask.set.eax;
		e->ebx = (e->ebx & ~c->u.mask.del.ebx) | c->u.mask.set.ebx;
		e->ecx = (e->ecx & ~c->u.mask.del.ecx) | c->u.mask.set.ecx;
		e->edx = (e->edx & ~c->u.mask.del.edx) | c->u.mask.set.edx;
	}
}

static bool
kept(uint32_t fn)
{
	return fn <= MAX_BASIC || (fn >= 0x80000000 && fn <= MAX_EXT);
}

struct kvm_cpuid2 *
kvm_cpuid_build(const struct vcpu *v)
{
	const struct kvm_cpuid2 *sup = kvm_supported_cpuid;
	struct kvm_cpuid2 *c;
	struct kvm_cpuid_entry2 *e;

	/* KVM's own 0x4000000x leaves are dropped; NVMM's signature added. */
	c = calloc(1, sizeof(*c) + (sup->nent + 1) * sizeof(c->entries[0]));
	if (c == NULL)
		return NULL;
	for (uint32_t i = 0; i < sup->nent; i++) {
		if (!kept(sup->entries[i].function))
			continue;
		e = &c->entries[c->nent++];
		*e = sup->entries[i];
		policy(v, e);
		user_masks(v, e);
	}
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = 0x40000000;
	/* "___ NVMM ___" */
	set_regs(e, 0x40000000, 0, 0, 0);
	memcpy(&e->ebx, "___ ", 4);
	memcpy(&e->ecx, "NVMM", 4);
	memcpy(&e->edx, " ___", 4);
	user_masks(v, e);
	return c;
}

/*
 * Loads the table into KVM if it changed. KVM checks XCR0 and CR4.OSXSAVE
 * against the guest's CPUID, so this comes before state is committed too.
 */
int
kvm_cpuid_install(struct vcpu *v)
{
	struct kvm_cpuid2 *c;
	int r;

	if (!v->kvm.cpuid_dirty)
		return 0;
	c = kvm_cpuid_build(v);
	if (c == NULL)
		return -ENOMEM;
	r = kvm_ioctl(v->kvm.fd, KVM_SET_CPUID2, c);
	if (r == 0) {
		v->kvm.cpuid_dirty = false;
		v->kvm.xcr0_fixed = true;
		for (uint32_t i = 0; i < c->nent; i++)
			if (c->entries[i].function == 0x1 &&
			    (c->entries[i].ecx & L1_ECX_XSAVE))
				v->kvm.xcr0_fixed = false;
	}
	free(c);
	return r;
}

/* KVM refuses a new CPUID table once the VCPU has run (Linux >= 5.16). */
int
kvm_vcpu_cpuid_changed(struct vcpu *v)
{
	int r;

	v->kvm.cpuid_dirty = true;
	if (!v->kvm.has_run)
		return 0;
	r = kvm_cpuid_install(v);
	/* Refused: the next run keeps the table KVM has. */
	v->kvm.cpuid_dirty = false;
	return r < 0 ? -EBUSY : 0;
}
