/* The official demo in one command, and any checkpoint behind every --model: a tiny model in
 * the official .pth layout, frames and texts from tools/gen_demo_fixture.py, whose PyTorch
 * computation of the demo (every n/T-th frame, bilinear resize, ImageNet normalisation,
 * softmax(100 * cosine)) gives the expected similarities and probabilities;
 * `viclip classify --templates - --sampling demo --interp bilinear --raw-captions --precision fp32` must print
 * them (the demo runs in float32; the bf16 default moves these tiny-model probabilities by ~1e-2). */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "io/json.h"
#include "io/npy.h"
#include "testutil.h"
#include "video/transform.h"

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
                         "--sampling demo --interp bilinear --raw-captions --precision fp32 --top-k 4 --json " D "/frames",
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

/* --interp bilinear is the demo's cv2.resize, byte for byte, on random images and sizes
 * (down and up, the exact 2x reduction, widths that are and are not multiples of 16). */
TEST(bilinear_is_cv2_resize_byte_for_byte) {
    enum { N = 60 };
    int sz[N][4] = {{640, 480, 224, 224}, {48, 36, 32, 32}, {4, 4, 2, 2}, {5, 3, 11, 7}, {1280, 720, 224, 224}, {37, 91, 13, 29}};
    vc_rng r = vc_rng_at(11, 0, 0, 0);
    for (int i = 6; i < N; i++)
        for (int k = 0; k < 4; k++) sz[i][k] = 1 + (int)vc_rng_below(&r, k < 2 ? 300 : 260);
    mkdir("build/tests", 0755);
    mkdir(D, 0755);
    FILE *f = fopen(D "/resize_in.bin", "wb");
    CHECK(f, "cannot write " D "/resize_in.bin");
    size_t total_out = 0;
    for (int i = 0; i < N; i++) {
        fwrite(sz[i], 4, 4, f);
        for (int b = 0; b < sz[i][0] * sz[i][1] * 3; b++) fputc((int)vc_rng_below(&r, 256), f);
        total_out += (size_t)sz[i][2] * sz[i][3] * 3;
    }
    fclose(f);
    char out[4096];
    if (vc_test_run("/usr/bin/python3 tools/check_resize_cv2.py " D "/resize_in.bin " D "/resize_cv2.bin", 1, out,
                    sizeof out)) {
        printf("SKIP demo: no cv2 (python3-opencv) to compare with (%.200s)\n", out);
        return;
    }
    size_t n_in, n_ref;
    unsigned char *in = vc_test_read_file(D "/resize_in.bin", &n_in), *ref = vc_test_read_file(D "/resize_cv2.bin", &n_ref);
    CHECK(in && ref && n_ref == total_out, "cv2 output %zu bytes, expected %zu", n_ref, total_out);
    size_t pos = 16, at = 0;
    int bad = 0;
    for (int i = 0; i < N && !bad; i++) {
        const int w = sz[i][0], h = sz[i][1], ow = sz[i][2], oh = sz[i][3];
        unsigned char *mine = malloc((size_t)ow * oh * 3);
        vc_error err;
        CHECK(mine && vc_resize_rgb_u8(in + pos, w, h, (size_t)w * 3, mine, ow, oh, VC_INTERP_BILINEAR, &err) == 0, "%s", err.msg);
        for (size_t b = 0; b < (size_t)ow * oh * 3 && !bad; b++)
            if (mine[b] != ref[at + b]) {
                bad = 1;
                snprintf(out, sizeof out, "%dx%d -> %dx%d: byte %zu is %d, cv2 %d", w, h, ow, oh, b, mine[b], ref[at + b]);
            }
        free(mine);
        pos += (size_t)w * h * 3 + 16, at += (size_t)ow * oh * 3;
    }
    free(in), free(ref);
    CHECK(!bad, "%s", out);
}

TEST_MAIN("demo", T(bilinear_is_cv2_resize_byte_for_byte), T(one_command_gives_the_official_demo_probabilities), T(every_model_flag_imports_an_official_pth_in_memory))
