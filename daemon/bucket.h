/*
 * bucket.h - a token bucket: up to `burst` tokens, refilled at `per_s` a
 * second from the time it was last touched. The rate and the depth are the
 * caller's (they come from the config, which a reload may change), the
 * bucket keeps only its level and when. Sessions meter messages and
 * signals with it, iplimit.c the new chats of an address.
 *
 * API: struct bucket, bucket_fill, bucket_refill, bucket_take.
 */
#ifndef CHATGW_BUCKET_H
#define CHATGW_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct bucket {
    double tokens;
    uint64_t ms;                       /* when it was last refilled */
};

static inline void bucket_fill(struct bucket *b, double burst, uint64_t now_ms)
{
    b->tokens = burst;
    b->ms = now_ms;
}

/* Refills b for the time since it was last refilled; true when it is full. */
static inline bool bucket_refill(struct bucket *b, double per_s, double burst, uint64_t now_ms)
{
    if (now_ms > b->ms) {
        b->tokens += (double)(now_ms - b->ms) * per_s / 1000.0;
        b->ms = now_ms;
    }
    if (b->tokens >= burst)
        b->tokens = burst;
    return b->tokens >= burst;
}

/* Refills b and takes one token if it can. */
static inline bool bucket_take(struct bucket *b, double per_s, double burst, uint64_t now_ms)
{
    bucket_refill(b, per_s, burst, now_ms);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

#endif
