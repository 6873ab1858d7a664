/* Timing helpers shared by the library-only benchmarks of bench/c. */
#ifndef BENCH_C_TIMING_H
#define BENCH_C_TIMING_H
#include <time.h>

static inline double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* qsort comparison of doubles, for medians */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
#endif
