/* test_greet.c - greeting and holding-reply templates. */
#include "test.h"
#include "greet.h"

static const struct greet_vars all = { .store = "Shop", .buyer = "Ann", .position = "3", .agent = "Bo" };

TEST(renders_every_placeholder)
{
    char out[128];
    const char *want = "Shop/Ann/3/Bo";
    size_t n = greet_render("{store}/{buyer}/{position}/{agent}", &all, out, sizeof out);

    ASSERT_STREQ(out, want);
    ASSERT_EQ(n, strlen(want));
}

TEST(plain_text_and_repeats)
{
    char out[128];

    ASSERT_EQ(greet_render("", &all, out, sizeof out), 0);
    ASSERT_STREQ(out, "");
    greet_render("no placeholders here", &all, out, sizeof out);
    ASSERT_STREQ(out, "no placeholders here");
    greet_render("{buyer}{buyer} at {store}!", &all, out, sizeof out);
    ASSERT_STREQ(out, "AnnAnn at Shop!");
}

TEST(null_values_render_empty)
{
    char out[128];
    struct greet_vars v = { .store = "Shop" };

    ASSERT_EQ(greet_render("Hi {buyer}, #{position} {agent}@{store}", &v, out, sizeof out),
              strlen("Hi , # @Shop"));
    ASSERT_STREQ(out, "Hi , # @Shop");
    greet_render("{store}", NULL, out, sizeof out);
    ASSERT_STREQ(out, "");
    greet_render(NULL, &all, out, sizeof out);
    ASSERT_STREQ(out, "");
}

TEST(doubled_braces_are_literal)
{
    char out[128];

    greet_render("{{store}} is {store}; }} and {{", &all, out, sizeof out);
    ASSERT_STREQ(out, "{store} is Shop; } and {");
    greet_render("{{{store}}}", &all, out, sizeof out);
    ASSERT_STREQ(out, "{Shop}");
    greet_render("a } b", &all, out, sizeof out);      /* a lone } is kept */
    ASSERT_STREQ(out, "a } b");
}

TEST(unknown_and_unclosed_copied_verbatim)
{
    char out[128];

    greet_render("x {shop} y", &all, out, sizeof out);
    ASSERT_STREQ(out, "x {shop} y");
    greet_render("x {store y", &all, out, sizeof out);
    ASSERT_STREQ(out, "x {store y");
    greet_render("{a{store}", &all, out, sizeof out);
    ASSERT_STREQ(out, "{aShop");
}

TEST(values_are_not_expanded_again)
{
    char out[128];
    struct greet_vars v = { .store = "{buyer}", .buyer = "Ann" };

    greet_render("{store}", &v, out, sizeof out);
    ASSERT_STREQ(out, "{buyer}");
}

TEST(truncates_and_terminates)
{
    char out[8];

    memset(out, 'X', sizeof out);
    ASSERT_EQ(greet_render("Hello {buyer}, welcome", &all, out, sizeof out), 7);
    ASSERT_STREQ(out, "Hello A");
    ASSERT_EQ(greet_render("abc", &all, out, 1), 0);
    ASSERT_STREQ(out, "");
    out[0] = 'X';
    ASSERT_EQ(greet_render("abc", &all, out, 0), 0);   /* cap 0: nothing written */
    ASSERT_EQ(out[0], 'X');
    ASSERT_EQ(greet_render("abcdefg", &all, out, sizeof out), 7);  /* exactly fits */
    ASSERT_STREQ(out, "abcdefg");
}

TEST(truncates_on_utf8_boundary)
{
    char out[8];
    /* "你好" is 6 bytes; "ab你好" needs 8 + NUL: cut before the second character */
    ASSERT_EQ(greet_render("ab\xe4\xbd\xa0\xe5\xa5\xbd", &all, out, sizeof out), 5);
    ASSERT_STREQ(out, "ab\xe4\xbd\xa0");

    struct greet_vars v = { .buyer = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80" };  /* two 4-byte emoji */
    ASSERT_EQ(greet_render("Hi! {buyer}", &v, out, sizeof out), 4);       /* "Hi! " + 4 > 7 */
    ASSERT_STREQ(out, "Hi! ");
    ASSERT_EQ(greet_render("Hi {buyer}", &v, out, sizeof out), 7);        /* one emoji fits */
    ASSERT_STREQ(out, "Hi \xf0\x9f\x98\x80");
}

TEST(stops_after_first_piece_that_does_not_fit)
{
    char out[6];
    struct greet_vars v = { .store = "LONGNAME", .buyer = "x" };

    /* {store} is cut; the short {buyer} after it must not be appended */
    ASSERT_EQ(greet_render("{store}{buyer}", &v, out, sizeof out), 5);
    ASSERT_STREQ(out, "LONGN");
}

TEST(check_accepts_known)
{
    char bad[32] = "";

    ASSERT_EQ(greet_check("Hi {buyer} at {store}, #{position}, {agent}; {{x}} }", bad, sizeof bad), 0);
    ASSERT_EQ(greet_check("", bad, sizeof bad), 0);
    ASSERT_EQ(greet_check(NULL, bad, sizeof bad), 0);
}

TEST(check_names_unknown_placeholder)
{
    char bad[32];

    ASSERT_EQ(greet_check("Hi {buyer}, welcome to {shop}", bad, sizeof bad), -1);
    ASSERT_STREQ(bad, "shop");
    ASSERT_EQ(greet_check("{}", bad, sizeof bad), -1);
    ASSERT_STREQ(bad, "");
    ASSERT_EQ(greet_check("{Store}", bad, sizeof bad), -1);
    ASSERT_STREQ(bad, "Store");
    ASSERT_EQ(greet_check("{a_very_long_placeholder_name_indeed_yes}", bad, 8), -1);
    ASSERT_STREQ(bad, "a_very_");                      /* cut to badlen */
}

TEST(check_reports_unclosed)
{
    char bad[32];

    ASSERT_EQ(greet_check("Hi {buyer", bad, sizeof bad), -1);
    ASSERT_STREQ(bad, "unclosed {");
    ASSERT_EQ(greet_check("{a{store}", bad, sizeof bad), -1);
    ASSERT_STREQ(bad, "unclosed {");
    ASSERT_EQ(greet_check("trailing {", bad, sizeof bad), -1);
    ASSERT_STREQ(bad, "unclosed {");
}

int main(void)
{
    RUN(renders_every_placeholder);
    RUN(plain_text_and_repeats);
    RUN(null_values_render_empty);
    RUN(doubled_braces_are_literal);
    RUN(unknown_and_unclosed_copied_verbatim);
    RUN(values_are_not_expanded_again);
    RUN(truncates_and_terminates);
    RUN(truncates_on_utf8_boundary);
    RUN(stops_after_first_piece_that_does_not_fit);
    RUN(check_accepts_known);
    RUN(check_names_unknown_placeholder);
    RUN(check_reports_unclosed);
    return TEST_SUMMARY();
}
