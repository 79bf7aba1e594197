/*
 * The extensions' dirty-page tracking and statistics on real KVM: exact
 * sets of pages written by guests and by the assists, exact exit counts,
 * read in this process and in another one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvmm_ext.h>

#include "vm.h"

PAYLOAD_DECL(p64_dirty_list);
PAYLOAD_DECL(p64_dirty_assist);
PAYLOAD_DECL(p64_out_loop);
PAYLOAD_DECL(p64_out_hlt);

#define PAGE		4096UL
#define LIST_GPA	0x30000UL	/* the guest's list of addresses */
#define RAM_PAGES	(VM_RAM_SIZE / PAGE)
#define READ		1		/* list flag: load, don't store */

/*
 * The guest's page walks count as writes to its page tables in nested
 * paging (AMD NPT): RAM from the page after them is tracked, so that the
 * payloads' own stores are all a fetch shows.
 */
#define TRACK_GPA	(PML4_GPA + 0x3000)
#define TRACK_SIZE	(VM_RAM_SIZE - TRACK_GPA)

/* The machine registry in a folder of its own, for nvmmx_ctl_stats(). */
__attribute__((constructor)) static void
rundir(void)
{
	char tmpl[] = "/tmp/test_dirty.XXXXXX";

	if (mkdtemp(tmpl) != NULL)
		setenv("LIBNVMM_RUNDIR", tmpl, 1);
}

/*
 * The page tables vm_mode() builds, with the accessed and dirty bits set:
 * the guest's page walks then write nothing, and every dirty page is one
 * the payload wrote.
 */
static void
tables_accessed(struct vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->ram + PML4_GPA);

	pml4[0] |= 0x20;
	pml4[512] |= 0x20;			/* the PDPT */
	for (int i = 0; i < 512; i++)
		pml4[1024 + i] |= 0x60;		/* the 2 MiB pages */
}

/* One round of the list payload over addrs (0-ended by this function). */
static void
round_of(struct vm *vm, const uint64_t *addrs, size_t n)
{
	uint64_t *list = (uint64_t *)(vm->ram + LIST_GPA);

	T_ASSERT(n < PAGE / 8);
	if (n > 0)
		memcpy(list, addrs, n * 8);
	list[n] = 0;
	vm_expect_io(vm, 0, 0x60);
}

/* reads: pages the test has the guest only read, or NULL. */
static void
dirty_vm(struct vm *vm, const uint64_t *reads, size_t n)
{
	vm_create(vm);
	vm_load(vm, PAYLOAD(p64_dirty_list));
	vm_mode(vm, 0, VM_LONG64);
	tables_accessed(vm);
	vm_set_gpr(vm, 0, NVMM_X64_GPR_R15, LIST_GPA);
	/*
	 * KVM maps a page writable at the guest's first access, even a read,
	 * and so logs it dirty if tracked by then: the pages a test has the
	 * guest only read, the code and the list among them, are touched
	 * before.
	 */
	round_of(vm, reads, n);
}

/* The bitmap of the range [gpa, gpa + npages pages) is exactly pages[]. */
static void
expect(const uint64_t *bitmap, gpaddr_t gpa, size_t npages,
    const uint64_t *pages, size_t n)
{
	uint64_t want[RAM_PAGES / 64 + 2];
	size_t words = (npages + 63) / 64;

	T_ASSERT(words <= sizeof(want) / 8);
	memset(want, 0, sizeof(want));
	for (size_t i = 0; i < n; i++) {
		uint64_t p = (pages[i] - gpa) / PAGE;

		T_ASSERT(pages[i] >= gpa && p < npages);
		want[p / 64] |= 1ULL << (p % 64);
	}
	for (size_t w = 0; w < words; w++)
		if (bitmap[w] != want[w])
			t_fail(__FILE__, __LINE__, "word %zu of the bitmap at "
			    "0x%llx: 0x%016llx, want 0x%016llx", w,
			    (unsigned long long)gpa,
			    (unsigned long long)bitmap[w],
			    (unsigned long long)want[w]);
}

static void
fetch_expect(struct vm *vm, gpaddr_t gpa, size_t size, const uint64_t *pages,
    size_t n)
{
	uint64_t bitmap[RAM_PAGES / 64 + 2];

	T_ASSERT(size / PAGE <= sizeof(bitmap) * 8);
	memset(bitmap, 0xEE, sizeof(bitmap));
	T_OK(nvmmx_dirty_fetch(&vm->mach, gpa, size, bitmap));
	expect(bitmap, gpa, size / PAGE, pages, n);
}

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Pages written once, twice (in two places, and in two rounds), read only:
 * a fetch gives exactly the pages written, the next one none.
 */
TEST_TIMEOUT(dirty_exact_set, 60)
{
	static const uint64_t round1[] = {
		0x100000, 0x100800, 0x205008, 0x3FF000 + 4094,
		0x150000 | READ, 0x205000 | READ, 0x50000,
	};
	static const uint64_t written1[] = {
		0x50000, 0x100000, 0x205000, 0x3FF000,
	};
	static const uint64_t round2[] = { 0x100010, 0x360000 | READ };
	static const uint64_t round3[] = { 0x3FF000, 0x40000, 0x41000 };
	static const uint64_t written3[] = { 0x40000, 0x41000, 0x3FF000 };
	static const uint64_t reads[] = {
		0x150000 | READ, 0x205000 | READ, 0x360000 | READ,
	};
	struct vm vm;

	dirty_vm(&vm, reads, N(reads));
	T_OK(nvmmx_dirty_start(&vm.mach, TRACK_GPA, TRACK_SIZE));
	round_of(&vm, round1, N(round1));
	round_of(&vm, round2, N(round2));
	fetch_expect(&vm, TRACK_GPA, TRACK_SIZE, written1, N(written1));
	fetch_expect(&vm, TRACK_GPA, TRACK_SIZE, NULL, 0);
	T_EQ(vm.ram[0x3FF000 + 4094], 0xA5);

	/* The same pages again are dirty again; what only reads, not. */
	round_of(&vm, round3, N(round3));
	round_of(&vm, (const uint64_t[]){ 0x41000 | READ }, 1);
	fetch_expect(&vm, TRACK_GPA, TRACK_SIZE, written3, N(written3));
	fetch_expect(&vm, TRACK_GPA, TRACK_SIZE, NULL, 0);
	vm_destroy(&vm);
}

/*
 * A range over two areas; fetching part of it leaves the other pages'
 * bits, in both areas, for their own fetch.
 */
TEST_TIMEOUT(dirty_subrange_keeps_other_bits, 60)
{
	static const uint64_t writes[] = {
		0x3E0000, 0x3F0000, 0x3FF000, 0x400000, 0x40F000,
	};
	static const uint64_t in_first[] = { 0x3FF000, 0x400000 };
	static const uint64_t in_second[] = { 0x3E0000, 0x3F0000 };
	static const uint64_t in_third[] = { 0x40F000 };
	struct vm vm;
	uint8_t *more;

	dirty_vm(&vm, NULL, 0);
	more = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(more != MAP_FAILED);
	T_OK(nvmm_hva_map(&vm.mach, (uintptr_t)more, 16 * PAGE));
	T_OK(nvmm_gpa_map(&vm.mach, (uintptr_t)more, VM_RAM_SIZE, 16 * PAGE,
	    PROT_READ | PROT_WRITE));

	T_OK(nvmmx_dirty_start(&vm.mach, 0x3E0000, 0x30000));
	round_of(&vm, writes, N(writes));
	T_EQ(more[0xF000], 0xA5);
	fetch_expect(&vm, 0x3FF000, 2 * PAGE, in_first, N(in_first));
	fetch_expect(&vm, 0x3E0000, 0x1F000, in_second, N(in_second));
	fetch_expect(&vm, 0x401000, 0xF000, in_third, N(in_third));
	fetch_expect(&vm, 0x3E0000, 0x30000, NULL, 0);
	T_OK(nvmmx_dirty_stop(&vm.mach, 0x3E0000, 0x30000));
	vm_destroy(&vm);
	munmap(more, 16 * PAGE);
}

static uint8_t mmio_byte;
static uint8_t port_byte;

static void
mem_cb(struct nvmm_mem *mem)
{
	if (!mem->write)
		memset(mem->data, 0x40 + mmio_byte++, mem->size);
}

static void
io_cb(struct nvmm_io *io)
{
	if (io->in)
		memset(io->data, port_byte++, io->size);
}

/*
 * REP MOVSB from MMIO and REP INSB store to RAM through the assists: the
 * pages they fill, across page boundaries, are dirty, and only those.
 */
TEST_TIMEOUT(dirty_assist_writes, 120)
{
	struct nvmm_assist_callbacks cbs = { .io = io_cb, .mem = mem_cb };
	static const uint64_t written[] = {
		0x200000, 0x201000, 0x233000, 0x234000,
	};
	struct nvmm_vcpu *vcpu;
	unsigned mem_exits = 0;
	struct vm vm;

	vm_create(&vm);
	vcpu = &vm.vcpu[0];
	vm_load(&vm, PAYLOAD(p64_dirty_assist));
	vm_mode(&vm, 0, VM_LONG64);
	tables_accessed(&vm);
	T_OK(nvmm_vcpu_configure(&vm.mach, vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs));
	T_OK(nvmm_vcpu_getstate(&vm.mach, vcpu, NVMM_X64_STATE_GPRS));
	vcpu->state->gprs[NVMM_X64_GPR_RSI] = MMIO_GPA;
	vcpu->state->gprs[NVMM_X64_GPR_RDI] = 0x201000 - 6;
	vcpu->state->gprs[NVMM_X64_GPR_RCX] = 12;
	vcpu->state->gprs[NVMM_X64_GPR_R8] = 0x234000 - 100;
	vcpu->state->gprs[NVMM_X64_GPR_R9] = 200;
	T_OK(nvmm_vcpu_setstate(&vm.mach, vcpu, NVMM_X64_STATE_GPRS));

	/* Tracking starts at the first MMIO read, before any store. */
	for (;;) {
		uint64_t reason = vm_run(&vm, 0);

		if (reason == NVMM_VCPU_EXIT_MEMORY) {
			if (mem_exits == 0)
				T_OK(nvmmx_dirty_start(&vm.mach, TRACK_GPA,
				    TRACK_SIZE));
			T_OK(nvmm_assist_mem(&vm.mach, vcpu));
			/*
			 * The assist stored the byte; KVM, which stores it
			 * again, has not run yet: the page is dirty already.
			 */
			if (mem_exits++ == 0) {
				T_EQ(vm.ram[0x201000 - 6], 0x40);
				fetch_expect(&vm, TRACK_GPA, TRACK_SIZE,
				    written, 1);
			}
			continue;
		}
		T_EQ(reason, NVMM_VCPU_EXIT_IO);
		if (vcpu->exit->u.io.port == 0x60)
			break;
		T_EQ(vcpu->exit->u.io.port, 0x61);
		T_OK(nvmm_assist_io(&vm.mach, vcpu));
	}
	T_ASSERT(mem_exits >= 1 && mem_exits <= 12);
	T_EQ(mmio_byte, 12);
	T_EQ(port_byte, 200);
	for (int i = 0; i < 12; i++)
		T_EQ(vm.ram[0x201000 - 6 + i], 0x40 + i);
	for (int i = 0; i < 200; i++)
		T_EQ(vm.ram[0x234000 - 100 + i], i);
	fetch_expect(&vm, TRACK_GPA, TRACK_SIZE, written, N(written));
	vm_destroy(&vm);
}

/* Stopped, a range has no log; started again, it starts clean. */
TEST_TIMEOUT(dirty_stop_then_start, 60)
{
	static const uint64_t first[] = { 0x120000, 0x121000 };
	static const uint64_t second[] = { 0x122000 };
	uint64_t bitmap[4];
	struct vm vm;

	dirty_vm(&vm, NULL, 0);
	T_OK(nvmmx_dirty_start(&vm.mach, 0x100000, 0x100000));
	round_of(&vm, first, N(first));
	T_OK(nvmmx_dirty_stop(&vm.mach, 0x100000, 0x100000));
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x100000, 0x100000, bitmap), ENOENT);
	T_ERR(nvmmx_dirty_stop(&vm.mach, 0x100000, 0x100000), ENOENT);
	round_of(&vm, first, N(first));
	T_OK(nvmmx_dirty_start(&vm.mach, 0x100000, 0x100000));
	fetch_expect(&vm, 0x100000, 0x100000, NULL, 0);
	round_of(&vm, second, N(second));
	fetch_expect(&vm, 0x100000, 0x100000, second, N(second));

	/* Stopping part of a range keeps the rest, with its bits. */
	round_of(&vm, (const uint64_t[]){ 0x120000, 0x1F0000 }, 2);
	T_OK(nvmmx_dirty_stop(&vm.mach, 0x100000, 0x80000));
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x100000, 0x100000, bitmap), ENOENT);
	fetch_expect(&vm, 0x180000, 0x80000, (const uint64_t[]){ 0x1F0000 }, 1);
	vm_destroy(&vm);
}

/*
 * nvmm_gpa_unmap() of part of a tracked area ends the tracking of that
 * part; the parts left keep theirs, bits included, and go on logging.
 */
TEST_TIMEOUT(dirty_unmap_of_tracked_part, 60)
{
	static const uint64_t before[] = { 0x200000, 0x250000, 0x300000 };
	static const uint64_t after[] = { 0x201000, 0x301000 };
	uint64_t bitmap[16];
	struct vm vm;

	dirty_vm(&vm, NULL, 0);
	T_OK(nvmmx_dirty_start(&vm.mach, 0x100000, 0x300000));
	round_of(&vm, before, N(before));
	T_OK(nvmm_gpa_unmap(&vm.mach, (uintptr_t)vm.ram + 0x240000, 0x240000,
	    0x20000));
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x240000, 0x20000, bitmap), ENOENT);
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x100000, 0x300000, bitmap), ENOENT);
	T_ERR(nvmmx_dirty_start(&vm.mach, 0x240000, PAGE), ENOENT);
	fetch_expect(&vm, 0x100000, 0x140000, before, 1);
	round_of(&vm, after, N(after));
	fetch_expect(&vm, 0x100000, 0x140000, after, 1);
	fetch_expect(&vm, 0x260000, 0x1A0000, (const uint64_t[]){ 0x300000,
	    0x301000 }, 2);
	/* Mapped again, the hole is a new area, not tracked. */
	T_OK(nvmm_gpa_map(&vm.mach, (uintptr_t)vm.ram + 0x240000, 0x240000,
	    0x20000, PROT_READ | PROT_WRITE));
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x240000, PAGE, bitmap), ENOENT);
	T_OK(nvmmx_dirty_start(&vm.mach, 0x240000, 0x20000));
	T_OK(nvmmx_dirty_stop(&vm.mach, 0x100000, 0x300000));
	vm_destroy(&vm);
}

/* Before nvmm_init() (each test is a new process): EBADF, as on NetBSD. */
TEST(errors_before_init)
{
	struct nvmm_machine mach = { .machid = 0 };
	struct nvmm_vcpu vcpu = { .cpuid = 0 };
	struct nvmmx_vcpu_stats s;
	uint64_t bitmap[1];

	T_ERR(nvmmx_dirty_start(&mach, 0, PAGE), EBADF);
	T_ERR(nvmmx_dirty_stop(&mach, 0, PAGE), EBADF);
	T_ERR(nvmmx_dirty_fetch(&mach, 0, PAGE, bitmap), EBADF);
	T_ERR(nvmmx_vcpu_stats(&mach, &vcpu, &s), EBADF);
}

TEST(dirty_errors)
{
	struct nvmm_machine gone;
	uint64_t bitmap[16];
	struct vm vm;
	uint8_t *rom;

	vm_create(&vm);
	T_ERR(nvmmx_dirty_start(&vm.mach, 0x1000, 0), EINVAL);
	T_ERR(nvmmx_dirty_start(&vm.mach, 0x1001, PAGE), EINVAL);
	T_ERR(nvmmx_dirty_start(&vm.mach, 0x1000, PAGE + 1), EINVAL);
	T_ERR(nvmmx_dirty_start(&vm.mach, -PAGE, 2 * PAGE), EINVAL);
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x1000, 0, bitmap), EINVAL);
	T_ERR(nvmmx_dirty_stop(&vm.mach, 0x800, PAGE), EINVAL);
	/* Not all mapped: past the end of RAM, or nowhere. */
	T_ERR(nvmmx_dirty_start(&vm.mach, VM_RAM_SIZE - PAGE, 2 * PAGE), ENOENT);
	T_ERR(nvmmx_dirty_start(&vm.mach, MMIO_GPA, PAGE), ENOENT);

	T_OK(nvmmx_dirty_start(&vm.mach, 0x10000, 0x10000));
	T_ERR(nvmmx_dirty_start(&vm.mach, 0x1F000, 2 * PAGE), EBUSY);
	T_ERR(nvmmx_dirty_start(&vm.mach, 0x10000, 0x10000), EBUSY);
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x10000, 0x10000, NULL), EFAULT);
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x10000, 0x11000, bitmap), ENOENT);
	T_ERR(nvmmx_dirty_stop(&vm.mach, 0xF000, 0x2000), ENOENT);
	/* Nothing changed by the failed calls: the range is tracked, once. */
	T_OK(nvmmx_dirty_fetch(&vm.mach, 0x10000, 0x10000, bitmap));
	T_EQ(bitmap[0], 0);
	T_OK(nvmmx_dirty_start(&vm.mach, 0x20000, PAGE));
	T_OK(nvmmx_dirty_stop(&vm.mach, 0x10000, 0x11000));
	T_ERR(nvmmx_dirty_fetch(&vm.mach, 0x10000, PAGE, bitmap), ENOENT);

	/* Read-only memory is tracked too; the guest cannot dirty it. */
	rom = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(rom != MAP_FAILED);
	T_OK(nvmm_hva_map(&vm.mach, (uintptr_t)rom, PAGE));
	T_OK(nvmm_gpa_map(&vm.mach, (uintptr_t)rom, VM_RAM_SIZE, PAGE,
	    PROT_READ));
	T_OK(nvmmx_dirty_start(&vm.mach, VM_RAM_SIZE - PAGE, 2 * PAGE));
	T_OK(nvmmx_dirty_fetch(&vm.mach, VM_RAM_SIZE - PAGE, 2 * PAGE, bitmap));
	T_EQ(bitmap[0], 0);
	T_OK(nvmmx_dirty_stop(&vm.mach, VM_RAM_SIZE, PAGE));

	T_ERR(nvmmx_dirty_start(NULL, 0, PAGE), EFAULT);
	gone = vm.mach;
	gone.machid = 128;
	T_ERR(nvmmx_dirty_start(&gone, 0x10000, PAGE), EINVAL);
	gone = vm.mach;
	vm_destroy(&vm);
	T_ERR(nvmmx_dirty_start(&gone, 0, PAGE), ENOENT);
	T_ERR(nvmmx_dirty_fetch(&gone, 0, PAGE, bitmap), ENOENT);
	T_ERR(nvmmx_dirty_stop(&gone, 0, PAGE), ENOENT);
	munmap(rom, PAGE);
}

/* ---- Statistics --------------------------------------------------------- */

TEST(stat_index_and_names)
{
	static const struct {
		uint64_t reason;
		int index;
		const char *name;
	} tab[] = {
		{ NVMM_VCPU_EXIT_NONE, NVMMX_STAT_NONE, "none" },
		{ NVMM_VCPU_EXIT_MEMORY, NVMMX_STAT_MEMORY, "memory" },
		{ NVMM_VCPU_EXIT_IO, NVMMX_STAT_IO, "io" },
		{ NVMM_VCPU_EXIT_SHUTDOWN, NVMMX_STAT_SHUTDOWN, "shutdown" },
		{ NVMM_VCPU_EXIT_INT_READY, NVMMX_STAT_INT_READY, "int_ready" },
		{ NVMM_VCPU_EXIT_NMI_READY, NVMMX_STAT_NMI_READY, "nmi_ready" },
		{ NVMM_VCPU_EXIT_HALTED, NVMMX_STAT_HALTED, "halted" },
		{ NVMM_VCPU_EXIT_TPR_CHANGED, NVMMX_STAT_TPR_CHANGED,
		    "tpr_changed" },
		{ NVMM_VCPU_EXIT_RDMSR, NVMMX_STAT_RDMSR, "rdmsr" },
		{ NVMM_VCPU_EXIT_WRMSR, NVMMX_STAT_WRMSR, "wrmsr" },
		{ NVMM_VCPU_EXIT_MONITOR, NVMMX_STAT_MONITOR, "monitor" },
		{ NVMM_VCPU_EXIT_MWAIT, NVMMX_STAT_MWAIT, "mwait" },
		{ NVMM_VCPU_EXIT_CPUID, NVMMX_STAT_CPUID, "cpuid" },
		{ NVMM_VCPU_EXIT_STOPPED, NVMMX_STAT_STOPPED, "stopped" },
		{ NVMM_VCPU_EXIT_INVALID, NVMMX_STAT_INVALID, "invalid" },
		{ NVMMX_VCPU_EXIT_DEBUG, NVMMX_STAT_DEBUG, "debug" },
	};

	T_EQ(N(tab), NVMMX_STAT_NEXITS);
	for (size_t i = 0; i < N(tab); i++) {
		T_EQ(nvmmx_stat_index(tab[i].reason), tab[i].index);
		T_ASSERT(strcmp(nvmmx_stat_name(tab[i].index), tab[i].name) == 0);
	}
	errno = 0;
	T_EQ(nvmmx_stat_index(3), -1);
	T_EQ(errno, EINVAL);
	T_EQ(nvmmx_stat_index(0x1005), -1);
	T_EQ(nvmmx_stat_index(0xE0000001), -1);
	errno = 0;
	T_ASSERT(nvmmx_stat_name(-1) == NULL);
	T_EQ(errno, EINVAL);
	T_ASSERT(nvmmx_stat_name(NVMMX_STAT_NEXITS) == NULL);
}

/* Only reason's counter is n; the rest are 0. */
static void
expect_exits(const struct nvmmx_vcpu_stats *s, const uint64_t want[])
{
	uint64_t sum = 0;

	for (int i = 0; i < NVMMX_STAT_NEXITS; i++) {
		if (s->exits[i] != want[i])
			t_fail(__FILE__, __LINE__, "exits[%s] = %llu, want %llu",
			    nvmmx_stat_name(i), (unsigned long long)s->exits[i],
			    (unsigned long long)want[i]);
		sum += s->exits[i];
	}
	T_EQ(s->runs, sum);
}

static void
same_stats(const struct nvmmx_vcpu_stats *a, const struct nvmmx_vcpu_stats *b)
{
	T_EQ(a->runs, b->runs);
	T_EQ(a->guest_ns, b->guest_ns);
	T_EQ(a->vmm_ns, b->vmm_ns);
	for (int i = 0; i < NVMMX_STAT_NEXITS; i++)
		T_EQ(a->exits[i], b->exits[i]);
}

/* The times are of CLOCK_MONOTONIC, or of its coarse twin: both are read. */
static void
now(struct timespec t[2])
{
	clock_gettime(CLOCK_MONOTONIC, &t[0]);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t[1]);
}

static uint64_t
elapsed(const struct timespec t0[2], const struct timespec t1[2])
{
	uint64_t most = 0;

	for (int i = 0; i < 2; i++) {
		uint64_t d = (uint64_t)(t1[i].tv_sec - t0[i].tv_sec) *
		    1000000000 + (uint64_t)t1[i].tv_nsec - (uint64_t)t0[i].tv_nsec;

		most = d > most ? d : most;
	}
	return most;
}

/*
 * VCPU 0: 7 I/O exits, then a run that fails and counts nothing; VCPU 1:
 * an I/O exit and a halt. Exact counts, here and in another process.
 */
TEST_TIMEOUT(stats_count_exits, 60)
{
	uint64_t want0[NVMMX_STAT_NEXITS] = { 0 }, want1[NVMMX_STAT_NEXITS] = { 0 };
	struct nvmmx_vcpu_stats s, c;
	struct timespec t0[2], t1[2];
	struct vm vm;
	pid_t pid;
	int status;

	vm_create(&vm);
	vm_create_vcpu(&vm, 1);
	T_OK(nvmmx_vcpu_stats(&vm.mach, &vm.vcpu[0], &s));
	expect_exits(&s, want0);
	T_EQ(s.guest_ns, 0);
	T_EQ(s.vmm_ns, 0);

	now(t0);
	vm_load(&vm, PAYLOAD(p64_out_loop));
	vm_mode(&vm, 0, VM_LONG64);
	for (int i = 0; i < 7; i++) {
		T_OK(nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]));
		T_EQ(vm.vcpu[0].exit->reason, NVMM_VCPU_EXIT_IO);
		T_OK(nvmm_assist_io(&vm.mach, &vm.vcpu[0]));
	}
	vm.vcpu[0].event->type = 99;
	T_OK(nvmm_vcpu_inject(&vm.mach, &vm.vcpu[0]));
	T_ERR(nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]), EINVAL);
	now(t1);
	T_OK(nvmmx_vcpu_stats(&vm.mach, &vm.vcpu[0], &s));
	want0[NVMMX_STAT_IO] = 7;
	expect_exits(&s, want0);
	T_ASSERT(s.guest_ns + s.vmm_ns <= elapsed(t0, t1));

	vm_load(&vm, PAYLOAD(p64_out_hlt));
	vm_mode(&vm, 1, VM_LONG64);
	vm_expect_io(&vm, 1, 0x10);
	T_EQ(vm_run(&vm, 1), NVMM_VCPU_EXIT_HALTED);
	want1[NVMMX_STAT_IO] = 1;
	want1[NVMMX_STAT_HALTED] = 1;
	T_OK(nvmmx_vcpu_stats(&vm.mach, &vm.vcpu[1], &c));
	expect_exits(&c, want1);
	T_OK(nvmmx_vcpu_stats(&vm.mach, &vm.vcpu[0], &c));
	same_stats(&s, &c);

	/* By machine id, from this process and from another. */
	T_OK(nvmmx_ctl_stats(vm.mach.machid, 0, &c));
	same_stats(&s, &c);
	pid = fork();
	if (pid == 0) {
		struct nvmmx_vcpu_stats o;

		if (nvmmx_ctl_stats(vm.mach.machid, 1, &o) != 0 || o.runs != 2 ||
		    o.exits[NVMMX_STAT_IO] != 1 ||
		    o.exits[NVMMX_STAT_HALTED] != 1 ||
		    nvmmx_ctl_stats(vm.mach.machid, 0, &o) != 0 ||
		    memcmp(&o, &s, sizeof(o)) != 0)
			_exit(1);
		_exit(0);
	}
	T_ASSERT(pid > 0);
	T_EQ(waitpid(pid, &status, 0), pid);
	T_EQ(status, 0);
	vm_destroy(&vm);
}

/*
 * Another process reads the counters over and over while the VCPU runs:
 * every copy is whole (runs is the sum of the exits) and none goes back.
 */
TEST_TIMEOUT(stats_never_torn, 120)
{
	struct nvmmx_vcpu_stats s;
	int done[2], status;
	struct vm vm;
	pid_t pid;

	vm_create(&vm);
	vm_load(&vm, PAYLOAD(p64_out_loop));
	vm_mode(&vm, 0, VM_LONG64);
	T_OK(pipe(done));
	pid = fork();
	if (pid == 0) {
		uint64_t last = 0, copies = 0;
		bool end = false;
		char c;

		close(done[1]);
		fcntl(done[0], F_SETFL, O_NONBLOCK);
		while (!end) {
			uint64_t sum = 0;

			/* The copy after the end has all the runs. */
			end = read(done[0], &c, 1) == 0;
			if (nvmmx_ctl_stats(vm.mach.machid, 0, &s) != 0)
				_exit(2);
			for (int i = 0; i < NVMMX_STAT_NEXITS; i++)
				sum += s.exits[i];
			if (sum != s.runs || s.runs != s.exits[NVMMX_STAT_IO] ||
			    s.runs < last)
				_exit(3);
			last = s.runs;
			copies++;
		}
		_exit(last == 300 && copies > 1 ? 0 : 4);
	}
	T_ASSERT(pid > 0);
	close(done[0]);
	for (int i = 0; i < 300; i++) {
		T_OK(nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]));
		T_EQ(vm.vcpu[0].exit->reason, NVMM_VCPU_EXIT_IO);
		T_OK(nvmm_assist_io(&vm.mach, &vm.vcpu[0]));
	}
	close(done[1]);
	T_EQ(waitpid(pid, &status, 0), pid);
	T_EQ(status, 0);
	vm_destroy(&vm);
}

TEST(stats_errors)
{
	struct nvmm_machine gone;
	struct nvmmx_vcpu_stats s;
	struct nvmm_vcpu v2;
	struct vm vm;

	vm_create(&vm);
	T_ERR(nvmmx_vcpu_stats(&vm.mach, &vm.vcpu[0], NULL), EFAULT);
	T_ERR(nvmmx_vcpu_stats(&vm.mach, NULL, &s), EFAULT);
	T_ERR(nvmmx_vcpu_stats(NULL, &vm.vcpu[0], &s), EFAULT);
	v2 = vm.vcpu[0];
	v2.cpuid = 2;
	T_ERR(nvmmx_vcpu_stats(&vm.mach, &v2, &s), ENOENT);
	v2.cpuid = 256;
	T_ERR(nvmmx_vcpu_stats(&vm.mach, &v2, &s), EINVAL);

	T_ERR(nvmmx_ctl_stats(vm.mach.machid, 0, NULL), EFAULT);
	T_ERR(nvmmx_ctl_stats(128, 0, &s), EINVAL);
	T_ERR(nvmmx_ctl_stats(vm.mach.machid + 1, 0, &s), ENOENT);
	T_ERR(nvmmx_ctl_stats(vm.mach.machid, 256, &s), EINVAL);
	T_ERR(nvmmx_ctl_stats(vm.mach.machid, 1, &s), ENOENT);
	T_OK(nvmmx_ctl_stats(vm.mach.machid, 0, &s));

	/* A destroyed VCPU is gone; one created again starts from zero. */
	vm_load(&vm, PAYLOAD(p64_out_hlt));
	vm_mode(&vm, 0, VM_LONG64);
	vm_expect_io(&vm, 0, 0x10);
	T_OK(nvmm_vcpu_destroy(&vm.mach, &vm.vcpu[0]));
	T_ERR(nvmmx_ctl_stats(vm.mach.machid, 0, &s), ENOENT);
	vm_create_vcpu(&vm, 0);
	T_OK(nvmmx_ctl_stats(vm.mach.machid, 0, &s));
	T_EQ(s.runs, 0);
	T_EQ(s.exits[NVMMX_STAT_IO], 0);

	gone = vm.mach;
	vm_destroy(&vm);
	T_ERR(nvmmx_vcpu_stats(&gone, &vm.vcpu[0], &s), ENOENT);
	T_ERR(nvmmx_ctl_stats(gone.machid, 0, &s), ENOENT);
}
