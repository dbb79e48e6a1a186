/* The commands that answer questions about real videos, run as a user runs them: encode
 * (--video, --list) into an index, search it, classify videos zero-shot, eval retrieval and
 * eval classify. Each output is checked against the same quantity computed in-process, and a
 * folder of broken inputs (truncated, text renamed .mp4, zero bytes, missing, one frame) must
 * finish with every bad input reported and every good one processed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/evaluate.h"
#include "eval/templates.h"
#include "io/annotations.h"
#include "io/json.h"
#include "io/npy.h"
#include "model/model_io.h"
#include "search/index.h"
#include "testutil.h"
#include "tiny_model.h"
#include "vocab_util.h"

#define DIR "build/tests/cmd"
#define VID "tests/fixtures/video"
#define MODEL DIR "/model.safetensors"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

/* Runs cmd and parses its stdout as one JSON object (NULL if it is not one). */
static vc_json *run_json(const char *cmd, int *rc, char *raw, size_t cap) {
    *rc = vc_test_run(cmd, 0, raw, cap);
    vc_error err;
    return vc_json_parse(raw, strlen(raw), &err);
}

/* A small random model with the CLIP vocabulary, and a folder of good and broken inputs. */
static int setup(void) {
    static int done = 0;
    if (done) return 0;
    mkdir("build/tests", 0755);
    /* from scratch: an index left by an earlier build would be updated, not rebuilt, and its
     * rows would hold that build's numbers */
    char out[4096];
    if (run("rm -rf " DIR, out, sizeof out)) return -1;
    mkdir(DIR, 0755);
    /* the other model: same shapes, other weights */
    int rc = vc_test_save_tiny_model(MODEL, 7) || vc_test_save_tiny_model(DIR "/other.safetensors", 8);
    rc = rc || run("mkdir -p " DIR "/bad && head -c 3000 " VID "/h264.mp4 > " DIR "/bad/truncated.mp4 && "
                   "echo 'not a video' > " DIR "/bad/text.mp4 && : > " DIR "/bad/empty.mp4 && "
                   "rm -rf " DIR "/folder && mkdir -p " DIR "/folder && cp " VID "/h264.mp4 " VID "/vp9.webm " VID
                   "/one_frame.mp4 " DIR "/folder/ && cp " DIR "/bad/text.mp4 " DIR "/folder/notes.mp4",
                   out, sizeof out);
    FILE *f = fopen(DIR "/clips.jsonl", "w");
    if (rc || !f) return -1;
    /* paths are relative to the annotation file's folder */
    fprintf(f, "{\"video\": \"../../../" VID "/h264.mp4\", \"caption\": \"a test pattern\", \"label\": \"pattern\"}\n"
               "{\"video\": \"../../../" VID "/h264.mp4\", \"caption\": \"moving colour bars!\", \"label\": \"pattern\"}\n"
               "{\"video\": \"../../../" VID "/vp9.webm\", \"caption\": \"a noisy picture\", \"label\": \"noise\"}\n"
               "{\"video\": \"bad/truncated.mp4\", \"caption\": \"broken\", \"label\": \"noise\"}\n"
               "{\"video\": \"../../../" VID "/mjpeg.mkv\", \"caption\": \"a grey gradient\", \"label\": \"gradient\"}\n"
               "{\"video\": \"bad/text.mp4\", \"caption\": \"not a video\", \"label\": \"noise\"}\n"
               "{\"video\": \"bad/empty.mp4\", \"caption\": \"nothing\", \"label\": \"noise\"}\n"
               "{\"video\": \"bad/missing.mp4\", \"caption\": \"nowhere\", \"label\": \"noise\"}\n"
               "{\"video\": \"../../../" VID "/one_frame.mp4\", \"caption\": \"a single frame\", \"label\": \"gradient\"}\n");
    fclose(f);
    f = fopen(DIR "/labels.txt", "w");
    if (!f) return -1;
    fprintf(f, "pattern\nnoise\ngradient\n");
    fclose(f);
    done = 1;
    return 0;
}

static double dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

TEST(encode_list_skips_broken_inputs_and_matches_the_tensor_path) {
    SKIP_WITHOUT_VIDEO();
    CHECK(setup() == 0, "setup failed");
    char out[16384];
    /* fp32: in bf16 the batch of the list and the single clip of the tensor path round apart */
    int rc = run(VICLIP " encode -m " MODEL " --precision fp32 --list " DIR "/clips.jsonl --out " DIR "/index",
                 out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    const char *bad[] = {"truncated.mp4", "text.mp4", "empty.mp4", "missing.mp4"};
    for (int i = 0; i < 4; i++) CHECK(strstr(out, bad[i]), "no warning names %s: %s", bad[i], out);
    CHECK(strstr(out, "encoded 4 of 8 videos"), "summary: %s", out);
    vc_search_index x;
    vc_error err;
    CHECK(vc_index_load(DIR "/index", &x, &err) == 0, "%s", err.msg);
    const char *want[] = {"h264.mp4", "vp9.webm", "mjpeg.mkv", "one_frame.mp4"};
    int ok = x.n_files == 4 && x.n == 4, n = x.n_files;
    for (int i = 0; ok && i < 4; i++) ok = strstr(x.files[i].path, want[i]) != NULL && x.files[i].count == 1;
    vc_index_free(&x);
    CHECK(ok, "index.json lists %d files, not the 4 good videos in order (h264 once)", n);
    /* the h264 row equals frames -> --video-tensor */
    rc = run(VICLIP " frames " VID "/h264.mp4 --frames 8 --size 32 --out " DIR "/h264_clip.npy && "
             VICLIP " encode -m " MODEL " --precision fp32 --video-tensor " DIR "/h264_clip.npy --normalize --out " DIR
             "/h264_emb.npy",
             out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    vc_npy idx, one;
    CHECK(vc_npy_read(DIR "/index/embeddings.npy", &idx, &err) == 0, "%s", err.msg);
    CHECK(vc_npy_read(DIR "/h264_emb.npy", &one, &err) == 0, "%s", err.msg);
    CHECK(idx.dtype == VC_DT_F16 && idx.ndim == 2 && idx.shape[0] == 4 && idx.shape[1] == one.shape[1], "index shape");
    float a[1024];
    const float *b = one.data;
    vc_convert_to_f32(a, idx.data, VC_DT_F16, (size_t)idx.shape[1]);
    /* the index stores float16: each entry within half a float16 step of the tensor path's (a
     * float32 difference of ~1e-7 may round to the neighbouring float16; a wrong frame or
     * preprocessing moves entries by ~1e-2) */
    double worst = 0;
    for (int64_t k = 0; k < idx.shape[1]; k++) {
        const double half_step = fmax(ldexp(fabs(b[k]), -11), ldexp(1.0, -25));
        worst = fmax(worst, fabs(a[k] - b[k]) / half_step);
    }
    CHECK(fabs(dot(a, a, (int)idx.shape[1]) - 1) < 2e-3, "index rows must be unit length (to float16 precision)");
    vc_npy_free(&idx), vc_npy_free(&one);
    CHECK(worst <= 1.01, "index row differs from the tensor path by %g float16 half-steps", worst);
}

TEST(search_ranks_index_rows_by_cosine_with_the_query) {
    SKIP_WITHOUT_VIDEO();
    CHECK(setup() == 0, "setup failed");
    char out[16384], raw[16384];
    CHECK(run(VICLIP " encode -m " MODEL " --list " DIR "/clips.jsonl --out " DIR "/index.npy", out, sizeof out) == 0, "%s", out);
    CHECK(run(VICLIP " encode -m " MODEL " --text 'colour bars moving' --normalize --out " DIR "/q.npy", out, sizeof out) == 0, "%s", out);
    int rc;
    vc_json *j = run_json(VICLIP " search -m " MODEL " --index " DIR "/index.npy -k 3 --json 'colour bars moving'", &rc, raw, sizeof raw);
    CHECK(j && rc == 0, "exit %d: %s", rc, raw);
    vc_npy idx, q;
    vc_error err;
    CHECK(vc_npy_read(DIR "/index.npy", &idx, &err) == 0 && vc_npy_read(DIR "/q.npy", &q, &err) == 0, "%s", err.msg);
    const int E = (int)idx.shape[1];
    float *rows = malloc((size_t)idx.shape[0] * E * sizeof *rows);
    vc_convert_to_f32(rows, idx.data, idx.dtype, (size_t)idx.shape[0] * E);
    const vc_json *res = vc_json_get(vc_json_at(vc_json_get(j, "queries"), 0), "results");
    CHECK(res && vc_json_len(res) == 3, "3 results expected: %s", raw);
    double prev = INFINITY, best = -INFINITY;
    for (int i = 0; i < idx.shape[0]; i++) best = fmax(best, dot(q.data, rows + (size_t)i * E, E));
    free(rows);
    for (size_t r = 0; r < 3; r++) {
        double s = vc_json_number(vc_json_get(vc_json_at(res, r), "score"));
        CHECK(s <= prev + 1e-9, "results not sorted: %s", raw);
        prev = s;
    }
    double top = vc_json_number(vc_json_get(vc_json_at(res, 0), "score"));
    vc_npy_free(&idx), vc_npy_free(&q), vc_json_free(j);
    CHECK(fabs(top - best) < 1e-5, "top score %.6f, best cosine %.6f", top, best);
    /* an index made by another model (same shapes, other weights) is refused */
    rc = run(VICLIP " search -m " DIR "/other.safetensors --index " DIR "/index.npy 'colour bars'", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "cmd/index.json") && strstr(out, "another model"), "exit %d: %s", rc, out);
    /* a folder of videos is encoded on the spot; its unreadable file is reported and left out */
    rc = run(VICLIP " search -m " MODEL " --index " DIR "/folder -k 10 'colour bars'", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "notes.mp4") && strstr(out, "warning"), "no warning for the unreadable file: %s", out);
    CHECK(strstr(out, " 3. ") && !strstr(out, " 4. "), "expected exactly 3 results: %s", out);
}

TEST(classify_averages_templates_and_gives_softmax_probabilities) {
    SKIP_WITHOUT_VIDEO();
    CHECK(setup() == 0, "setup failed");
    char raw[16384];
    int rc;
    vc_json *j = run_json(VICLIP " classify -m " MODEL " --labels " DIR "/labels.txt -k 3 --json " VID "/h264.mp4 "
                          DIR "/bad/text.mp4", &rc, raw, sizeof raw);
    CHECK(j && rc == 0, "exit %d: %s", rc, raw);
    CHECK(vc_json_number(vc_json_get(j, "n_templates")) == 16, "ViCLIP's 16 templates by default: %s", raw);
    CHECK(vc_json_len(vc_json_get(j, "failed")) == 1 && vc_json_len(vc_json_get(j, "results")) == 1, "%s", raw);
    const vc_json *top = vc_json_get(vc_json_at(vc_json_get(j, "results"), 0), "top");
    CHECK(top && vc_json_len(top) == 3, "%s", raw);
    /* in-process: prompt embeddings averaged over templates, against the clip's embedding */
    vc_error err;
    vc_model *m = vc_model_load(MODEL, NULL, &err);
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(m && tok, "model or tokenizer");
    vc_model_set_precision(m, vc_default_precision()); /* what the commands use without --precision */
    const int E = m->cfg.embed_dim;
    const char *classes[3] = {"pattern", "noise", "gradient"};
    float *txt = malloc((size_t)3 * 16 * E * sizeof *txt);
    CHECK(vc_encode_class_prompts(m, tok, classes, 3, NULL, 0, 1, txt, &err) == 0, "%s", err.msg);
    char out[8192];
    CHECK(run(VICLIP " encode -m " MODEL " --video " VID "/h264.mp4 --f32 --fresh --out " DIR "/one.npy", out, sizeof out) == 0, "%s", out);
    vc_npy v;
    CHECK(vc_npy_read(DIR "/one.npy", &v, &err) == 0, "%s", err.msg);
    double psum = 0, prev = INFINITY;
    const double temp = m->p.temp[0];
    double s0 = 0, p0 = 0;
    for (size_t r = 0; r < 3; r++) {
        const vc_json *e = vc_json_at(top, r);
        const char *label = vc_json_string(vc_json_get(e, "label"));
        double p = vc_json_number(vc_json_get(e, "prob")), s = vc_json_number(vc_json_get(e, "similarity"));
        int c = !strcmp(label, "pattern") ? 0 : !strcmp(label, "noise") ? 1 : 2;
        double want = 0;
        for (int k = 0; k < 16; k++) want += dot(v.data, txt + ((size_t)c * 16 + k) * E, E) / 16;
        CHECK(fabs(s - want) < 1e-5, "%s: similarity %.6f, in-process %.6f", label, s, want);
        CHECK(p <= prev + 1e-9, "not sorted: %s", raw);
        if (r == 0) s0 = s, p0 = p;
        else CHECK(fabs(p / p0 - exp((s - s0) / temp)) < 1e-3 * fmax(1, p / p0), "prob ratio %.6g vs exp(dsim/temp) %.6g", p / p0, exp((s - s0) / temp));
        psum += p, prev = p;
    }
    free(txt), vc_npy_free(&v), vc_json_free(j), vc_model_free(m), vc_tokenizer_free(tok);
    CHECK(fabs(psum - 1) < 1e-4, "probabilities sum to %.6f over all classes", psum);
}

TEST(eval_retrieval_and_classify_subcommands_match_the_library) {
    SKIP_WITHOUT_VIDEO();
    CHECK(setup() == 0, "setup failed");
    char raw[16384];
    int rc;
    vc_json *r = run_json(VICLIP " eval retrieval -m " MODEL " -a " DIR "/clips.jsonl --json", &rc, raw, sizeof raw);
    CHECK(r && rc == 0, "exit %d: %s", rc, raw);
    CHECK(vc_json_get(r, "t2v_r1") && !vc_json_get(r, "zeroshot_top1"), "retrieval only: %s", raw);
    CHECK(vc_json_number(vc_json_get(r, "n_skipped")) == 4 && vc_json_number(vc_json_get(r, "n_clips")) == 5 &&
              vc_json_number(vc_json_get(r, "n_videos")) == 4, "counts: %s", raw);
    vc_json *c = run_json(VICLIP " eval classify -m " MODEL " -a " DIR "/clips.jsonl -l " DIR "/labels.txt --json", &rc, raw, sizeof raw);
    CHECK(c && rc == 0, "exit %d: %s", rc, raw);
    CHECK(!vc_json_get(c, "t2v_r1") && vc_json_get(c, "zeroshot_top1"), "classify only: %s", raw);
    vc_error err;
    vc_model *m = vc_model_load(MODEL, NULL, &err);
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(m && tok, "model or tokenizer");
    vc_eval_params p = vc_eval_default_params();
    p.annotations = DIR "/clips.jsonl", p.labels = DIR "/labels.txt";
    vc_eval_result want;
    CHECK(vc_evaluate(m, tok, &p, &want, &err) == 0, "%s", err.msg);
    vc_model_free(m), vc_tokenizer_free(tok);
    CHECK(fabs(vc_json_number(vc_json_get(r, "t2v_r1")) - want.t2v.r1) < 1e-4 &&
              fabs(vc_json_number(vc_json_get(r, "v2t_r5")) - want.v2t.r5) < 1e-4 &&
              fabs(vc_json_number(vc_json_get(r, "t2v_median_rank")) - want.t2v.median_rank) < 1e-4,
          "retrieval differs from the library");
    CHECK(fabs(vc_json_number(vc_json_get(c, "zeroshot_top1")) - want.zeroshot.top1) < 1e-4 && want.n_zeroshot_clips == 5,
          "classification differs from the library");
    vc_json_free(r), vc_json_free(c);
    char out[8192];
    CHECK(run(VICLIP " eval classify -m " MODEL " -a " DIR "/clips.jsonl", out, sizeof out) == 2, "classify without labels: %s", out);
    CHECK(strstr(out, "--labels"), "message: %s", out);
}

TEST(train_streams_real_videos_and_reports_unreadable_ones_in_the_summary) {
    SKIP_WITHOUT_VIDEO();
    CHECK(setup() == 0, "setup failed");
    char out[32768];
    int rc = run(VICLIP " train --train-data " DIR "/clips.jsonl --out " DIR "/run -m demo --vision-width 32 --vision-layers 1 "
                 "--text-width 32 --text-layers 1 --embed-dim 16 -b 2 --steps 4 --warmup 1 --workers 2 --log-every 1 -t 2",
                 out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "summary:") && strstr(out, "4 unreadable"), "summary: %s", out);
    CHECK(strstr(out, "truncated.mp4") && strstr(out, "missing.mp4"), "warnings: %s", out);
    struct stat sb;
    CHECK(stat(DIR "/run/model.safetensors", &sb) == 0, "no model written");
}

TEST_MAIN("commands", T(encode_list_skips_broken_inputs_and_matches_the_tensor_path),
          T(search_ranks_index_rows_by_cosine_with_the_query), T(classify_averages_templates_and_gives_softmax_probabilities),
          T(eval_retrieval_and_classify_subcommands_match_the_library),
          T(train_streams_real_videos_and_reports_unreadable_ones_in_the_summary))
