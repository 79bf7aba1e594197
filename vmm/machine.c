/*
 * The machine on libnvmm: see machine.h.
 */
#include "machine.h"

#include <errno.h>
#include <nvmm.h>
#include <nvmm_ext.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pc.h"
#include "platform.h"
#include "snapshot.h"

#define RFLAGS_IF	(1ULL << 9)

enum cpu_mode {
	CPU_RUNNING,
	CPU_HALTED,
	CPU_WAIT_SIPI,		/* an AP before its startup IPI, or after INIT */
};

struct cpu {
	struct machine *m;
	unsigned id;
	struct nvmm_vcpu vcpu;
	pthread_t thread;
	enum cpu_mode mode;
	bool nmi;		/* an NMI to inject */
	bool window;		/* the interrupt window is asked for */
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

	/* Snapshots: VCPU threads park at the top of their loop while pause. */
	bool pause;
	unsigned parked;
	size_t xsave_size;
	uint32_t snapshots;	/* written to the file since the full one */
	bool tracking;		/* dirty pages are logged since the last one */
	struct snap_mark mark;	/* the file as the last one left it */

	/* nvmm-run --gdb: VCPUs the debugger holds park as for a snapshot. */
	const struct machine_debugger *dbg;
	bool dbg_hold;		/* all held: the machine is stopped */
	int dbg_only;		/* else the one VCPU let run, or -1 for all */
	bool dbg_report;	/* call dbg->stopped once all are parked */
	struct machine_stop dbg_stop;
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
	if (nvmmx_xsave_size(&m->mach, &m->xsave_size) != 0) {
		snprintf(err, errlen, "cannot size the XSAVE area: %s",
		    strerror(errno));
		platform_destroy(&m->pf);
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

/* With the platform lock: the debugger keeps this VCPU from running. */
static bool
cpu_held(const struct cpu *c)
{
	const struct machine *m = c->m;

	return m->dbg != NULL && (m->dbg_hold ||
	    (m->dbg_only >= 0 && m->dbg_only != (int)c->id));
}

/* With the platform lock: the debugger hears when every VCPU is parked. */
static void
debug_report(struct machine *m)
{
	if (m->dbg_report && m->parked == m->ncpus) {
		m->dbg_report = false;
		m->dbg->stopped(m->dbg->opaque);
	}
}

/* With the platform lock: all VCPUs stop for the debugger (all-stop). */
static void
debug_stop(struct machine *m, const struct machine_stop *st)
{
	if (m->dbg == NULL || m->dbg_hold)
		return;	/* detached, or already stopping for another reason */
	m->dbg_hold = true;
	m->dbg_report = true;
	m->dbg_stop = *st;
	for (unsigned i = 0; i < m->ncpus; i++)
		kick(m, i);
	debug_report(m);	/* all parked already, for a snapshot */
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
		/* A snapshot or gdb: wait here, between exits, nothing half done. */
		while ((m->pause || cpu_held(c)) && !m->quit) {
			m->parked++;
			debug_report(m);
			pthread_cond_broadcast(&m->wake);
			pthread_cond_wait(&m->wake, &m->pf.lock);
			m->parked--;
		}
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
		if (nvmm_assist_io(&m->mach, &c->vcpu) == 0)
			return true;
		describe_rip(c, what, sizeof(what));
		platform_lock(&m->pf);
		finish(m, 2, "cpu %u: cannot complete port I/O at %s: %s",
		    c->id, what, strerror(errno));
		platform_unlock(&m->pf);
		return false;
	case NVMM_VCPU_EXIT_MEMORY:
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
		return msr_exit(c, exit) == 0;
	case NVMM_VCPU_EXIT_HALTED:
		platform_lock(&m->pf);
		c->mode = CPU_HALTED;
		platform_unlock(&m->pf);
		return true;
	case NVMM_VCPU_EXIT_INT_READY:
		c->window = false;
		return true;
	case NVMM_VCPU_EXIT_NMI_READY:
	case NVMM_VCPU_EXIT_TPR_CHANGED:
		return true;
	case NVMMX_VCPU_EXIT_DEBUG: {
		struct nvmmx_exit_debug d = nvmmx_exit_debug(exit);
		struct machine_stop st = {
			.cpu = c->id, .vector = d.vector, .dr6 = d.dr6, .pc = d.pc,
		};

		platform_lock(&m->pf);
		debug_stop(m, &st);
		platform_unlock(&m->pf);
		return true;
	}
	case NVMM_VCPU_EXIT_STOPPED:
	case NVMM_VCPU_EXIT_NONE:
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

/* One line: exits, time, then the count of each kind of exit there was. */
static void
print_stats(const char *who, const struct nvmmx_vcpu_stats *s, double seconds)
{
	fprintf(stderr, "nvmm-run: %s: %llu exits in %.2f s (%.0f/s), %.2f s "
	    "in the guest, %.2f s in the VMM:", who,
	    (unsigned long long)s->runs, seconds,
	    seconds > 0 ? (double)s->runs / seconds : 0.0,
	    (double)s->guest_ns / 1e9, (double)s->vmm_ns / 1e9);
	for (int i = 0; i < NVMMX_STAT_NEXITS; i++)
		if (s->exits[i] != 0)
			fprintf(stderr, " %s %llu", nvmmx_stat_name(i),
			    (unsigned long long)s->exits[i]);
	fprintf(stderr, "%s\n", s->runs == 0 ? " none" : "");
}

/* libnvmm counts every run's exit: per CPU, then the sums. */
void
machine_print_stats(struct machine *m, double seconds)
{
	struct nvmmx_vcpu_stats s, total;
	char who[32];

	memset(&total, 0, sizeof(total));
	for (unsigned i = 0; i < m->ncpus; i++) {
		if (nvmmx_vcpu_stats(&m->mach, &m->cpu[i].vcpu, &s) != 0) {
			fprintf(stderr, "nvmm-run: cpu %u: no statistics: %s\n",
			    i, strerror(errno));
			continue;
		}
		snprintf(who, sizeof(who), "cpu %u", i);
		print_stats(who, &s, seconds);
		total.runs += s.runs;
		total.guest_ns += s.guest_ns;
		total.vmm_ns += s.vmm_ns;
		for (int e = 0; e < NVMMX_STAT_NEXITS; e++)
			total.exits[e] += s.exits[e];
	}
	print_stats("total", &total, seconds);
}

/* ---- Snapshots ----------------------------------------------------------- */

#define CPU_TAG		HW_TAG('V', 'C', 'P', 'U')

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* With the platform lock: every VCPU thread parked; false when ending. */
static bool
pause_cpus(struct machine *m)
{
	m->pause = true;
	for (unsigned i = 0; i < m->ncpus; i++)
		kick(m, i);
	while (m->parked < m->ncpus && !m->quit)
		pthread_cond_wait(&m->wake, &m->pf.lock);
	return !m->quit;
}

static void
resume_cpus(struct machine *m)
{
	m->pause = false;
	pthread_cond_broadcast(&m->wake);
}

/*
 * A run that stops before the guest: what setstate() marked reaches KVM
 * now, and the state is read afresh. The TSC of a CPU halted or just
 * restored goes on from now, not from its last exit or its first run.
 */
static int
cpu_sync(struct cpu *c)
{
	if (nvmm_vcpu_stop(&c->vcpu) != 0 ||
	    nvmm_vcpu_run(&c->m->mach, &c->vcpu) != 0)
		return -errno;
	return 0;
}

/*
 * A VCPU: its id and run-loop state, then NVMM's whole state, the XSAVE
 * area and what NVMM's state lacks, each with its size.
 */
static int
cpu_save(struct cpu *c, struct hw_blob *b, void *xsave)
{
	struct machine *m = c->m;
	struct nvmmx_vcpu_extra extra;

	if (cpu_sync(c) != 0 ||
	    nvmm_vcpu_getstate(&m->mach, &c->vcpu, NVMM_X64_STATE_ALL) != 0 ||
	    nvmmx_vcpu_getxsave(&m->mach, &c->vcpu, xsave, m->xsave_size) != 0 ||
	    nvmmx_vcpu_getextra(&m->mach, &c->vcpu, &extra) != 0)
		return -errno;
	hw_blob_put_header(b, CPU_TAG, 1);
	hw_put32(b, c->id);
	hw_put8(b, (uint8_t)c->mode);
	hw_put8(b, c->nmi);
	hw_put8(b, c->window);
	hw_put32(b, sizeof(struct nvmm_x64_state));
	hw_put_bytes(b, c->vcpu.state, sizeof(struct nvmm_x64_state));
	hw_put32(b, (uint32_t)m->xsave_size);
	hw_put_bytes(b, xsave, m->xsave_size);
	hw_put32(b, sizeof(extra));
	hw_put_bytes(b, &extra, sizeof(extra));
	return hw_blob_saved(b);
}

/* VCPU ID's record, as cpu_save() wrote it on this build and host. */
static int
cpu_load(struct machine *m, unsigned id, const void *data, size_t len,
    void *xsave)
{
	struct nvmmx_vcpu_extra extra;
	struct nvmm_x64_state *st;
	struct hw_blob b;
	struct cpu *c = &m->cpu[id];
	uint8_t mode;
	bool ok;
	int r;

	hw_blob_reader(&b, data, len);
	r = hw_blob_get_header(&b, CPU_TAG, 1);
	if (r == 0 && hw_get32(&b) != id)
		r = -EINVAL;
	if (r < 0)
		return r;
	st = c->vcpu.state;
	mode = hw_get8(&b);
	c->nmi = hw_get_bool(&b);
	c->window = hw_get_bool(&b);
	ok = hw_get32(&b) == sizeof(*st);
	hw_get_bytes(&b, st, ok ? sizeof(*st) : 0);
	ok = ok && hw_get32(&b) == m->xsave_size;
	hw_get_bytes(&b, xsave, ok ? m->xsave_size : 0);
	ok = ok && hw_get32(&b) == sizeof(extra);
	hw_get_bytes(&b, &extra, ok ? sizeof(extra) : 0);
	r = hw_blob_done(&b, !ok || mode > CPU_WAIT_SIPI);
	if (r < 0)
		return r;
	c->mode = mode;
	/* The XSAVE area after the state: it has the FPU's too, and more. */
	/* The run loop reads IF and the shadows from the last exit: the sync's. */
	if (nvmm_vcpu_setstate(&m->mach, &c->vcpu, NVMM_X64_STATE_ALL) != 0 ||
	    nvmmx_vcpu_setxsave(&m->mach, &c->vcpu, xsave, m->xsave_size) != 0 ||
	    nvmmx_vcpu_setextra(&m->mach, &c->vcpu, &extra) != 0)
		return -errno;
	return cpu_sync(c);
}

/* Guest RAM as NVMM maps it: low RAM at 0, the rest at 4 GiB. */
static int
ram_ranges(struct machine *m, gpaddr_t gpa[2], size_t len[2])
{
	gpa[0] = 0;
	len[0] = m->ram.low;
	gpa[1] = PC_HIGH_RAM;
	len[1] = m->mem - m->ram.low;
	return len[1] > 0 ? 2 : 1;
}

/* The pages written since the last fetch, one bit per page of m->host. */
static int
fetch_dirty(struct machine *m, uint64_t *bitmap)
{
	uint64_t low_pages = m->ram.low / SNAP_PAGE, *high;
	size_t high_pages = (m->mem - m->ram.low) / SNAP_PAGE;
	gpaddr_t gpa[2];
	size_t len[2];
	int n = ram_ranges(m, gpa, len);

	if (nvmmx_dirty_fetch(&m->mach, gpa[0], len[0], bitmap) != 0)
		return -errno;
	if (n == 1)
		return 0;
	high = calloc((high_pages + 63) / 64, sizeof(*high));
	if (high == NULL)
		return -ENOMEM;
	if (nvmmx_dirty_fetch(&m->mach, gpa[1], len[1], high) != 0) {
		free(high);
		return -errno;
	}
	for (size_t i = 0; i < high_pages; i++)
		if (high[i / 64] >> (i % 64) & 1)
			bitmap[(low_pages + i) / 64] |= 1ULL << ((low_pages + i) % 64);
	free(high);
	return 0;
}

static int
track_dirty(struct machine *m)
{
	gpaddr_t gpa[2];
	size_t len[2];
	int n = ram_ranges(m, gpa, len);

	for (int i = 0; i < n; i++)
		if (nvmmx_dirty_start(&m->mach, gpa[i], len[i]) != 0)
			return -errno;
	return 0;
}

/* The pages of a full snapshot: all but those of zeros. */
static void
nonzero_pages(const struct machine *m, uint64_t *bitmap)
{
	const uint64_t *w = m->host;
	uint64_t npages = m->mem / SNAP_PAGE;

	memset(bitmap, 0, (npages + 63) / 64 * sizeof(*bitmap));
	for (uint64_t p = 0; p < npages; p++, w += SNAP_PAGE / 8) {
		uint64_t any = 0;

		for (unsigned i = 0; i < SNAP_PAGE / 8; i++)
			any |= w[i];
		if (any != 0)
			bitmap[p / 64] |= 1ULL << (p % 64);
	}
}

/* With the VCPUs parked: the records of one snapshot, and its COMMIT. */
static int
write_snapshot(struct machine *m, struct snap_writer *w, bool full,
    uint64_t *bitmap)
{
	struct hw_blob b;
	void *xsave = malloc(m->xsave_size);
	int r = xsave == NULL ? -ENOMEM : 0;

	if (r == 0 && full)
		nonzero_pages(m, bitmap);
	if (r == 0)
		r = snap_put_ram(w, m->host, m->mem / SNAP_PAGE, bitmap);
	for (unsigned i = 0; r == 0 && i < m->ncpus; i++) {
		hw_blob_writer(&b);
		r = cpu_save(&m->cpu[i], &b, xsave);
		if (r == 0)
			r = snap_put(w, SNAP_CPU, b.buf, b.len);
		hw_blob_free(&b);
	}
	hw_blob_writer(&b);
	if (r == 0)
		r = platform_save(&m->pf, &b);
	if (r == 0)
		r = snap_put(w, SNAP_DEVICES, b.buf, b.len);
	hw_blob_free(&b);
	free(xsave);
	if (r == 0)
		r = snap_commit(w, full ? 1 : m->snapshots + 1, &m->mark);
	else
		snap_abort(w);
	return r;
}

int
machine_snapshot(struct machine *m, const char *path, char *msg, size_t len)
{
	struct snap_config cfg = { .mem = m->mem, .ncpus = m->ncpus };
	uint64_t npages = m->mem / SNAP_PAGE, *bitmap;
	struct snap_writer w;
	bool full;
	struct timespec t0;
	int r;

	bitmap = calloc((npages + 63) / 64, sizeof(*bitmap));
	if (bitmap == NULL) {
		snprintf(msg, len, "snapshot: out of memory");
		return -ENOMEM;
	}
	platform_lock(&m->pf);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!pause_cpus(m)) {
		r = -ECANCELED;
		goto out;
	}
	/*
	 * Tracking from the full snapshot on; a failed delta loses pages. A
	 * file moved away or changed since gets a full one, anew.
	 */
	full = !m->tracking || !snap_unchanged(path, &m->mark);
	r = m->tracking ? fetch_dirty(m, bitmap) : track_dirty(m);
	m->tracking = r == 0;
	if (r == 0)
		r = snap_begin(&w, path, !full, &cfg);
	if (r == 0)
		r = write_snapshot(m, &w, full, bitmap);
	if (r < 0)
		m->tracking = false;
	else
		m->snapshots = full ? 1 : m->snapshots + 1;
out:
	resume_cpus(m);
	platform_unlock(&m->pf);
	if (r == 0) {
		uint64_t pages = 0;

		for (uint64_t i = 0; i < (npages + 63) / 64; i++)
			pages += (uint64_t)__builtin_popcountll(bitmap[i]);
		snprintf(msg, len, "snapshot %u to %s: %s, %llu of %llu pages, "
		    "file %llu KiB, %.0f ms", m->snapshots, path,
		    full ? "full" : "incremental", (unsigned long long)pages,
		    (unsigned long long)npages,
		    (unsigned long long)(m->mark.size >> 10),
		    ms_since(&t0));
	} else {
		snprintf(msg, len, "snapshot to %s failed: %s", path,
		    strerror(-r));
	}
	free(bitmap);
	return r;
}

int
machine_restore(struct machine *m, struct snap_file *f, char *err,
    size_t errlen)
{
	const void *cpus[PLATFORM_MAX_CPUS] = { NULL }, *devs = NULL, *data;
	uint64_t cpu_len[PLATFORM_MAX_CPUS] = { 0 }, devs_len = 0, len;
	enum snap_type type;
	unsigned ncpu = 0;
	void *xsave;
	int r = 0;

	if (f->cfg.mem != m->mem || f->cfg.ncpus != m->ncpus) {
		snprintf(err, errlen, "the machine differs from the file's");
		return -EINVAL;
	}
	/* RAM from every snapshot in turn; the rest from the last. */
	while (r == 0 && snap_next(f, &type, &data, &len)) {
		if (type == SNAP_RAM) {
			r = snap_load_ram(data, len, m->host, m->mem);
		} else if (type == SNAP_CPU && ncpu < m->ncpus) {
			cpus[ncpu] = data;
			cpu_len[ncpu++] = len;
		} else if (type == SNAP_DEVICES) {
			devs = data;
			devs_len = len;
		} else if (type == SNAP_COMMIT) {
			ncpu = 0;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "a RAM record of another machine");
		return r;
	}
	xsave = malloc(m->xsave_size);
	if (xsave == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; r == 0 && i < m->ncpus; i++) {
		r = cpu_load(m, i, cpus[i], cpu_len[i], xsave);
		if (r < 0)
			snprintf(err, errlen, "CPU %u: %s", i, r == -EINVAL ||
			    r == -EBADMSG ? "a record this nvmm-run can't load" :
			    strerror(-r));
	}
	free(xsave);
	if (r == 0) {
		r = platform_load(&m->pf, devs, devs_len);
		if (r < 0)
			snprintf(err, errlen, "devices: a record this nvmm-run "
			    "can't load");
	}
	return r;
}

/* ---- Debugging (nvmm-run --gdb) --------------------------------------- */

void
machine_debug(struct machine *m, const struct machine_debugger *d)
{
	platform_lock(&m->pf);
	m->dbg = d;
	m->dbg_hold = true;
	m->dbg_only = -1;
	platform_unlock(&m->pf);
}

void
machine_resume(struct machine *m, int cpu)
{
	platform_lock(&m->pf);
	m->dbg_hold = false;
	m->dbg_only = cpu;
	pthread_cond_broadcast(&m->wake);
	platform_unlock(&m->pf);
}

void
machine_interrupt(struct machine *m)
{
	struct machine_stop st = { .interrupted = true };

	platform_lock(&m->pf);
	st.cpu = m->dbg_only >= 0 ? (unsigned)m->dbg_only : 0;
	debug_stop(m, &st);
	platform_unlock(&m->pf);
}

void
machine_stopped(struct machine *m, struct machine_stop *st)
{
	platform_lock(&m->pf);
	*st = m->dbg_stop;
	platform_unlock(&m->pf);
}

void
machine_undebug(struct machine *m)
{
	platform_lock(&m->pf);
	m->dbg = NULL;
	m->dbg_hold = false;
	m->dbg_report = false;
	m->dbg_only = -1;
	pthread_cond_broadcast(&m->wake);
	platform_unlock(&m->pf);
}

unsigned
machine_ncpus(const struct machine *m)
{
	return m->ncpus;
}

struct nvmm_machine *
machine_nvmm(struct machine *m)
{
	return &m->mach;
}

struct nvmm_vcpu *
machine_vcpu(struct machine *m, unsigned cpu)
{
	return &m->cpu[cpu].vcpu;
}
