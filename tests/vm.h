/*
 * Test guests on the real hypervisor through libnvmm: a machine with one
 * block of RAM at GPA 0, VCPUs put in real, 32-bit or 64-bit mode, and
 * assembly payloads from payloads.S copied to PAYLOAD_GPA.
 */
#ifndef TESTS_VM_H
#define TESTS_VM_H

#include <nvmm.h>

#include "t.h"

#define VM_RAM_SIZE	(4UL << 20)
#define PAYLOAD_GPA	0x10000
#define SCRATCH_GPA	0x20000	/* data the payloads read and write */
#define STACK_TOP	0x9000
#define GDT_GPA		0x500
#define IDT_GPA		0x800	/* 256 long-mode gates: 0x800-0x17FF */
#define PML4_GPA	0x2000	/* identity tables for the first 1 GiB */
#define MMIO_GPA	0x10000000ULL	/* nothing mapped there */

/* GDT selectors. */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18

struct vm {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu[4];
	uint8_t *ram;
	size_t ram_size;
};

/* A payload: code between two symbols of payloads.S. */
#define PAYLOAD_DECL(name) \
	extern const uint8_t name##_start[], name##_end[]
#define PAYLOAD(name) name##_start, (size_t)(name##_end - name##_start)

enum vm_mode { VM_REAL, VM_PROT32, VM_LONG64 };

void vm_create(struct vm *vm);
void vm_create_vcpu(struct vm *vm, unsigned id);
void vm_destroy(struct vm *vm);
void vm_load(struct vm *vm, const uint8_t *code, size_t len);
/* Puts VCPU id in mode at PAYLOAD_GPA, with the GDT, IDT and page tables. */
void vm_mode(struct vm *vm, unsigned id, enum vm_mode mode);
/* Runs until an exit other than NONE; returns its reason. */
uint64_t vm_run(struct vm *vm, unsigned id);
/* Runs, expecting an I/O exit on port, and completes it with the assist. */
void vm_expect_io(struct vm *vm, unsigned id, uint16_t port);
/* Sets a long-mode IDT gate to handler (a guest address). */
void vm_set_gate(struct vm *vm, uint8_t vector, uint64_t handler);

/*
 * True where KVM runs CPL0 guest code in its instruction emulator (PVM):
 * there an OUT or an MMIO write is executed before its exit is reported,
 * so RIP is already past it.
 */
bool vm_pvm_host(void);

uint64_t vm_gpr(struct vm *vm, unsigned id, int gpr);
void vm_set_gpr(struct vm *vm, unsigned id, int gpr, uint64_t val);

#endif
