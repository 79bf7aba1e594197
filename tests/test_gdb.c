/*
 * vmm/gdb.c, gdb's remote protocol, with no VM: a target of plain arrays
 * (up to three VCPUs, 64 KiB of memory at 0x100000) and the exact bytes that go
 * back to gdb.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb.h"
#include "t.h"

#define MEM_BASE	0x100000
#define MEM_SIZE	0x10000

static struct {
	struct gdb_regs regs[3];
	uint8_t mem[MEM_SIZE];
	struct gdb_debug dbg[3];
	unsigned debug_calls;
	int resumed;		/* the resume's cpu, or -2 for none */
	unsigned interrupts;
	char out[16384];
	size_t out_len;
} tg;

static int
get_regs(void *opaque, unsigned cpu, struct gdb_regs *r)
{
	(void)opaque;
	*r = tg.regs[cpu];
	return 0;
}

static int
set_regs(void *opaque, unsigned cpu, const struct gdb_regs *r)
{
	(void)opaque;
	tg.regs[cpu] = *r;
	return 0;
}

static size_t
mem_span(uint64_t gva, size_t len)
{
	if (gva < MEM_BASE || gva >= MEM_BASE + MEM_SIZE)
		return 0;
	return len < MEM_BASE + MEM_SIZE - gva ? len : MEM_BASE + MEM_SIZE - gva;
}

static size_t
read_mem(void *opaque, unsigned cpu, uint64_t gva, uint8_t *buf, size_t len)
{
	size_t n = mem_span(gva, len);

	(void)opaque, (void)cpu;
	memcpy(buf, tg.mem + (gva - MEM_BASE) * (n > 0), n);
	return n;
}

static size_t
write_mem(void *opaque, unsigned cpu, uint64_t gva, const uint8_t *buf,
    size_t len)
{
	size_t n = mem_span(gva, len);

	(void)opaque, (void)cpu;
	memcpy(tg.mem + (gva - MEM_BASE) * (n > 0), buf, n);
	return n;
}

static int
set_debug(void *opaque, unsigned cpu, const struct gdb_debug *d)
{
	(void)opaque;
	tg.dbg[cpu] = *d;
	tg.debug_calls++;
	return 0;
}

static void
resume(void *opaque, int cpu)
{
	(void)opaque;
	tg.resumed = cpu;
}

static void
interrupt(void *opaque)
{
	(void)opaque;
	tg.interrupts++;
}

static void
send(void *opaque, const void *buf, size_t len)
{
	(void)opaque;
	T_ASSERT(tg.out_len + len < sizeof(tg.out));
	memcpy(tg.out + tg.out_len, buf, len);
	tg.out_len += len;
	tg.out[tg.out_len] = '\0';
}

static struct gdb g;

static void
setup(unsigned ncpus)
{
	struct gdb_target t = {
		.opaque = NULL, .ncpus = ncpus,
		.get_regs = get_regs, .set_regs = set_regs,
		.read_mem = read_mem, .write_mem = write_mem,
		.set_debug = set_debug, .resume = resume,
		.interrupt = interrupt, .send = send,
	};

	memset(&tg, 0, sizeof(tg));
	tg.resumed = -2;
	gdb_init(&g, &t);
}

/* Raw bytes from gdb. */
static enum gdb_action
feed(const char *s)
{
	tg.out_len = 0;
	tg.out[0] = '\0';
	return gdb_input(&g, (const uint8_t *)s, strlen(s));
}

/* $data#cs, framed here independently of gdb.c. */
static const char *
frame(const char *data)
{
	static char buf[8192];
	unsigned sum = 0;

	for (const char *p = data; *p; p++)
		sum += (uint8_t)*p;
	snprintf(buf, sizeof(buf), "$%s#%02x", data, sum & 0xFF);
	return buf;
}

/* One packet from gdb; the bytes sent back must be exactly want. */
#define EXCHANGE(data, want)                                                  \
	do {                                                                  \
		feed(frame(data));                                            \
		if (strcmp(tg.out, (want)) != 0)                              \
			t_fail(__FILE__, __LINE__, "%s: got '%s', want '%s'", \
			    (data), tg.out, (want));                          \
	} while (0)

/* The reply alone, framed, after the '+' ack. */
static const char *
acked(const char *data)
{
	static char buf[8200];

	snprintf(buf, sizeof(buf), "+%s", frame(data));
	return buf;
}

TEST(framing_acks_and_checksums)
{
	setup(1);
	/* Checksums: the byte sum modulo 256, 'O' + 'K' = 0x9a, '?' = 0x3f. */
	T_EQ(feed("$?#3f"), GDB_CONTINUE);
	T_ASSERT(strcmp(tg.out, "+$T05thread:1;#d7") == 0);
	feed("$?#40");				/* bad checksum */
	T_ASSERT(strcmp(tg.out, "-") == 0);
	feed("$?#zz");
	T_ASSERT(strcmp(tg.out, "-") == 0);
	feed("-");				/* gdb asks for the last again */
	T_ASSERT(strcmp(tg.out, "$T05thread:1;#d7") == 0);
	feed("+junk");				/* acks and noise: nothing */
	T_EQ(tg.out_len, 0);
	/* Split anywhere, packets still arrive whole. */
	feed("$q");
	T_EQ(tg.out_len, 0);
	feed("C#b4");
	T_ASSERT(strcmp(tg.out, "+$QC1#c5") == 0);
	EXCHANGE("vMustReplyEmpty", "+$#00");
	EXCHANGE("QStartNoAckMode", "+$OK#9a");
	/* From here on, no acks either way, and bad packets are dropped. */
	EXCHANGE("qC", "$QC1#c5");
	feed("$?#00");
	T_EQ(tg.out_len, 0);
	feed("-");
	T_EQ(tg.out_len, 0);
}

TEST(qsupported_and_target_description)
{
	char xml[8192] = "", *p;
	size_t len = 0;

	setup(1);
	EXCHANGE("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
	    "+$PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;"
	    "swbreak+;hwbreak+#81");
	/* Read in pieces as gdb does; 'm' says more follows, 'l' the last. */
	for (;;) {
		char req[64];

		snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,100",
		    len);
		feed(frame(req));
		T_ASSERT(tg.out[0] == '+' && tg.out[1] == '$');
		p = strrchr(tg.out, '#');
		T_ASSERT(p != NULL);
		*p = '\0';
		memcpy(xml + len, tg.out + 3, strlen(tg.out + 3));
		len += strlen(tg.out + 3);
		if (tg.out[2] == 'l')
			break;
		T_ASSERT(tg.out[2] == 'm');
		T_EQ(strlen(tg.out + 3), 0x100);
	}
	T_EQ(len, strlen(xml));
	T_ASSERT(strncmp(xml, "<?xml version=\"1.0\"?>", 21) == 0);
	T_ASSERT(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	T_ASSERT(strstr(xml, "<feature name=\"org.gnu.gdb.i386.core\">"
	    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>"
	    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"));
	T_ASSERT(strstr(xml, "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
	    "<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>"
	    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"));
	T_ASSERT(strstr(xml, "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
	    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int32\" group=\"float\"/>"));
	T_ASSERT(strstr(xml, "<reg name=\"fop\" bitsize=\"32\" type=\"int32\" "
	    "group=\"float\"/></feature><feature name=\"org.gnu.gdb.i386.sse\">"
	    "<reg name=\"xmm0\" bitsize=\"128\" type=\"uint128\"/>"));
	T_ASSERT(strstr(xml, "<reg name=\"mxcsr\" bitsize=\"32\" type=\"int32\"/>"
	    "</feature><feature name=\"org.gnu.gdb.i386.segments\">"
	    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int64\"/>"
	    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int64\"/>"
	    "</feature></target>"));
	/* Past the end: an empty last piece. Another annex: an error. */
	snprintf(xml, sizeof(xml), "qXfer:features:read:target.xml:%zx,100", len);
	EXCHANGE(xml, "+$l#6c");
	EXCHANGE("qXfer:features:read:other.xml:0,100", "+$E02#a7");
	EXCHANGE("qXfer:features:read:target.xml:zz", "+$E16#ac");
}

TEST(registers_g_G_p_P)
{
	char want[1200], hex[1120];
	struct gdb_regs r;

	setup(2);
	tg.regs[0].gpr[0] = 0x1122334455667788;	/* rax */
	tg.regs[0].rip = 0x100000;
	tg.regs[0].eflags = 0x2;
	tg.regs[0].seg[0] = 0x10;			/* cs */
	tg.regs[0].gs_base = 0xFFFF800000001000;
	feed(frame("g"));
	/* 16 GPRs, rip, eflags, 6 segments, 8 x 10, 8 x 4, 16 x 16, 4, 8, 8. */
	T_EQ(strlen(tg.out), 1 + 1 + 2 * 552 + 3);
	T_ASSERT(strncmp(tg.out, "+$8877665544332211" "0000000000000000", 34) == 0);
	T_ASSERT(strncmp(tg.out + 2 + 16 * 16, "0000100000000000" "02000000"
	    "10000000", 32) == 0);
	T_ASSERT(strncmp(tg.out + 2 + 2 * 544, "001000000080ffff#", 17) == 0);

	/* G writes all of them; p reads one; P writes one. */
	memset(&r, 0, sizeof(r));
	r.gpr[3] = 0xABCD;				/* rdx */
	r.mxcsr = 0x1F80;
	r.st[7][9] = 0x40;
	snprintf(want, sizeof(want), "%.*s", 2 * 552, tg.out + 2);
	for (size_t i = 0; i < 2 * 552; i++)
		hex[i] = '0';
	hex[2 * 552] = '\0';
	memcpy(hex + 3 * 16, "cdab", 4);
	memcpy(hex + 2 * (128 + 8 + 4 + 24 + 79), "40", 2);
	memcpy(hex + 2 * (128 + 8 + 4 + 24 + 80 + 32 + 256), "801f0000", 8);
	snprintf(want, sizeof(want), "G%s", hex);
	EXCHANGE(want, "+$OK#9a");
	T_ASSERT(memcmp(&tg.regs[0], &r, sizeof(r)) == 0);
	EXCHANGE("p3", "+$cdab000000000000#ca");
	EXCHANGE("p38", "+$801f0000#bf");		/* mxcsr, 56 */
	EXCHANGE("p1f", "+$00000000000000000040#c4");	/* st7 */
	EXCHANGE("P10=efbeadde00000000", "+$OK#9a");	/* rip */
	T_EQ(tg.regs[0].rip, 0xDEADBEEF);
	/* Another VCPU through Hg. */
	EXCHANGE("Hg2", "+$OK#9a");
	EXCHANGE("P0=0100000000000000", "+$OK#9a");
	T_EQ(tg.regs[1].gpr[0], 1);
	T_EQ(tg.regs[0].gpr[0], 0);
	/* Bad numbers, sizes, threads. */
	EXCHANGE("p3b", "+$E16#ac");
	EXCHANGE("P0=01", "+$E16#ac");
	EXCHANGE("Gzz", "+$E16#ac");
	EXCHANGE("Hg3", "+$E16#ac");
	EXCHANGE("Hx1", "+$E16#ac");
}

TEST(memory_m_M)
{
	setup(1);
	memcpy(tg.mem + 0x10, "\x0f\x01\xd9\xc3", 4);
	EXCHANGE("m100010,4", "+$0f01d9c3#2a");
	EXCHANGE("M100020,3:aabbcc", "+$OK#9a");
	T_ASSERT(memcmp(tg.mem + 0x20, "\xaa\xbb\xcc", 3) == 0);
	/* Short at the end of what is mapped; nothing mapped: EFAULT. */
	EXCHANGE("m10fffe,4", "+$0000#c0");
	EXCHANGE("m200000,4", "+$E0e#da");
	EXCHANGE("M200000,1:00", "+$E0e#da");
	EXCHANGE("M100000,2:00", "+$E16#ac");	/* too few bytes */
	EXCHANGE("m100000", "+$E16#ac");
}

TEST(software_breakpoints_hide_their_int3)
{
	setup(2);
	tg.mem[0x40] = 0x55;
	EXCHANGE("Z0,100040,1", "+$OK#9a");
	T_EQ(tg.mem[0x40], 0xCC);
	T_ASSERT(tg.dbg[0].swbp && tg.dbg[1].swbp);
	T_ASSERT(!tg.dbg[0].step && !tg.dbg[1].step);
	EXCHANGE("m10003f,3", "+$005500#2a");	/* the guest's byte, not INT3 */
	EXCHANGE("M100040,1:90", "+$OK#9a");	/* gdb writes under it */
	T_EQ(tg.mem[0x40], 0xCC);
	EXCHANGE("Z0,100040,1", "+$OK#9a");	/* twice is once */
	EXCHANGE("z0,100040,1", "+$OK#9a");
	T_EQ(tg.mem[0x40], 0x90);
	T_ASSERT(!tg.dbg[0].swbp && !tg.dbg[1].swbp);
	EXCHANGE("z0,100040,1", "+$E02#a7");
	EXCHANGE("Z0,300000,1", "+$E0e#da");	/* unmapped */
	T_ASSERT(!tg.dbg[0].swbp);
	/* As many as there are slots. */
	for (unsigned i = 0; i < GDB_NSWBP; i++) {
		char req[32];

		snprintf(req, sizeof(req), "Z0,%x,1", MEM_BASE + i);
		EXCHANGE(req, "+$OK#9a");
	}
	EXCHANGE("Z0,100100,1", "+$E1c#d9");	/* ENOSPC */
}

TEST(hardware_breakpoints_and_watchpoints_set_dr7)
{
	setup(2);
	EXCHANGE("Z1,100080,1", "+$OK#9a");
	T_EQ(tg.dbg[1].dr[0], 0x100080);
	T_EQ(tg.dbg[1].dr7, 0x1);		/* L0, execute, 1 byte */
	EXCHANGE("Z2,200000,4", "+$OK#9a");	/* any address: no memory read */
	T_EQ(tg.dbg[0].dr[1], 0x200000);
	T_EQ(tg.dbg[0].dr7, 0x1 | 0x4 | 0xD00000);	/* L1, write, 4 bytes */
	EXCHANGE("Z3,200008,8", "+$OK#9a");	/* read: as read or write */
	EXCHANGE("Z4,20000e,2", "+$OK#9a");
	T_EQ(tg.dbg[0].dr7, 0x55 | 0xD00000 | 0xB000000 | 0x70000000);
	T_EQ(tg.dbg[0].dr[3], 0x20000E);
	T_EQ(gdb_dr7(&g), tg.dbg[1].dr7);
	EXCHANGE("Z1,100090,1", "+$E1c#d9");	/* four slots only */
	EXCHANGE("z2,200000,4", "+$OK#9a");
	T_EQ(tg.dbg[0].dr7, 0x51 | 0xB000000 | 0x70000000);
	EXCHANGE("Z2,200004,4", "+$OK#9a");	/* the free slot again */
	T_EQ(tg.dbg[0].dr[1], 0x200004);
	EXCHANGE("z2,200004,8", "+$E02#a7");	/* not that length */
	EXCHANGE("Z2,200002,4", "+$E16#ac");	/* unaligned */
	EXCHANGE("Z2,200000,3", "+$E16#ac");
	EXCHANGE("Z5,200000,4", "+$E16#ac");
	T_ASSERT(!tg.dbg[0].swbp);
}

TEST(continue_step_and_stop_replies)
{
	setup(2);
	tg.mem[0x40] = 0x55;
	EXCHANGE("Z0,100040,1", "+$OK#9a");
	EXCHANGE("Z1,100080,1", "+$OK#9a");
	EXCHANGE("Z2,100100,4", "+$OK#9a");

	/* c runs all; the stop reply comes when the machine stops. */
	EXCHANGE("Hc-1", "+$OK#9a");
	EXCHANGE("c", "+");
	T_EQ(tg.resumed, -1);
	T_ASSERT(!tg.dbg[0].step && !tg.dbg[1].step);
	feed("$g#67");				/* ignored while running */
	T_ASSERT(strcmp(tg.out, "+") == 0);
	feed("\x03");
	T_EQ(tg.interrupts, 1);
	struct gdb_event ev = { .why = GDB_WHY_DEBUG, .cpu = 1, .vector = 3,
	    .pc = 0x100040 };
	tg.out_len = 0;
	gdb_stopped(&g, &ev);
	T_ASSERT(strcmp(tg.out, frame("T05thread:2;swbreak:;")) == 0);
	feed("\x03");				/* stopped: nothing to do */
	T_EQ(tg.interrupts, 1);
	EXCHANGE("qC", "+$QC2#c6");		/* the thread that stopped */
	EXCHANGE("?", acked("T05thread:2;swbreak:;"));

	/* s steps the thread that stopped, alone. */
	EXCHANGE("s", "+");
	T_EQ(tg.resumed, 1);
	T_ASSERT(!tg.dbg[0].step && tg.dbg[1].step);
	ev = (struct gdb_event){ .why = GDB_WHY_DEBUG, .cpu = 1, .vector = 1,
	    .dr6 = 0x4000, .pc = 0x100041 };
	tg.out_len = 0;
	gdb_stopped(&g, &ev);
	T_ASSERT(strcmp(tg.out, frame("T05thread:2;")) == 0);

	/* Hc picks the thread; s ADDR moves its rip first. */
	EXCHANGE("Hc1", "+$OK#9a");
	EXCHANGE("s100080", "+");
	T_EQ(tg.resumed, 0);
	T_EQ(tg.regs[0].rip, 0x100080);
	T_ASSERT(tg.dbg[0].step && !tg.dbg[1].step);
	ev = (struct gdb_event){ .why = GDB_WHY_DEBUG, .cpu = 0, .vector = 1,
	    .dr6 = 0x1, .pc = 0x100080 };
	tg.out_len = 0;
	gdb_stopped(&g, &ev);
	T_ASSERT(strcmp(tg.out, frame("T05thread:1;hwbreak:;")) == 0);

	EXCHANGE("c", "+");
	T_EQ(tg.resumed, 0);
	T_ASSERT(!tg.dbg[0].step);
	ev = (struct gdb_event){ .why = GDB_WHY_DEBUG, .cpu = 0, .vector = 1,
	    .dr6 = 0x2, .pc = 0x100087 };
	tg.out_len = 0;
	gdb_stopped(&g, &ev);
	T_ASSERT(strcmp(tg.out, frame("T05thread:1;watch:100100;")) == 0);

	EXCHANGE("Hc0", "+$OK#9a");
	EXCHANGE("c", "+");
	ev = (struct gdb_event){ .why = GDB_WHY_INTERRUPT, .cpu = 0 };
	tg.out_len = 0;
	gdb_stopped(&g, &ev);
	T_ASSERT(strcmp(tg.out, frame("T02thread:1;")) == 0);

	EXCHANGE("c", "+");
	ev = (struct gdb_event){ .why = GDB_WHY_EXIT, .status = 0 };
	tg.out_len = 0;
	gdb_stopped(&g, &ev);
	T_ASSERT(strcmp(tg.out, frame("W00")) == 0);
}

TEST(threads_detach_and_kill)
{
	setup(3);
	EXCHANGE("qfThreadInfo", "+$m1,2,3#5b");
	EXCHANGE("qsThreadInfo", "+$l#6c");
	EXCHANGE("qAttached", "+$1#31");
	EXCHANGE("qThreadExtraInfo,3", acked("564350552032"));
	EXCHANGE("T3", "+$OK#9a");
	EXCHANGE("T4", "+$E02#a7");
	EXCHANGE("vCont?", "+$#00");		/* gdb falls back to Hc, c, s */

	/* Detach takes every breakpoint out of the guest. */
	tg.mem[0x40] = 0x55;
	EXCHANGE("Z0,100040,1", "+$OK#9a");
	EXCHANGE("Z2,100100,4", "+$OK#9a");
	tg.debug_calls = 0;
	T_EQ(feed(frame("D")), GDB_DETACHED);
	T_ASSERT(strcmp(tg.out, "+$OK#9a") == 0);
	T_EQ(tg.mem[0x40], 0x55);
	T_EQ(tg.debug_calls, 3);
	T_EQ(tg.dbg[2].dr7, 0);
	T_ASSERT(!tg.dbg[2].swbp);

	setup(1);
	T_EQ(feed(frame("k")), GDB_KILLED);
	T_ASSERT(strcmp(tg.out, "+") == 0);
}
