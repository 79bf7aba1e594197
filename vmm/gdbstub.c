/*
 * The gdb server of nvmm-run: see gdbstub.h. The protocol is gdb.c's; here
 * are the socket, the thread, and its target on libnvmm: registers from
 * the VCPU state, guest-virtual memory through the guest's page tables,
 * breakpoints and steps with nvmmx_vcpu_debug().
 */
#include "gdbstub.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nvmm.h>
#include <nvmm_ext.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb.h"
#include "machine.h"

#define STATE_REGS	(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | \
			 NVMM_X64_STATE_FPU)
#define PAGE		4096

static struct machine *m;
static struct gdb g;
static int conn = -1;
static int stop_pipe[2] = { -1, -1 };	/* the machine stopped */
static int end_pipe[2] = { -1, -1 };	/* the guest ended */
static int end_status;
static pthread_t thread;
static bool started;

/* gdb's register order, in NVMM's indexes. */
static const int gpr_index[16] = {
	NVMM_X64_GPR_RAX, NVMM_X64_GPR_RBX, NVMM_X64_GPR_RCX, NVMM_X64_GPR_RDX,
	NVMM_X64_GPR_RSI, NVMM_X64_GPR_RDI, NVMM_X64_GPR_RBP, NVMM_X64_GPR_RSP,
	NVMM_X64_GPR_R8, NVMM_X64_GPR_R9, NVMM_X64_GPR_R10, NVMM_X64_GPR_R11,
	NVMM_X64_GPR_R12, NVMM_X64_GPR_R13, NVMM_X64_GPR_R14, NVMM_X64_GPR_R15,
};
static const int seg_index[6] = {
	NVMM_X64_SEG_CS, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS, NVMM_X64_SEG_ES,
	NVMM_X64_SEG_FS, NVMM_X64_SEG_GS,
};

/* ---- The target --------------------------------------------------------- */

/* The x87 tag of a non-empty register, by its value: valid, zero, special. */
static unsigned
fp_tag(const struct fpacc87 *r)
{
	unsigned exp = r->f87_exp_sign & 0x7FFF;

	if (exp == 0x7FFF)
		return 2;
	if (exp == 0)
		return r->f87_mantissa == 0 ? 1 : 2;
	return (r->f87_mantissa >> 63) ? 0 : 2;
}

/*
 * FXSAVE keeps one "not empty" bit per physical register where gdb wants
 * the full tag word; ST(i) is physical register TOP + i.
 */
static int
get_regs(void *opaque, unsigned cpu, struct gdb_regs *r)
{
	struct nvmm_vcpu *vcpu = machine_vcpu(m, cpu);
	const struct nvmm_x64_state *st = vcpu->state;
	const struct fxsave *fx = &st->fpu;
	unsigned top = (fx->fx_sw >> 11) & 7;

	(void)opaque;
	if (nvmm_vcpu_getstate(machine_nvmm(m), vcpu, STATE_REGS) != 0)
		return -errno;
	for (unsigned i = 0; i < 16; i++)
		r->gpr[i] = st->gprs[gpr_index[i]];
	r->rip = st->gprs[NVMM_X64_GPR_RIP];
	r->eflags = (uint32_t)st->gprs[NVMM_X64_GPR_RFLAGS];
	for (unsigned i = 0; i < 6; i++)
		r->seg[i] = st->segs[seg_index[i]].selector;
	r->fpu[0] = fx->fx_cw;
	r->fpu[1] = fx->fx_sw;
	r->fpu[2] = 0;
	for (unsigned i = 0; i < 8; i++) {
		unsigned phys = (top + i) & 7;

		memcpy(r->st[i], &fx->fx_87_ac[i].r, 10);
		r->fpu[2] |= ((fx->fx_tw >> phys & 1) ?
		    fp_tag(&fx->fx_87_ac[i].r) : 3) << (2 * phys);
	}
	r->fpu[3] = (fx->fx_ip.fa_64 >> 32) & 0xFFFF;
	r->fpu[4] = (uint32_t)fx->fx_ip.fa_64;
	r->fpu[5] = (fx->fx_dp.fa_64 >> 32) & 0xFFFF;
	r->fpu[6] = (uint32_t)fx->fx_dp.fa_64;
	r->fpu[7] = fx->fx_opcode;
	for (unsigned i = 0; i < 16; i++)
		memcpy(r->xmm[i], fx->fx_xmm[i].xmm_bytes, 16);
	r->mxcsr = fx->fx_mxcsr;
	r->fs_base = st->segs[NVMM_X64_SEG_FS].base;
	r->gs_base = st->segs[NVMM_X64_SEG_GS].base;
	return 0;
}

/* A selector changes alone: the segment's cached base and limit stay. */
static int
set_regs(void *opaque, unsigned cpu, const struct gdb_regs *r)
{
	struct nvmm_vcpu *vcpu = machine_vcpu(m, cpu);
	struct nvmm_x64_state *st = vcpu->state;
	struct fxsave *fx = &st->fpu;
	uint64_t *rflags = &st->gprs[NVMM_X64_GPR_RFLAGS];

	(void)opaque;
	if (nvmm_vcpu_getstate(machine_nvmm(m), vcpu, STATE_REGS) != 0)
		return -errno;
	for (unsigned i = 0; i < 16; i++)
		st->gprs[gpr_index[i]] = r->gpr[i];
	st->gprs[NVMM_X64_GPR_RIP] = r->rip;
	*rflags = (*rflags & ~0xFFFFFFFFULL) | r->eflags;
	for (unsigned i = 0; i < 6; i++)
		st->segs[seg_index[i]].selector = (uint16_t)r->seg[i];
	fx->fx_cw = (uint16_t)r->fpu[0];
	fx->fx_sw = (uint16_t)r->fpu[1];
	fx->fx_tw = 0;
	for (unsigned phys = 0; phys < 8; phys++)
		if ((r->fpu[2] >> (2 * phys) & 3) != 3)
			fx->fx_tw |= (uint8_t)(1 << phys);
	fx->fx_ip.fa_64 = (uint64_t)(r->fpu[3] & 0xFFFF) << 32 | r->fpu[4];
	fx->fx_dp.fa_64 = (uint64_t)(r->fpu[5] & 0xFFFF) << 32 | r->fpu[6];
	fx->fx_opcode = (uint16_t)r->fpu[7];
	for (unsigned i = 0; i < 8; i++)
		memcpy(&fx->fx_87_ac[i].r, r->st[i], 10);
	for (unsigned i = 0; i < 16; i++)
		memcpy(fx->fx_xmm[i].xmm_bytes, r->xmm[i], 16);
	fx->fx_mxcsr = r->mxcsr;
	st->segs[NVMM_X64_SEG_FS].base = r->fs_base;
	st->segs[NVMM_X64_SEG_GS].base = r->gs_base;
	return nvmm_vcpu_setstate(machine_nvmm(m), vcpu, STATE_REGS) == 0 ?
	    0 : -errno;
}

/* The host bytes of gva up to its page's end (room), or NULL if unmapped. */
static uint8_t *
guest_bytes(unsigned cpu, uint64_t gva, size_t *room)
{
	struct nvmm_machine *mach = machine_nvmm(m);
	nvmm_prot_t prot;
	gpaddr_t gpa;
	uintptr_t hva;

	if (nvmm_gva_to_gpa(mach, machine_vcpu(m, cpu), gva, &gpa,
	    &prot) != 0 || nvmm_gpa_to_hva(mach, gpa, &hva, &prot) != 0)
		return NULL;
	*room = PAGE - (gva & (PAGE - 1));
	return (uint8_t *)hva;
}

/* Page by page, to the first byte that is not guest RAM. */
static size_t
copy_mem(unsigned cpu, uint64_t gva, uint8_t *buf, size_t len, bool write)
{
	size_t done = 0, room;
	uint8_t *p;

	while (done < len &&
	    (p = guest_bytes(cpu, gva + done, &room)) != NULL) {
		size_t n = len - done < room ? len - done : room;

		if (write)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
	}
	return done;
}

static size_t
read_mem(void *opaque, unsigned cpu, uint64_t gva, uint8_t *buf, size_t len)
{
	(void)opaque;
	return copy_mem(cpu, gva, buf, len, false);
}

static size_t
write_mem(void *opaque, unsigned cpu, uint64_t gva, const uint8_t *buf,
    size_t len)
{
	(void)opaque;
	return copy_mem(cpu, gva, (uint8_t *)buf, len, true);
}

static int
set_debug(void *opaque, unsigned cpu, const struct gdb_debug *d)
{
	struct nvmmx_debug x = { .dr7 = d->dr7 };

	(void)opaque;
	x.flags = (d->step ? NVMMX_DEBUG_STEP : 0) |
	    (d->swbp ? NVMMX_DEBUG_SWBP : 0) | (d->dr7 ? NVMMX_DEBUG_HWBP : 0);
	memcpy(x.dr, d->dr, sizeof(x.dr));
	if (nvmmx_vcpu_debug(machine_nvmm(m), machine_vcpu(m, cpu), &x) != 0)
		return -errno;
	return 0;
}

static void
resume(void *opaque, int cpu)
{
	(void)opaque;
	machine_resume(m, cpu);
}

static void
interrupt(void *opaque)
{
	(void)opaque;
	machine_interrupt(m);
}

/* A closed connection shows as end of input; never SIGPIPE. */
static void
send_bytes(void *opaque, const void *buf, size_t len)
{
	const char *p = buf;

	(void)opaque;
	while (len > 0) {
		ssize_t n = send(conn, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* From the machine, with its lock held: wake the server thread. */
static void
stopped(void *opaque)
{
	(void)opaque;
	if (write(stop_pipe[1], "", 1) < 0)
		return;	/* a full pipe already says it */
}

/* ---- The server thread -------------------------------------------------- */

/* The stop the machine reports, for gdb. */
static void
tell_stop(void)
{
	struct machine_stop st;
	struct gdb_event ev;
	uint8_t b;

	if (read(stop_pipe[0], &b, 1) != 1)
		return;
	machine_stopped(m, &st);
	memset(&ev, 0, sizeof(ev));
	ev.why = st.interrupted ? GDB_WHY_INTERRUPT : GDB_WHY_DEBUG;
	ev.cpu = st.cpu;
	ev.vector = st.vector;
	ev.dr6 = st.dr6;
	ev.pc = st.pc;
	gdb_stopped(&g, &ev);
}

/*
 * gdb went away without detaching: stop the machine if it runs, take the
 * breakpoints out and let it go on. False if the guest ended meanwhile.
 */
static bool
hang_up(void)
{
	struct pollfd pfd[2] = {
		{ stop_pipe[0], POLLIN, 0 }, { end_pipe[0], POLLIN, 0 },
	};
	uint8_t b;

	if (g.running) {
		machine_interrupt(m);
		while (poll(pfd, 2, -1) < 0 && errno == EINTR)
			;
		if (pfd[1].revents || read(stop_pipe[0], &b, 1) != 1)
			return false;
	}
	gdb_detach(&g);
	return true;
}

static void *
serve(void *arg)
{
	uint8_t buf[4096];

	(void)arg;
	for (;;) {
		struct pollfd pfd[3] = {
			{ end_pipe[0], POLLIN, 0 },
			{ stop_pipe[0], POLLIN, 0 },
			{ conn, POLLIN, 0 },
		};
		enum gdb_action a;
		ssize_t n;

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents) {
			struct gdb_event ev = { .why = GDB_WHY_EXIT,
			    .status = end_status };

			if (g.running)
				gdb_stopped(&g, &ev);
			break;
		}
		if (pfd[1].revents)
			tell_stop();
		if (!pfd[2].revents)
			continue;
		n = read(conn, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (hang_up())
				machine_undebug(m);
			break;
		}
		a = gdb_input(&g, buf, (size_t)n);
		if (a == GDB_DETACHED) {
			machine_undebug(m);
			break;
		}
		if (a == GDB_KILLED) {
			machine_quit(m, 0, "killed by gdb");
			break;
		}
	}
	close(conn);
	conn = -1;
	return NULL;
}

/* ---- Setting up --------------------------------------------------------- */

int
gdbstub_listen(unsigned port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int one = 1, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 1) != 0) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%u: %s", port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
gdbstub_start(struct machine *mach, int lfd)
{
	static const struct machine_debugger dbg = { stopped, NULL };
	struct gdb_target t = {
		.opaque = NULL, .get_regs = get_regs, .set_regs = set_regs,
		.read_mem = read_mem, .write_mem = write_mem,
		.set_debug = set_debug, .resume = resume,
		.interrupt = interrupt, .send = send_bytes,
	};
	int one = 1, r;

	m = mach;
	do
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	r = conn < 0 ? -errno : 0;
	close(lfd);
	if (r < 0)
		return r;
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (pipe2(stop_pipe, O_CLOEXEC) != 0 || pipe2(end_pipe, O_CLOEXEC) != 0)
		return -errno;
	t.ncpus = machine_ncpus(m);
	gdb_init(&g, &t);
	machine_debug(m, &dbg);
	r = pthread_create(&thread, NULL, serve, NULL);
	if (r != 0)
		return -r;
	started = true;
	return 0;
}

void
gdbstub_stop(int status)
{
	if (!started)
		return;
	end_status = status;
	if (write(end_pipe[1], "", 1) < 0)
		pthread_cancel(thread);
	pthread_join(thread, NULL);
	started = false;
	for (int i = 0; i < 2; i++) {
		close(stop_pipe[i]);
		close(end_pipe[i]);
	}
}
