/* The official demo in one command, and any checkpoint behind every --model: a tiny model in
 * the official .pth layout, frames and texts from tools/gen_demo_fixture.py, whose PyTorch
 * computation of the demo (every n/T-th frame, bilinear resize, ImageNet normalisation,
 * softmax(100 * cosine)) gives the expected similarities and probabilities;
 * `viclip classify --templates - --sampling demo --interp bilinear --raw-captions` must print them. */
#include <math.h>
#include <string.h>

#include "io/json.h"
#include "io/npy.h"
#include "testutil.h"

#define D "build/tests/demo"

static int fixture(void) {
    static int state = 0; /* 0 unknown, 1 ready, -1 unavailable */
    if (state) return state;
    char out[4096];
    int rc = vc_test_run("/usr/bin/python3 tools/gen_demo_fixture.py --out " D, 1, out, sizeof out);
    state = rc == 0 ? 1 : -1;
    if (state < 0) printf("SKIP demo: no PyTorch reference (/usr/bin/python3 tools/gen_demo_fixture.py: %.300s)\n", out);
    return state;
}

typedef struct {
    char text[512];
    double sim, prob;
} expected_row;

static int read_expected(expected_row *rows, int cap) {
    FILE *f = fopen(D "/expected.tsv", "r");
    if (!f) return -1;
    int n = 0;
    char line[512];
    while (n < cap && fgets(line, sizeof line, f)) {
        char *a = strchr(line, '\t'), *b = a ? strchr(a + 1, '\t') : NULL;
        if (!b) break;
        *a = 0;
        snprintf(rows[n].text, sizeof rows[n].text, "%s", line);
        rows[n].sim = atof(a + 1), rows[n].prob = atof(b + 1);
        n++;
    }
    fclose(f);
    return n;
}

TEST(one_command_gives_the_official_demo_probabilities) {
    if (fixture() < 0) return;
    expected_row want[8];
    int n = read_expected(want, 8);
    CHECK(n == 4, "expected.tsv has %d rows", n);
    static char out[65536];
    int rc = vc_test_run("build/viclip classify --model " D "/model.pth --labels " D "/labels.txt --templates - "
                         "--sampling demo --interp bilinear --raw-captions --top-k 4 --json " D "/frames",
                         0, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    vc_error err;
    vc_json *j = vc_json_parse(out, strlen(out), &err);
    CHECK(j, "%s in: %s", err.msg, out);
    const vc_json *top = vc_json_get(vc_json_at(vc_json_get(j, "results"), 0), "top");
    int matched = 0;
    double worst_p = 0, worst_s = 0;
    for (size_t r = 0; top && r < vc_json_len(top); r++) {
        const vc_json *e = vc_json_at(top, r);
        const char *label = vc_json_string(vc_json_get(e, "label"));
        for (int k = 0; k < n; k++)
            if (label && !strcmp(label, want[k].text)) {
                matched++;
                worst_p = fmax(worst_p, fabs(vc_json_number(vc_json_get(e, "prob")) - want[k].prob));
                worst_s = fmax(worst_s, fabs(vc_json_number(vc_json_get(e, "similarity")) - want[k].sim));
            }
    }
    vc_json_free(j);
    CHECK(matched == 4, "%d of 4 texts in: %s", matched, out);
    /* printed with 6 decimals */
    CHECK(worst_p < 1e-5 && worst_s < 2e-6, "probability off by %.3g, similarity by %.3g: %s", worst_p, worst_s, out);

    /* the evaluation settings (middle frames, bicubic) are another computation: the test can fail */
    rc = vc_test_run("build/viclip classify --model " D "/model.pth --labels " D "/labels.txt --templates - "
                     "--raw-captions --top-k 4 --json " D "/frames", 0, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    char want_p[64];
    snprintf(want_p, sizeof want_p, "\"prob\":%.6f", want[0].prob);
    CHECK(!strstr(out, want_p), "middle/bicubic gave the demo's %s", want_p);
}

TEST(every_model_flag_imports_an_official_pth_in_memory) {
    if (fixture() < 0) return;
    char out[8192];
    int rc = vc_test_run("build/viclip encode --model " D "/model.pth --text 'a playful dog' --text 'two cats' --out " D
                         "/from_pth.npy", 1, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "model.pth: imported a torch-zip ViCLIP checkpoint in memory"), "no import line: %s", out);
    rc = vc_test_run("build/viclip convert " D "/model.pth " D "/model.safetensors && build/viclip encode --model " D
                     "/model.safetensors --text 'a playful dog' --text 'two cats' --out " D "/from_st.npy",
                     1, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(!strstr(out, "imported"), "a viclip model file is not imported: %s", out);
    vc_npy a, b;
    vc_error err;
    CHECK(vc_npy_read(D "/from_pth.npy", &a, &err) == 0, "%s", err.msg);
    CHECK(vc_npy_read(D "/from_st.npy", &b, &err) == 0, "%s", err.msg);
    const int same = a.ndim == 2 && b.ndim == 2 && a.shape[0] == 2 && a.shape[1] == b.shape[1] &&
                     !memcmp(a.data, b.data, (size_t)a.shape[0] * a.shape[1] * 4);
    vc_npy_free(&a), vc_npy_free(&b);
    CHECK(same, "embeddings from the .pth and from the converted file differ");
    /* and the commands that only read a model (info) */
    rc = vc_test_run("build/viclip info " D "/model.pth", 1, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"vision_width\":64"), "info: %s", out);
}

TEST_MAIN("demo", T(one_command_gives_the_official_demo_probabilities), T(every_model_flag_imports_an_official_pth_in_memory))
