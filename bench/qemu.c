/*
 * The peer: QEMU running the same guest image as its firmware (-bios), with
 * no BIOS, no devices but isa-debug-exit, which ends the run. QEMU ignores
 * writes to port 0x80 in userspace, so each OUT is a full exit to QEMU. The
 * CPU time of an exit is the difference between runs of N1 and N2 OUTs,
 * which cancels QEMU's start and stop. Where KVM fails, TCG gives a labelled
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
/* isa-debug-exit: status (value << 1) | 1; the guest writes 1. */
#define QEMU_DONE	3

static void
write_image(const char *path, uint32_t n)
{
	uint8_t rom[GUEST_ROM_SIZE];
	FILE *f = fopen(path, "wb");

	guest_image(rom, GUEST_OUT_LOOP, n);
	if (f == NULL || fwrite(rom, sizeof(rom), 1, f) != 1 || fclose(f) != 0)
		die("%s: %m", path);
}

/* The two lengths of run: TCG's OUT is so cheap that it needs longer ones. */
static void
set_accel(struct qemu *q, const char *accel)
{
	bool tcg = strcmp(accel, "tcg") == 0;

	snprintf(q->accel, sizeof(q->accel), "%s", accel);
	for (int k = 0; k < 2; k++) {
		q->n[k] = (k ? 45000 : 5000) * (tcg ? 100 : 1);
		write_image(q->image[k], q->n[k]);
	}
	for (int k = 0; k < 2; k++) {
		const char *const a[] = { QEMU, "-accel", q->accel, "-M", "pc",
		    "-nodefaults", "-display", "none", "-no-reboot", "-m", "16",
		    "-bios", q->image[k], "-device",
		    "isa-debug-exit,iobase=0xf4,iosize=4", NULL };

		memcpy(q->argv[k], a, sizeof(a));
	}
}

/* CPU seconds of one run, or NAN with why in q->error. */
static double
run_once(struct qemu *q, int k)
{
	char out[4096], *line;
	double secs;
	int st;

	st = spawn(q->argv[k], NULL, true, out, sizeof(out), 60, &secs);
	if (st < 0) {
		snprintf(q->error, sizeof(q->error), "%s: %s", QEMU,
		    strerror(errno));
		return NAN;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == QEMU_DONE)
		return secs;
	/* QEMU's first line past its warnings says what went wrong. */
	for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
		if (strstr(line, "warning") == NULL)
			break;
	if (line != NULL)
		snprintf(q->error, sizeof(q->error), "%s", line);
	else
		snprintf(q->error, sizeof(q->error), "wait status 0x%x", st);
	return NAN;
}

void
qemu_open(struct qemu *q, const char *dir)
{
	char kvm_error[sizeof(q->error)];

	memset(q, 0, sizeof(*q));
	q->us = q->syscalls = q->exits = NAN;
	for (int k = 0; k < 2; k++)
		snprintf(q->image[k], sizeof(q->image[k]), "%s/qemu-%d.rom",
		    dir, k);
	set_accel(q, "kvm");
	if (!isnan(run_once(q, 0)))
		return;
	snprintf(kvm_error, sizeof(kvm_error), "%s", q->error);
	set_accel(q, "tcg");
	if (isnan(run_once(q, 0)))
		set_accel(q, "none");
	memcpy(q->error, kvm_error, sizeof(q->error));
}

void
qemu_round(struct qemu *q, int rep)
{
	if (strcmp(q->accel, "none") == 0)
		return;
	for (int k = 0; k < 2; k++)
		q->secs[k][rep] = run_once(q, k);
}

void
qemu_close(struct qemu *q)
{
	double c[2], e[2];

	if (strcmp(q->accel, "none") == 0)
		return;
	for (int i = 0; i < 2 * BENCH_REPS; i++)
		if (isnan(q->secs[i % 2][i / 2]))
			return;
	q->us = (median(q->secs[1], BENCH_REPS) -
	    median(q->secs[0], BENCH_REPS)) * 1e6 / (q->n[1] - q->n[0]);
	for (int k = 0; k < 2; k++)
		if (!perf_count(q->argv[k], NULL, QEMU_DONE, &c[k], &e[k]))
			return;
	q->syscalls = (c[1] - c[0]) / (q->n[1] - q->n[0]);
	q->exits = (e[1] - e[0]) / (q->n[1] - q->n[0]);
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
