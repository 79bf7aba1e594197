/*
 * What libnvmm's always-on statistics add to each nvmm_vcpu_run: the
 * clock read at its start, and stats_run() at its end (a second clock
 * read, the counters under their sequence count). Timed in a loop on a
 * VCPU of no machine: the code is the library's own, with no KVM around.
 */
#include "nvmm_impl.h"

#include <stdlib.h>

#include "bench.h"

#define STATS_N	200000

double
stats_cost_ns(bool *coarse)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	struct mach *m = calloc(1, sizeof(*m));
	double per[BENCH_REPS];

	if (v == NULL || m == NULL)
		die("calloc: %m");
	v->mach = m;
	stats_open(v);
	*coarse = v->stats_clock == CLOCK_MONOTONIC_COARSE;
	for (int r = 0; r < BENCH_REPS; r++) {
		uint64_t t0 = cpu_ns();

		for (long i = 0; i < STATS_N; i++)
			stats_run(v, stats_now(v), NVMM_VCPU_EXIT_IO);
		per[r] = (double)(cpu_ns() - t0) / STATS_N;
	}
	if (v->stats->s.runs != (uint64_t)BENCH_REPS * STATS_N)
		die("statistics: %llu runs counted",
		    (unsigned long long)v->stats->s.runs);
	free(v);
	free(m);
	return median(per, BENCH_REPS);
}
