/*
 * The console: see console.h.
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "machine.h"

#define CTRL_A	0x01

static struct termios saved;
static bool raw;
static pthread_t thread;
static bool started;
static int stop_pipe[2] = { -1, -1 };

static void
restore(void)
{
	if (raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		raw = false;
	}
}

/* Gives bytes to the UART, waiting while its FIFO is full. */
static bool
feed(struct machine *m, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = { stop_pipe[0], POLLIN, 0 };
		size_t done = machine_console_in(m, buf, n);

		buf += done;
		n -= done;
		if (n > 0 && poll(&pfd, 1, 10) > 0)
			return false;
	}
	return true;
}

static void *
console_main(void *arg)
{
	struct machine *m = arg;
	bool escape = false;
	uint8_t buf[256];

	for (;;) {
		struct pollfd pfd[2] = {
			{ STDIN_FILENO, POLLIN, 0 },
			{ stop_pipe[0], POLLIN, 0 },
		};
		ssize_t n;
		size_t out = 0;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!pfd[0].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0)
			break;		/* end of input: the guest goes on */
		/* Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A. */
		for (ssize_t i = 0; i < n; i++) {
			if (escape) {
				escape = false;
				if (buf[i] == 'x') {
					machine_quit(m);
					return NULL;
				}
				if (buf[i] != CTRL_A)
					continue;
			} else if (buf[i] == CTRL_A && raw) {
				escape = true;
				continue;
			}
			buf[out++] = buf[i];
		}
		if (!feed(m, buf, out))
			break;
	}
	return NULL;
}

int
console_start(struct machine *m)
{
	int r;

	if (pipe(stop_pipe) != 0)
		return -errno;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;

		cfmakeraw(&t);
		/* The guest sends CR LF itself; keep output untouched. */
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
			raw = true;
			atexit(restore);
		}
	}
	r = pthread_create(&thread, NULL, console_main, m);
	if (r != 0) {
		restore();
		return -r;
	}
	started = true;
	return 0;
}

void
console_stop(void)
{
	if (started) {
		if (write(stop_pipe[1], "", 1) < 0)
			pthread_cancel(thread);
		pthread_join(thread, NULL);
		started = false;
	}
	restore();
	close(stop_pipe[0]);
	close(stop_pipe[1]);
}
