/*
 * Raw KVM, no library: the least a VMM can do per exit, KVM_RUN in a loop.
 * The VCPU starts from KVM's reset state; the guest does the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "bench.h"
#include "guest.h"

struct raw {
	int vm, vcpu;
	struct kvm_run *run;
	uint8_t *mem;
};

static int kvm_fd = -1;
static int run_size;
static struct kvm_cpuid2 *cpuid;

static int
xioctl(int fd, unsigned long req, const char *what, void *arg)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die("%s: %m", what);
	return r;
}

/* What a VMM does once: /dev/kvm and the CPUID table (the guest needs LM). */
static void
raw_init(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("/dev/kvm: %m");
	run_size = xioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE,
	    "KVM_GET_VCPU_MMAP_SIZE", NULL);
	for (int n = 64;; n *= 2) {
		cpuid = calloc(1, sizeof(*cpuid) +
		    n * sizeof(cpuid->entries[0]));
		if (cpuid == NULL)
			die("out of memory");
		cpuid->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return;
		if (errno != E2BIG || n == 4096)
			die("KVM_GET_SUPPORTED_CPUID: %m");
		free(cpuid);
	}
}

static void
slot(struct raw *r, uint32_t n, uint64_t gpa, uint64_t off, uint64_t size,
    uint32_t flags)
{
	struct kvm_userspace_memory_region reg = {
		.slot = n,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)r->mem + off,
	};

	xioctl(r->vm, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION",
	    &reg);
}

/* sync: the register sets KVM copies to kvm_run at exits (libnvmm: all). */
static void
raw_create(struct raw *r, uint8_t *mem, uint32_t sync)
{
	r->mem = mem;
	r->vm = xioctl(kvm_fd, KVM_CREATE_VM, "KVM_CREATE_VM", NULL);
	/* Only VMX needs these pages (real mode); others may refuse. */
	ioctl(r->vm, KVM_SET_TSS_ADDR, 0xFFFBD000UL);
	slot(r, 0, 0, 0, GUEST_RAM_SIZE, 0);
	slot(r, 1, GUEST_ROM_GPA, GUEST_ROM_GPA, GUEST_ROM_SIZE,
	    KVM_MEM_READONLY);
	slot(r, 2, GUEST_RESET_GPA, GUEST_ROM_GPA, GUEST_ROM_SIZE,
	    KVM_MEM_READONLY);
	r->vcpu = xioctl(r->vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", NULL);
	r->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    r->vcpu, 0);
	if (r->run == MAP_FAILED)
		die("kvm_run: %m");
	xioctl(r->vcpu, KVM_SET_CPUID2, "KVM_SET_CPUID2", cpuid);
	r->run->kvm_valid_regs = sync;
}

static void
raw_destroy(struct raw *r)
{
	munmap(r->run, run_size);
	close(r->vcpu);
	close(r->vm);
}

/* An OUT needs nothing from the VMM: KVM completes it at the next entry. */
static void
raw_io(void *ctx)
{
	struct raw *r = ctx;

	xioctl(r->vcpu, KVM_RUN, "KVM_RUN", NULL);
	if (r->run->exit_reason != KVM_EXIT_IO ||
	    r->run->io.port != GUEST_OUT_PORT)
		die("raw KVM: exit %u, want I/O on 0x%x", r->run->exit_reason,
		    GUEST_OUT_PORT);
}

static void
raw_mmio(void *ctx)
{
	struct raw *r = ctx;

	xioctl(r->vcpu, KVM_RUN, "KVM_RUN", NULL);
	if (r->run->exit_reason != KVM_EXIT_MMIO || r->run->mmio.is_write ||
	    r->run->mmio.phys_addr != GUEST_MMIO_GPA)
		die("raw KVM: exit %u, want an MMIO read", r->run->exit_reason);
	memset(r->run->mmio.data, 0x5A, r->run->mmio.len);
}

/* kvm-io N SYNC: µs per OUT exit; SYNC: kvm_valid_regs. */
static void
work_io(const long *a)
{
	struct raw r;

	raw_init();
	raw_create(&r, guest_mem(GUEST_OUT_LOOP), (uint32_t)a[1]);
	printf("%f\n", time_op(raw_io, &r, a[0]));
}

/* kvm-mmio N: µs per MMIO read exit. */
static void
work_mmio(const long *a)
{
	struct raw r;

	raw_init();
	raw_create(&r, guest_mem(GUEST_MMIO_LOOP), 0);
	printf("%f\n", time_op(raw_mmio, &r, a[0]));
}

static void *
life_create(uint8_t *mem)
{
	struct raw *r = malloc(sizeof(*r));

	if (r == NULL)
		die("out of memory");
	raw_create(r, mem, 0);
	raw_io(r);
	return r;
}

static void
life_destroy(void *vm)
{
	raw_destroy(vm);
	free(vm);
}

/* kvm-life K MODE: see life_cycle(). */
static void
work_life(const long *a)
{
	static const struct life_ops ops = { raw_init, life_create,
	    life_destroy };

	life_cycle(&ops, a);
}

const struct workload kvm_workloads[] = {
	{ "kvm-io", work_io },
	{ "kvm-mmio", work_mmio },
	{ "kvm-life", work_life },
	{ NULL, NULL },
};
