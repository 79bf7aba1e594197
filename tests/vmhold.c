/*
 * Holds virtual machines for the nvmmctl tests until stdin is closed:
 *	vmhold [-m NVCPUS:RAM]... [-k]... [-r N]...
 * -m makes a libnvmm machine with NVCPUS VCPUs and RAM bytes of host memory
 * registered with nvmm_hva_map(); -k makes a bare KVM VM, as another VMM
 * would; -r makes a machine whose one VCPU has run a known workload: N OUT
 * exits, then a HLT. Prints "ready" once they all exist.
 */
#include <nvmm.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define MAX_MACHINES	8

static struct nvmm_machine machs[MAX_MACHINES];
static unsigned nmachs;

static void
hold_machine(const char *spec)
{
	struct nvmm_machine *mach = &machs[nmachs];
	struct nvmm_vcpu vcpu;
	unsigned long nvcpus;
	unsigned long long ram;
	char *end;
	void *hva;

	nvcpus = strtoul(spec, &end, 0);
	if (*end != ':')
		errx(1, "-m wants NVCPUS:RAM, not '%s'", spec);
	ram = strtoull(end + 1, &end, 0);
	if (*end != '\0' || nmachs == MAX_MACHINES)
		errx(1, "bad or one too many -m '%s'", spec);
	if (nvmm_machine_create(mach) == -1)
		err(1, "nvmm_machine_create");
	nmachs++;
	for (unsigned long i = 0; i < nvcpus; i++)
		if (nvmm_vcpu_create(mach, (nvmm_cpuid_t)i, &vcpu) == -1)
			err(1, "nvmm_vcpu_create");
	if (ram == 0)
		return;
	hva = mmap(NULL, ram, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hva == MAP_FAILED)
		err(1, "mmap");
	if (nvmm_hva_map(mach, (uintptr_t)hva, ram) == -1)
		err(1, "nvmm_hva_map");
}

static void
hold_runner(const char *arg)
{
	/* At the reset vector: mov cx, N; 1: out 0x80, al; loop 1b; hlt. */
	uint8_t code[] = { 0xB9, 0, 0, 0xE6, 0x80, 0xE2, 0xFC, 0xF4 };
	struct nvmm_machine *mach = &machs[nmachs];
	struct nvmm_vcpu vcpu = { 0 };	/* no callbacks: OUTs go nowhere */
	unsigned long n;
	uint8_t *page;
	char *end;

	n = strtoul(arg, &end, 0);
	if (*end != '\0' || n == 0 || n > 0xFFFF || nmachs == MAX_MACHINES)
		errx(1, "bad or one too many -r '%s'", arg);
	code[1] = (uint8_t)n;
	code[2] = (uint8_t)(n >> 8);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		err(1, "mmap");
	memcpy(page + 0xFF0, code, sizeof(code));
	if (nvmm_machine_create(mach) == -1)
		err(1, "nvmm_machine_create");
	nmachs++;
	if (nvmm_vcpu_create(mach, 0, &vcpu) == -1 ||
	    nvmm_hva_map(mach, (uintptr_t)page, 4096) == -1 ||
	    nvmm_gpa_map(mach, (uintptr_t)page, 0xFFFFF000, 4096,
	    PROT_READ | PROT_EXEC) == -1)
		err(1, "-r: machine setup");
	for (;;) {
		if (nvmm_vcpu_run(mach, &vcpu) == -1)
			err(1, "nvmm_vcpu_run");
		if (vcpu.exit->reason == NVMM_VCPU_EXIT_HALTED)
			break;
		if (vcpu.exit->reason != NVMM_VCPU_EXIT_IO)
			errx(1, "-r: exit 0x%llx",
			    (unsigned long long)vcpu.exit->reason);
		if (nvmm_assist_io(mach, &vcpu) == -1)
			err(1, "nvmm_assist_io");
	}
}

static void
hold_kvm_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm == -1)
		err(1, "/dev/kvm");
	if (ioctl(kvm, KVM_CREATE_VM, 0) == -1)
		err(1, "KVM_CREATE_VM");
	close(kvm);	/* the VM fd keeps the VM */
}

int
main(int argc, char **argv)
{
	int c;

	if (nvmm_init() == -1)
		err(1, "nvmm_init");
	while ((c = getopt(argc, argv, "m:kr:")) != -1) {
		if (c == 'm')
			hold_machine(optarg);
		else if (c == 'r')
			hold_runner(optarg);
		else if (c == 'k')
			hold_kvm_vm();
		else
			return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (getchar() != EOF)
		continue;
	for (unsigned i = 0; i < nmachs; i++)
		nvmm_machine_destroy(&machs[i]);
	return 0;
}
