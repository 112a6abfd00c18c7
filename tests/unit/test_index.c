/* test_index.c - the string-keyed hash table, against a plain array model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "test.h"

TEST(put_get_replace_delete)
{
    struct index ix;
    int a = 1, b = 2;

    index_init(&ix);
    ASSERT(index_get(&ix, "x") == NULL);
    ASSERT_EQ(index_put(&ix, "x", &a), 0);
    ASSERT(index_get(&ix, "x") == &a);
    ASSERT_EQ(index_put(&ix, "x", &b), 0);
    ASSERT(index_get(&ix, "x") == &b);
    ASSERT_EQ(index_count(&ix), 1);
    ASSERT(index_del(&ix, "x", &a) == NULL);      /* not the value it maps to */
    ASSERT(index_del(&ix, "x", &b) == &b);
    ASSERT(index_get(&ix, "x") == NULL);
    ASSERT_EQ(index_count(&ix), 0);
    index_free(&ix);
}

TEST(rejects_long_keys)
{
    struct index ix;
    char key[INDEX_KEY_MAX + 2];
    int a;

    index_init(&ix);
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    ASSERT_EQ(index_put(&ix, key, &a), -1);
    key[INDEX_KEY_MAX] = '\0';
    ASSERT_EQ(index_put(&ix, key, &a), 0);
    ASSERT(index_get(&ix, key) == &a);
    index_free(&ix);
}

TEST(random_operations_match_a_model)
{
    enum { N = 500 };
    static int vals[N];
    static int present[N];
    static char keys[N][32];            /* keys live as long as their entries */
    struct index ix;
    char key[32];

    for (int i = 0; i < N; i++)
        snprintf(keys[i], sizeof keys[i], "chat-%d", i);
    index_init(&ix);
    srand(7);
    for (int step = 0; step < 200000; step++) {
        int k = rand() % N;
        snprintf(key, sizeof key, "chat-%d", k);   /* lookups by an equal copy */
        if (rand() % 3) {
            ASSERT_EQ(index_put(&ix, keys[k], &vals[k]), 0);
            present[k] = 1;
        } else {
            ASSERT((index_del(&ix, key, NULL) != NULL) == present[k]);
            present[k] = 0;
        }
        if (step % 997 == 0) {
            size_t n = 0;
            for (int i = 0; i < N; i++) {
                snprintf(key, sizeof key, "chat-%d", i);
                ASSERT((index_get(&ix, key) == &vals[i]) == present[i]);
                n += present[i];
            }
            ASSERT_EQ(index_count(&ix), n);
        }
    }
    index_free(&ix);
}

int main(void)
{
    RUN(put_get_replace_delete);
    RUN(rejects_long_keys);
    RUN(random_operations_match_a_model);
    return TEST_SUMMARY();
}
