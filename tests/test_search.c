/* The moment index and search (src/search): windows cut from one decode pass equal clips cut
 * at the same times; updates keep unchanged files, add new ones, drop missing ones; a file
 * name with a newline survives the index; exact ranking equals brute force; adjacent matching
 * windows merge into one moment. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "eval/moment_eval.h"
#include "io/activitynet.h"
#include "io/json.h"
#include "model/model_io.h"
#include "search/build.h"
#include "search/moments.h"
#include "search/score.h"
#include "search/windows.h"
#include "testutil.h"
#include "tiny_model.h"

#define DIR "build/tests/search"
#define VID "tests/fixtures/video"
#define MODEL DIR "/model.safetensors"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

static int setup(void) {
    static int done = 0;
    if (done) return 0;
    mkdir("build/tests", 0755);
    char out[4096];
    if (run("rm -rf " DIR " && mkdir -p " DIR, out, sizeof out)) return -1;
    int rc = vc_test_save_tiny_model(MODEL, 7);
    done = rc == 0;
    return rc;
}

TEST(plan_covers_the_video_with_full_windows) {
    double s[16], e[16];
    int n = vc_plan_windows(3.0, 1.0, 0.5, s, e, 16);
    const double want_s[] = {0, 0.5, 1.0, 1.5, 2.0};
    CHECK(n == 5, "%d windows", n);
    for (int i = 0; i < n; i++) CHECK(fabs(s[i] - want_s[i]) < 1e-12 && fabs(e[i] - s[i] - 1) < 1e-12, "window %d: %g-%g", i, s[i], e[i]);
    n = vc_plan_windows(10.0, 4.0, 4.0, s, e, 16); /* 0-4, 4-8, then the last 4 s: 6-10 */
    CHECK(n == 3 && s[2] == 6 && e[2] == 10, "%d windows, last %g-%g", n, s[n - 1], e[n - 1]);
    n = vc_plan_windows(2.0, 8.0, 4.0, s, e, 16); /* shorter than a window: the whole video */
    CHECK(n == 1 && s[0] == 0 && e[0] == 2, "%d windows", n);
}

TEST(windows_from_one_pass_equal_clips_cut_at_the_same_times) {
    CHECK(setup() == 0, "setup failed");
    char out[16384];
    int rc = run("build/viclip encode -m " MODEL " --video " VID "/h264.mp4 --window 1 --stride 0.5 --out " DIR "/win", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    FILE *f = fopen(DIR "/clips.jsonl", "w");
    CHECK(f, "cannot write clips.jsonl");
    for (int i = 0; i < 5; i++) /* 3 s at 10 fps: 0-1, 0.5-1.5, ..., 2-3 */
        fprintf(f, "{\"video\": \"../../../" VID "/h264.mp4\", \"caption\": \"c\", \"start\": %g, \"end\": %g}\n", i * 0.5, i * 0.5 + 1);
    fclose(f);
    rc = run("build/viclip encode -m " MODEL " --list " DIR "/clips.jsonl --out " DIR "/clips", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    vc_search_index a, b;
    vc_error err;
    CHECK(vc_index_load(DIR "/win", &a, &err) == 0, "%s", err.msg);
    CHECK(vc_index_load(DIR "/clips", &b, &err) == 0, "%s", err.msg);
    int ok_shape = a.n == 5 && b.n == 5 && a.dim == b.dim && a.window == 1 && a.stride == 0.5 && a.n_files == 1;
    double worst = 0, worst_t = 0;
    float ra[1024], rb[1024];
    for (int i = 0; ok_shape && i < 5; i++) {
        vc_index_row(&a, i, ra), vc_index_row(&b, i, rb);
        for (int k = 0; k < a.dim; k++) worst = fmax(worst, fabs(ra[k] - rb[k]));
        worst_t = fmax(worst_t, fabs(a.start[i] - b.start[i]) + fabs(a.end[i] - b.end[i]));
    }
    vc_index_free(&a), vc_index_free(&b);
    CHECK(ok_shape, "expected 5 windows of 1 s every 0.5 s in one file");
    CHECK(worst_t < 1e-9, "window times differ from the clips' by %g", worst_t);
    CHECK(worst < 2e-3, "a window's embedding differs from the clip's by %g", worst); /* float16 rounding */
    /* a variable-frame-rate video still gets every window, and says so when frames differ */
    rc = run("build/viclip encode -m " MODEL " --video " VID "/vfr.mp4 --window 0.5 --fresh --out " DIR "/vfr", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "windows"), "exit %d: %s", rc, out);
}

/* Max |a - b| over the rows of two indexes of the same shape (-1 when the shapes differ). */
static double index_diff(const char *pa, const char *pb, int n) {
    vc_search_index a, b;
    vc_error err;
    if (vc_index_load(pa, &a, &err)) return fprintf(stderr, "%s\n", err.msg), -1;
    if (vc_index_load(pb, &b, &err)) return vc_index_free(&a), fprintf(stderr, "%s\n", err.msg), -1;
    double worst = a.n == n && b.n == n && a.dim == b.dim ? 0 : -1;
    float ra[1024], rb[1024];
    for (int i = 0; worst >= 0 && i < n; i++) {
        vc_index_row(&a, i, ra), vc_index_row(&b, i, rb);
        for (int k = 0; k < a.dim; k++) worst = fmax(worst, fabs(ra[k] - rb[k]));
        if (fabs(a.start[i] - b.start[i]) + fabs(a.end[i] - b.end[i]) > 1e-9) worst = -1;
    }
    vc_index_free(&a), vc_index_free(&b);
    return worst;
}

TEST(windows_follow_the_clip_options_and_the_index_records_them) {
    CHECK(setup() == 0, "setup failed");
    char out[16384];
    FILE *f = fopen(DIR "/demo_clips.jsonl", "w");
    CHECK(f, "cannot write demo_clips.jsonl");
    for (int i = 0; i < 5; i++)
        fprintf(f, "{\"video\": \"../../../" VID "/h264.mp4\", \"caption\": \"c\", \"start\": %g, \"end\": %g}\n", i * 0.5, i * 0.5 + 1);
    fclose(f);
    /* the official demo's preprocessing, as windows and as clips cut at the same times */
    int rc = run("build/viclip encode -m " MODEL " --video " VID "/h264.mp4 --window 1 --stride 0.5 --f32 --fresh "
                 "--sampling demo --interp bilinear --out " DIR "/demo_win && build/viclip encode -m " MODEL " --list " DIR
                 "/demo_clips.jsonl --f32 --fresh --sampling demo --interp bilinear --out " DIR "/demo_clips && "
                 "build/viclip encode -m " MODEL " --video " VID "/h264.mp4 --window 1 --stride 0.5 --f32 --fresh --out " DIR
                 "/eval_win", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    const double same = index_diff(DIR "/demo_win", DIR "/demo_clips", 5), other = index_diff(DIR "/demo_win", DIR "/eval_win", 5);
    CHECK(same >= 0 && same <= 1e-5, "demo/bilinear windows differ from the same clips by %g", same);
    CHECK(other > 1e-3, "demo/bilinear windows must differ from middle/bicubic ones (by %g)", other);
    vc_search_index x;
    vc_error err;
    CHECK(vc_index_load(DIR "/demo_win", &x, &err) == 0, "%s", err.msg);
    const int recorded = x.sampling == VC_SAMPLE_DEMO && x.interp == VC_INTERP_BILINEAR;
    vc_index_free(&x);
    CHECK(recorded, "the index must record sampling demo and resize bilinear");
    char text[8192];
    FILE *m = fopen(DIR "/demo_win/index.json", "r");
    size_t len = m ? fread(text, 1, sizeof text - 1, m) : 0;
    if (m) fclose(m);
    text[len] = 0;
    CHECK(strstr(text, "\"sampling\":\"demo\"") && strstr(text, "\"resize\":\"bilinear\""), "index.json: %s", text);
    /* an update keeps the index's preprocessing, and refuses another */
    rc = run("cp " VID "/vp9.webm " DIR "/demo_b.webm && build/viclip encode -m " MODEL " --video " DIR "/demo_b.webm --out " DIR
             "/demo_win", out, sizeof out);
    CHECK(rc == 0, "an update without the flags takes the index's: exit %d: %s", rc, out);
    CHECK(vc_index_load(DIR "/demo_win", &x, &err) == 0, "%s", err.msg);
    const int kept = x.n_files == 2 && x.sampling == VC_SAMPLE_DEMO && x.interp == VC_INTERP_BILINEAR;
    vc_index_free(&x);
    CHECK(kept, "the update must keep demo/bilinear and add the file");
    rc = run("build/viclip encode -m " MODEL " --video " DIR "/demo_b.webm --interp bicubic --out " DIR "/demo_win", out, sizeof out);
    CHECK(rc == 1 && strstr(out, DIR "/demo_win") && strstr(out, "--interp bilinear") && strstr(out, "--interp bicubic"),
          "an update with another resize must be refused naming the index and both: exit %d: %s", rc, out);
    rc = run("build/viclip search -m " MODEL " --index " DIR "/demo_win --sampling middle 'a test pattern'", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "index.json") && strstr(out, "--sampling demo"), "search with other flags: exit %d: %s", rc, out);
    rc = run("build/viclip search -m " MODEL " --index " DIR "/demo_win --sampling demo 'a test pattern'", out, sizeof out);
    CHECK(rc == 0, "search with the index's flags: exit %d: %s", rc, out);
    rc = run("build/viclip encode -m " MODEL " --video " DIR "/demo_b.webm --sampling nearest --out " DIR "/demo_x", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--sampling") && strstr(out, "nearest"), "an unknown sampling: exit %d: %s", rc, out);
    /* an index written before the preprocessing was recorded reads as middle/bicubic; a bad value is refused */
    rc = run("mkdir -p " DIR "/old && cp " DIR "/eval_win/*.npy " DIR "/old/ && sed -e 's/\"sampling\":\"middle\",\"resize\":\"bicubic\",//' "
             DIR "/eval_win/index.json > " DIR "/old/index.json && sed -e 's/\"resize\":\"bicubic\"/\"resize\":\"lanczos\"/' " DIR
             "/eval_win/index.json > " DIR "/bad.json && cp " DIR "/eval_win/embeddings.npy " DIR "/bad.npy && cp " DIR
             "/eval_win/windows.npy " DIR "/bad.windows.npy", out, sizeof out);
    CHECK(rc == 0, "%s", out);
    CHECK(vc_index_load(DIR "/old", &x, &err) == 0, "%s", err.msg);
    const int old_ok = x.sampling == VC_SAMPLE_MIDDLE && x.interp == VC_INTERP_BICUBIC && x.n == 5;
    vc_index_free(&x);
    CHECK(old_ok, "an index without sampling/resize is middle/bicubic");
    CHECK(vc_index_load(DIR "/bad.npy", &x, &err) != 0 && strstr(err.msg, DIR "/bad.json") && strstr(err.msg, "preprocess.resize") &&
              strstr(err.msg, "lanczos"), "%s", err.msg);
}

TEST(updates_keep_unchanged_files_add_new_ones_and_drop_missing_ones) {
    CHECK(setup() == 0, "setup failed");
    char out[16384];
    int rc = run("cp " VID "/h264.mp4 " DIR "/a.mp4 && cp " VID "/vp9.webm " DIR "/b.webm && "
                 "build/viclip encode -m " MODEL " --video " DIR "/a.mp4 --out " DIR "/inc", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    rc = vc_test_run("build/viclip encode -m " MODEL " --json --video " DIR "/a.mp4 --video " DIR "/b.webm --out " DIR "/inc", 0, out, sizeof out);
    vc_error err;
    vc_json *j = vc_json_parse(out, strlen(out), &err);
    CHECK(rc == 0 && j, "exit %d: %s", rc, out);
    int kept = (int)vc_json_number(vc_json_get(j, "n_kept")), enc = (int)vc_json_number(vc_json_get(j, "n_encoded"));
    int files = (int)vc_json_number(vc_json_get(j, "n_files"));
    vc_json_free(j);
    CHECK(kept == 1 && enc == 1 && files == 2, "kept %d encoded %d files %d: %s", kept, enc, files, out);
    /* b goes away, a changes: b is removed, a re-encoded */
    rc = vc_test_run("rm " DIR "/b.webm && cp " VID "/mjpeg.mkv " DIR "/a.mp4 && build/viclip encode -m " MODEL
                     " --json --video " DIR "/a.mp4 --out " DIR "/inc", 0, out, sizeof out);
    j = vc_json_parse(out, strlen(out), &err);
    CHECK(rc == 0 && j, "exit %d: %s", rc, out);
    kept = (int)vc_json_number(vc_json_get(j, "n_kept")), enc = (int)vc_json_number(vc_json_get(j, "n_encoded"));
    int removed = (int)vc_json_number(vc_json_get(j, "n_removed"));
    files = (int)vc_json_number(vc_json_get(j, "n_files"));
    vc_json_free(j);
    CHECK(kept == 0 && enc == 1 && removed == 2 && files == 1, "kept %d encoded %d removed %d files %d: %s", kept, enc,
          removed, files, out);
    vc_search_index x;
    CHECK(vc_index_load(DIR "/inc", &x, &err) == 0, "%s", err.msg);
    int ok = x.n_files == 1 && strstr(x.files[0].path, "a.mp4") && x.n == 1;
    vc_index_free(&x);
    CHECK(ok, "the index should hold a.mp4 only");
    /* another model's index is not updated */
    CHECK(run("build/viclip encode -m " MODEL " --window 2 --video " DIR "/a.mp4 --out " DIR "/inc", out, sizeof out) == 1 &&
              strstr(out, "windows"), "changing the windows of an index must be refused: %s", out);
}

TEST(a_newline_in_a_file_name_survives_the_index) {
    CHECK(setup() == 0, "setup failed");
    char out[16384];
    int rc = run("cp " VID "/h264.mp4 '" DIR "/new\nline.mp4' && build/viclip encode -m " MODEL " --video '" DIR
                 "/new\nline.mp4' --video " VID "/vp9.webm --out " DIR "/nl", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    vc_search_index x;
    vc_error err;
    CHECK(vc_index_load(DIR "/nl", &x, &err) == 0, "%s", err.msg);
    int ok = x.n_files == 2 && !strcmp(x.files[0].path, DIR "/new\nline.mp4") && x.n == 2;
    vc_index_free(&x);
    CHECK(ok, "the name with a newline must come back as written, with 2 files and 2 rows");
    rc = vc_test_run("build/viclip search -m " MODEL " --index " DIR "/nl --json -k 2 'a test pattern'", 0, out, sizeof out);
    vc_json *j = vc_json_parse(out, strlen(out), &err);
    CHECK(rc == 0 && j, "exit %d: %s", rc, out);
    const vc_json *res = vc_json_get(vc_json_at(vc_json_get(j, "queries"), 0), "results");
    int found = 0;
    for (size_t r = 0; r < vc_json_len(res); r++)
        found += !strcmp(vc_json_string(vc_json_get(vc_json_at(res, r), "input")), DIR "/new\nline.mp4");
    vc_json_free(j);
    CHECK(found == 1, "search must return the file name with its newline: %s", out);
    /* a name that is not UTF-8 cannot be written into JSON: refused, naming the file */
    rc = run("cp " VID "/h264.mp4 " DIR "/bad$(printf '\\377').mp4 && build/viclip encode -m " MODEL " --video " DIR
             "/bad$(printf '\\377').mp4 --out " DIR "/nl8", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "not UTF-8"), "exit %d: %s", rc, out);
}

TEST(exact_search_equals_brute_force) {
    enum { N = 5000, E = 48, NQ = 10, M = 40 };
    vc_search_index x = {0};
    x.dim = E, x.dtype = VC_DT_F16;
    vc_rng r = vc_rng_at(11, 0, 0, 0);
    float *rows = malloc((size_t)N * E * sizeof *rows), q[NQ * E];
    double s[N], e[N];
    for (int i = 0; i < N * E; i++) rows[i] = vc_rng_normal(&r);
    for (int i = 0; i < NQ * E; i++) q[i] = vc_rng_normal(&r);
    for (int i = 0; i < N; i++) s[i] = i, e[i] = i + 1;
    vc_error err;
    CHECK(vc_index_append(&x, "f", 1, 1, N, rows, s, e, N, &err) == 0, "%s", err.msg);
    vc_hit hits[NQ * M];
    float row[E];
    double *all = malloc(N * sizeof *all);
    const int nqs[2] = {3, NQ}; /* 1-3 queries: one row at a time; more: tiles of 4 rows x 4 queries, then the rest */
    for (int pass = 0; pass < 2; pass++) {
        int got = 0;
        CHECK(vc_index_search(&x, q, nqs[pass], M, hits, &got, &err) == 0 && got == M, "%s", err.msg);
        for (int j = 0; j < nqs[pass]; j++) {
            for (int i = 0; i < N; i++) {
                vc_index_row(&x, i, row);
                all[i] = 0;
                for (int k = 0; k < E; k++) all[i] += (double)row[k] * q[j * E + k];
            }
            for (int h = 0; h < M; h++) {
                const vc_hit v = hits[j * M + h];
                int better = 0; /* rows scoring clearly above this hit must all be ranked before it */
                for (int i = 0; i < N; i++) better += all[i] > all[v.row] + 1e-4;
                CHECK(fabs(v.score - all[v.row]) < 1e-4 && better <= h, "%d queries, query %d rank %d: row %d score %g (exact %g), %d better",
                      nqs[pass], j, h, v.row, v.score, all[v.row], better);
            }
        }
    }
    free(all), free(rows);
    vc_index_free(&x);
}

/* n random normalised rows of dim values (seed) into an index of dtype. */
static float *random_index(vc_search_index *x, int n, int dim, vc_dtype dtype, uint64_t seed) {
    memset(x, 0, sizeof *x);
    x->dim = dim, x->dtype = dtype;
    vc_rng r = vc_rng_at(seed, 0, 0, 0);
    float *rows = malloc((size_t)n * dim * sizeof *rows);
    double *s = malloc((size_t)n * sizeof *s), *e = malloc((size_t)n * sizeof *e);
    for (int i = 0; i < n; i++) {
        double norm = 0;
        for (int k = 0; k < dim; k++) rows[(size_t)i * dim + k] = vc_rng_normal(&r), norm += (double)rows[(size_t)i * dim + k] * rows[(size_t)i * dim + k];
        for (int k = 0; k < dim; k++) rows[(size_t)i * dim + k] /= (float)sqrt(norm);
        s[i] = i, e[i] = i + 1;
    }
    vc_error err;
    if (vc_index_append(x, "f", 1, 1, n, rows, s, e, n, &err)) fprintf(stderr, "%s\n", err.msg);
    free(s), free(e);
    return rows;
}

TEST(int8_search_ranks_as_float32) {
    enum { N = 20000, E = 256, NQ = 16, K = 10 };
    vc_search_index f, q8;
    float *rows = random_index(&f, N, E, VC_DT_F32, 21);
    free(random_index(&q8, N, E, VC_DT_I8, 21));
    CHECK(f.n == N && q8.n == N && q8.scale, "two indexes of %d rows", N);
    vc_rng r = vc_rng_at(22, 0, 0, 0);
    float q[NQ * E];
    for (int j = 0; j < NQ; j++) { /* queries near a row, as a caption near its clip: a clear best match */
        const int near = (int)vc_rng_below(&r, N);
        double norm = 0;
        for (int k = 0; k < E; k++) q[j * E + k] = rows[(size_t)near * E + k] + 0.08f * (float)vc_rng_normal(&r), norm += (double)q[j * E + k] * q[j * E + k];
        for (int k = 0; k < E; k++) q[j * E + k] /= (float)sqrt(norm);
    }
    vc_hit exact[NQ * K], got8[NQ * K];
    int got = 0, found = 0;
    double worst = 0;
    vc_error err;
    const int nqs[2] = {NQ, 3}; /* tiles of 4 queries, and the 1-3 left over */
    for (int pass = 0; pass < 2; pass++) {
        const int nq = nqs[pass];
        CHECK(vc_index_search(&f, q, nq, K, exact, &got, &err) == 0 && got == K, "%s", err.msg);
        CHECK(vc_index_search(&q8, q, nq, K, got8, &got, &err) == 0 && got == K, "%s", err.msg);
        found = 0, worst = 0;
        for (int j = 0; j < nq; j++)
            for (int h = 0; h < K; h++) {
                for (int g = 0; g < K; g++) found += got8[j * K + g].row == exact[j * K + h].row;
                double s = 0; /* the int8 score against the float32 one of the same row */
                for (int k = 0; k < E; k++) s += (double)rows[(size_t)got8[j * K + h].row * E + k] * q[j * E + k];
                worst = fmax(worst, fabs(s - got8[j * K + h].score));
            }
        printf("int8 vs float32, %d queries of %d rows: top-%d recall %.4f, worst score error %.2e\n", nq, N, K,
               (double)found / (nq * K), worst);
        CHECK((double)found / (nq * K) >= 0.99, "%d queries: top-%d recall %.4f against float32", nq, K, (double)found / (nq * K));
        CHECK(worst < 3e-3, "%d queries: an int8 score is %g off the float32 one", nq, worst);
        CHECK(got8[0].row == exact[0].row, "the best match must agree");
    }
    /* every kernel level the CPU has gives the same integer sums, so the same scores */
    vc_cpu_features cpu;
    vc_cpu_detect(&cpu);
    const int have[4] = {1, cpu.avx2 && cpu.fma, cpu.avx512f && cpu.avx512bw && cpu.avx512vl, cpu.avx512f && cpu.avx512bw && cpu.avx512_vnni};
    enum { NR = 37 }; /* not a multiple of the tiles */
    float ref[NQ * NR], out[NQ * NR], ref16[NQ * NR], out16[NQ * NR];
    uint16_t *h16 = malloc((size_t)NR * E * sizeof *h16);
    vc_convert_from_f32(h16, VC_DT_F16, rows, (size_t)NR * E);
    for (int nq = 1; nq <= 6; nq += 5) {
        vc_score_queries p, p16;
        CHECK(vc_score_queries_init(&p, q, nq, E, 1, &err) == 0 && vc_score_queries_init(&p16, q, nq, E, 0, &err) == 0, "%s", err.msg);
        p.level = 0, p16.level = 0;
        vc_score_i8(&p, (const int8_t *)q8.rows, q8.scale, NR, ref);
        vc_score_f16(&p16, h16, NR, ref16);
        for (int level = 1; level < 4; level++) {
            if (!have[level]) {
                printf("SKIP kernel level %d: not on this CPU\n", level);
                continue;
            }
            p.level = level, p16.level = level;
            vc_score_i8(&p, (const int8_t *)q8.rows, q8.scale, NR, out);
            vc_score_f16(&p16, h16, NR, out16);
            double d16 = 0;
            for (int i = 0; i < nq * NR; i++) d16 = fmax(d16, fabs(out16[i] - ref16[i]));
            CHECK(!memcmp(out, ref, (size_t)nq * NR * sizeof *out), "level %d, %d queries: int8 scores differ from portable C", level, nq);
            CHECK(d16 < 1e-5, "level %d, %d queries: float16 scores differ from portable C by %g", level, nq, d16);
        }
        vc_score_queries_free(&p), vc_score_queries_free(&p16);
    }
    free(h16), free(rows);
    vc_index_free(&f), vc_index_free(&q8);
}

TEST(int8_index_round_trips_and_old_readers_are_told) {
    CHECK(setup() == 0, "setup failed");
    enum { N = 300, E = 64 };
    vc_search_index x, y;
    float *rows = random_index(&x, N, E, VC_DT_I8, 5);
    x.frames = 8, x.size = 32, x.config_json = strdup("{}");
    snprintf(x.checksum, sizeof x.checksum, "0123456789abcdef");
    vc_error err;
    CHECK(vc_index_save(DIR "/i8.npy", &x, &err) == 0, "%s", err.msg);
    CHECK(vc_index_load(DIR "/i8.npy", &y, &err) == 0, "%s", err.msg);
    int same = y.dtype == VC_DT_I8 && y.n == N && y.dim == E && !memcmp(x.rows, y.rows, (size_t)N * E) &&
               !memcmp(x.scale, y.scale, N * sizeof *x.scale);
    double worst = 0;
    float row[E];
    for (int i = 0; i < N; i++) {
        vc_index_row(&y, i, row);
        for (int k = 0; k < E; k++) worst = fmax(worst, fabs(row[k] - rows[(size_t)i * E + k]) / y.scale[i]);
    }
    vc_index_free(&x), vc_index_free(&y), free(rows);
    CHECK(same, "int8 rows and scales must come back as saved");
    CHECK(worst <= 0.5 + 1e-4, "a dequantised value is %g steps from the original (at most half a step)", worst);
    char out[16384];
    vc_test_run("grep -c '\"version\":3,.*\"dtype\":\"I8\"' " DIR "/i8.json", 1, out, sizeof out);
    CHECK(atoi(out) == 1, "index.json must say version 3 and I8: %s", out);
    /* I8 under version 2 (what an older viclip could mistake), and missing scales: refused, named */
    CHECK(run("sed -e 's/\"version\":3/\"version\":2/' " DIR "/i8.json > " DIR "/i8v2.json && cp " DIR "/i8.npy " DIR
              "/i8v2.npy && cp " DIR "/i8.windows.npy " DIR "/i8v2.windows.npy", out, sizeof out) == 0, "%s", out);
    CHECK(vc_index_load(DIR "/i8v2.npy", &y, &err) != 0 && strstr(err.msg, DIR "/i8v2.json") && strstr(err.msg, "dtype I8") &&
              strstr(err.msg, "version 2"), "%s", err.msg);
    CHECK(run("cp " DIR "/i8.json " DIR "/i8ns.json && cp " DIR "/i8.npy " DIR "/i8ns.npy && cp " DIR "/i8.windows.npy " DIR
              "/i8ns.windows.npy", out, sizeof out) == 0, "%s", out);
    CHECK(vc_index_load(DIR "/i8ns.npy", &y, &err) != 0 && strstr(err.msg, DIR "/i8ns.scales.npy"), "%s", err.msg);
    CHECK(run("sed -e 's/\"version\":3/\"version\":4/' " DIR "/i8.json > " DIR "/i8ns.json", out, sizeof out) == 0, "%s", out);
    CHECK(vc_index_load(DIR "/i8ns.npy", &y, &err) != 0 && strstr(err.msg, "version 4") && strstr(err.msg, "i8ns.json"), "%s", err.msg);
    /* the command line: an int8 index is written, searched, and kept int8 by updates */
    int rc = run("build/viclip encode -m " MODEL " --video " VID "/h264.mp4 --window 1 --index-dtype int8 --fresh --out " DIR "/cli8 && "
                 "build/viclip search -m " MODEL " --index " DIR "/cli8 -k 1 'a test pattern'", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "h264.mp4"), "exit %d: %s", rc, out);
    rc = run("build/viclip encode -m " MODEL " --video " VID "/vp9.webm --index-dtype fp16 --out " DIR "/cli8", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "int8") && strstr(out, "--fresh"), "exit %d: %s", rc, out);
    CHECK(vc_index_load(DIR "/cli8", &y, &err) == 0, "%s", err.msg);
    const int kept = y.dtype == VC_DT_I8 && y.n_files == 1;
    vc_index_free(&y);
    CHECK(kept, "a refused update leaves the int8 index as it was");
    rc = run("build/viclip encode -m " MODEL " --video " VID "/h264.mp4 --index-dtype int4 --out " DIR "/cli4", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--index-dtype int4"), "exit %d: %s", rc, out);
}

TEST(adjacent_matching_windows_merge_into_one_moment) {
    /* file 0: windows 0-8, 4-12, 8-16, 12-20, 40-48; file 1: 0-8 */
    vc_search_index x = {0};
    double st[] = {0, 4, 8, 12, 40, 0}, en[] = {8, 12, 16, 20, 48, 8};
    int file[] = {0, 0, 0, 0, 0, 1};
    x.start = st, x.end = en, x.file = file, x.n = 6;
    vc_hit hits[] = {{1, 0.90f}, {2, 0.89f}, {5, 0.88f}, {4, 0.70f}, {0, 0.50f}, {3, 0.885f}};
    vc_moment m[4];
    int n = vc_merge_moments(&x, hits, 6, 0.02, m, 4);
    CHECK(n == 3, "%d moments", n);
    /* 4-12 and 8-16 merge, 12-20 joins (within the margin), 0-8 scores too low: covered */
    CHECK(m[0].file == 0 && m[0].start == 4 && m[0].end == 20 && m[0].n_windows == 3 && fabsf(m[0].score - 0.9f) < 1e-6,
          "first moment %d %g-%g (%d windows)", m[0].file, m[0].start, m[0].end, m[0].n_windows);
    CHECK(m[1].file == 1 && m[1].start == 0 && m[1].end == 8, "second moment: the other file");
    CHECK(m[2].file == 0 && m[2].start == 40 && m[2].end == 48, "third moment: the separate window");
    CHECK(vc_merge_moments(&x, hits, 6, 0.02, m, 1) == 1 && m[0].end == 20, "top-1 keeps the best moment");
}

TEST(activitynet_captions_are_read_as_published) {
    vc_moment_truth t;
    vc_error err;
    CHECK(vc_activitynet_load("tests/fixtures/activitynet/val_1_sample.json", "videos", "{yid}.mp4", &t, &err) == 0, "%s", err.msg);
    int ok = t.n == 5 && t.n_videos == 3 && !strcmp(t.q[0].video, "videos/uqiMw7tQ1Cc.mp4") && !strcmp(t.q[1].video_id, "v_uqiMw7tQ1Cc") &&
             t.q[1].start == 0 && t.q[1].end == 1.2 && !strcmp(t.q[1].sentence, " The bars stay in place while a counter runs.") &&
             t.q[4].duration == 113.69 && t.q[4].start == 0.57 && t.q[4].end == 42.64;
    vc_moment_truth_free(&t);
    CHECK(ok, "the sample's 5 sentences in 3 videos, paths, times and sentences as written");
    CHECK(vc_activitynet_load("tests/fixtures/activitynet/val_1_sample.json", NULL, NULL, &t, &err) == 0 &&
              !strcmp(t.q[0].video, "v_uqiMw7tQ1Cc.mp4"), "default pattern {id}.mp4");
    vc_moment_truth_free(&t);
    mkdir("build/tests", 0755), mkdir(DIR, 0755);
    const char *bad = "{\"v_x\": {\"duration\": 5, \"timestamps\": [[1, 2]], \"sentences\": []}}";
    vc_test_write_file(DIR "/bad_anet.json", bad, strlen(bad));
    CHECK(vc_activitynet_load(DIR "/bad_anet.json", NULL, NULL, &t, &err) != 0 && strstr(err.msg, "v_x") &&
              strstr(err.msg, "1 timestamps but 0 sentences"), "%s", err.msg);
    CHECK_CLOSE(vc_temporal_iou(0, 3, 0, 2.5), 2.5 / 3, 1e-12, 0);
    CHECK_CLOSE(vc_temporal_iou(0, 3, 4, 5), 0, 0, 0);
    CHECK_CLOSE(vc_temporal_iou(1, 3, 2, 6), 0.2, 1e-12, 0);
}

TEST(eval_moments_reports_recall_at_iou_on_activitynet_ground_truth) {
    CHECK(setup() == 0, "setup failed");
    char out[16384];
    /* each video is shorter than the 8 s window, so its only moment is the whole video and the
     * metrics follow by hand: IoU 2.5/3, 1.2/3, 1.8/3 and 2/2.5; the third video is missing */
    int rc = run("mkdir -p " DIR "/anet && cp " VID "/h264.mp4 " DIR "/anet/uqiMw7tQ1Cc.mp4 && cp " VID "/vp9.webm " DIR
                 "/anet/bXdq2zI1Ms0.mp4", out, sizeof out);
    CHECK(rc == 0, "%s", out);
    rc = vc_test_run("build/viclip eval moments -m " MODEL " --annotations tests/fixtures/activitynet/val_1_sample.json "
                     "--video-root " DIR "/anet --pattern '{yid}.mp4' --json", 0, out, sizeof out);
    vc_error err;
    vc_json *j = vc_json_parse(out, strlen(out), &err);
    CHECK(rc == 0 && j, "exit %d: %s", rc, out);
    double r15 = vc_json_number(vc_json_get(j, "r1_iou0.5")), r17 = vc_json_number(vc_json_get(j, "r1_iou0.7"));
    double miou = vc_json_number(vc_json_get(j, "miou"));
    int nq = (int)vc_json_number(vc_json_get(j, "n_queries")), skipped = (int)vc_json_number(vc_json_get(j, "n_skipped"));
    vc_json_free(j);
    CHECK(nq == 4 && skipped == 1, "4 sentences evaluated, 1 left out: %s", out);
    CHECK(fabs(r15 - 0.75) < 1e-4 && fabs(r17 - 0.5) < 1e-4, "R@1 %.4f / %.4f, want 0.75 / 0.5: %s", r15, r17, out);
    CHECK(fabs(miou - (2.5 / 3 + 0.4 + 0.6 + 0.8) / 4) < 1e-4, "mIoU %.4f: %s", miou, out);
}

TEST_MAIN("search", T(activitynet_captions_are_read_as_published), T(eval_moments_reports_recall_at_iou_on_activitynet_ground_truth), T(plan_covers_the_video_with_full_windows), T(windows_from_one_pass_equal_clips_cut_at_the_same_times),
          T(windows_follow_the_clip_options_and_the_index_records_them),
          T(updates_keep_unchanged_files_add_new_ones_and_drop_missing_ones), T(a_newline_in_a_file_name_survives_the_index),
          T(exact_search_equals_brute_force), T(int8_search_ranks_as_float32),
          T(int8_index_round_trips_and_old_readers_are_told), T(adjacent_matching_windows_merge_into_one_moment))
