/*
 * token.c - random ids, hex, and hashed secrets (see token.h).
 */
#include <errno.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "token.h"

int token_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void hex_encode(const void *buf, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = buf;
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *s, size_t n, void *buf)
{
    unsigned char *p = buf;
    size_t i;

    for (i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        p[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/*
 * OpenSSL 3's one-shot SHA256() looks the algorithm up in its provider
 * tables on every call (EVP_MD_fetch): 11 % of the gateway's user time per
 * new chat in perf. The digest is fetched once and one context reused.
 */
void token_hash_hex(const void *buf, size_t n, char out[TOKEN_HASH_HEX + 1])
{
    static EVP_MD *md;
    static EVP_MD_CTX *ctx;
    unsigned char d[SHA256_DIGEST_LENGTH];

    if (!md || !ctx) {
        md = md ? md : EVP_MD_fetch(NULL, "SHA256", NULL);
        ctx = ctx ? ctx : EVP_MD_CTX_new();
    }
    if (!md || !ctx || !EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, buf, n) ||
        !EVP_DigestFinal_ex(ctx, d, NULL))
        SHA256(buf, n, d);          /* out of memory: the slow way still works */
    hex_encode(d, sizeof d, out);
    OPENSSL_cleanse(d, sizeof d);
}

bool token_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
