/*
 * The guest's serial console on the terminal: raw mode when standard input
 * is a terminal, Ctrl-A x to quit as in QEMU; from a pipe or a file it still
 * works, so scripts and tests drive the guest.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

struct machine;

/*
 * 0 or a negative errno. Ctrl-A s and SIGUSR1 write a snapshot to
 * SNAPSHOT (NULL: none, and they say so).
 */
int console_start(struct machine *m, const char *snapshot);
void console_stop(void);

#endif
