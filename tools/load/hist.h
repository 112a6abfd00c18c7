/*
 * hist.h - latency histograms for chatgw-load: log-linear buckets in the
 * manner of HdrHistogram, fixed size, mergeable by adding counts.
 *
 * Values are microseconds. Below 1024 us every microsecond has its own
 * bucket; above, each power of two is cut into 128 buckets, so a reported
 * value is within 0.8 % of the true one, up to 2^26 us (~67 s). Larger
 * values land in the last bucket; min, max and the mean stay exact.
 * A histogram is plain data (no pointers): workers write it down a pipe
 * as is and the parent adds them up.
 *
 * API: hist_init, hist_add, hist_merge, hist_quantile, hist_mean.
 */
#ifndef CHATGW_LOAD_HIST_H
#define CHATGW_LOAD_HIST_H

#include <stdint.h>

#define HIST_LINEAR   1024           /* 1 us buckets below this */
#define HIST_SUB_BITS 7              /* 2^7 buckets per power of two above */
#define HIST_OCTAVES  16             /* 2^10 .. 2^26 us */
#define HIST_BUCKETS  (HIST_LINEAR + (HIST_OCTAVES << HIST_SUB_BITS))

struct hist {
    uint64_t count, sum_us, min_us, max_us;
    uint32_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at quantile q (0..1): the upper edge of the bucket holding
 * that rank, clamped to [min, max]; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

#endif
