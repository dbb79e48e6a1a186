/* ViCLIP's caption cleaning against the Python reference (tools/gen_caption_fixture.py): the
 * committed tricky cases, and every English and Chinese string of ../shared/data/queries.jsonl
 * cleaned by Python at test time when python3 and the file are there. */
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "testutil.h"
#include "text/caption_clean.h"

typedef struct {
    int checked, mismatched;
    char first[1024];
} tally;

static int check_line(const vc_json *obj, long lineno, void *ud, vc_error *err) {
    tally *t = ud;
    const char *in = vc_json_string(vc_json_get(obj, "in")), *want = vc_json_string(vc_json_get(obj, "out"));
    if (!in || !want) return vc_fail(err, "line %ld: need \"in\" and \"out\" strings", lineno);
    char *got = NULL;
    if (vc_clean_caption(in, &got, err)) return -1;
    t->checked++;
    if (strcmp(got, want) && !t->mismatched++)
        snprintf(t->first, sizeof t->first, "line %ld: '%s' -> '%s', expected '%s'", lineno, in, got, want);
    free(got);
    return 0;
}

TEST(tricky_cases_match_the_python_reference) {
    tally t = {0};
    vc_error err;
    CHECK(vc_jsonl_foreach("tests/fixtures/caption/clean.jsonl", check_line, &t, &err) == 0, "%s", err.msg);
    CHECK(t.checked >= 38, "only %d cases", t.checked);
    CHECK(t.mismatched == 0, "%d mismatches; first: %s", t.mismatched, t.first);
}

TEST(every_real_query_matches_the_python_reference) {
    char src[1024], cmd[4096], out[4096];
    snprintf(src, sizeof src, "%s/queries.jsonl", vc_shared_data_dir());
    FILE *f = fopen(src, "r");
    if (!f) {
        printf("SKIP caption_clean: %s not found\n", src);
        return;
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/gen_caption_fixture.py --from %s --out build/tests/caption_queries.jsonl", src);
    if (vc_test_run(cmd, 1, out, sizeof out) != 0) {
        printf("SKIP caption_clean: no python3 to run the reference (%s)\n", out);
        return;
    }
    tally t = {0};
    vc_error err;
    CHECK(vc_jsonl_foreach("build/tests/caption_queries.jsonl", check_line, &t, &err) == 0, "%s", err.msg);
    printf("  %d query strings cleaned, %d mismatches\n", t.checked, t.mismatched);
    CHECK(t.checked >= 12000, "only %d strings", t.checked);
    CHECK(t.mismatched == 0, "%d mismatches; first: %s", t.mismatched, t.first);
}

TEST(invalid_utf8_becomes_replacement_characters) {
    char *got = NULL;
    vc_error err;
    CHECK(vc_clean_caption("A\xff B", &got, &err) == 0, "%s", err.msg);
    CHECK(!strcmp(got, "a\xef\xbf\xbd b"), "got '%s'", got);
    free(got);
}

TEST_MAIN("caption_clean", T(tricky_cases_match_the_python_reference), T(every_real_query_matches_the_python_reference),
          T(invalid_utf8_becomes_replacement_characters))
