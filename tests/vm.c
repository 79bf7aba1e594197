/* Test guests: see vm.h. */
#include "vm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void
vm_create(struct vm *vm)
{
	t_require_kvm();
	memset(vm, 0, sizeof(*vm));
	T_OK(nvmm_init());
	T_OK(nvmm_machine_create(&vm->mach));
	vm->ram_size = VM_RAM_SIZE;
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(vm->ram != MAP_FAILED);
	T_OK(nvmm_hva_map(&vm->mach, (uintptr_t)vm->ram, vm->ram_size));
	T_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)vm->ram, 0, vm->ram_size,
	    PROT_READ | PROT_WRITE | PROT_EXEC));
	vm_create_vcpu(vm, 0);
}

void
vm_create_vcpu(struct vm *vm, unsigned id)
{
	T_OK(nvmm_vcpu_create(&vm->mach, id, &vm->vcpu[id]));
}

void
vm_destroy(struct vm *vm)
{
	T_OK(nvmm_machine_destroy(&vm->mach));
	munmap(vm->ram, vm->ram_size);
}

void
vm_load(struct vm *vm, const uint8_t *code, size_t len)
{
	T_ASSERT(PAYLOAD_GPA + len <= SCRATCH_GPA);
	memcpy(vm->ram + PAYLOAD_GPA, code, len);
}

static void
put64(struct vm *vm, uint64_t gpa, uint64_t val)
{
	memcpy(vm->ram + gpa, &val, 8);
}

static void
seg(struct nvmm_x64_state_seg *s, uint16_t sel, int type, int l, int def)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->attrib.type = type;
	s->attrib.s = 1;
	s->attrib.p = 1;
	s->attrib.l = l;
	s->attrib.def = def;
	s->attrib.g = sel != 0;
	s->limit = sel != 0 ? 0xFFFFFFFF : 0xFFFF;
}

/* GDT: null, 64-bit code, data, 32-bit code; identity paging with 2 MiB pages. */
static void
tables(struct vm *vm)
{
	put64(vm, GDT_GPA + 0x00, 0);
	put64(vm, GDT_GPA + 0x08, 0x00AF9B000000FFFFULL);
	put64(vm, GDT_GPA + 0x10, 0x00CF93000000FFFFULL);
	put64(vm, GDT_GPA + 0x18, 0x00CF9B000000FFFFULL);
	put64(vm, PML4_GPA, (PML4_GPA + 0x1000) | 3);
	put64(vm, PML4_GPA + 0x1000, (PML4_GPA + 0x2000) | 3);
	for (uint64_t i = 0; i < 512; i++)
		put64(vm, PML4_GPA + 0x2000 + i * 8, (i << 21) | 0x83);
}

void
vm_mode(struct vm *vm, unsigned id, enum vm_mode mode)
{
	struct nvmm_vcpu *vcpu = &vm->vcpu[id];
	struct nvmm_x64_state *st = vcpu->state;

	tables(vm);
	T_OK(nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_ALL));
	st->gprs[NVMM_X64_GPR_RIP] = PAYLOAD_GPA;
	st->gprs[NVMM_X64_GPR_RSP] = STACK_TOP;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->segs[NVMM_X64_SEG_GDT].base = GDT_GPA;
	st->segs[NVMM_X64_SEG_GDT].limit = 0x1F;
	st->segs[NVMM_X64_SEG_IDT].base = IDT_GPA;
	st->segs[NVMM_X64_SEG_IDT].limit = mode == VM_LONG64 ? 0xFFF : 0x3FF;

	switch (mode) {
	case VM_REAL:
		/* CS:IP = 0x1000:0 reaches PAYLOAD_GPA. */
		seg(&st->segs[NVMM_X64_SEG_CS], 0, 11, 0, 0);
		st->segs[NVMM_X64_SEG_CS].selector = PAYLOAD_GPA >> 4;
		st->segs[NVMM_X64_SEG_CS].base = PAYLOAD_GPA;
		st->gprs[NVMM_X64_GPR_RIP] = 0;
		for (int i = NVMM_X64_SEG_ES; i <= NVMM_X64_SEG_GS; i++)
			if (i != NVMM_X64_SEG_CS)
				seg(&st->segs[i], 0, 3, 0, 0);
		st->segs[NVMM_X64_SEG_IDT].base = 0;
		st->crs[NVMM_X64_CR_CR0] = 0x10;
		break;
	case VM_PROT32:
		seg(&st->segs[NVMM_X64_SEG_CS], SEL_CODE32, 11, 0, 1);
		for (int i = NVMM_X64_SEG_ES; i <= NVMM_X64_SEG_GS; i++)
			if (i != NVMM_X64_SEG_CS)
				seg(&st->segs[i], SEL_DATA, 3, 0, 1);
		st->crs[NVMM_X64_CR_CR0] = 0x11;
		break;
	case VM_LONG64:
		seg(&st->segs[NVMM_X64_SEG_CS], SEL_CODE64, 11, 1, 0);
		for (int i = NVMM_X64_SEG_ES; i <= NVMM_X64_SEG_GS; i++)
			if (i != NVMM_X64_SEG_CS)
				seg(&st->segs[i], SEL_DATA, 3, 0, 1);
		st->crs[NVMM_X64_CR_CR0] = 0x80000011;
		st->crs[NVMM_X64_CR_CR3] = PML4_GPA;
		st->crs[NVMM_X64_CR_CR4] = 0x20;
		st->msrs[NVMM_X64_MSR_EFER] = 0x500;	/* LME | LMA */
		break;
	}
	st->segs[NVMM_X64_SEG_TR].attrib.type = 11;
	T_OK(nvmm_vcpu_setstate(&vm->mach, vcpu, NVMM_X64_STATE_ALL));
}

uint64_t
vm_run(struct vm *vm, unsigned id)
{
	struct nvmm_vcpu *vcpu = &vm->vcpu[id];

	do {
		T_OK(nvmm_vcpu_run(&vm->mach, vcpu));
	} while (vcpu->exit->reason == NVMM_VCPU_EXIT_NONE);
	return vcpu->exit->reason;
}

void
vm_expect_io(struct vm *vm, unsigned id, uint16_t port)
{
	uint64_t reason = vm_run(vm, id);

	if (reason != NVMM_VCPU_EXIT_IO)
		t_fail(__FILE__, __LINE__, "want an I/O exit on 0x%x, got "
		    "reason 0x%llx at rip 0x%llx", port,
		    (unsigned long long)reason,
		    (unsigned long long)vm_gpr(vm, id, NVMM_X64_GPR_RIP));
	T_EQ(vm->vcpu[id].exit->u.io.port, port);
	T_OK(nvmm_assist_io(&vm->mach, &vm->vcpu[id]));
}

void
vm_set_gate(struct vm *vm, uint8_t vector, uint64_t handler)
{
	uint64_t lo, hi = handler >> 32;

	lo = (handler & 0xFFFF) | ((uint64_t)SEL_CODE64 << 16) |
	    (0x8EULL << 40) | ((handler >> 16) & 0xFFFF) << 48;
	put64(vm, IDT_GPA + vector * 16, lo);
	put64(vm, IDT_GPA + vector * 16 + 8, hi);
}

uint64_t
vm_gpr(struct vm *vm, unsigned id, int gpr)
{
	T_OK(nvmm_vcpu_getstate(&vm->mach, &vm->vcpu[id], NVMM_X64_STATE_GPRS));
	return vm->vcpu[id].state->gprs[gpr];
}

void
vm_set_gpr(struct vm *vm, unsigned id, int gpr, uint64_t val)
{
	T_OK(nvmm_vcpu_getstate(&vm->mach, &vm->vcpu[id], NVMM_X64_STATE_GPRS));
	vm->vcpu[id].state->gprs[gpr] = val;
	T_OK(nvmm_vcpu_setstate(&vm->mach, &vm->vcpu[id], NVMM_X64_STATE_GPRS));
}

bool
vm_pvm_host(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}
