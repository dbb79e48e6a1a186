/* The public library: libviclip.so exports only viclip_* symbols; the examples/ program, built
 * against the shared library from include/viclip.h alone, prints the similarity the library's
 * internals compute; the API reports errors as strings and never exits. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/evaluate.h"
#include "model/contrastive.h"
#include "model/model_io.h"
#include "testutil.h"
#include "video/clip.h"
#include "viclip.h"

#define DIR "build/tests/library"
#define VIDEO "tests/fixtures/video/h264.mp4"

TEST(shared_library_exports_only_the_public_api) {
    static char out[1 << 16];
    int rc = vc_test_run("nm -D --defined-only build/libviclip.so | awk '{print $NF}'", 0, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "viclip_init_from_file"), "nm: %d %.300s", rc, out);
    /* exactly the functions include/viclip.h declares */
    static char header[1 << 16];
    rc = vc_test_run("grep -o '^VICLIP_API [^(]*(' include/viclip.h | sed -E 's/.*[ *](viclip_[a-z0-9_]+)\\($/\\1/' | sort",
                     0, header, sizeof header);
    int n_declared = 0;
    for (const char *p = header; (p = strstr(p, "viclip_")); p++) n_declared++;
    CHECK(rc == 0 && n_declared >= 60, "%d functions declared in include/viclip.h: %.300s", n_declared, header);
    int n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strcmp(line, "_init") || !strcmp(line, "_fini")) continue;
        CHECK(!strncmp(line, "viclip_", 7), "internal symbol '%s' exported", line);
        char word[256];
        snprintf(word, sizeof word, "%s\n", line);
        CHECK(strstr(header, word), "'%s' is exported but not declared in include/viclip.h", line);
        n++;
    }
    CHECK(n == n_declared, "%d symbols exported, %d functions declared", n, n_declared);
}

/* The same similarity through the internals: model file, clip loader, towers, tokenizer. */
static int internal_similarity(const char *model, const char *video, const char *text, double *sim, vc_error *err) {
    vc_model *m = vc_model_load(model, NULL, err);
    if (!m) return -1;
    const vc_config *c = &m->cfg;
    const vc_preprocess pp = vc_preprocess_default(c->num_frames, c->image_size);
    float *clip = malloc((size_t)c->num_frames * 3 * c->image_size * c->image_size * sizeof *clip);
    float *v = malloc(c->embed_dim * sizeof *v), *t = malloc(c->embed_dim * sizeof *t);
    char vocab[4096];
    vc_tokenizer *tok = vc_tokenizer_find_vocab(vocab, sizeof vocab, err) ? NULL : vc_tokenizer_load(vocab, err);
    int rc = tok && clip && v && t ? 0 : -1;
    if (!rc) rc = vc_clip_load(video, &pp, clip, err);
    if (!rc) rc = vc_model_encode_video(m, clip, 1, v, err);
    if (!rc) rc = vc_encode_texts_normalized(m, tok, &text, 1, 1, t, err);
    if (!rc) {
        vc_l2_normalize_rows(v, 1, c->embed_dim);
        double s = 0;
        for (int i = 0; i < c->embed_dim; i++) s += (double)v[i] * t[i];
        *sim = s;
    }
    free(clip), free(v), free(t);
    vc_tokenizer_free(tok);
    vc_model_free(m);
    return rc;
}

TEST(example_prints_the_similarity_the_library_computes) {
    SKIP_WITHOUT_VIDEO(); /* it decodes the fixture video */
    mkdir("build/tests", 0755);
    mkdir(DIR, 0755);
    viclip_error err;
    viclip_context *ctx = viclip_init_random("demo", 5, viclip_context_default_params(), &err);
    CHECK(ctx, "%s", err.msg);
    CHECK(viclip_embed_dim(ctx) == 128 && viclip_n_frames(ctx) == 8 && viclip_image_size(ctx) == 32 &&
              viclip_context_length(ctx) == 32 && strstr(viclip_model_config_json(ctx), "\"vision_width\":128"),
          "model facts");
    int rc = viclip_save(ctx, DIR "/model.safetensors", &err);
    viclip_free(ctx);
    CHECK(rc == 0, "%s", err.msg);
    char out[4096];
    rc = vc_test_run("build/examples/similarity " DIR "/model.safetensors " VIDEO " 'a red circle moves left'", 1, out,
                     sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    double printed = 0, want = 0;
    CHECK(sscanf(out, "similarity %lf", &printed) == 1, "output: %s", out);
    vc_error e;
    CHECK(internal_similarity(DIR "/model.safetensors", VIDEO, "a red circle moves left", &want, &e) == 0, "%s", e.msg);
    CHECK(fabs(printed - want) < 1e-6 && fabs(want) > 1e-4, "example %.6f, internals %.6f", printed, want);
}

TEST(make_install_and_pkg_config_build_a_program_against_the_installed_library) {
    static char out[16384];
    char cwd[1024], cmd[4096];
    CHECK(getcwd(cwd, sizeof cwd), "getcwd");
    snprintf(cmd, sizeof cmd,
             "P=%s/" DIR "/prefix && rm -rf $P && make -s install PREFIX=$P >/dev/null && "
             "export PKG_CONFIG_PATH=$P/lib/pkgconfig && test -f $P/include/viclip.h && test -f $P/lib/libviclip.a && "
             "cc -std=c11 examples/similarity.c $(pkg-config --cflags --libs viclip) -Wl,-rpath,$P/lib -o " DIR "/ex_shared && "
             "cc -std=c11 examples/similarity.c $(pkg-config --cflags viclip) $P/lib/libviclip.a "
             "$(pkg-config --static --libs viclip | sed 's/-lviclip//') -o " DIR "/ex_static && "
             "ldd " DIR "/ex_shared | grep -c \"$P/lib/libviclip.so.0\" && "
             DIR "/ex_shared " DIR "/model.safetensors " VIDEO " 'a red circle moves left' && "
             DIR "/ex_static " DIR "/model.safetensors " VIDEO " 'a red circle moves left'",
             cwd);
    int rc = vc_test_run(cmd, 1, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    char *a = strstr(out, "similarity "), *b = a ? strstr(a + 1, "similarity ") : NULL;
    CHECK(a && b && !strncmp(a, b, 19) && strstr(out, "1\n"), "shared and static builds disagree or the installed .so was not used: %s", out);
}

TEST(api_classifies_tokenizes_and_reports_errors_as_strings) {
    SKIP_WITHOUT_VIDEO(); /* it decodes the fixture video */
    viclip_error err;
    viclip_context *bad = viclip_init_from_file(DIR "/no_such_model.pth", viclip_context_default_params(), &err);
    CHECK(!bad && strstr(err.msg, "no_such_model.pth"), "%s", err.msg);
    CHECK(!viclip_init_random("huge", 1, viclip_context_default_params(), &err) && strstr(err.msg, "huge"), "%s", err.msg);
    viclip_context *ctx = viclip_init_random("demo", 5, viclip_context_default_params(), &err);
    CHECK(ctx, "%s", err.msg);
    int32_t ids[32];
    int n = 0;
    CHECK(viclip_tokenize(ctx, "a playful dog", ids, &n, &err) == 0, "%s", err.msg);
    CHECK(n == 5 && ids[0] == 49406 && ids[1] == 320 && ids[2] == 23871 && ids[3] == 1929 && ids[4] == 49407 && !ids[5],
          "ids %d %d %d %d %d (n %d)", ids[0], ids[1], ids[2], ids[3], ids[4], n);
    const int E = viclip_embed_dim(ctx);
    float v[2 * 128], t[3 * 128], probs[2 * 3], sims[2 * 3];
    struct viclip_video_params vp = viclip_video_default_params();
    const char *paths[] = {VIDEO, DIR "/missing.mp4"};
    unsigned char ok[2];
    int n_ok = 0;
    CHECK(viclip_encode_video_files(ctx, paths, 2, &vp, v, ok, &n_ok, &err) == 0, "%s", err.msg);
    CHECK(ok[0] && !ok[1] && n_ok == 1, "ok %d %d", ok[0], ok[1]);
    CHECK(viclip_encode_video_file(ctx, DIR "/missing.mp4", &vp, t, &err) == -1 && strstr(err.msg, "missing.mp4"), "%s",
          err.msg);
    float one[128];
    CHECK(viclip_encode_video_file(ctx, VIDEO, &vp, one, &err) == 0, "%s", err.msg);
    CHECK(fabsf(viclip_similarity(one, v, E) - 1) < 1e-5, "file and batch encodings differ");
    const char *labels[] = {"circle", "square", "triangle"}, *as_written[] = {"{}"};
    CHECK(viclip_classify(ctx, v, 1, labels, 3, as_written, 1, 100, probs, sims, &err) == 0, "%s", err.msg);
    const char *texts[] = {"circle", "square", "triangle"};
    CHECK(viclip_encode_texts(ctx, texts, 3, t, &err) == 0, "%s", err.msg);
    double sum = 0, z = 0;
    for (int c = 0; c < 3; c++) z += exp(100.0 * viclip_similarity(v, t + c * E, E));
    for (int c = 0; c < 3; c++) {
        const double s = viclip_similarity(v, t + c * E, E), p = exp(100.0 * s) / z;
        CHECK(fabs(sims[c] - s) < 1e-5 && fabs(probs[c] - p) < 1e-5, "class %d: sim %g vs %g, prob %g vs %g", c, sims[c], s,
              probs[c], p);
        sum += probs[c];
    }
    CHECK(fabs(sum - 1) < 1e-5, "probabilities sum to %g", sum);
    vp.sampling = (enum viclip_sampling)7;
    CHECK(viclip_encode_video_file(ctx, VIDEO, &vp, one, &err) == -1 && strstr(err.msg, "sampling"), "%s", err.msg);
    /* a training step lowers the loss on a repeated batch */
    const int T = 8, S = 32, B = 2;
    float *clips = malloc((size_t)B * T * 3 * S * S * sizeof *clips);
    int32_t tok[2 * 32];
    CHECK(clips, "oom");
    vp = viclip_video_default_params();
    CHECK(viclip_load_clip(ctx, VIDEO, &vp, clips, &err) == 0 && viclip_tokenize(ctx, "circle", tok, NULL, &err) == 0 &&
              viclip_tokenize(ctx, "square", tok + 32, NULL, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < (size_t)T * 3 * S * S; i++) clips[(size_t)T * 3 * S * S + i] = -clips[i];
    struct viclip_train_params tp = viclip_train_default_params();
    tp.lr = 1e-3f, tp.mask_ratio = 0;
    double first = 0, loss = 0;
    int rc = 0;
    for (int s = 0; s < 5; s++) {
        rc = viclip_train_step(ctx, clips, tok, B, &tp, s ? &loss : &first, &err);
        if (rc) break;
    }
    free(clips);
    viclip_free(ctx);
    CHECK(rc == 0, "%s", err.msg);
    CHECK(loss < first, "loss %g -> %g", first, loss);
}

/* Index row dtypes through the API: --index-dtype names both ways, and an int8 index built
 * from outside embeddings ranks (scores within int8 rounding) and saves its scales. */
TEST(api_index_dtypes_by_name_and_int8_rows) {
    static const char *const names[] = {"fp16", "int8", "fp32"};
    static const enum viclip_dtype dts[] = {VICLIP_F16, VICLIP_I8, VICLIP_F32};
    viclip_error err;
    for (int i = 0; i < 3; i++) {
        enum viclip_dtype d = VICLIP_BF16;
        CHECK(viclip_index_dtype_from_name(names[i], &d, &err) == 0 && d == dts[i], "%s: %s", names[i], err.msg);
        CHECK(!strcmp(viclip_index_dtype_name(dts[i]), names[i]), "%s", viclip_index_dtype_name(dts[i]));
    }
    enum viclip_dtype d = VICLIP_F16;
    CHECK(viclip_index_dtype_from_name("int4", &d, &err) == -1 && strstr(err.msg, "--index-dtype int4"), "%s", err.msg);
    CHECK(!strcmp(viclip_dtype_name(VICLIP_I8), "I8") && !strcmp(viclip_dtype_name(VICLIP_F16), "F16") &&
              !strcmp(viclip_dtype_name((enum viclip_dtype)99), "?"), "dtype names");
    enum { N = 64, E = 32 };
    float rows[N * E];
    double se[N] = {0};
    for (int i = 0; i < N; i++) { /* row i: unit vector mostly along axis i % E */
        double nrm = 0;
        for (int e = 0; e < E; e++) rows[i * E + e] = (e == i % E ? 4.0f : 0.0f) + 0.01f * (float)((i * 7 + e * 13) % 11);
        for (int e = 0; e < E; e++) nrm += (double)rows[i * E + e] * rows[i * E + e];
        for (int e = 0; e < E; e++) rows[i * E + e] /= (float)sqrt(nrm);
    }
    viclip_index *x = viclip_index_new(E, VICLIP_I8, &err);
    CHECK(x && viclip_index_append(x, "clip.mp4", 1, 0, 1, rows, se, se, N, &err) == 0, "%s", err.msg);
    CHECK(viclip_index_dtype(x) == VICLIP_I8, "dtype %d", (int)viclip_index_dtype(x));
    struct viclip_hit hits[3];
    int got = 0;
    CHECK(viclip_index_rank(x, rows + 5 * E, 1, 3, hits, &got, &err) == 0 && got == 3, "%s", err.msg);
    CHECK(hits[0].row == 5 && fabsf(hits[0].score - 1) < 3e-3, "top hit %d score %g", hits[0].row, hits[0].score);
    char out[256];
    (void)vc_test_run("rm -rf " DIR "/i8 && mkdir -p " DIR, 0, out, sizeof out);
    CHECK(viclip_index_save(x, DIR "/i8", &err) == 0, "%s", err.msg);
    viclip_index_free(x);
    struct stat st; /* the fourth file of an int8 index: a float32 scale per row (128 bytes of header) */
    CHECK(stat(DIR "/i8/scales.npy", &st) == 0 && st.st_size == 128 + 4 * N, "scales.npy: %lld bytes",
          (long long)(stat(DIR "/i8/scales.npy", &st) ? -1 : st.st_size));
    CHECK(!viclip_index_new(E, VICLIP_BF16, &err) && strstr(err.msg, "I8"), "%s", err.msg);
}

TEST_MAIN("library", T(shared_library_exports_only_the_public_api), T(example_prints_the_similarity_the_library_computes),
          T(make_install_and_pkg_config_build_a_program_against_the_installed_library),
          T(api_classifies_tokenizes_and_reports_errors_as_strings),
          T(api_index_dtypes_by_name_and_int8_rows))
