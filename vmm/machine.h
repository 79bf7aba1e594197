/*
 * The virtual machine of nvmm-run on libnvmm: guest RAM, one thread per
 * VCPU running QEMU's NVMM loop (sync, inject or ask for the interrupt
 * window, run, one switch over the exit), and the PC of platform.c behind
 * the assists' callbacks. With gdbstub.c, the only parts of nvmm-run that
 * include nvmm.h.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"

struct machine;
struct snap_file;

/* NULL with a one-line message in err when the machine can't be made. */
struct machine *machine_create(uint64_t mem, unsigned ncpus, char *err,
    size_t errlen);
void machine_destroy(struct machine *m);

/* Guest RAM, to load a kernel into. */
const struct boot_ram *machine_ram(struct machine *m);

/* Puts the boot CPU at the kernel's entry; the others wait for a SIPI. */
int machine_boot(struct machine *m, const struct boot_cpu *cpu);

/*
 * Runs until the guest powers off or resets (0), the user quits (0), or it
 * fails (a triple fault, an instruction the host can't run: 2, with a
 * one-line message in err).
 */
int machine_run(struct machine *m, char *err, size_t errlen);

/* Ends the run from another thread (Ctrl-A x, a signal), with status and why. */
void machine_quit(struct machine *m, int status, const char *why);

/* Console input for the guest's COM1: bytes accepted, 0 when not ready. */
size_t machine_console_in(struct machine *m, const uint8_t *buf, size_t n);

/*
 * From a thread of the VMM's: pauses the VCPUs, writes a snapshot to PATH
 * (the first one full, the next ones appended with the pages changed since
 * the one before) and lets them go on. 0 or a negative errno, with a
 * one-line report in MSG either way.
 */
int machine_snapshot(struct machine *m, const char *path, char *msg,
    size_t len);

/*
 * Before machine_run(), instead of machine_boot(): the machine as the
 * file's last snapshot left it. 0, or a negative errno with a one-line
 * reason in ERR.
 */
int machine_restore(struct machine *m, struct snap_file *f, char *err,
    size_t errlen);

/*
 * Debugging, for nvmm-run --gdb. After machine_debug(), VCPUs run only
 * when the debugger lets them, and all stop together (all-stop): on a
 * debug exit or machine_interrupt(). Once every VCPU has stopped, the
 * debugger's stopped() is called from some thread with the machine's lock
 * held: it should only wake the debugger's own thread, which then reads
 * machine_stopped().
 */
struct machine_stop {
	unsigned cpu;
	bool interrupted;	/* by machine_interrupt(); else a debug exit: */
	uint32_t vector;	/* 1 (#DB) or 3 (#BP) */
	uint64_t dr6;
	uint64_t pc;
};

struct machine_debugger {
	void (*stopped)(void *opaque);
	void *opaque;
};

/* Before machine_run(): the VCPUs wait at their first instruction. */
void machine_debug(struct machine *m, const struct machine_debugger *d);
/* Lets every VCPU run (cpu < 0), or that one alone. */
void machine_resume(struct machine *m, int cpu);
void machine_interrupt(struct machine *m);
void machine_stopped(struct machine *m, struct machine_stop *st);
/* The debugger is gone: the VCPUs run freely. */
void machine_undebug(struct machine *m);

/* The NVMM objects, for the debugger's register and memory access. */
struct nvmm_machine;
struct nvmm_vcpu;
unsigned machine_ncpus(const struct machine *m);
struct nvmm_machine *machine_nvmm(struct machine *m);
struct nvmm_vcpu *machine_vcpu(struct machine *m, unsigned cpu);

/* libnvmm's statistics of each VCPU and their sums, for --stats. */
void machine_print_stats(struct machine *m, double seconds);

#endif
