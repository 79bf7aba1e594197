/*
 * /dev/kvm, its capabilities, VMs and memory slots.
 */
#include "../nvmm_impl.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_impl.h"

int kvm_fd = -1;
int kvm_run_size;
int kvm_kick_signal;
struct kvm_cpuid2 *kvm_supported_cpuid;
uint32_t kvm_mxcsr_mask;

bool kvm_out_emulated;
bool kvm_mmio_write_executed;
bool kvm_have_xsave;
static bool have_user_msr;

int
kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

static int
supported_cpuid(void)
{
	int r;

	for (int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (c == NULL)
			return -ENOMEM;
		c->nent = n;
		r = kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == 0) {
			kvm_supported_cpuid = c;
			return 0;
		}
		free(c);
		if (r != -E2BIG)
			return r;
	}
	return -E2BIG;
}

const struct kvm_cpuid_entry2 *
kvm_supported_leaf(uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < kvm_supported_cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &kvm_supported_cpuid->entries[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx))
			return e;
	}
	return NULL;
}

static void
kick_handler(int sig)
{
	(void)sig;	/* its only job is to make KVM_RUN return */
}

/*
 * nvmm_vcpu_stop() from another thread must pull a VCPU out of the guest;
 * KVM leaves the guest when its thread gets a signal. A real-time signal
 * the application is unlikely to use, $LIBNVMM_SIGNAL to choose another.
 */
static int
install_kick(void)
{
	struct sigaction sa, old;
	const char *env = getenv("LIBNVMM_SIGNAL");

	kvm_kick_signal = env != NULL ? atoi(env) : SIGRTMAX - 1;
	if (kvm_kick_signal <= 0 || kvm_kick_signal > SIGRTMAX)
		return -EINVAL;
	if (sigaction(kvm_kick_signal, NULL, &old) != 0)
		return -errno;
	if (old.sa_handler != SIG_DFL)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(kvm_kick_signal, &sa, NULL) == 0 ? 0 : -errno;
}

/*
 * Whether KVM executes an OUT, and an MMIO write, before reporting the exit
 * (its instruction emulator does so for OUT on PVM hosts; hardware
 * virtualization completes both at the next KVM_RUN). One tiny real-mode
 * guest tells, once per process: an OUT then a write to unmapped memory.
 */
static int
probe_exits(void)
{
	static const uint8_t code[] = {
		0xE6, 0x80,		/* out 0x80, al */
		0xA2, 0x00, 0x20,	/* mov [0x2000], al */
		0xF4,			/* hlt */
	};
	struct kvm_userspace_memory_region reg = { .memory_size = 4096 };
	struct kvm_sregs sr;
	struct kvm_regs regs;
	struct kvm_run *run = MAP_FAILED;
	int vm, vcpu = -1, r;
	void *mem;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	memcpy(mem, code, sizeof(code));
	reg.userspace_addr = (uintptr_t)mem;
	r = vm = kvm_ioctl(kvm_fd, KVM_CREATE_VM, NULL);
	if (r >= 0) {
		kvm_ioctl(vm, KVM_SET_TSS_ADDR, (void *)0xFFFBD000UL);
		r = kvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg);
	}
	if (r >= 0)
		r = vcpu = kvm_ioctl(vm, KVM_CREATE_VCPU, NULL);
	if (r >= 0) {
		run = mmap(NULL, kvm_run_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, vcpu, 0);
		r = run == MAP_FAILED ? -ENOMEM : kvm_ioctl(vcpu, KVM_GET_SREGS, &sr);
	}
	if (r >= 0) {
		sr.cs.base = 0;
		sr.cs.selector = 0;
		sr.ds = sr.cs;
		sr.ds.type = 3;
		r = kvm_ioctl(vcpu, KVM_SET_SREGS, &sr);
	}
	if (r >= 0) {
		memset(&regs, 0, sizeof(regs));
		regs.rflags = 2;
		r = kvm_ioctl(vcpu, KVM_SET_REGS, &regs);
	}
	if (r >= 0)
		r = kvm_ioctl(vcpu, KVM_RUN, NULL);
	if (r >= 0)
		r = run->exit_reason == KVM_EXIT_IO ?
		    kvm_ioctl(vcpu, KVM_GET_REGS, &regs) : -EIO;
	if (r >= 0) {
		kvm_out_emulated = regs.rip != 0;
		r = kvm_ioctl(vcpu, KVM_RUN, NULL);
	}
	if (r >= 0)
		r = run->exit_reason == KVM_EXIT_MMIO ?
		    kvm_ioctl(vcpu, KVM_GET_REGS, &regs) : -EIO;
	if (r >= 0)
		kvm_mmio_write_executed = regs.rip != 2;
	if (run != MAP_FAILED)
		munmap(run, kvm_run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	munmap(mem, 4096);
	return r < 0 ? r : 0;
}

static uint32_t
host_mxcsr_mask(void)
{
	struct fxsave fx __attribute__((aligned(16)));

	memset(&fx, 0, sizeof(fx));
	__asm__ volatile("fxsave %0" : "=m"(fx));
	return fx.fx_mxcsr_mask != 0 ? fx.fx_mxcsr_mask : 0xFFBF;
}

int
kvm_init(struct nvmm_capability *cap)
{
	const struct kvm_cpuid_entry2 *xs;
	bool have_xcrs;
	int r, nvcpus;

	/* NetBSD's errnos: ENXIO for no hypervisor, EACCES for no access. */
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return errno == ENOENT || errno == ENODEV ? -ENXIO :
		    errno == EPERM ? -EACCES : -errno;
	r = -EPROGMISMATCH;
	if (kvm_ioctl(kvm_fd, KVM_GET_API_VERSION, NULL) != KVM_API_VERSION)
		goto fail;
	/* Without these there is no NVMM on this KVM. */
	r = -ENXIO;
	if ((kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_VALID_FIELDS) !=
	    KVM_SYNC_X86_VALID_FIELDS ||
	    kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
	    kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_READONLY_MEM) <= 0)
		goto fail;
	have_user_msr = kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_X86_USER_SPACE_MSR) > 0 &&
	    kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_X86_MSR_FILTER) > 0;
	/*
	 * KVM_CAP_XCRS follows the host's XSAVE; KVM_CAP_XSAVE does not on
	 * recent kernels, whose XSAVE ioctls then carry the FXSAVE image.
	 */
	have_xcrs = kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_XCRS) > 0;
	kvm_have_xsave = kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_XSAVE) > 0;
	kvm_run_size = kvm_ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (kvm_run_size <= 0)
		goto fail;
	r = supported_cpuid();
	if (r < 0)
		goto fail;
	r = install_kick();
	if (r == 0)
		r = probe_exits();
	if (r < 0)
		goto fail;
	kvm_mxcsr_mask = host_mxcsr_mask();

	nvcpus = kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
	    (void *)(long)KVM_CAP_MAX_VCPUS);
	memset(cap, 0, sizeof(*cap));
	cap->version = NVMM_KERN_VERSION;
	cap->state_size = sizeof(struct nvmm_x64_state);
	cap->max_machines = NVMM_MAX_MACHINES;
	cap->max_vcpus = nvcpus > 0 && nvcpus < NVMM_MAX_VCPUS ?
	    (uint32_t)nvcpus : NVMM_MAX_VCPUS;
	cap->max_ram = NVMM_MAX_RAM;
	cap->arch.mach_conf_support = 0;
	cap->arch.vcpu_conf_support =
	    NVMM_CAP_ARCH_VCPU_CONF_CPUID | NVMM_CAP_ARCH_VCPU_CONF_TPR;
	/* As NetBSD: 0 where the host has no XSAVE, and XCR0 stays x87. */
	xs = kvm_supported_leaf(0xD, 0);
	cap->arch.xcr0_mask = !have_xcrs ? 0 : KVM_XCR0_DEFAULT &
	    (xs != NULL ? ((uint64_t)xs->edx << 32 | xs->eax) : KVM_XCR0_DEFAULT);
	cap->arch.mxcsr_mask = kvm_mxcsr_mask;
	cap->arch.conf_cpuid_maxops = NVMM_CPUID_MAXOPS;
	return 0;
fail:
	close(kvm_fd);
	kvm_fd = -1;
	free(kvm_supported_cpuid);
	kvm_supported_cpuid = NULL;
	return r;
}

/*
 * MSRs NetBSD's kernel handles itself, which KVM keeps too; every other MSR
 * access exits to the VMM as NVMM's RDMSR/WRMSR. Bit sets over two bases.
 */
static const uint32_t msr_rw[] = {
	0x10,		/* TSC */
	0x174, 0x175, 0x176, /* SYSENTER_CS/ESP/EIP */
	0x277,		/* PAT */
	0xC0000080,	/* EFER */
	0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084, /* STAR..SFMASK */
	0xC0000100, 0xC0000101, 0xC0000102, /* FS/GS/KERNELGS base */
	0x1A0,		/* MISC_ENABLE: KVM sanitises it, NVMM ignores writes */
	0x8B,		/* BIOS_SIGN */
};
static const uint32_t msr_ro[] = {
	0x17,		/* PLATFORM_ID */
	0x10A,		/* ARCH_CAPABILITIES */
};

static void
filter_range(struct kvm_msr_filter_range *r, uint8_t *bm, uint32_t base,
    uint32_t n, uint32_t flags, bool ro)
{
	memset(bm, 0, (n + 7) / 8);
	for (size_t i = 0; i < sizeof(msr_rw) / sizeof(msr_rw[0]); i++)
		if (msr_rw[i] >= base && msr_rw[i] < base + n)
			bm[(msr_rw[i] - base) / 8] |= 1 << ((msr_rw[i] - base) % 8);
	for (size_t i = 0; ro && i < sizeof(msr_ro) / sizeof(msr_ro[0]); i++)
		if (msr_ro[i] >= base && msr_ro[i] < base + n)
			bm[(msr_ro[i] - base) / 8] |= 1 << ((msr_ro[i] - base) % 8);
	r->flags = flags;
	r->base = base;
	r->nmsrs = n;
	r->bitmap = bm;
}

static int
msr_filter(int vmfd)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN,
	};
	uint8_t lo_r[0x280 / 8], lo_w[0x280 / 8], hi[0x108 / 8];
	struct kvm_msr_filter f;
	int r;

	r = kvm_ioctl(vmfd, KVM_ENABLE_CAP, &cap);
	if (r < 0)
		return r;
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	filter_range(&f.ranges[0], lo_r, 0, 0x280, KVM_MSR_FILTER_READ, true);
	filter_range(&f.ranges[1], lo_w, 0, 0x280, KVM_MSR_FILTER_WRITE, false);
	filter_range(&f.ranges[2], hi, 0xC0000000, 0x108,
	    KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, false);
	return kvm_ioctl(vmfd, KVM_X86_SET_MSR_FILTER, &f);
}

int
kvm_machine_create(struct mach *m)
{
	int fd, r;

	fd = kvm_ioctl(kvm_fd, KVM_CREATE_VM, NULL);
	if (fd < 0)
		return fd == -EMFILE || fd == -ENFILE ? -ENOBUFS : fd;
	/* Real mode on VMX needs these pages; kept out of the way at 4 GiB - 272 KiB. */
	kvm_ioctl(fd, KVM_SET_TSS_ADDR, (void *)0xFFFBD000UL);
	/*
	 * KVM moves RIP past an OUT to port 0x7E before the exit, for old
	 * VMMs: NVMM's OUT exits are at the instruction, whatever the port.
	 */
	kvm_ioctl(fd, KVM_ENABLE_CAP, &(struct kvm_enable_cap){
	    .cap = KVM_CAP_DISABLE_QUIRKS,
	    .args[0] = KVM_X86_QUIRK_OUT_7E_INC_RIP });
	if (have_user_msr) {
		r = msr_filter(fd);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	m->kvm.fd = fd;
	m->kvm.xsave_size = kvm_xsave_probe(fd);
	return 0;
}

void
kvm_machine_destroy(struct mach *m)
{
	for (int i = 0; i < 256; i++) {
		struct kvm_parked *p = &m->kvm.parked[i];

		if (p->fd > 0) {
			munmap(p->run, kvm_run_size);
			close(p->fd);
		}
	}
	close(m->kvm.fd);
}

static struct kvm_userspace_memory_region
slot_region(const struct area *a, int slot)
{
	return (struct kvm_userspace_memory_region){
		.slot = (uint32_t)slot,
		.flags = ((a->prot & NVMM_PROT_WRITE) ? 0 : KVM_MEM_READONLY) |
		    (a->log != NULL ? KVM_MEM_LOG_DIRTY_PAGES : 0),
		.guest_phys_addr = a->gpa,
		.memory_size = a->size,
		.userspace_addr = a->hva,
	};
}

int
kvm_slot_set(struct mach *m, struct area *a)
{
	struct kvm_userspace_memory_region reg;
	int slot = -1, r;

	for (int i = 0; i < KVM_MAX_SLOTS; i++) {
		if (!(m->kvm.slots[i / 64] & (1ULL << (i % 64)))) {
			slot = i;
			break;
		}
	}
	if (slot < 0)
		return -ENOBUFS;
	reg = slot_region(a, slot);
	r = kvm_ioctl(m->kvm.fd, KVM_SET_USER_MEMORY_REGION, &reg);
	if (r < 0)
		return r == -EEXIST ? -EINVAL : r;
	m->kvm.slots[slot / 64] |= 1ULL << (slot % 64);
	a->slot = slot;
	return 0;
}

int
kvm_slot_clear(struct mach *m, struct area *a)
{
	struct kvm_userspace_memory_region reg = { .slot = a->slot };
	int r;

	r = kvm_ioctl(m->kvm.fd, KVM_SET_USER_MEMORY_REGION, &reg);
	if (r < 0)
		return r;
	m->kvm.slots[a->slot / 64] &= ~(1ULL << (a->slot % 64));
	a->slot = -1;
	return 0;
}

/* Dirty logging follows a->log; KVM changes a slot's flags in place. */
int
kvm_slot_log(struct mach *m, const struct area *a)
{
	struct kvm_userspace_memory_region reg = slot_region(a, a->slot);

	return kvm_ioctl(m->kvm.fd, KVM_SET_USER_MEMORY_REGION, &reg);
}

/*
 * The pages of the area written since the last call (or since logging
 * began), one bit each from bit 0 of bitmap[0]; KVM clears its log.
 */
int
kvm_dirty_log(struct mach *m, const struct area *a, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = (uint32_t)a->slot,
	    .dirty_bitmap = bitmap };

	return kvm_ioctl(m->kvm.fd, KVM_GET_DIRTY_LOG, &log);
}
