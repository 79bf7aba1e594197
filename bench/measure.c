/* Timing helpers shared by the workloads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "guest.h"

void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("nvmm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

uint64_t
now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t
cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
median(const double *v, int n)
{
	double *s = malloc(n * sizeof(*v)), m;

	if (s == NULL)
		die("out of memory");
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

double
time_op(void (*op)(void *), void *ctx, long n)
{
	uint64_t t0;

	if (n < 1)
		die("at least one operation");
	for (int i = 0; i < BENCH_WARMUP; i++)
		op(ctx);
	t0 = cpu_ns();
	for (long i = 0; i < n; i++)
		op(ctx);
	return (cpu_ns() - t0) / 1e3 / n;
}

#define LIFE_MAX_VMS	16

/* The µs since c0 and w0 (CPU, wall) into t[0][i], t[1][i]. */
static void
lap(uint64_t c0, uint64_t w0, double t[2][LIFE_MAX_VMS], int i)
{
	t[0][i] = (cpu_ns() - c0) / 1e3;
	t[1][i] = (now_ns() - w0) / 1e3;
}

void
life_cycle(const struct life_ops *ops, const long *args)
{
	double t[3][2][LIFE_MAX_VMS];	/* init, create, destroy; CPU, wall */
	uint8_t *mem[LIFE_MAX_VMS];
	void *vm[LIFE_MAX_VMS];
	int k = (int)args[0];
	long mode = args[1];
	uint64_t c0, w0;

	if (k < 1 || k > LIFE_MAX_VMS)
		die("1 to %d VMs", LIFE_MAX_VMS);
	if (mode != LIFE_TIME) {
		/* No clock here: reading the CPU time is a syscall. */
		ops->init();
		for (int i = 0; i < k; i++) {
			mem[i] = guest_mem(GUEST_OUT_LOOP);
			vm[i] = ops->create(mem[i]);
			if (mode == LIFE_CYCLE)
				ops->destroy(vm[i]);
		}
		for (int i = 0; i < k; i++) {
			if (mode == LIFE_DROP)
				ops->destroy(vm[i]);
			guest_mem_free(mem[i]);
		}
		return;
	}
	c0 = cpu_ns(), w0 = now_ns();
	ops->init();
	lap(c0, w0, t[0], 0);
	for (int i = 0; i < k; i++) {
		mem[i] = guest_mem(GUEST_OUT_LOOP);
		c0 = cpu_ns(), w0 = now_ns();
		vm[i] = ops->create(mem[i]);
		lap(c0, w0, t[1], i);
		c0 = cpu_ns(), w0 = now_ns();
		ops->destroy(vm[i]);
		lap(c0, w0, t[2], i);
		guest_mem_free(mem[i]);
	}
	for (int m = 0; m < 3; m++)
		for (int c = 0; c < 2; c++)
			printf("%f ", median(t[m][c], m == 0 ? 1 : k));
	printf("\n");
}
