/*
 * gdb's remote serial protocol: see gdb.h. Packet names and formats are
 * those of gdb's manual, "Remote Protocol".
 */
#include "gdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define INT3		0xCC
#define DR6_BS		(1ULL << 14)

static const char hexdigits[] = "0123456789abcdef";

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number up to a character not a hex digit; false if none. */
static bool
parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int d;

	while ((d = hexval(*s)) >= 0) {
		if (x >> 60)
			return false;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*v = x;
	return true;
}

/* Exactly len bytes of hex digits into buf. */
static bool
unhex(const char *s, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(s[2 * i]);
		int lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (lo < 0)
			return false;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static size_t
tohex(char *out, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdigits[b[i] >> 4];
		out[2 * i + 1] = hexdigits[b[i] & 0xF];
	}
	return 2 * len;
}

/* ---- Framing ------------------------------------------------------------ */

/*
 * Sends $data#cs. Binary data (qXfer) escapes '#', '$', '}' and '*' as
 * gdb's manual says; the rest is plain text.
 */
static void
send_packet(struct gdb *g, const char *data, size_t len)
{
	uint8_t sum = 0;
	size_t n = 0;

	g->out[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (c == '#' || c == '$' || c == '}' || c == '*') {
			g->out[n++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		g->out[n++] = c;
		sum += (uint8_t)c;
	}
	g->out[n++] = '#';
	g->out[n++] = hexdigits[sum >> 4];
	g->out[n++] = hexdigits[sum & 0xF];
	g->out_len = n;
	g->t.send(g->t.opaque, g->out, n);
}

static void
reply(struct gdb *g, const char *s)
{
	send_packet(g, s, strlen(s));
}

static void
reply_errno(struct gdb *g, int e)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "E%02x", e & 0xFF);
	reply(g, buf);
}

/* ---- Registers -------------------------------------------------------- */

/* Where register n lives in struct gdb_regs, and its size; 0 if none. */
static size_t
reg_slot(unsigned n, size_t *off)
{
	if (n < 16) {
		*off = offsetof(struct gdb_regs, gpr) + 8 * n;
		return 8;
	}
	if (n == 16) {
		*off = offsetof(struct gdb_regs, rip);
		return 8;
	}
	if (n == 17) {
		*off = offsetof(struct gdb_regs, eflags);
		return 4;
	}
	if (n < 24) {
		*off = offsetof(struct gdb_regs, seg) + 4 * (n - 18);
		return 4;
	}
	if (n < 32) {
		*off = offsetof(struct gdb_regs, st) + 10 * (n - 24);
		return 10;
	}
	if (n < 40) {
		*off = offsetof(struct gdb_regs, fpu) + 4 * (n - 32);
		return 4;
	}
	if (n < 56) {
		*off = offsetof(struct gdb_regs, xmm) + 16 * (n - 40);
		return 16;
	}
	if (n == 56) {
		*off = offsetof(struct gdb_regs, mxcsr);
		return 4;
	}
	if (n < GDB_NREGS) {
		*off = n == 57 ? offsetof(struct gdb_regs, fs_base) :
		    offsetof(struct gdb_regs, gs_base);
		return 8;
	}
	return 0;
}

/* The VCPU that g, G, p, P, m and M act on. */
static unsigned
gen_cpu(const struct gdb *g)
{
	return g->g_cpu >= 0 ? (unsigned)g->g_cpu : g->stop_cpu;
}

static void
cmd_read_regs(struct gdb *g)
{
	struct gdb_regs r;
	char buf[2 * sizeof(r) + 1];
	size_t n = 0, off, size;
	int e = g->t.get_regs(g->t.opaque, gen_cpu(g), &r);

	if (e < 0) {
		reply_errno(g, -e);
		return;
	}
	for (unsigned i = 0; (size = reg_slot(i, &off)) != 0; i++)
		n += tohex(buf + n, (const uint8_t *)&r + off, size);
	send_packet(g, buf, n);
}

static void
cmd_write_regs(struct gdb *g, const char *hex)
{
	struct gdb_regs r;
	size_t off, size;
	int e;

	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; (size = reg_slot(i, &off)) != 0; i++) {
		if (!unhex(hex, (uint8_t *)&r + off, size)) {
			reply_errno(g, EINVAL);
			return;
		}
		hex += 2 * size;
	}
	if (*hex != '\0') {
		reply_errno(g, EINVAL);
		return;
	}
	e = g->t.set_regs(g->t.opaque, gen_cpu(g), &r);
	if (e < 0)
		reply_errno(g, -e);
	else
		reply(g, "OK");
}

/* p N, or P N=VALUE when value is not NULL. */
static void
cmd_reg(struct gdb *g, const char *arg, bool write)
{
	struct gdb_regs r;
	uint64_t n;
	size_t off, size;
	char buf[2 * 16];
	int e;

	if (!parse_hex(&arg, &n) || n >= GDB_NREGS ||
	    (write ? *arg++ != '=' : *arg != '\0')) {
		reply_errno(g, EINVAL);
		return;
	}
	size = reg_slot((unsigned)n, &off);
	e = g->t.get_regs(g->t.opaque, gen_cpu(g), &r);
	if (e == 0 && !write) {
		size = tohex(buf, (const uint8_t *)&r + off, size);
		send_packet(g, buf, size);
		return;
	}
	if (e == 0 && (strlen(arg) != 2 * size ||
	    !unhex(arg, (uint8_t *)&r + off, size)))
		e = -EINVAL;
	if (e == 0)
		e = g->t.set_regs(g->t.opaque, gen_cpu(g), &r);
	if (e < 0)
		reply_errno(g, -e);
	else
		reply(g, "OK");
}

/* ---- Memory ------------------------------------------------------------ */

/* "ADDR,LEN" and what follows. */
static bool
parse_range(const char **p, uint64_t *addr, uint64_t *len)
{
	return parse_hex(p, addr) && *(*p)++ == ',' && parse_hex(p, len);
}

/* Our INT3s are invisible: reads see the bytes they replaced. */
static void
cmd_read_mem(struct gdb *g, const char *arg)
{
	uint8_t mem[GDB_PACKET_SIZE / 2];
	char buf[GDB_PACKET_SIZE];
	uint64_t addr, len;
	size_t n;

	if (!parse_range(&arg, &addr, &len) || *arg != '\0') {
		reply_errno(g, EINVAL);
		return;
	}
	if (len > sizeof(mem))
		len = sizeof(mem);
	n = g->t.read_mem(g->t.opaque, gen_cpu(g), addr, mem, len);
	if (n == 0 && len > 0) {
		reply_errno(g, EFAULT);
		return;
	}
	for (unsigned i = 0; i < GDB_NSWBP; i++)
		if (g->sw[i].used && g->sw[i].addr - addr < n)
			mem[g->sw[i].addr - addr] = g->sw[i].orig;
	send_packet(g, buf, tohex(buf, mem, n));
}

/* A write over one of our INT3s changes the byte it restores. */
static void
cmd_write_mem(struct gdb *g, const char *arg)
{
	uint8_t mem[GDB_PACKET_SIZE / 2];
	uint64_t addr, len;

	if (!parse_range(&arg, &addr, &len) || *arg++ != ':' ||
	    len > sizeof(mem) || strlen(arg) != 2 * len ||
	    !unhex(arg, mem, len)) {
		reply_errno(g, EINVAL);
		return;
	}
	for (unsigned i = 0; i < GDB_NSWBP; i++)
		if (g->sw[i].used && g->sw[i].addr - addr < len) {
			g->sw[i].orig = mem[g->sw[i].addr - addr];
			mem[g->sw[i].addr - addr] = INT3;
		}
	if (g->t.write_mem(g->t.opaque, gen_cpu(g), addr, mem, len) != len)
		reply_errno(g, EFAULT);
	else
		reply(g, "OK");
}

/* ---- Breakpoints and watchpoints -------------------------------------- */

uint64_t
gdb_dr7(const struct gdb *g)
{
	uint64_t dr7 = 0;

	for (unsigned i = 0; i < GDB_NHWBP; i++) {
		uint64_t rw, len;

		if (g->hw[i].type == 0)
			continue;
		/* R/W: 00 execute, 01 write, 11 read or write (none reads). */
		rw = g->hw[i].type == '1' ? 0 : g->hw[i].type == '2' ? 1 : 3;
		/* LEN: 00 one byte, 01 two, 11 four, 10 eight. */
		len = g->hw[i].len == 2 ? 1 : g->hw[i].len == 4 ? 3 :
		    g->hw[i].len == 8 ? 2 : 0;
		dr7 |= 1ULL << (2 * i) | rw << (16 + 4 * i) |
		    len << (18 + 4 * i);
	}
	return dr7;
}

static bool
any_swbp(const struct gdb *g)
{
	for (unsigned i = 0; i < GDB_NSWBP; i++)
		if (g->sw[i].used)
			return true;
	return false;
}

/* Every VCPU gets the breakpoints; step, if not negative, steps that one. */
static int
apply_debug(struct gdb *g, int step)
{
	struct gdb_debug d;
	int e = 0;

	memset(&d, 0, sizeof(d));
	d.swbp = any_swbp(g);
	for (unsigned i = 0; i < GDB_NHWBP; i++)
		d.dr[i] = g->hw[i].type ? g->hw[i].addr : 0;
	d.dr7 = gdb_dr7(g);
	for (unsigned c = 0; c < g->t.ncpus && e == 0; c++) {
		d.step = (int)c == step;
		e = g->t.set_debug(g->t.opaque, c, &d);
	}
	return e;
}

static int
swbp_insert(struct gdb *g, uint64_t addr)
{
	static const uint8_t int3 = INT3;
	int slot = -1;

	for (int i = GDB_NSWBP - 1; i >= 0; i--) {
		if (g->sw[i].used && g->sw[i].addr == addr)
			return 0;
		if (!g->sw[i].used)
			slot = i;
	}
	if (slot < 0)
		return -ENOSPC;
	if (g->t.read_mem(g->t.opaque, gen_cpu(g), addr, &g->sw[slot].orig,
	    1) != 1 || g->t.write_mem(g->t.opaque, gen_cpu(g), addr, &int3,
	    1) != 1)
		return -EFAULT;
	g->sw[slot].used = true;
	g->sw[slot].addr = addr;
	return 0;
}

static int
swbp_remove(struct gdb *g, uint64_t addr)
{
	for (unsigned i = 0; i < GDB_NSWBP; i++)
		if (g->sw[i].used && g->sw[i].addr == addr) {
			g->sw[i].used = false;
			return g->t.write_mem(g->t.opaque, gen_cpu(g), addr,
			    &g->sw[i].orig, 1) == 1 ? 0 : -EFAULT;
		}
	return -ENOENT;
}

static int
hwbp_insert(struct gdb *g, char type, uint64_t addr, uint64_t len)
{
	if (type == '1')
		len = 1;
	else if ((len != 1 && len != 2 && len != 4 && len != 8) ||
	    (addr & (len - 1)))
		return -EINVAL;	/* DRn: 1, 2, 4 or 8 bytes, aligned */
	for (unsigned i = 0; i < GDB_NHWBP; i++)
		if (g->hw[i].type == 0) {
			g->hw[i].type = type;
			g->hw[i].addr = addr;
			g->hw[i].len = (unsigned)len;
			return 0;
		}
	return -ENOSPC;
}

static int
hwbp_remove(struct gdb *g, char type, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < GDB_NHWBP; i++)
		if (g->hw[i].type == type && g->hw[i].addr == addr &&
		    (type == '1' || g->hw[i].len == len)) {
			g->hw[i].type = 0;
			return 0;
		}
	return -ENOENT;
}

/* Z TYPE,ADDR,KIND and z TYPE,ADDR,KIND. */
static void
cmd_break(struct gdb *g, const char *arg, bool insert)
{
	char type = arg[0];
	uint64_t addr, len;
	int e;

	arg++;
	if (type < '0' || type > '4' || *arg++ != ',' ||
	    !parse_range(&arg, &addr, &len) || *arg != '\0') {
		reply_errno(g, EINVAL);
		return;
	}
	if (type == '0')
		e = insert ? swbp_insert(g, addr) : swbp_remove(g, addr);
	else
		e = insert ? hwbp_insert(g, type, addr, len) :
		    hwbp_remove(g, type, addr, len);
	if (e == 0)
		e = apply_debug(g, -1);
	if (e < 0)
		reply_errno(g, -e);
	else
		reply(g, "OK");
}

void
gdb_detach(struct gdb *g)
{
	for (unsigned i = 0; i < GDB_NSWBP; i++)
		if (g->sw[i].used)
			swbp_remove(g, g->sw[i].addr);
	memset(g->hw, 0, sizeof(g->hw));
	apply_debug(g, -1);
}

/* ---- Threads, stops, resuming ---------------------------------------- */

/* A thread id: "-1" (all), "0" (any) or N; -1 stands for both of the first. */
static bool
parse_thread(const struct gdb *g, const char *s, int *cpu)
{
	uint64_t t;

	if (strcmp(s, "-1") == 0 || strcmp(s, "0") == 0) {
		*cpu = -1;
		return true;
	}
	if (!parse_hex(&s, &t) || *s != '\0' || t == 0 || t > g->t.ncpus)
		return false;
	*cpu = (int)t - 1;
	return true;
}

static void
cmd_thread_info(struct gdb *g)
{
	char buf[4 * 64 + 2];
	size_t n = 0;

	buf[n++] = 'm';
	for (unsigned i = 0; i < g->t.ncpus; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%x",
		    i ? "," : "", i + 1);
	send_packet(g, buf, n);
}

static void
cmd_thread_extra(struct gdb *g, const char *arg)
{
	char name[32], buf[64];
	int cpu;

	if (!parse_thread(g, arg, &cpu) || cpu < 0) {
		reply_errno(g, EINVAL);
		return;
	}
	snprintf(name, sizeof(name), "VCPU %d", cpu);
	send_packet(g, buf, tohex(buf, name, strlen(name)));
}

/* c [ADDR] and s [ADDR]: resume at ADDR if given. */
static void
cmd_resume(struct gdb *g, const char *arg, bool step)
{
	int cpu = g->c_cpu >= 0 ? g->c_cpu : step ? (int)g->stop_cpu : -1;
	unsigned at = cpu >= 0 ? (unsigned)cpu : g->stop_cpu;
	struct gdb_regs r;
	uint64_t addr;
	int e = 0;

	if (*arg != '\0') {
		if (!parse_hex(&arg, &addr) || *arg != '\0') {
			reply_errno(g, EINVAL);
			return;
		}
		e = g->t.get_regs(g->t.opaque, at, &r);
		r.rip = addr;
		if (e == 0)
			e = g->t.set_regs(g->t.opaque, at, &r);
	}
	if (e == 0)
		e = apply_debug(g, step ? cpu : -1);
	if (e < 0) {
		reply_errno(g, -e);
		return;
	}
	g->running = true;
	g->t.resume(g->t.opaque, cpu);
}

static void
set_stop(struct gdb *g, int sig, unsigned cpu, const char *why)
{
	snprintf(g->stop, sizeof(g->stop), "T%02xthread:%x;%s", sig, cpu + 1,
	    why);
	g->stop_cpu = cpu;
	g->g_cpu = -1;
}

/* What hit: one of our INT3s, a DR slot (breakpoint or watchpoint), a step. */
static void
debug_stop(struct gdb *g, const struct gdb_event *ev)
{
	static const char *const watch[] = { "watch", "rwatch", "awatch" };
	char why[40] = "";

	if (ev->vector == 3) {
		for (unsigned i = 0; i < GDB_NSWBP; i++)
			if (g->sw[i].used && g->sw[i].addr == ev->pc)
				snprintf(why, sizeof(why), "swbreak:;");
	} else {
		for (unsigned i = 0; i < GDB_NHWBP; i++) {
			if (!(ev->dr6 & (1ULL << i)) || g->hw[i].type == 0)
				continue;
			if (g->hw[i].type == '1')
				snprintf(why, sizeof(why), "hwbreak:;");
			else
				snprintf(why, sizeof(why), "%s:%" PRIx64 ";",
				    watch[g->hw[i].type - '2'], g->hw[i].addr);
			break;
		}
	}
	set_stop(g, 5, ev->cpu, why);
}

void
gdb_stopped(struct gdb *g, const struct gdb_event *ev)
{
	g->running = false;
	switch (ev->why) {
	case GDB_WHY_DEBUG:
		debug_stop(g, ev);
		break;
	case GDB_WHY_INTERRUPT:
		set_stop(g, 2, ev->cpu, "");
		break;
	case GDB_WHY_EXIT:
		snprintf(g->stop, sizeof(g->stop), "W%02x", ev->status & 0xFF);
		break;
	}
	reply(g, g->stop);
}

/* ---- Queries ------------------------------------------------------------ */

static const char *const reg_names[GDB_NREGS] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
	"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
	"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
	"mxcsr", "fs_base", "gs_base",
};

/*
 * The target description: gdb's i386 core feature (general, segment and
 * x87 registers), the SSE one and fs_base/gs_base, with gdb's predefined
 * types. gdb numbers the registers in this order.
 */
static size_t
target_xml(char *buf, size_t size)
{
	static const char *const feature[] = {
		[0] = "org.gnu.gdb.i386.core",
		[40] = "org.gnu.gdb.i386.sse",
		[57] = "org.gnu.gdb.i386.segments",
	};
	size_t n, off;

	n = (size_t)snprintf(buf, size, "<?xml version=\"1.0\"?>"
	    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	    "<target><architecture>i386:x86-64</architecture>");
	for (unsigned i = 0; i < GDB_NREGS; i++) {
		size_t bits = 8 * reg_slot(i, &off);
		const char *type = i == 16 ? "code_ptr" :
		    i == 6 || i == 7 ? "data_ptr" : bits == 80 ? "i387_ext" :
		    bits == 128 ? "uint128" : bits == 64 ? "int64" : "int32";

		if (i < sizeof(feature) / sizeof(feature[0]) && feature[i])
			n += (size_t)snprintf(buf + n, size - n, "%s<feature "
			    "name=\"%s\">", i ? "</feature>" : "", feature[i]);
		n += (size_t)snprintf(buf + n, size - n, "<reg name=\"%s\" "
		    "bitsize=\"%zu\" type=\"%s\"%s/>", reg_names[i], bits, type,
		    i >= 32 && i < 40 ? " group=\"float\"" : "");
	}
	n += (size_t)snprintf(buf + n, size - n, "</feature></target>");
	return n;
}

/* qXfer:features:read:target.xml:OFFSET,LENGTH */
static void
cmd_features(struct gdb *g, const char *arg)
{
	static const char annex[] = "target.xml:";
	char xml[8192], buf[GDB_PACKET_SIZE];
	uint64_t off, len;
	size_t total = target_xml(xml, sizeof(xml));

	if (strncmp(arg, annex, sizeof(annex) - 1) != 0) {
		reply_errno(g, ENOENT);
		return;
	}
	arg += sizeof(annex) - 1;
	if (!parse_range(&arg, &off, &len) || *arg != '\0' || off > total) {
		reply_errno(g, EINVAL);
		return;
	}
	/* Escapes may double the bytes: keep the packet within PacketSize. */
	if (len > sizeof(buf) / 2 - 1)
		len = sizeof(buf) / 2 - 1;
	if (len > total - off)
		len = total - off;
	buf[0] = off + len < total ? 'm' : 'l';
	memcpy(buf + 1, xml + off, len);
	send_packet(g, buf, len + 1);
}

static void
cmd_query(struct gdb *g, const char *p)
{
	char buf[128];

	if (strncmp(p, "qSupported", 10) == 0) {
		snprintf(buf, sizeof(buf), "PacketSize=%x;qXfer:features:read+;"
		    "QStartNoAckMode+;swbreak+;hwbreak+", GDB_PACKET_SIZE);
		reply(g, buf);
	} else if (strcmp(p, "QStartNoAckMode") == 0) {
		reply(g, "OK");
		g->noack = true;
	} else if (strncmp(p, "qXfer:features:read:", 20) == 0) {
		cmd_features(g, p + 20);
	} else if (strcmp(p, "qAttached") == 0) {
		reply(g, "1");
	} else if (strcmp(p, "qC") == 0) {
		snprintf(buf, sizeof(buf), "QC%x", gen_cpu(g) + 1);
		reply(g, buf);
	} else if (strcmp(p, "qfThreadInfo") == 0) {
		cmd_thread_info(g);
	} else if (strcmp(p, "qsThreadInfo") == 0) {
		reply(g, "l");
	} else if (strncmp(p, "qThreadExtraInfo,", 17) == 0) {
		cmd_thread_extra(g, p + 17);
	} else {
		reply(g, "");	/* not supported */
	}
}

/* ---- Dispatch ---------------------------------------------------------- */

static enum gdb_action
packet(struct gdb *g, char *p)
{
	int cpu;

	switch (p[0]) {
	case '?':
		reply(g, g->stop);
		break;
	case 'g':
		cmd_read_regs(g);
		break;
	case 'G':
		cmd_write_regs(g, p + 1);
		break;
	case 'p':
	case 'P':
		cmd_reg(g, p + 1, p[0] == 'P');
		break;
	case 'm':
		cmd_read_mem(g, p + 1);
		break;
	case 'M':
		cmd_write_mem(g, p + 1);
		break;
	case 'Z':
	case 'z':
		cmd_break(g, p + 1, p[0] == 'Z');
		break;
	case 'c':
	case 's':
		cmd_resume(g, p + 1, p[0] == 's');
		break;
	case 'H':
		if ((p[1] != 'g' && p[1] != 'c') ||
		    !parse_thread(g, p + 2, &cpu)) {
			reply_errno(g, EINVAL);
			break;
		}
		if (p[1] == 'g')
			g->g_cpu = cpu;
		else
			g->c_cpu = cpu;
		reply(g, "OK");
		break;
	case 'T':
		if (parse_thread(g, p + 1, &cpu) && cpu >= 0)
			reply(g, "OK");
		else
			reply_errno(g, ENOENT);
		break;
	case 'D':
		gdb_detach(g);
		reply(g, "OK");
		return GDB_DETACHED;
	case 'k':
		return GDB_KILLED;
	case 'q':
	case 'Q':
		cmd_query(g, p);
		break;
	default:
		reply(g, "");	/* not supported */
		break;
	}
	return GDB_CONTINUE;
}

/* A packet gdb sent while the machine runs: only Ctrl-C means anything then. */
static enum gdb_action
receive(struct gdb *g)
{
	if (!g->noack)
		g->t.send(g->t.opaque, "+", 1);
	if (g->running)
		return GDB_CONTINUE;
	g->in[g->in_len] = '\0';
	return packet(g, g->in);
}

enum gdb_action
gdb_input(struct gdb *g, const uint8_t *buf, size_t len)
{
	enum gdb_action a = GDB_CONTINUE;

	for (size_t i = 0; i < len && a == GDB_CONTINUE; i++) {
		uint8_t c = buf[i];
		int d;

		switch (g->in_state) {
		case IN_IDLE:
			if (c == '$') {
				g->in_state = IN_DATA;
				g->in_len = 0;
				g->in_sum = 0;
				g->in_overflow = false;
			} else if (c == 0x03 && g->running) {
				g->t.interrupt(g->t.opaque);
			} else if (c == '-' && !g->noack && g->out_len > 0) {
				g->t.send(g->t.opaque, g->out, g->out_len);
			}
			break;
		case IN_DATA:
			if (c == '#') {
				g->in_state = IN_CSUM1;
				break;
			}
			g->in_sum += c;
			if (g->in_len < sizeof(g->in) - 1)
				g->in[g->in_len++] = (char)c;
			else
				g->in_overflow = true;
			break;
		case IN_CSUM1:
			g->in_csum = hexval((char)c);
			g->in_state = IN_CSUM2;
			break;
		case IN_CSUM2:
			d = hexval((char)c);
			g->in_state = IN_IDLE;
			if (g->in_csum >= 0 && d >= 0 && !g->in_overflow &&
			    (g->in_csum << 4 | d) == g->in_sum)
				a = receive(g);
			else if (!g->noack)
				g->t.send(g->t.opaque, "-", 1);
			break;
		}
	}
	return a;
}

void
gdb_init(struct gdb *g, const struct gdb_target *t)
{
	memset(g, 0, sizeof(*g));
	g->t = *t;
	g->g_cpu = g->c_cpu = -1;
	set_stop(g, 5, 0, "");
}
