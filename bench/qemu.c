/*
 * The peer: QEMU running the same guest image as its firmware (-bios), with
 * no BIOS, no devices but isa-debug-exit, which ends the run. QEMU ignores
 * writes to port 0x80 in userspace, so each OUT is a full exit to QEMU. The
 * time of an exit is the difference between runs of N1 and N2 OUTs, which
 * cancels QEMU's start and stop. Where KVM fails, TCG gives a labelled
 * reference instead.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "guest.h"

#define QEMU		"qemu-system-x86_64"
#define QEMU_N1		5000
#define QEMU_N2		45000
/* isa-debug-exit: status (value << 1) | 1; the guest writes 0. */
#define QEMU_DONE	1

struct qemu_run {
	char image[2][4200];	/* for QEMU_N1, QEMU_N2 */
	char *argv[2][20];
};

static void
write_image(const char *path, uint32_t n)
{
	uint8_t rom[GUEST_ROM_SIZE];
	FILE *f = fopen(path, "wb");

	guest_image(rom, GUEST_OUT_LOOP, n);
	if (f == NULL || fwrite(rom, sizeof(rom), 1, f) != 1 || fclose(f) != 0)
		die("%s: %m", path);
}

static void
qemu_argv(char *argv[20], const char *accel, const char *image)
{
	const char *const a[] = { QEMU, "-accel", accel, "-M", "pc",
	    "-nodefaults", "-display", "none", "-no-reboot", "-m", "16",
	    "-bios", image, "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
	    NULL };

	memcpy(argv, a, sizeof(a));
}

/* Seconds of one run, or NAN with why in err. */
static double
run_once(char *const argv[], char *err, int errlen)
{
	char out[4096], *line;
	double secs;
	int st;

	st = spawn(argv, NULL, true, out, sizeof(out), 60, &secs);
	if (st < 0) {
		snprintf(err, errlen, "%s: %s", QEMU, strerror(errno));
		return NAN;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == QEMU_DONE)
		return secs;
	/* QEMU's first error line, past its warnings. */
	for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
		if (strstr(line, "warning") == NULL)
			break;
	if (line != NULL)
		snprintf(err, errlen, "%s", line);
	else
		snprintf(err, errlen, "exit status 0x%x", st);
	return NAN;
}

/* µs per OUT with this accelerator, or NAN with why in res->error. */
static double
per_exit(struct qemu_run *r, const char *accel, struct qemu_result *res)
{
	double t[2][BENCH_REPS];

	for (int k = 0; k < 2; k++)
		qemu_argv(r->argv[k], accel, r->image[k]);
	/* Alternated, so that a change in the machine's load hits both. */
	for (int i = 0; i < BENCH_REPS; i++) {
		for (int k = 0; k < 2; k++) {
			t[k][i] = run_once(r->argv[k], res->error,
			    sizeof(res->error));
			if (isnan(t[k][i]))
				return NAN;
		}
	}
	return (median(t[1], BENCH_REPS) - median(t[0], BENCH_REPS)) * 1e6 /
	    (QEMU_N2 - QEMU_N1);
}

void
qemu_measure(const char *dir, struct qemu_result *res)
{
	static const char *const accels[] = { "kvm", "tcg" };
	struct qemu_run r;
	double c[2], e[2];

	memset(res, 0, sizeof(*res));
	res->us = res->syscalls = res->exits = NAN;
	for (int k = 0; k < 2; k++) {
		snprintf(r.image[k], sizeof(r.image[k]), "%s/qemu-%d.rom", dir, k);
		write_image(r.image[k], k ? QEMU_N2 : QEMU_N1);
	}
	for (int a = 0; a < 2 && isnan(res->us); a++) {
		snprintf(res->accel, sizeof(res->accel), "%s", accels[a]);
		/* Keep the reason KVM failed, not TCG's. */
		res->us = per_exit(&r, accels[a], res);
	}
	if (isnan(res->us))
		return;
	for (int k = 0; k < 2; k++)
		if (!perf_count(r.argv[k], NULL, QEMU_DONE, &c[k], &e[k]))
			return;
	res->syscalls = (c[1] - c[0]) / (QEMU_N2 - QEMU_N1);
	res->exits = (e[1] - e[0]) / (QEMU_N2 - QEMU_N1);
}

void
qemu_version(char *buf, int len)
{
	char *const argv[] = { QEMU, "--version", NULL };
	char out[512];

	if (spawn(argv, NULL, true, out, sizeof(out), 10, NULL) != 0) {
		snprintf(buf, len, "%s not found", QEMU);
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(buf, len, "%s", out);
}
