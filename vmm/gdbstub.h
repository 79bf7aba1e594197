/*
 * nvmm-run --gdb PORT: gdb's remote protocol (gdb.c) on a TCP socket of
 * 127.0.0.1, served by a thread of its own, over the machine's VCPUs.
 */
#ifndef VMM_GDBSTUB_H
#define VMM_GDBSTUB_H

#include <stddef.h>

struct machine;

/* A listening socket, or -1 with a one-line message in err. */
int gdbstub_listen(unsigned port, char *err, size_t errlen);

/*
 * Before machine_run(): waits for gdb on the socket (and closes it), then
 * serves gdb with the machine stopped at its first instruction. 0 or a
 * negative errno.
 */
int gdbstub_start(struct machine *m, int lfd);

/* After machine_run(): gdb hears that the guest ended with status. */
void gdbstub_stop(int status);

#endif
