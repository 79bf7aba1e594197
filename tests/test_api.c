/*
 * The API's contract outside the guest: errors, memory mappings, machines,
 * VCPUs, threads, descriptors, nvmm_ctl, capability.
 */
#include <cpuid.h>
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm.h"

PAYLOAD_DECL(p64_out_loop);

static void *
anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_ASSERT(p != MAP_FAILED);
	return p;
}

TEST(capability)
{
	struct nvmm_capability cap;
	unsigned a, b, c, d;

	t_require_kvm();
	T_ASSERT(__get_cpuid(1, &a, &b, &c, &d));
	T_OK(nvmm_init());
	T_OK(nvmm_init());	/* idempotent */
	T_OK(nvmm_capability(&cap));
	T_EQ(cap.version, NVMM_KERN_VERSION);
	T_EQ(cap.state_size, sizeof(struct nvmm_x64_state));
	T_EQ(cap.max_machines, 128);
	T_ASSERT(cap.max_vcpus >= 1 && cap.max_vcpus <= 256);
	T_EQ(cap.max_ram, 128ULL << 30);
	T_EQ(cap.arch.mach_conf_support, 0);
	T_EQ(cap.arch.vcpu_conf_support,
	    NVMM_CAP_ARCH_VCPU_CONF_CPUID | NVMM_CAP_ARCH_VCPU_CONF_TPR);
	/* As NetBSD: x87 and SSE, or nothing where the host has no XSAVE. */
	T_EQ(cap.arch.xcr0_mask, (c & bit_XSAVE) ? 0x3 : 0);
	T_EQ(cap.arch.conf_cpuid_maxops, 32);
	T_ERR(nvmm_capability(NULL), EFAULT);
}

TEST(not_initialised)
{
	struct nvmm_machine mach;
	struct nvmm_capability cap;

	T_ERR(nvmm_capability(&cap), EBADF);
	T_ERR(nvmm_machine_create(&mach), EBADF);
}

TEST(machine_errors)
{
	struct nvmm_machine mach, bad;

	t_require_kvm();
	T_OK(nvmm_init());
	T_OK(nvmm_machine_create(&mach));
	bad = mach;
	bad.machid = 128;
	T_ERR(nvmm_machine_destroy(&bad), EINVAL);
	bad.machid = (mach.machid + 1) % 128;
	T_ERR(nvmm_machine_destroy(&bad), ENOENT);
	T_ERR(nvmm_machine_configure(&mach, 0, NULL), EINVAL);
	T_ERR(nvmm_machine_create(NULL), EFAULT);
	T_OK(nvmm_machine_destroy(&mach));
	T_ERR(nvmm_machine_destroy(&mach), ENOENT);
}

TEST(vcpu_errors)
{
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu, other;

	t_require_kvm();
	T_OK(nvmm_init());
	T_OK(nvmm_machine_create(&mach));
	T_ERR(nvmm_vcpu_create(&mach, 256, &vcpu), EINVAL);
	T_OK(nvmm_vcpu_create(&mach, 3, &vcpu));
	T_EQ(vcpu.cpuid, 3);
	T_ERR(nvmm_vcpu_create(&mach, 3, &other), EBUSY);
	other = vcpu;
	other.cpuid = 4;
	T_ERR(nvmm_vcpu_run(&mach, &other), ENOENT);
	T_ERR(nvmm_vcpu_getstate(&mach, &other, NVMM_X64_STATE_GPRS), ENOENT);
	other.cpuid = 1000;
	T_ERR(nvmm_vcpu_setstate(&mach, &other, NVMM_X64_STATE_GPRS), EINVAL);
	T_ERR(nvmm_vcpu_getstate(&mach, &vcpu, 0x80), EINVAL);
	T_ERR(nvmm_vcpu_setstate(&mach, &vcpu, 0x100), EINVAL);
	T_ERR(nvmm_vcpu_stop(NULL), EFAULT);
	T_OK(nvmm_vcpu_destroy(&mach, &vcpu));
	T_ERR(nvmm_vcpu_destroy(&mach, &vcpu), ENOENT);
	/* The id is free again. */
	T_OK(nvmm_vcpu_create(&mach, 3, &vcpu));
	T_OK(nvmm_machine_destroy(&mach));
}

TEST(hva_map_errors)
{
	struct nvmm_machine mach;
	uint8_t *p = anon(64 * 4096);

	t_require_kvm();
	T_OK(nvmm_init());
	T_OK(nvmm_machine_create(&mach));
	T_ERR(nvmm_hva_map(&mach, 0, 4096), EINVAL);
	T_ERR(nvmm_hva_map(&mach, (uintptr_t)p + 1, 4096), EINVAL);
	T_ERR(nvmm_hva_map(&mach, (uintptr_t)p, 100), EINVAL);
	T_ERR(nvmm_hva_map(&mach, (uintptr_t)p, 0), EINVAL);
	T_ERR(nvmm_hva_map(&mach, UINTPTR_MAX & ~0xFFFUL, 8192), EINVAL);
	T_OK(nvmm_hva_map(&mach, (uintptr_t)p, 8 * 4096));
	T_ERR(nvmm_hva_map(&mach, (uintptr_t)p + 4096, 4096), EEXIST);
	T_ERR(nvmm_hva_unmap(&mach, (uintptr_t)p, 4096), ENOENT);
	/* 32 host mappings per machine, as NetBSD. */
	for (int i = 0; i < 31; i++)
		T_OK(nvmm_hva_map(&mach, (uintptr_t)p + (8 + i) * 4096, 4096));
	T_ERR(nvmm_hva_map(&mach, (uintptr_t)p + 40 * 4096, 4096), ENOBUFS);
	T_OK(nvmm_hva_unmap(&mach, (uintptr_t)p, 8 * 4096));
	/* Not mapped in the process: KVM would only fail at run time. */
	munmap(p + 50 * 4096, 4096);
	T_ERR(nvmm_hva_map(&mach, (uintptr_t)p + 50 * 4096, 4096), EFAULT);
	T_OK(nvmm_machine_destroy(&mach));
}

TEST(gpa_map_errors_and_lookup)
{
	struct nvmm_machine mach;
	uint8_t *p = anon(16 * 4096);
	uintptr_t hva;
	nvmm_prot_t prot;

	t_require_kvm();
	T_OK(nvmm_init());
	T_OK(nvmm_machine_create(&mach));
	T_OK(nvmm_hva_map(&mach, (uintptr_t)p, 16 * 4096));
	T_ERR(nvmm_gpa_map(&mach, (uintptr_t)p, 0x1000, 4096, 0x100), EINVAL);
	T_ERR(nvmm_gpa_map(&mach, (uintptr_t)p, 0x1001, 4096, PROT_READ), EINVAL);
	T_ERR(nvmm_gpa_map(&mach, (uintptr_t)p, 128ULL << 30, 4096, PROT_READ), EINVAL);
	T_ERR(nvmm_gpa_map(&mach, (uintptr_t)p + 16 * 4096, 0, 4096, PROT_READ), EINVAL);
	T_ERR(nvmm_gpa_map(&mach, (uintptr_t)p, 0, 4096, PROT_WRITE), ENOTSUP);
	T_OK(nvmm_gpa_map(&mach, (uintptr_t)p, 0x100000, 8 * 4096,
	    PROT_READ | PROT_WRITE | PROT_EXEC));
	T_ERR(nvmm_gpa_map(&mach, (uintptr_t)p + 8 * 4096, 0x104000, 4096,
	    PROT_READ), EINVAL);
	T_OK(nvmm_gpa_map(&mach, (uintptr_t)p + 8 * 4096, 0x200000, 4096,
	    PROT_READ));

	T_OK(nvmm_gpa_to_hva(&mach, 0x103123, &hva, &prot));
	T_EQ(hva, (uintptr_t)p + 0x3123);
	T_EQ(prot, NVMM_PROT_READ | NVMM_PROT_WRITE | NVMM_PROT_EXEC);
	T_OK(nvmm_gpa_to_hva(&mach, 0x200000, &hva, &prot));
	T_EQ(prot, NVMM_PROT_READ);
	T_ERR(nvmm_gpa_to_hva(&mach, 0x108000, &hva, &prot), ENOENT);
	T_ERR(nvmm_gpa_to_hva(&mach, 0, &hva, &prot), ENOENT);
	T_ERR(nvmm_gpa_to_hva(&mach, 0x100000, NULL, &prot), EFAULT);

	/* Host memory still in use by the guest can't go. */
	T_ERR(nvmm_hva_unmap(&mach, (uintptr_t)p, 16 * 4096), EBUSY);

	/* Partial unmap: the middle of the first area. */
	T_ERR(nvmm_gpa_unmap(&mach, (uintptr_t)p + 4096, 0x102000, 4096), ESRCH);
	T_OK(nvmm_gpa_unmap(&mach, (uintptr_t)p + 0x2000, 0x102000, 2 * 4096));
	T_ERR(nvmm_gpa_to_hva(&mach, 0x102000, &hva, &prot), ENOENT);
	T_ERR(nvmm_gpa_to_hva(&mach, 0x103FFF, &hva, &prot), ENOENT);
	T_OK(nvmm_gpa_to_hva(&mach, 0x101FFF, &hva, &prot));
	T_EQ(hva, (uintptr_t)p + 0x1FFF);
	T_OK(nvmm_gpa_to_hva(&mach, 0x104000, &hva, &prot));
	T_EQ(hva, (uintptr_t)p + 0x4000);
	T_ERR(nvmm_gpa_unmap(&mach, (uintptr_t)p + 0x2000, 0x102000, 4096), ESRCH);
	/* The rest, across two areas at once. */
	T_OK(nvmm_gpa_unmap(&mach, (uintptr_t)p, 0x100000, 2 * 4096));
	T_OK(nvmm_gpa_unmap(&mach, (uintptr_t)p + 0x4000, 0x104000, 4 * 4096));
	T_ERR(nvmm_gpa_to_hva(&mach, 0x100000, &hva, &prot), ENOENT);
	T_ERR(nvmm_gpa_unmap(&mach, (uintptr_t)p, 0x1000, 4095), EINVAL);
	T_OK(nvmm_machine_destroy(&mach));
}

/* A partially unmapped range really is gone for the guest: it exits as MEMORY. */
TEST(gpa_unmap_in_guest)
{
	struct vm vm;

	vm_create(&vm);
	vm_load(&vm, PAYLOAD(p64_out_loop));
	vm_mode(&vm, 0, VM_LONG64);
	T_OK(nvmm_gpa_unmap(&vm.mach, (uintptr_t)vm.ram + 0x300000, 0x300000,
	    0x1000));
	/* The guest's code page is untouched. */
	T_EQ(vm_run(&vm, 0), NVMM_VCPU_EXIT_IO);
	vm_destroy(&vm);
}

TEST(two_machines)
{
	struct vm a, b;

	vm_create(&a);
	vm_create(&b);
	T_ASSERT(a.mach.machid != b.mach.machid);
	vm_load(&a, PAYLOAD(p64_out_loop));
	vm_load(&b, PAYLOAD(p64_out_loop));
	vm_mode(&a, 0, VM_LONG64);
	vm_mode(&b, 0, VM_LONG64);
	vm_set_gpr(&a, 0, NVMM_X64_GPR_RAX, 100);
	vm_set_gpr(&b, 0, NVMM_X64_GPR_RAX, 200);
	for (int i = 0; i < 5; i++) {
		vm_expect_io(&a, 0, 0x30);
		vm_expect_io(&b, 0, 0x30);
	}
	T_EQ(vm_gpr(&a, 0, NVMM_X64_GPR_RAX), 104);
	T_EQ(vm_gpr(&b, 0, NVMM_X64_GPR_RAX), 204);
	vm_destroy(&a);
	T_EQ(vm_run(&b, 0), NVMM_VCPU_EXIT_IO);
	vm_destroy(&b);
}

struct runner {
	struct vm *vm;
	unsigned id;
	int loops;
	uint64_t rax;
};

static void *
run_loops(void *arg)
{
	struct runner *r = arg;

	for (int i = 0; i < r->loops; i++)
		vm_expect_io(r->vm, r->id, 0x30);
	r->rax = vm_gpr(r->vm, r->id, NVMM_X64_GPR_RAX);
	return NULL;
}

TEST(two_vcpus_two_threads)
{
	struct runner r[2];
	pthread_t th[2];
	struct vm vm;

	vm_create(&vm);
	vm_create_vcpu(&vm, 1);
	vm_load(&vm, PAYLOAD(p64_out_loop));
	for (unsigned i = 0; i < 2; i++) {
		vm_mode(&vm, i, VM_LONG64);
		vm_set_gpr(&vm, i, NVMM_X64_GPR_RAX, 1000 * (i + 1));
		r[i] = (struct runner){ &vm, i, 50, 0 };
		T_EQ(pthread_create(&th[i], NULL, run_loops, &r[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	T_EQ(r[0].rax, 1049);
	T_EQ(r[1].rax, 2049);
	vm_destroy(&vm);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

TEST_TIMEOUT(create_destroy_cycles, 60)
{
	int before;

	t_require_kvm();
	T_OK(nvmm_init());
	before = count_fds();
	for (int i = 0; i < 20; i++) {
		struct vm vm;

		vm_create(&vm);
		vm_create_vcpu(&vm, 1);
		vm_load(&vm, PAYLOAD(p64_out_loop));
		vm_mode(&vm, 0, VM_LONG64);
		T_EQ(vm_run(&vm, 0), NVMM_VCPU_EXIT_IO);
		T_OK(nvmm_vcpu_destroy(&vm.mach, &vm.vcpu[1]));
		vm_destroy(&vm);
	}
	T_EQ(count_fds(), before);
}

TEST(ctl_mach_info)
{
	struct nvmm_ctl_mach_info info;
	struct vm vm;

	vm_create(&vm);
	vm_create_vcpu(&vm, 1);
	memset(&info, 0, sizeof(info));
	info.machid = vm.mach.machid;
	T_OK(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)));
	T_EQ(info.nvcpus, 2);
	T_EQ(info.nram, VM_RAM_SIZE);
	T_EQ(info.pid, getpid());
	T_ASSERT(info.time > 0 && info.time <= time(NULL));
	T_ERR(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info) - 1), EINVAL);
	T_ERR(nvmm_ctl(1, &info, sizeof(info)), EINVAL);
	info.machid = 200;
	T_ERR(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)), EINVAL);
	vm_destroy(&vm);
	info.machid = vm.mach.machid;
	T_ERR(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)), ENOENT);
}

/* The assists refuse an exit they were not made for. */
TEST(assist_wrong_exit)
{
	struct vm vm;

	vm_create(&vm);
	T_ERR(nvmm_assist_io(&vm.mach, &vm.vcpu[0]), EINVAL);
	T_ERR(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]), EINVAL);
	vm_destroy(&vm);
}

/* nvmm_vcpu_dump() prints every group; checked on known values. */
TEST(vcpu_dump)
{
	char buf[8192];
	struct vm vm;
	FILE *f;
	int fd, saved;
	size_t n;

	vm_create(&vm);
	vm.vcpu[0].state->gprs[NVMM_X64_GPR_R13] = 0x1313131313131313ULL;
	T_OK(nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[0], NVMM_X64_STATE_GPRS));
	f = tmpfile();
	T_ASSERT(f != NULL);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = fileno(f);
	dup2(fd, STDOUT_FILENO);
	T_OK(nvmm_vcpu_dump(&vm.mach, &vm.vcpu[0]));
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	T_ASSERT(strstr(buf, "R13          0x1313131313131313") != NULL);
	T_ASSERT(strstr(buf, "RIP          0x000000000000fff0") != NULL);
	T_ASSERT(strstr(buf, "CS  sel=0xf000 base=0x00000000ffff0000 limit=0x0000ffff") != NULL);
	T_ASSERT(strstr(buf, "CR0          0x0000000060000010") != NULL);
	T_ASSERT(strstr(buf, "PAT          0x0007040600070406") != NULL);
	T_ASSERT(strstr(buf, "DR7          0x0000000000000400") != NULL);
	T_ASSERT(strstr(buf, "FPU cw=0x0040") != NULL);
	T_ASSERT(strstr(buf, "XMM15 ") != NULL);
	fclose(f);
	vm_destroy(&vm);
}

/* nvmm_gva_to_gpa on a VCPU: paging off, then the identity 2 MiB pages of vm.c. */
TEST(gva_to_gpa_in_vcpu)
{
	struct vm vm;
	gpaddr_t gpa;
	nvmm_prot_t prot;

	vm_create(&vm);
	T_OK(nvmm_gva_to_gpa(&vm.mach, &vm.vcpu[0], 0xABCDE, &gpa, &prot));
	T_EQ(gpa, 0xABCDE);
	T_EQ(prot, NVMM_PROT_ALL);
	vm_mode(&vm, 0, VM_LONG64);
	T_OK(nvmm_gva_to_gpa(&vm.mach, &vm.vcpu[0], 0x3456789, &gpa, &prot));
	T_EQ(gpa, 0x3456789);
	T_EQ(prot, NVMM_PROT_READ | NVMM_PROT_WRITE | NVMM_PROT_EXEC);
	/* Past the 1 GiB the tables map, and a non-canonical address. */
	T_ERR(nvmm_gva_to_gpa(&vm.mach, &vm.vcpu[0], 0x40000000, &gpa, &prot), EFAULT);
	T_ERR(nvmm_gva_to_gpa(&vm.mach, &vm.vcpu[0], 0x0000800000000000ULL,
	    &gpa, &prot), EFAULT);
	/* Garbage tables: CR3 points outside guest RAM. */
	vm.vcpu[0].state->crs[NVMM_X64_CR_CR3] = 0x7FFFF000;
	T_OK(nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[0], NVMM_X64_STATE_CRS));
	T_ERR(nvmm_gva_to_gpa(&vm.mach, &vm.vcpu[0], 0x1000, &gpa, &prot), EFAULT);
	T_ERR(nvmm_gva_to_gpa(&vm.mach, &vm.vcpu[0], 0x1000, NULL, &prot), EFAULT);
	vm_destroy(&vm);
}
