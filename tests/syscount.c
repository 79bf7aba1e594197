/*
 * A workload for tests/syscalls.sh, whose syscalls strace counts:
 *   syscount io N      N port-I/O exits, each completed with nvmm_assist_io
 *   syscount mmio N    N MMIO-read exits, each completed with nvmm_assist_mem
 *   syscount state N   after one exit: N x (getstate of cached groups, setstate)
 *   syscount io_get N, mmio_get N   as io and mmio, with a
 *                      getstate(GPRS|SEGS|CRS|MSRS) at each exit, as QEMU does
 *   syscount io_get_noxsave N   io_get, with XSAVE hidden from the guest
 *   syscount xcr0_mask 1   prints the host's XCR0 mask (0: no XSAVE)
 * Two runs with different N give the syscalls per iteration.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

PAYLOAD_DECL(p64_out_loop);
PAYLOAD_DECL(p64_mmio_loop);

static void
io_cb(struct nvmm_io *io)
{
	(void)io;
}

static void
mem_cb(struct nvmm_mem *mem)
{
	if (!mem->write)
		memset(mem->data, 0x5A, mem->size);
}

/* What QEMU's accelerator asks for at each I/O or MMIO exit. */
static void
get_all(struct vm *vm, bool get)
{
	if (get)
		T_OK(nvmm_vcpu_getstate(&vm->mach, &vm->vcpu[0],
		    NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
		    NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS));
}

/* CPUID.1:ECX XSAVE and OSXSAVE off: the guest cannot run XSETBV. */
static void
hide_xsave(struct vm *vm)
{
	struct nvmm_vcpu_conf_cpuid c;

	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.leaf = 1;
	c.u.mask.del.ecx = (1U << 26) | (1U << 27);
	T_OK(nvmm_vcpu_configure(&vm->mach, &vm->vcpu[0],
	    NVMM_VCPU_CONF_CPUID, &c));
}

int
main(int argc, char **argv)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };
	struct vm vm;
	const char *w;
	bool get;
	long n;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: syscount io|mmio|state|io_get|"
		    "mmio_get|io_get_noxsave|xcr0_mask N\n");
		return 2;
	}
	w = argv[1];
	get = strstr(w, "_get") != NULL;
	/* For the script: 0 where the host has no XSAVE. */
	if (strcmp(w, "xcr0_mask") == 0) {
		struct nvmm_capability cap;

		T_OK(nvmm_init());
		T_OK(nvmm_capability(&cap));
		printf("%llu\n", (unsigned long long)cap.arch.xcr0_mask);
		return 0;
	}
	vm_create(&vm);
	T_OK(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
	    NVMM_VCPU_CONF_CALLBACKS, &cbs));
	if (strcmp(w, "io_get_noxsave") == 0)
		hide_xsave(&vm);
	if (strcmp(w, "mmio") == 0 || strcmp(w, "mmio_get") == 0) {
		vm_load(&vm, PAYLOAD(p64_mmio_loop));
		vm_mode(&vm, 0, VM_LONG64);
		vm_set_gpr(&vm, 0, NVMM_X64_GPR_RBX, MMIO_GPA);
		for (long i = 0; i < n; i++) {
			T_EQ(vm_run(&vm, 0), NVMM_VCPU_EXIT_MEMORY);
			get_all(&vm, get);
			T_OK(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]));
		}
		return 0;
	}
	vm_load(&vm, PAYLOAD(p64_out_loop));
	vm_mode(&vm, 0, VM_LONG64);
	if (strcmp(w, "io") == 0 || strcmp(w, "io_get") == 0 ||
	    strcmp(w, "io_get_noxsave") == 0) {
		for (long i = 0; i < n; i++) {
			T_EQ(vm_run(&vm, 0), NVMM_VCPU_EXIT_IO);
			T_EQ(vm.vcpu[0].exit->u.io.port, 0x30);
			get_all(&vm, get);
			T_OK(nvmm_assist_io(&vm.mach, &vm.vcpu[0]));
		}
	} else if (strcmp(w, "state") == 0) {
		vm_expect_io(&vm, 0, 0x30);
		for (long i = 0; i < n; i++) {
			T_OK(nvmm_vcpu_getstate(&vm.mach, &vm.vcpu[0],
			    NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS));
			vm.vcpu[0].state->gprs[NVMM_X64_GPR_R8] = (uint64_t)i;
			T_OK(nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[0],
			    NVMM_X64_STATE_GPRS));
		}
	} else {
		fprintf(stderr, "syscount: unknown workload '%s'\n", argv[1]);
		return 2;
	}
	return 0;
}
