/*
 * The console: see console.h.
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
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
static int signal_pipe[2] = { -1, -1 };
static const char *snapshot_path;

/*
 * SIGINT, SIGTERM, SIGHUP end the run cleanly and SIGUSR1 takes a
 * snapshot, from the console thread.
 */
static void
on_signal(int sig)
{
	uint8_t b = (uint8_t)sig;

	if (write(signal_pipe[1], &b, 1) < 0)
		_exit(1);
}

static void
restore(void)
{
	if (raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		raw = false;
	}
}

/* Ctrl-A s and SIGUSR1; the report on stderr, on its own line. */
static void
snapshot(struct machine *m)
{
	char msg[512];

	if (snapshot_path == NULL)
		snprintf(msg, sizeof(msg), "no snapshot taken: no --snapshot FILE");
	else
		machine_snapshot(m, snapshot_path, msg, sizeof(msg));
	fprintf(stderr, raw ? "\r\nnvmm-run: %s\r\n" : "nvmm-run: %s\n", msg);
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
	bool escape = false, input = true;
	uint8_t buf[256];

	for (;;) {
		struct pollfd pfd[3] = {
			{ stop_pipe[0], POLLIN, 0 },
			{ signal_pipe[0], POLLIN, 0 },
			{ input ? STDIN_FILENO : -1, POLLIN, 0 },
		};
		ssize_t n;
		size_t out = 0;

		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents) {
			uint8_t sig = 0;

			if (read(signal_pipe[0], &sig, 1) != 1)
				continue;
			if (sig == SIGUSR1)
				snapshot(m);
			else
				machine_quit(m, 1, strsignal(sig));
			continue;
		}
		if (!pfd[2].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0) {
			input = false;	/* end of input: the guest goes on */
			continue;
		}
		/* Ctrl-A x quits, Ctrl-A s snapshots, Ctrl-A Ctrl-A sends one. */
		for (ssize_t i = 0; i < n; i++) {
			if (escape) {
				escape = false;
				if (buf[i] == 'x') {
					machine_quit(m, 0, "quit");
					return NULL;
				}
				if (buf[i] == 's')
					snapshot(m);
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
console_start(struct machine *m, const char *snapshot)
{
	int r;

	struct sigaction sa;

	if (pipe(stop_pipe) != 0 || pipe(signal_pipe) != 0)
		return -errno;
	snapshot_path = snapshot;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
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
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	for (int i = 0; i < 2; i++) {
		close(stop_pipe[i]);
		close(signal_pipe[i]);
	}
}
