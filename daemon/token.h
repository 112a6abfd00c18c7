/*
 * token.h - unguessable identifiers and secrets, and how they are kept.
 *
 * Chat ids and resume secrets are 128 bits from getrandom(2). A resume
 * token is the chat id and its secret side by side in hex (64 chars); Redis
 * keeps only SHA-256 of the secret, and tokens are compared in constant
 * time. Nothing here logs anything.
 *
 * API: token_random, hex_encode, hex_decode, token_hash_hex, token_equal.
 */
#ifndef CHATGW_TOKEN_H
#define CHATGW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_ID_BYTES 16
#define TOKEN_HEX_ID (TOKEN_ID_BYTES * 2)        /* 32 */
#define TOKEN_HEX_RESUME (TOKEN_HEX_ID * 2)      /* 64 */
#define TOKEN_HASH_HEX 64

/* Fills buf with n random bytes; returns 0 or -1 if the kernel refused. */
int token_random(void *buf, size_t n);
/* Writes 2n lowercase hex chars and a NUL into out. */
void hex_encode(const void *buf, size_t n, char *out);
/* Decodes exactly 2n hex chars of s into buf; -1 on any non-hex char. */
int hex_decode(const char *s, size_t n, void *buf);
/* SHA-256 of buf as 64 hex chars + NUL. */
void token_hash_hex(const void *buf, size_t n, char out[TOKEN_HASH_HEX + 1]);
/* Constant-time equality of two n-byte strings. */
bool token_equal(const void *a, const void *b, size_t n);

#endif
