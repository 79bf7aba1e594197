/*
 * A workload for tests/syscalls.sh, whose syscalls strace counts:
 *   syscount io N      N port-I/O exits, each completed with nvmm_assist_io
 *   syscount mmio N    N MMIO-read exits, each completed with nvmm_assist_mem
 *   syscount state N   after one exit: N x (getstate of cached groups, setstate)
 * Two runs with different N give the syscalls per iteration.
 */
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

int
main(int argc, char **argv)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };
	struct vm vm;
	long n;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: syscount io|mmio|state N\n");
		return 2;
	}
	vm_create(&vm);
	T_OK(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
	    NVMM_VCPU_CONF_CALLBACKS, &cbs));
	if (strcmp(argv[1], "mmio") == 0) {
		vm_load(&vm, PAYLOAD(p64_mmio_loop));
		vm_mode(&vm, 0, VM_LONG64);
		vm_set_gpr(&vm, 0, NVMM_X64_GPR_RBX, MMIO_GPA);
		for (long i = 0; i < n; i++) {
			T_EQ(vm_run(&vm, 0), NVMM_VCPU_EXIT_MEMORY);
			T_OK(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]));
		}
		return 0;
	}
	vm_load(&vm, PAYLOAD(p64_out_loop));
	vm_mode(&vm, 0, VM_LONG64);
	if (strcmp(argv[1], "io") == 0) {
		for (long i = 0; i < n; i++)
			vm_expect_io(&vm, 0, 0x30);
	} else if (strcmp(argv[1], "state") == 0) {
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
