/*
 * The machine on libnvmm: see machine.h.
 */
#include "machine.h"

#include <errno.h>
#include <nvmm.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pc.h"
#include "platform.h"

#define RFLAGS_IF	(1ULL << 9)

enum cpu_mode {
	CPU_RUNNING,
	CPU_HALTED,
	CPU_WAIT_SIPI,		/* an AP before its startup IPI, or after INIT */
};

enum {
	STAT_IO, STAT_MMIO, STAT_MSR, STAT_HALT, STAT_WINDOW, STAT_STOP,
	NSTATS
};

struct cpu {
	struct machine *m;
	unsigned id;
	struct nvmm_vcpu vcpu;
	pthread_t thread;
	enum cpu_mode mode;
	bool nmi;		/* an NMI to inject */
	bool window;		/* the interrupt window is asked for */
	uint64_t stats[NSTATS];
};

struct machine {
	struct nvmm_machine mach;
	struct platform pf;
	struct boot_ram ram;
	void *host;
	uint64_t mem;
	unsigned ncpus;
	struct cpu cpu[PLATFORM_MAX_CPUS];

	/* With the platform lock: halted CPUs and the main thread wait here. */
	pthread_cond_t wake;
	bool quit;
	int status;
	char msg[256];
};

static struct cpu *
cpu_of(struct nvmm_vcpu *vcpu)
{
	return (struct cpu *)((char *)vcpu - offsetof(struct cpu, vcpu));
}

/* With the platform lock: the run ends with status and a message. */
static void
finish(struct machine *m, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finish(struct machine *m, int status, const char *fmt, ...)
{
	va_list ap;

	if (m->quit)
		return;
	m->quit = true;
	m->status = status;
	va_start(ap, fmt);
	vsnprintf(m->msg, sizeof(m->msg), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < m->ncpus; i++)
		nvmm_vcpu_stop(&m->cpu[i].vcpu);
	pthread_cond_broadcast(&m->wake);
}

/* ---- What the platform asks of us (with its lock held) ----------------- */

static void
kick(void *opaque, unsigned id)
{
	struct machine *m = opaque;

	if (m->cpu[id].mode == CPU_RUNNING)
		nvmm_vcpu_stop(&m->cpu[id].vcpu);
	else
		pthread_cond_broadcast(&m->wake);
}

static void
request(void *opaque, enum hw_request req)
{
	struct machine *m = opaque;

	finish(m, 0, req == HW_POWEROFF ? "guest powered off" : "guest reset");
}

static void
console_out(void *opaque, uint8_t byte)
{
	(void)opaque;
	if (write(STDOUT_FILENO, &byte, 1) < 0)
		return;	/* a closed terminal doesn't stop the guest */
}

/* ---- Assist callbacks: device accesses go to the platform ------------- */

static void
io_cb(struct nvmm_io *io)
{
	struct cpu *c = cpu_of(io->vcpu);

	platform_lock(&c->m->pf);
	platform_io(&c->m->pf, c->id, false, io->port, io->data,
	    (unsigned)io->size, !io->in);
	platform_unlock(&c->m->pf);
}

static void
mem_cb(struct nvmm_mem *mem)
{
	struct cpu *c = cpu_of(mem->vcpu);

	platform_lock(&c->m->pf);
	platform_io(&c->m->pf, c->id, true, mem->gpa, mem->data,
	    (unsigned)mem->size, mem->write);
	platform_unlock(&c->m->pf);
}

/* ---- Creation ----------------------------------------------------------- */

/* Why nvmm_init failed, and where to go from there. */
static void
no_nvmm(int e, char *err, size_t errlen)
{
	if (e == ENXIO)
		snprintf(err, errlen, "no hypervisor here (no /dev/kvm, or KVM "
		    "lacks what libnvmm needs): run it through tools/with-kvm");
	else
		snprintf(err, errlen, "cannot use /dev/kvm: %s (%s)", strerror(e),
		    "run it through tools/with-kvm, or give this user access");
}

struct machine *
machine_create(uint64_t mem, unsigned ncpus, char *err, size_t errlen)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };
	struct platform_ops ops;
	struct machine *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->mem = mem;
	m->ncpus = ncpus;
	pthread_cond_init(&m->wake, NULL);
	if (nvmm_init() != 0) {
		no_nvmm(errno, err, errlen);
		goto fail;
	}
	if (nvmm_machine_create(&m->mach) != 0) {
		snprintf(err, errlen, "cannot create a machine: %s",
		    strerror(errno));
		goto fail;
	}
	m->host = mmap(NULL, mem, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM",
		    (unsigned long long)(mem >> 20));
		goto fail_mach;
	}
	r = boot_ram_init(&m->ram, m->host, mem);
	if (r == 0 && nvmm_hva_map(&m->mach, (uintptr_t)m->host, mem) != 0)
		r = -errno;
	/* Low RAM at 0, the rest above 4 GiB, the PCI hole in between. */
	if (r == 0 && nvmm_gpa_map(&m->mach, (uintptr_t)m->host, 0, m->ram.low,
	    PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		r = -errno;
	if (r == 0 && mem > m->ram.low &&
	    nvmm_gpa_map(&m->mach, (uintptr_t)m->host + m->ram.low, PC_HIGH_RAM,
	    mem - m->ram.low, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "cannot map guest RAM: %s", strerror(-r));
		goto fail_mach;
	}

	ops.kick = kick;
	ops.request = request;
	ops.console_out = console_out;
	ops.opaque = m;
	r = platform_init(&m->pf, ncpus, m->ram.low, mem - m->ram.low, &ops);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up the devices: %s",
		    strerror(-r));
		goto fail_mach;
	}
	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu *c = &m->cpu[i];

		c->m = m;
		c->id = i;
		c->mode = i == 0 ? CPU_RUNNING : CPU_WAIT_SIPI;
		if (nvmm_vcpu_create(&m->mach, i, &c->vcpu) != 0 ||
		    nvmm_vcpu_configure(&m->mach, &c->vcpu,
		    NVMM_VCPU_CONF_CALLBACKS, &cbs) != 0) {
			snprintf(err, errlen, "cannot create VCPU %u: %s", i,
			    strerror(errno));
			platform_destroy(&m->pf);
			goto fail_mach;
		}
	}
	return m;

fail_mach:
	nvmm_machine_destroy(&m->mach);
fail:
	if (m->host != NULL)
		munmap(m->host, mem);
	pthread_cond_destroy(&m->wake);
	free(m);
	return NULL;
}

void
machine_destroy(struct machine *m)
{
	platform_destroy(&m->pf);
	nvmm_machine_destroy(&m->mach);
	munmap(m->host, m->mem);
	pthread_cond_destroy(&m->wake);
	free(m);
}

const struct boot_ram *
machine_ram(struct machine *m)
{
	return &m->ram;
}

/* ---- VCPU state ------------------------------------------------------- */

static void
seg_from_boot(struct nvmm_x64_state_seg *s, const struct boot_seg *b)
{
	memset(s, 0, sizeof(*s));
	s->selector = b->selector;
	s->base = b->base;
	s->limit = b->limit;
	s->attrib.type = b->type;
	s->attrib.s = b->s;
	s->attrib.dpl = b->dpl;
	s->attrib.p = b->p;
	s->attrib.def = b->db;
	s->attrib.l = b->l;
	s->attrib.g = b->g;
}

int
machine_boot(struct machine *m, const struct boot_cpu *bc)
{
	struct nvmm_vcpu *vcpu = &m->cpu[0].vcpu;
	struct nvmm_x64_state *st = vcpu->state;

	if (nvmm_vcpu_getstate(&m->mach, vcpu, NVMM_X64_STATE_ALL) != 0)
		return -errno;
	st->gprs[NVMM_X64_GPR_RIP] = bc->rip;
	st->gprs[NVMM_X64_GPR_RSP] = bc->rsp;
	st->gprs[NVMM_X64_GPR_RSI] = bc->rsi;
	st->gprs[NVMM_X64_GPR_RBX] = bc->rbx;
	st->gprs[NVMM_X64_GPR_RDX] = 0;
	st->gprs[NVMM_X64_GPR_RFLAGS] = bc->rflags;
	st->crs[NVMM_X64_CR_CR0] = bc->cr0;
	st->crs[NVMM_X64_CR_CR3] = bc->cr3;
	st->crs[NVMM_X64_CR_CR4] = bc->cr4;
	st->msrs[NVMM_X64_MSR_EFER] = bc->efer;
	st->segs[NVMM_X64_SEG_GDT].base = bc->gdt_base;
	st->segs[NVMM_X64_SEG_GDT].limit = bc->gdt_limit;
	seg_from_boot(&st->segs[NVMM_X64_SEG_CS], &bc->cs);
	seg_from_boot(&st->segs[NVMM_X64_SEG_DS], &bc->ds);
	seg_from_boot(&st->segs[NVMM_X64_SEG_ES], &bc->es);
	seg_from_boot(&st->segs[NVMM_X64_SEG_SS], &bc->ss);
	seg_from_boot(&st->segs[NVMM_X64_SEG_FS], &bc->fs);
	seg_from_boot(&st->segs[NVMM_X64_SEG_GS], &bc->gs);
	seg_from_boot(&st->segs[NVMM_X64_SEG_TR], &bc->tr);
	seg_from_boot(&st->segs[NVMM_X64_SEG_LDT], &bc->ldtr);
	return nvmm_vcpu_setstate(&m->mach, vcpu, NVMM_X64_STATE_ALL) == 0 ?
	    0 : -errno;
}

/* A startup IPI: real mode at vector * 4 KiB (CS = vector << 8, IP = 0). */
static int
cpu_startup(struct cpu *c, uint8_t vector)
{
	struct nvmm_x64_state *st = c->vcpu.state;
	struct nvmm_x64_state_seg *cs = &st->segs[NVMM_X64_SEG_CS];

	if (nvmm_vcpu_getstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_ALL) != 0)
		return -errno;
	cs->selector = (uint16_t)(vector << 8);
	cs->base = (uint64_t)vector << 12;
	cs->limit = 0xFFFF;
	st->gprs[NVMM_X64_GPR_RIP] = 0;
	return nvmm_vcpu_setstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_ALL) ==
	    0 ? 0 : -errno;
}

/* ---- The run loop ------------------------------------------------------ */

/* With the platform lock: whether a halted CPU has a reason to go on. */
static bool
cpu_wakes(struct cpu *c)
{
	bool intr = (c->vcpu.exit->exitstate.rflags & RFLAGS_IF) &&
	    platform_pending(&c->m->pf, c->id) >= 0;

	return c->nmi || intr;
}

/* With the platform lock: INIT, SIPI and NMI from the LAPIC. */
static int
cpu_events(struct cpu *c)
{
	uint8_t sipi;
	unsigned ev = platform_events(&c->m->pf, c->id, &sipi);

	if (ev & LAPIC_EV_INIT)
		c->mode = CPU_WAIT_SIPI;
	if ((ev & LAPIC_EV_SIPI) && c->mode == CPU_WAIT_SIPI) {
		c->mode = CPU_RUNNING;
		return cpu_startup(c, sipi);
	}
	if (ev & LAPIC_EV_NMI)
		c->nmi = true;
	return 0;
}

/* The guest can take an interrupt now, by the state of the last exit. */
static bool
cpu_interruptible(const struct nvmm_vcpu_exit *exit)
{
	return (exit->exitstate.rflags & RFLAGS_IF) &&
	    !exit->exitstate.int_shadow && !exit->exitstate.evt_pending;
}

static int
inject(struct cpu *c, u_int type, uint8_t vector)
{
	c->vcpu.event->type = type;
	c->vcpu.event->vector = vector;
	c->vcpu.event->u.excp.error = 0;
	return nvmm_vcpu_inject(&c->m->mach, &c->vcpu);
}

static int
set_window(struct cpu *c, bool on)
{
	struct nvmm_x64_state *st = c->vcpu.state;

	if (c->window == on)
		return 0;
	if (nvmm_vcpu_getstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_INTR) != 0)
		return -errno;
	st->intr.int_window_exiting = on;
	c->window = on;
	return nvmm_vcpu_setstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_INTR) ==
	    0 ? 0 : -errno;
}

/*
 * Before a run: wait while halted, take LAPIC events, and deliver at most
 * one interrupt, or ask for the window when the guest can't take it yet.
 * Returns false when the machine is ending.
 */
static bool
cpu_prepare(struct cpu *c)
{
	struct machine *m = c->m;
	const struct nvmm_vcpu_exit *exit = c->vcpu.exit;
	int vector = -1, r = 0;
	bool want_window = false;

	platform_lock(&m->pf);
	for (;;) {
		r = cpu_events(c);
		if (m->quit || r < 0)
			break;
		if (c->mode == CPU_RUNNING ||
		    (c->mode == CPU_HALTED && cpu_wakes(c)))
			break;
		pthread_cond_wait(&m->wake, &m->pf.lock);
	}
	if (!m->quit && r == 0) {
		c->mode = CPU_RUNNING;
		if (!c->nmi && platform_pending(&m->pf, c->id) >= 0) {
			if (cpu_interruptible(exit))
				vector = platform_ack(&m->pf, c->id);
			else
				want_window = true;
		}
	}
	platform_unlock(&m->pf);
	if (m->quit || r < 0)
		return false;

	/* NVMM runs one NMI at a time: the next waits for the window to close. */
	if (c->nmi && !exit->exitstate.nmi_window_exiting) {
		c->nmi = false;
		r = inject(c, NVMM_VCPU_EVENT_INTR, 2);
	} else if (vector >= 0) {
		r = inject(c, NVMM_VCPU_EVENT_INTR, (uint8_t)vector);
	}
	if (r == 0)
		r = set_window(c, want_window);
	return r == 0;
}

/* Opcodes (after prefixes) that KVM's emulator is known to give up on. */
static const char *const insn_names[][2] = {
	{ "0fc7", "CMPXCHG8B/CMPXCHG16B" },
	{ "0fae", "an FXSAVE/XSAVE/XRSTOR-family instruction" },
	{ "0f38", "an SSSE3/SSE4 instruction" },
	{ "0f3a", "an SSSE3/SSE4 instruction" },
	{ "0f01", "a system instruction (XGETBV, SWAPGS, ...)" },
	{ "cc", "INT3" },
};

/* Legacy and REX prefixes, skipped to name the opcode. */
static bool
is_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3 ||
	    b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 ||
	    b == 0x65 || (b & 0xF0) == 0x40;
}

/* "the instruction at RIP": its bytes and, when known, its name. */
static void
describe_rip(struct cpu *c, char *buf, size_t len)
{
	struct nvmm_x64_state *st = c->vcpu.state;
	char hex[3 * 15 + 1] = "", key[5] = "";
	const char *name = NULL;
	uintptr_t hva;
	nvmm_prot_t prot;
	gpaddr_t gpa;
	uint64_t rip;

	nvmm_vcpu_getstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_GPRS |
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS);
	rip = st->gprs[NVMM_X64_GPR_RIP];
	if (nvmm_gva_to_gpa(&c->m->mach, &c->vcpu,
	    st->segs[NVMM_X64_SEG_CS].base + rip, &gpa, &prot) == 0 &&
	    nvmm_gpa_to_hva(&c->m->mach, gpa, &hva, &prot) == 0) {
		const uint8_t *b = (const uint8_t *)hva;
		size_t n = 0x1000 - (gpa & 0xFFF);

		if (n > 15)
			n = 15;
		size_t op = 0;

		for (size_t i = 0; i < n; i++)
			snprintf(hex + 3 * i, 4, " %02x", b[i]);
		while (op + 2 < n && is_prefix(b[op]))
			op++;
		snprintf(key, sizeof(key), "%02x%02x", b[op], b[op + 1]);
		for (size_t i = 0; i < sizeof(insn_names) / sizeof(insn_names[0]); i++)
			if (strncmp(key, insn_names[i][0],
			    strlen(insn_names[i][0])) == 0)
				name = insn_names[i][1];
	}
	snprintf(buf, len, "rip 0x%llx (bytes:%s)%s%s",
	    (unsigned long long)rip, hex[0] ? hex : " unreadable",
	    name ? ", " : "", name ? name : "");
}

/* The MSRs a PC guest reads that NVMM leaves to the VMM, as QEMU answers them. */
static int
msr_exit(struct cpu *c, const struct nvmm_vcpu_exit *exit)
{
	struct nvmm_x64_state *st = c->vcpu.state;
	uint64_t val = 0;

	if (nvmm_vcpu_getstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_GPRS) != 0)
		return -errno;
	if (exit->reason == NVMM_VCPU_EXIT_RDMSR) {
		if (exit->u.rdmsr.msr == 0x1B)	/* APIC base: enabled, BSP on 0 */
			val = PC_LAPIC_BASE | 0x800 | (c->id == 0 ? 0x100 : 0);
		st->gprs[NVMM_X64_GPR_RAX] = (uint32_t)val;
		st->gprs[NVMM_X64_GPR_RDX] = val >> 32;
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.rdmsr.npc;
	} else {
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.wrmsr.npc;
	}
	return nvmm_vcpu_setstate(&c->m->mach, &c->vcpu, NVMM_X64_STATE_GPRS) ==
	    0 ? 0 : -errno;
}

/* Handles one exit; false ends the machine. */
static bool
cpu_exit(struct cpu *c)
{
	const struct nvmm_vcpu_exit *exit = c->vcpu.exit;
	struct machine *m = c->m;
	char what[160];

	switch (exit->reason) {
	case NVMM_VCPU_EXIT_IO:
		c->stats[STAT_IO]++;
		if (nvmm_assist_io(&m->mach, &c->vcpu) == 0)
			return true;
		describe_rip(c, what, sizeof(what));
		platform_lock(&m->pf);
		finish(m, 2, "cpu %u: cannot complete port I/O at %s: %s",
		    c->id, what, strerror(errno));
		platform_unlock(&m->pf);
		return false;
	case NVMM_VCPU_EXIT_MEMORY:
		c->stats[STAT_MMIO]++;
		if (nvmm_assist_mem(&m->mach, &c->vcpu) == 0)
			return true;
		describe_rip(c, what, sizeof(what));
		platform_lock(&m->pf);
		finish(m, 2, "cpu %u: cannot emulate the MMIO access to 0x%llx "
		    "at %s", c->id, (unsigned long long)exit->u.mem.gpa, what);
		platform_unlock(&m->pf);
		return false;
	case NVMM_VCPU_EXIT_RDMSR:
	case NVMM_VCPU_EXIT_WRMSR:
		c->stats[STAT_MSR]++;
		return msr_exit(c, exit) == 0;
	case NVMM_VCPU_EXIT_HALTED:
		c->stats[STAT_HALT]++;
		platform_lock(&m->pf);
		c->mode = CPU_HALTED;
		platform_unlock(&m->pf);
		return true;
	case NVMM_VCPU_EXIT_INT_READY:
		c->window = false;
		c->stats[STAT_WINDOW]++;
		return true;
	case NVMM_VCPU_EXIT_NMI_READY:
	case NVMM_VCPU_EXIT_TPR_CHANGED:
		c->stats[STAT_WINDOW]++;
		return true;
	case NVMM_VCPU_EXIT_STOPPED:
	case NVMM_VCPU_EXIT_NONE:
		c->stats[STAT_STOP]++;
		return true;
	case NVMM_VCPU_EXIT_SHUTDOWN:
		describe_rip(c, what, sizeof(what));
		platform_lock(&m->pf);
		finish(m, 2, "cpu %u: triple fault at %s", c->id, what);
		platform_unlock(&m->pf);
		return false;
	default:
		describe_rip(c, what, sizeof(what));
		platform_lock(&m->pf);
		if (exit->reason == NVMM_VCPU_EXIT_INVALID &&
		    (exit->u.inv.hwcode & 0xFFFFFFFF) == 17 &&
		    (exit->u.inv.hwcode >> 32) == 1)
			finish(m, 2, "cpu %u: the host's KVM cannot emulate the "
			    "instruction at %s; this host runs guests in software "
			    "(no VT-x/AMD-V), use one with hardware "
			    "virtualization", c->id, what);
		else
			finish(m, 2, "cpu %u: the host's KVM cannot run the guest "
			    "(exit 0x%llx, code 0x%llx) at %s", c->id,
			    (unsigned long long)exit->reason,
			    (unsigned long long)exit->u.inv.hwcode, what);
		platform_unlock(&m->pf);
		return false;
	}
}

static void *
cpu_main(void *arg)
{
	struct cpu *c = arg;
	struct machine *m = c->m;

	while (cpu_prepare(c)) {
		if (nvmm_vcpu_run(&m->mach, &c->vcpu) != 0) {
			platform_lock(&m->pf);
			finish(m, 2, "cpu %u: run failed: %s", c->id,
			    strerror(errno));
			platform_unlock(&m->pf);
			break;
		}
		if (!cpu_exit(c))
			break;
	}
	return NULL;
}

int
machine_run(struct machine *m, char *err, size_t errlen)
{
	unsigned started = 0;
	int r;

	r = platform_start(&m->pf);
	for (unsigned i = 0; r == 0 && i < m->ncpus; i++) {
		r = -pthread_create(&m->cpu[i].thread, NULL, cpu_main, &m->cpu[i]);
		if (r == 0)
			started++;
	}
	platform_lock(&m->pf);
	if (r < 0)
		finish(m, 1, "cannot start the VCPU threads: %s", strerror(-r));
	while (!m->quit)
		pthread_cond_wait(&m->wake, &m->pf.lock);
	platform_unlock(&m->pf);
	for (unsigned i = 0; i < started; i++)
		pthread_join(m->cpu[i].thread, NULL);
	snprintf(err, errlen, "%s", m->msg);
	return m->status;
}

void
machine_quit(struct machine *m, int status, const char *why)
{
	platform_lock(&m->pf);
	finish(m, status, "%s", why);
	platform_unlock(&m->pf);
}

size_t
machine_console_in(struct machine *m, const uint8_t *buf, size_t n)
{
	return platform_console_in(&m->pf, buf, n);
}

void
machine_print_stats(struct machine *m, double seconds)
{
	static const char *const names[NSTATS] = {
		"io", "mmio", "msr", "hlt", "window", "stop",
	};
	uint64_t total = 0, sum[NSTATS] = { 0 };

	for (unsigned i = 0; i < m->ncpus; i++)
		for (int s = 0; s < NSTATS; s++) {
			sum[s] += m->cpu[i].stats[s];
			total += m->cpu[i].stats[s];
		}
	fprintf(stderr, "nvmm-run: %llu exits in %.2f s (%.0f/s):",
	    (unsigned long long)total, seconds,
	    seconds > 0 ? (double)total / seconds : 0.0);
	for (int s = 0; s < NSTATS; s++)
		fprintf(stderr, " %s %llu", names[s], (unsigned long long)sum[s]);
	fprintf(stderr, "\n");
}
