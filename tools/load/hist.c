/*
 * hist.c - log-linear latency histograms (see hist.h).
 *
 * Bucket index of v: v itself below HIST_LINEAR; above, with e the
 * position of v's top bit, the next HIST_SUB_BITS bits pick one of the
 * 128 buckets of that power of two. The edges of a bucket follow from its
 * index the other way round (bucket_low, bucket_width).
 */
#include <math.h>
#include <string.h>

#include "hist.h"

#define SUB (1u << HIST_SUB_BITS)
#define LINEAR_BITS 10               /* HIST_LINEAR == 1 << LINEAR_BITS */

static unsigned bucket_of(uint64_t v)
{
    unsigned e, i;

    if (v < HIST_LINEAR)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    if (e >= LINEAR_BITS + HIST_OCTAVES)
        return HIST_BUCKETS - 1;
    i = (unsigned)(v >> (e - HIST_SUB_BITS)) - SUB;
    return HIST_LINEAR + (e - LINEAR_BITS) * SUB + i;
}

static uint64_t bucket_low(unsigned b)
{
    unsigned e, i;

    if (b < HIST_LINEAR)
        return b;
    e = (b - HIST_LINEAR) / SUB + LINEAR_BITS;
    i = (b - HIST_LINEAR) % SUB;
    return (uint64_t)(SUB + i) << (e - HIST_SUB_BITS);
}

static uint64_t bucket_width(unsigned b)
{
    if (b < HIST_LINEAR)
        return 1;
    return (uint64_t)1 << ((b - HIST_LINEAR) / SUB + LINEAR_BITS - HIST_SUB_BITS);
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->bucket[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us < h->min_us)
        h->min_us = us;
    if (us > h->max_us)
        h->max_us = us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        into->bucket[b] += from->bucket[b];
    into->count += from->count;
    into->sum_us += from->sum_us;
    if (from->min_us < into->min_us)
        into->min_us = from->min_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t rank, seen = 0, v;

    if (h->count == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= rank) {
            v = bucket_low(b) + bucket_width(b) - 1;
            return v < h->min_us ? h->min_us : v > h->max_us ? h->max_us : v;
        }
    }
    return h->max_us;
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)h->sum_us / (double)h->count : 0.0;
}
