/*
 * libnvmm: the same guest through the NVMM API, with the exit handlers a
 * VMM writes (the assists, or QEMU's get/modify/set of the state), state
 * access per group, and the machine life cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#include "bench.h"
#include "guest.h"

struct nv {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	uint64_t groups;	/* for the QEMU-like handler */
};

/* Port 0x80 takes POST codes: a device model would ignore the byte too. */
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

static void
nv_create(struct nv *v, uint8_t *mem)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };
	uintptr_t rom = (uintptr_t)mem + GUEST_ROM_GPA;

	CHECK(nvmm_machine_create(&v->mach));
	CHECK(nvmm_hva_map(&v->mach, (uintptr_t)mem, GUEST_MEM_SIZE));
	CHECK(nvmm_gpa_map(&v->mach, (uintptr_t)mem, 0, GUEST_RAM_SIZE,
	    PROT_READ | PROT_WRITE | PROT_EXEC));
	CHECK(nvmm_gpa_map(&v->mach, rom, GUEST_ROM_GPA, GUEST_ROM_SIZE,
	    PROT_READ | PROT_EXEC));
	CHECK(nvmm_gpa_map(&v->mach, rom, GUEST_RESET_GPA, GUEST_ROM_SIZE,
	    PROT_READ | PROT_EXEC));
	CHECK(nvmm_vcpu_create(&v->mach, 0, &v->vcpu));
	CHECK(nvmm_vcpu_configure(&v->mach, &v->vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs));
}

static void
nv_setup(struct nv *v, enum guest_loop loop)
{
	CHECK(nvmm_init());
	nv_create(v, guest_mem(loop));
}

static void
nv_exit(struct nv *v, uint64_t reason)
{
	const struct nvmm_vcpu_exit *e = v->vcpu.exit;

	do
		CHECK(nvmm_vcpu_run(&v->mach, &v->vcpu));
	while (e->reason == NVMM_VCPU_EXIT_NONE);
	if (e->reason != reason ||
	    (reason == NVMM_VCPU_EXIT_IO && e->u.io.port != GUEST_OUT_PORT))
		die("libnvmm: exit 0x%llx, want 0x%llx",
		    (unsigned long long)e->reason, (unsigned long long)reason);
}

static void
op_io(void *ctx)
{
	struct nv *v = ctx;

	nv_exit(v, NVMM_VCPU_EXIT_IO);
	CHECK(nvmm_assist_io(&v->mach, &v->vcpu));
}

static void
op_mmio(void *ctx)
{
	struct nv *v = ctx;

	nv_exit(v, NVMM_VCPU_EXIT_MEMORY);
	CHECK(nvmm_assist_mem(&v->mach, &v->vcpu));
}

/* What QEMU's NVMM accelerator does around an exit it handles itself. */
static void
op_qemu_like(void *ctx)
{
	struct nv *v = ctx;
	struct nvmm_x64_state *st = v->vcpu.state;

	nv_exit(v, NVMM_VCPU_EXIT_IO);
	CHECK(nvmm_vcpu_getstate(&v->mach, &v->vcpu, v->groups));
	st->gprs[NVMM_X64_GPR_RIP] = v->vcpu.exit->u.io.npc;
	st->gprs[NVMM_X64_GPR_RAX]++;
	CHECK(nvmm_vcpu_setstate(&v->mach, &v->vcpu, v->groups));
}

/* nvmm-io N: µs per OUT exit, completed by nvmm_assist_io. */
static void
work_io(const long *a)
{
	struct nv v;

	nv_setup(&v, GUEST_OUT_LOOP);
	printf("%f\n", time_op(op_io, &v, a[0]));
}

/* nvmm-mmio N: µs per MMIO read exit, completed by nvmm_assist_mem. */
static void
work_mmio(const long *a)
{
	struct nv v;

	nv_setup(&v, GUEST_MMIO_LOOP);
	printf("%f\n", time_op(op_mmio, &v, a[0]));
}

/* nvmm-qemu-like N GROUPS: µs per OUT exit with the QEMU-like handler. */
static void
work_qemu_like(const long *a)
{
	struct nv v;

	nv_setup(&v, GUEST_OUT_LOOP);
	v.groups = (uint64_t)a[1];
	printf("%f\n", time_op(op_qemu_like, &v, a[0]));
}

/* µs per getstate of the group once cached: median of batches, ~10 ms. */
static double
time_cached(struct nv *v, uint64_t g)
{
	double batch[256];
	uint64_t start = now_ns();
	int nb = 0;

	CHECK(nvmm_vcpu_getstate(&v->mach, &v->vcpu, g));
	do {
		uint64_t t0 = now_ns();

		for (int i = 0; i < 64; i++)
			CHECK(nvmm_vcpu_getstate(&v->mach, &v->vcpu, g));
		batch[nb++] = (now_ns() - t0) / 1e3 / 64;
	} while (nb < 256 && now_ns() - start < 10000000);
	return median(batch, nb);
}

static double
us_since(uint64_t *t)
{
	uint64_t now = now_ns();
	double us = (now - *t) / 1e3;

	*t = now;
	return us;
}

/*
 * nvmm-state N GROUP: µs of getstate(GROUP) of the cached group; of
 * getstate right after an I/O exit; of setstate; and of the commit that
 * setstate defers to the next run: that run's time less a plain run's, the
 * two alternating. Medians of N calls, so that the machine's other jobs
 * hardly show.
 */
static void
work_state(const long *a)
{
	uint64_t g = (uint64_t)a[1], t;
	double *plain, *get, *set, *commit, cached;
	long n = a[0];
	struct nv v;

	plain = malloc(4 * n * sizeof(*plain));
	if (n < 1 || plain == NULL)
		die("nvmm-state: at least one call");
	get = plain + n, set = plain + 2 * n, commit = plain + 3 * n;
	nv_setup(&v, GUEST_OUT_LOOP);
	op_io(&v);
	cached = time_cached(&v, g);
	for (long i = 0; i < n; i++) {
		t = now_ns();
		nv_exit(&v, NVMM_VCPU_EXIT_IO);
		plain[i] = us_since(&t);
		CHECK(nvmm_assist_io(&v.mach, &v.vcpu));
		t = now_ns();
		CHECK(nvmm_vcpu_getstate(&v.mach, &v.vcpu, g));
		get[i] = us_since(&t);
		CHECK(nvmm_vcpu_setstate(&v.mach, &v.vcpu, g));
		set[i] = us_since(&t);
		nv_exit(&v, NVMM_VCPU_EXIT_IO);
		commit[i] = us_since(&t);
		CHECK(nvmm_assist_io(&v.mach, &v.vcpu));
	}
	printf("%f %f %f %f\n", cached, median(get, n), median(set, n),
	    median(commit, n) - median(plain, n));
	free(plain);
}

/*
 * nvmm-state-count N GROUP STAGE, for counting syscalls: N times an I/O
 * exit (stage 0), then getstate(GROUP) (stage 1), then setstate (stage 2);
 * or N times getstate(GROUP) of the cached group (stage 3).
 */
static void
work_state_count(const long *a)
{
	uint64_t g = (uint64_t)a[1];
	long stage = a[2];
	struct nv v;

	nv_setup(&v, GUEST_OUT_LOOP);
	op_io(&v);
	CHECK(nvmm_vcpu_getstate(&v.mach, &v.vcpu, g));
	for (long i = 0; i < a[0]; i++) {
		if (stage != 3)
			op_io(&v);
		if (stage >= 1)
			CHECK(nvmm_vcpu_getstate(&v.mach, &v.vcpu, g));
		if (stage == 2)
			CHECK(nvmm_vcpu_setstate(&v.mach, &v.vcpu, g));
	}
}

static void
life_init(void)
{
	CHECK(nvmm_init());
}

static void *
life_create(uint8_t *mem)
{
	struct nv *v = malloc(sizeof(*v));

	if (v == NULL)
		die("out of memory");
	nv_create(v, mem);
	nv_exit(v, NVMM_VCPU_EXIT_IO);
	return v;
}

static void
life_destroy(void *vm)
{
	struct nv *v = vm;

	CHECK(nvmm_machine_destroy(&v->mach));
	free(v);
}

/* nvmm-life K MODE: see life_cycle(). */
static void
work_life(const long *a)
{
	static const struct life_ops ops = { life_init, life_create,
	    life_destroy };

	life_cycle(&ops, a);
}

const struct workload nvmm_workloads[] = {
	{ "nvmm-io", work_io },
	{ "nvmm-mmio", work_mmio },
	{ "nvmm-qemu-like", work_qemu_like },
	{ "nvmm-state", work_state },
	{ "nvmm-state-count", work_state_count },
	{ "nvmm-life", work_life },
	{ NULL, NULL },
};
