/*
 * gdb's remote serial protocol for nvmm-run --gdb, with no VM behind it:
 * framing, checksums and acks, the packets, the x86-64 registers in the
 * order of our target description, and breakpoints as INT3 bytes and
 * debug registers. What it needs of the machine goes through struct
 * gdb_target; tests/test_gdb.c drives it with no VM at all.
 *
 * gdb thread N is VCPU N - 1. All-stop: the machine stops as a whole.
 */
#ifndef VMM_GDB_H
#define VMM_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PACKET_SIZE	4096	/* what qSupported announces */
#define GDB_NREGS	59
#define GDB_NSWBP	64
#define GDB_NHWBP	4	/* DR0-DR3 */

/* The registers in the target description's order. */
struct gdb_regs {
	uint64_t gpr[16];	/* rax rbx rcx rdx rsi rdi rbp rsp r8-r15 */
	uint64_t rip;
	uint32_t eflags;
	uint32_t seg[6];	/* cs ss ds es fs gs */
	uint8_t st[8][10];
	/* fctrl fstat ftag fiseg fioff foseg fooff fop */
	uint32_t fpu[8];
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint64_t fs_base, gs_base;
};

/* What a VCPU's debugging hardware does, as on x86. */
struct gdb_debug {
	bool step;		/* stop after one instruction */
	bool swbp;		/* INT3 stops the VCPU */
	uint64_t dr[GDB_NHWBP];
	uint64_t dr7;
};

enum gdb_why {
	GDB_WHY_DEBUG,		/* a debug exit: vector, dr6, pc */
	GDB_WHY_INTERRUPT,	/* after target->interrupt */
	GDB_WHY_EXIT,		/* the guest ended, with status */
};

struct gdb_event {
	enum gdb_why why;
	unsigned cpu;
	uint32_t vector;	/* 1 (#DB) or 3 (#BP) */
	uint64_t dr6;
	uint64_t pc;
	int status;
};

/* The machine, as the protocol sees it. Calls come only while it is stopped. */
struct gdb_target {
	void *opaque;
	unsigned ncpus;
	/* 0 or a negative errno. */
	int (*get_regs)(void *opaque, unsigned cpu, struct gdb_regs *r);
	int (*set_regs)(void *opaque, unsigned cpu, const struct gdb_regs *r);
	/* Guest-virtual memory through cpu's page tables: bytes done, short at
	 * the first unmapped one. */
	size_t (*read_mem)(void *opaque, unsigned cpu, uint64_t gva,
	    uint8_t *buf, size_t len);
	size_t (*write_mem)(void *opaque, unsigned cpu, uint64_t gva,
	    const uint8_t *buf, size_t len);
	int (*set_debug)(void *opaque, unsigned cpu, const struct gdb_debug *d);
	/* Runs all VCPUs (cpu < 0) or only one; gdb_stopped() follows. */
	void (*resume)(void *opaque, int cpu);
	/* Stops the running machine; gdb_stopped() follows. */
	void (*interrupt)(void *opaque);
	/* Bytes to gdb. */
	void (*send)(void *opaque, const void *buf, size_t len);
};

enum gdb_action {
	GDB_CONTINUE,		/* keep serving */
	GDB_DETACHED,		/* breakpoints gone: resume all and hang up */
	GDB_KILLED,		/* end the machine */
};

struct gdb {
	struct gdb_target t;
	enum { IN_IDLE, IN_DATA, IN_CSUM1, IN_CSUM2 } in_state;
	char in[GDB_PACKET_SIZE + 1];
	size_t in_len;
	bool in_overflow;
	uint8_t in_sum;
	int in_csum;		/* the first checksum digit, -1 if not hex */
	char out[2 * GDB_PACKET_SIZE + 8];	/* the last packet, for '-' */
	size_t out_len;
	bool noack;
	bool running;
	int g_cpu, c_cpu;	/* Hg, Hc: a VCPU, or -1 for any */
	unsigned stop_cpu;
	char stop[64];		/* the last stop reply, for '?' */
	struct {
		bool used;
		uint64_t addr;
		uint8_t orig;
	} sw[GDB_NSWBP];
	struct {
		char type;	/* 0 free, else the Z packet's '1' to '4' */
		uint64_t addr;
		unsigned len;
	} hw[GDB_NHWBP];
};

/* The machine starts stopped at its first instruction (as after a step). */
void gdb_init(struct gdb *g, const struct gdb_target *t);

/* Bytes from gdb. */
enum gdb_action gdb_input(struct gdb *g, const uint8_t *buf, size_t len);

/* The machine stopped after a resume or an interrupt. */
void gdb_stopped(struct gdb *g, const struct gdb_event *ev);

/* Takes every breakpoint out of the guest, as before gdb came (D does). */
void gdb_detach(struct gdb *g);

/* DR7 with the enable, type and length bits of the hardware slots in use. */
uint64_t gdb_dr7(const struct gdb *g);

#endif
