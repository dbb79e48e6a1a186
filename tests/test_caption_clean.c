/* ViCLIP's caption cleaning against the Python reference (tools/gen_caption_fixture.py): the
 * committed tricky and seeded random cases, and, when /usr/bin/python3 is there, every Unicode
 * scalar value and every string of ../shared/data/queries.jsonl cleaned by Python at test time
 * (into build/tests/, deleted after the check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "text/caption_clean.h"

typedef struct {
    int checked, mismatched;
    char first[2048]; /* the first mismatch, or what made the file unreadable */
} tally;

static int put_utf8(uint32_t cp, char *d) {
    if (cp < 0x80) return d[0] = (char)cp, 1;
    if (cp < 0x800) return d[0] = (char)(0xC0 | cp >> 6), d[1] = (char)(0x80 | (cp & 0x3F)), 2;
    d[0] = (char)(0xE0 | cp >> 12), d[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), d[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Undoes the generator's escapes (\\ \t \n \r \uXXXX) in place; 0 on success. */
static int unescape(char *s) {
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        const char e = r[1];
        if (e == '\\' || e == 't' || e == 'n' || e == 'r') {
            *w++ = e == '\\' ? '\\' : e == 't' ? '\t' : e == 'n' ? '\n' : '\r';
            r += 2;
        } else if (e == 'u') {
            char hex[5] = {0}, *end;
            memcpy(hex, r + 2, strnlen(r + 2, 4));
            const unsigned long cp = strtoul(hex, &end, 16);
            if (end != hex + 4 || cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
            w += put_utf8((uint32_t)cp, w); /* never longer than the 6-byte escape */
            r += 6;
        } else return -1;
    }
    *w = 0;
    return 0;
}

/* Cleans the first field of every data line of a fixture and compares it with the second. */
static int check_file(const char *path, tally *t) {
    char *text = (char *)vc_test_read_file(path, NULL);
    if (!text) return snprintf(t->first, sizeof t->first, "cannot read %s", path), -1;
    long lineno = 0;
    int rc = 0;
    for (char *line = text, *next; line && *line && !rc; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (line[0] == '#') continue;
        char *want = strchr(line, '\t');
        if (!want || strchr(want + 1, '\t') || (*want++ = 0, unescape(line)) || unescape(want)) {
            snprintf(t->first, sizeof t->first, "%s:%ld: not INPUT<TAB>EXPECTED with valid escapes", path, lineno);
            rc = -1;
            break;
        }
        char *got = NULL;
        vc_error err;
        if (vc_clean_caption(line, &got, &err)) {
            snprintf(t->first, sizeof t->first, "%s:%ld: %s", path, lineno, err.msg);
            rc = -1;
            break;
        }
        t->checked++;
        if (strcmp(got, want) && !t->mismatched++)
            snprintf(t->first, sizeof t->first, "%s:%ld: '%s' -> '%s', expected '%s'", path, lineno, line, got, want);
        free(got);
    }
    free(text);
    return rc;
}

TEST(committed_cases_match_the_python_reference) {
    tally t = {0};
    CHECK(check_file("tests/fixtures/caption/clean.tsv", &t) == 0, "%s", t.first);
    CHECK(t.checked >= 1067, "only %d cases", t.checked);
    CHECK(t.mismatched == 0, "%d mismatches; first: %s", t.mismatched, t.first);
}

/* Runs the generator with `args` into build/tests/NAME and checks every row; 1 if Python ran. */
static int check_generated(const char *args, const char *name, tally *t) {
    char path[256], cmd[4096], out[4096];
    snprintf(path, sizeof path, "build/tests/%s", name);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/gen_caption_fixture.py %s --out %s", args, path);
    if (vc_test_run(cmd, 1, out, sizeof out) != 0) {
        printf("SKIP caption_clean: no /usr/bin/python3 to run the reference (%.200s)\n", out);
        return 0;
    }
    if (check_file(path, t)) t->mismatched = t->mismatched ? t->mismatched : -1;
    unlink(path);
    return 1;
}

TEST(every_code_point_matches_the_python_reference) {
    tally t = {0};
    if (!check_generated("--all-code-points", "caption_code_points.tsv", &t)) return;
    printf("  caption_clean: %d lines covering every Unicode scalar value, %d mismatches\n", t.checked, t.mismatched);
    CHECK(t.checked == (0x110000 - 0x800 - 1 + 63) / 64, "%d lines", t.checked);
    CHECK(t.mismatched == 0, "%d mismatches; first: %s", t.mismatched, t.first);
}

TEST(every_real_query_matches_the_python_reference) {
    char src[1024], args[1200];
    snprintf(src, sizeof src, "%s/queries.jsonl", vc_shared_data_dir());
    if (access(src, R_OK)) {
        printf("SKIP caption_clean: %s not found\n", src);
        return;
    }
    snprintf(args, sizeof args, "--from '%s'", src);
    tally t = {0};
    if (!check_generated(args, "caption_queries.tsv", &t)) return;
    printf("  caption_clean: %d query strings (English and Chinese) checked, %d mismatches\n", t.checked, t.mismatched);
    CHECK(t.checked >= 12000, "only %d strings", t.checked);
    CHECK(t.mismatched == 0, "%d mismatches; first: %s", t.mismatched, t.first);
}

TEST(single_whitespace_stays_and_runs_collapse) {
    /* re's \s is str.isspace(): U+001C..U+001F count, unlike in the tokenizer's regex-module \s */
    static const char *const cases[][2] = {
        {"A\tB", "a\tb"},
        {"A\t\tB", "a b"},
        {"A\x1c\x1f" "B", "a b"},
        {"A\xe3\x80\x80" "B", "a\xe3\x80\x80" "b"},             /* one U+3000 stays */
        {"A\xe3\x80\x80\xc2\xa0" "B", "a b"},                  /* U+3000 U+00A0 collapse */
        {"A\xe2\x80\x8b\xe2\x80\x8b" "B", "a\xe2\x80\x8b\xe2\x80\x8b" "b"}, /* U+200B is no space */
        {"X - Y\n", "x y"},
        {"\nTop", "\ntop"},                                    /* strip(' ') keeps a single \n */
        {"\n\nTop", "top"},                                    /* ... but a run is a space first */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = NULL;
        vc_error err;
        CHECK(vc_clean_caption(cases[i][0], &got, &err) == 0, "%s", err.msg);
        int same = !strcmp(got, cases[i][1]);
        free(got);
        CHECK(same, "case %zu", i);
    }
}

TEST(invalid_utf8_is_an_error_naming_the_byte) {
    static const struct { const char *in, *want; } cases[] = {
        {"A\xff" "B", "byte 0xFF at offset 1 is a byte that never occurs"},
        {"ab\x80", "byte 0x80 at offset 2 is a continuation byte"},
        {"\xc3", "byte 0xC3 at offset 0 is a sequence cut short"},
        {"x\xe4\xb8", "byte 0xE4 at offset 1 is a sequence cut short"},
        {"\xe4\xb8z", "cut short"},
        {"\xc0\xaf", "byte 0xC0 at offset 0 is an overlong"},
        {"\xe0\x80\xaf", "overlong"},
        {"\xf0\x82\x82\xac", "overlong"},
        {"\xed\xa0\x80", "surrogate"},
        {"\xf4\x90\x80\x80", "past U+10FFFF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = (char *)"unset";
        vc_error err = {{0}};
        CHECK(vc_clean_caption(cases[i].in, &got, &err) == -1, "case %zu accepted", i);
        CHECK(got == NULL, "case %zu: *out not NULL on failure", i);
        CHECK(strstr(err.msg, cases[i].want) && strstr(err.msg, "not valid UTF-8"), "case %zu: '%s'", i, err.msg);
    }
    char *got = NULL;
    vc_error err;
    /* the largest scalar values of each length are fine, and U+FFFD written out is just text */
    CHECK(vc_clean_caption("\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbd", &got, &err) == 0, "%s", err.msg);
    CHECK(!strcmp(got, "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbd"), "'%s'", got);
    free(got);
}

TEST_MAIN("caption_clean", T(committed_cases_match_the_python_reference), T(every_code_point_matches_the_python_reference),
          T(every_real_query_matches_the_python_reference), T(single_whitespace_stays_and_runs_collapse),
          T(invalid_utf8_is_an_error_naming_the_byte))
