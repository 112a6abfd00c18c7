/*
 * test_protocol_doc.c - proto/PROTOCOL.md tells clients the same error
 * codes, texts and close reasons the daemon sends: its error table (§3)
 * against CHATGW_ERRNO_MAP, its close table (§4) against CLOSE_REASON_MAP.
 * A code or reason missing on either side, or a text that differs, fails.
 * Reads proto/PROTOCOL.md relative to the current directory (`make unit`
 * runs from the repository root).
 */
#include <ctype.h>

#include "errors.h"
#include "roles.h"
#include "test.h"

#define DOC_PATH "proto/PROTOCOL.md"
#define ROWS_MAX 64
#define CELL_MAX 128

struct row {
    char cell[2][CELL_MAX];   /* the first two cells, trimmed, backquotes removed */
};

struct table {
    struct row rows[ROWS_MAX];
    int n;
};

static const char *const close_reasons[] = {
#define CR_STR(name, str) str,
    CLOSE_REASON_MAP(CR_STR)
#undef CR_STR
};

/* Copies the cell starting at p (after a '|') into out; returns the next '|'. */
static const char *cell_copy(const char *p, char *out)
{
    const char *end = strchr(p, '|');
    size_t n = 0;

    if (!end)
        end = p + strlen(p);
    while (p < end && isspace((unsigned char)*p))
        p++;
    for (; p < end && n + 1 < CELL_MAX; p++)
        if (*p != '`')
            out[n++] = *p;
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        n--;
    out[n] = '\0';
    return *end == '|' ? end + 1 : end;
}

/*
 * Reads the first table whose header row starts with the cells h0 and h1:
 * its rows after the |---| line, up to the first line that is not a row.
 * Returns 0, or -1 when the file or the table is missing.
 */
static int table_read(const char *h0, const char *h1, struct table *t)
{
    FILE *f = fopen(DOC_PATH, "r");
    char line[1024];
    int in_table = 0;

    t->n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char c0[CELL_MAX], c1[CELL_MAX];

        if (line[0] != '|') {
            if (in_table)
                break;
            continue;
        }
        cell_copy(cell_copy(line + 1, c0), c1);
        if (!in_table) {
            if (strcmp(c0, h0) == 0 && strcmp(c1, h1) == 0)
                in_table = 1;
            continue;
        }
        if (c0[0] == '-' || t->n == ROWS_MAX)
            continue;
        memcpy(t->rows[t->n].cell[0], c0, CELL_MAX);
        memcpy(t->rows[t->n].cell[1], c1, CELL_MAX);
        t->n++;
    }
    fclose(f);
    return in_table ? 0 : -1;
}

static struct row *table_find(struct table *t, int col, const char *value)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].cell[col], value) == 0)
            return &t->rows[i];
    return NULL;
}

TEST(every_error_code_is_documented_with_its_text)
{
    static struct table t;

    ASSERT(table_read("Code", "Text", &t) == 0);
    ASSERT(t.n > 0);
    for (int e = CG_OK + 1; e < CG_E__COUNT; e++) {
        struct row *r = table_find(&t, 0, cg_err_code(e));
        if (!r)
            FAIL_("error code %s is missing from " DOC_PATH " §3", cg_err_code(e));
        ASSERT_STREQ(r->cell[1], cg_err_text(e));
    }
}

TEST(every_documented_error_code_is_sent_by_the_daemon)
{
    static struct table t;

    ASSERT(table_read("Code", "Text", &t) == 0);
    for (int i = 0; i < t.n; i++) {
        int found = 0;
        for (int e = CG_OK + 1; e < CG_E__COUNT; e++)
            found += strcmp(t.rows[i].cell[0], cg_err_code(e)) == 0;
        if (found != 1)
            FAIL_(DOC_PATH " §3 lists error code %s, CHATGW_ERRNO_MAP has it %d times",
                  t.rows[i].cell[0], found);
    }
}

TEST(every_close_reason_is_documented)
{
    static struct table t;

    ASSERT(table_read("Code", "Reason", &t) == 0);
    ASSERT(t.n > 0);
    for (size_t i = 0; i < sizeof close_reasons / sizeof *close_reasons; i++)
        if (!table_find(&t, 1, close_reasons[i]))
            FAIL_("close reason %s is missing from " DOC_PATH " §4", close_reasons[i]);
}

TEST(every_documented_close_reason_is_in_the_map)
{
    static struct table t;

    ASSERT(table_read("Code", "Reason", &t) == 0);
    for (int i = 0; i < t.n; i++) {
        int found = 0;
        for (size_t j = 0; j < sizeof close_reasons / sizeof *close_reasons; j++)
            found += strcmp(t.rows[i].cell[1], close_reasons[j]) == 0;
        if (!found)
            FAIL_(DOC_PATH " §4 lists close reason %s, CLOSE_REASON_MAP has not",
                  t.rows[i].cell[1]);
    }
}

int main(void)
{
    RUN(every_error_code_is_documented_with_its_text);
    RUN(every_documented_error_code_is_sent_by_the_daemon);
    RUN(every_close_reason_is_documented);
    RUN(every_documented_close_reason_is_in_the_map);
    return TEST_SUMMARY();
}
