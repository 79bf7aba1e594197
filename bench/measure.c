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

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
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
	double s[BENCH_MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double
time_op(void (*op)(void *), void *ctx, long n, int reps)
{
	double v[BENCH_MAX_REPS];

	if (n < 1 || reps < 1 || reps > BENCH_MAX_REPS)
		die("1 to %d repetitions of at least one operation",
		    BENCH_MAX_REPS);
	for (int i = 0; i < BENCH_WARMUP; i++)
		op(ctx);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++)
			op(ctx);
		v[r] = (now_ns() - t0) / 1e3 / n;
	}
	return median(v, reps);
}

void
life_cycle(const struct life_ops *ops, const long *args)
{
	double create[BENCH_MAX_REPS], destroy[BENCH_MAX_REPS], init;
	int k = (int)args[0];
	uint64_t t0;

	if (k < 1 || k > BENCH_MAX_REPS)
		die("1 to %d VMs", BENCH_MAX_REPS);
	t0 = now_ns();
	ops->init();
	init = (now_ns() - t0) / 1e3;
	for (int i = 0; i < k; i++) {
		uint8_t *mem = guest_mem(GUEST_OUT_LOOP);
		void *vm;

		t0 = now_ns();
		vm = ops->create(mem);
		create[i] = (now_ns() - t0) / 1e3;
		if (!args[1])
			continue;
		t0 = now_ns();
		ops->destroy(vm);
		destroy[i] = (now_ns() - t0) / 1e3;
		guest_mem_free(mem);
	}
	printf("%f %f %f\n", init, median(create, k),
	    args[1] ? median(destroy, k) : 0.0);
}
