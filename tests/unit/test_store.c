/* test_store.c - one spelling of every Redis key: daemon/keys.h (C) and
 * daemon/lua/keys.lua (the scripts) agree row by row, and no other daemon
 * file or script spells a key itself. */
#include <dirent.h>

#include "keys.h"
#include "store.h"
#include "test.h"

extern const char lua_keys[], lua_append[], lua_resume[], lua_router[], lua_schema[], lua_floor[], lua_stats[],
                  lua_signal[];

static const struct { const char *name, *pattern; } c_keys[] = {
#define ROW(name, pattern, what) { #name, pattern },
    CHATGW_KEY_MAP(ROW)
#undef ROW
};
#define NKEYS (sizeof c_keys / sizeof c_keys[0])

/* The value of `NAME = '...'` in keys.lua, into out; false when absent. */
static int lua_pattern(const char *name, char *out, size_t cap)
{
    char probe[64];
    snprintf(probe, sizeof probe, "\n  %s", name);
    for (const char *p = strstr(lua_keys, probe); p; p = strstr(p + 1, probe)) {
        const char *q = p + strlen(probe);
        while (*q == ' ')
            q++;
        if (*q != '=')
            continue;                 /* a longer name that starts alike */
        q = strchr(q, '\'');
        const char *e = q ? strchr(q + 1, '\'') : NULL;
        if (!e || (size_t)(e - q - 1) >= cap)
            return 0;
        memcpy(out, q + 1, (size_t)(e - q - 1));
        out[e - q - 1] = '\0';
        return 1;
    }
    return 0;
}

TEST(c_and_lua_spell_every_key_alike)
{
    char got[128];
    for (size_t i = 0; i < NKEYS; i++) {
        if (!lua_pattern(c_keys[i].name, got, sizeof got))
            FAIL_("keys.lua has no %s", c_keys[i].name);
        ASSERT_STREQ(got, c_keys[i].pattern);
    }
}

TEST(lua_has_no_key_c_lacks)
{
    size_t rows = 0;
    for (const char *p = strstr(lua_keys, " = 'cg:"); p; p = strstr(p + 1, " = 'cg:"))
        rows++;
    ASSERT_EQ(rows, NKEYS);
}

/* Scripts build keys with key(): a literal 'cg: anywhere else is a second spelling. */
TEST(scripts_spell_no_key_themselves)
{
    const char *scripts[] = { lua_append, lua_resume, lua_router, lua_schema, lua_floor, lua_stats,
                              lua_signal };
    size_t prelude = strlen(lua_keys);
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        ASSERT(strncmp(scripts[i], lua_keys, prelude) == 0);      /* keys.lua comes first */
        ASSERT(strstr(scripts[i] + prelude, "'cg:") == NULL);
        ASSERT(strstr(scripts[i] + prelude, "\"cg:") == NULL);
    }
}

/* Only keys.h spells a key among the daemon's C files. */
TEST(daemon_c_files_spell_no_key_themselves)
{
    DIR *d = opendir("daemon");
    struct dirent *e;
    int files = 0;

    ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[300], buf[1 << 16];
        if (n < 3 || (strcmp(e->d_name + n - 2, ".c") && strcmp(e->d_name + n - 2, ".h")) ||
            strcmp(e->d_name, "keys.h") == 0)
            continue;
        snprintf(path, sizeof path, "daemon/%s", e->d_name);
        FILE *f = fopen(path, "r");
        ASSERT(f != NULL);
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        for (const char *p = strstr(buf, "\"cg:"); p; p = strstr(p + 1, "\"cg:")) {
            closedir(d);
            FAIL_("%s spells a key: %.30s", path, p);
        }
        files++;
    }
    closedir(d);
    ASSERT(files > 20);
}

TEST(store_key_fills_the_parts)
{
    char k[128];
    store_key(k, sizeof k, KEY_CHAT, "abc", NULL);
    ASSERT_STREQ(k, "cg:chat:{abc}");
    store_key(k, sizeof k, KEY_CHAT_V2, "abc", "log");
    ASSERT_STREQ(k, "cg:chat:{abc}:log");
    store_key(k, sizeof k, KEY_QUEUE, "demo", "pre-sales");
    ASSERT_STREQ(k, "cg:q:demo:pre-sales");
    store_key(k, sizeof k, KEY_QSEQ, NULL, NULL);
    ASSERT_STREQ(k, "cg:qseq");
}

int main(void)
{
    RUN(c_and_lua_spell_every_key_alike);
    RUN(lua_has_no_key_c_lacks);
    RUN(scripts_spell_no_key_themselves);
    RUN(daemon_c_files_spell_no_key_themselves);
    RUN(store_key_fills_the_parts);
    return TEST_SUMMARY();
}
