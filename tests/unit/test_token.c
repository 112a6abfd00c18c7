/* test_token.c - ids, hex and hashed secrets. */
#include "test.h"
#include "token.h"

TEST(random_ids_differ)
{
    unsigned char a[TOKEN_ID_BYTES], b[TOKEN_ID_BYTES];
    ASSERT_EQ(token_random(a, sizeof a), 0);
    ASSERT_EQ(token_random(b, sizeof b), 0);
    ASSERT(memcmp(a, b, sizeof a) != 0);
}

TEST(hex_roundtrip)
{
    unsigned char in[4] = { 0x00, 0xab, 0x7f, 0xff }, out[4];
    char hex[9];
    hex_encode(in, 4, hex);
    ASSERT_STREQ(hex, "00ab7fff");
    ASSERT_EQ(hex_decode("00AB7fff", 4, out), 0);
    ASSERT_MEMEQ(in, out, 4);
}

TEST(hex_rejects_non_hex)
{
    unsigned char out[2];
    ASSERT_EQ(hex_decode("0g12", 2, out), -1);
    ASSERT_EQ(hex_decode("12 4", 2, out), -1);
}

TEST(hash_is_sha256)
{
    char h[TOKEN_HASH_HEX + 1];
    token_hash_hex("abc", 3, h);
    ASSERT_STREQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* the digest context is reused: a second and third hash are right too */
    token_hash_hex("", 0, h);
    ASSERT_STREQ(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    token_hash_hex("abc", 3, h);
    ASSERT_STREQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(equal_compares_all_bytes)
{
    ASSERT(token_equal("abcd", "abcd", 4));
    ASSERT(!token_equal("abcd", "abce", 4));
    ASSERT(!token_equal("xbcd", "abcd", 4));
}

int main(void)
{
    RUN(random_ids_differ);
    RUN(hex_roundtrip);
    RUN(hex_rejects_non_hex);
    RUN(hash_is_sha256);
    RUN(equal_compares_all_bytes);
    return TEST_SUMMARY();
}
