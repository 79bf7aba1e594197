/*
 * The virtual machine of nvmm-run on libnvmm: guest RAM, one thread per
 * VCPU running QEMU's NVMM loop (sync, inject or ask for the interrupt
 * window, run, one switch over the exit), and the PC of platform.c behind
 * the assists' callbacks. The only part of nvmm-run that includes nvmm.h.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"

struct machine;

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

/* Exit counts, for --stats. */
void machine_print_stats(struct machine *m, double seconds);

#endif
