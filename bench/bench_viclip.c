/* viclip side of `make bench`: ViCLIP-B/16 video encode, text encode and a training step with
 * 90% patch masking, timed after warm-up (best of runs: other work on the machine only ever
 * slows a run down), in fp32 or bf16. Also measures the GEMM ceiling: the best the GEMM
 * backend does on the model's largest shapes in the same precision, so the model's GFLOP/s can
 * be read as a fraction of it. Prints one JSON object whose keys match bench/bench_torch.py.
 * A client of the public library (include/viclip.h) only.
 * Usage: bench_viclip THREADS ITERS CONFIG [fp32|bf16] [PHASES]
 * PHASES (for profiling one workload, e.g. under perf): a comma list of video, text, train,
 * ceiling; default all; video1 is the video phase at batch 1 only. Skipped phases report 0.
 * `ckpt` in the list trains with grad_checkpointing (activation recomputation); the planned
 * activation bytes of the training step are reported either way. The *_cpu_s keys are the
 * process CPU seconds of each phase's least costly run: on a shared machine, the figure to
 * compare two builds by (with one thread), where wall time is noise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "viclip.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double best(const double *v, int n) {
    double b = v[0];
    for (int i = 1; i < n; i++) b = v[i] < b ? v[i] : b;
    return b;
}

/* Best GFLOP/s of the GEMM on the video tower's MLP shapes at batch 4 (fc: [6276,768]x[768,3072]^T,
 * proj: [6276,3072]x[3072,768]^T), the largest products of the model. */
static double gemm_ceiling(const char *prec, int L, int W, int iters) {
    const int M = 4 * L;
    double top = 0;
    for (int shape = 0; shape < 2; shape++) {
        const int N = shape ? W : 4 * W, K = shape ? 4 * W : W;
        const double s = viclip_bench_gemm(M, N, K, 1, prec, iters < 5 ? 5 : iters);
        if (s > 0 && 2.0 * M * N * K / s / 1e9 > top) top = 2.0 * M * N * K / s / 1e9;
    }
    return top;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* One integer field of the model's config JSON. */
static int config_int(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? atoi(p + strlen(pat)) : 0;
}

/* Multiply-adds x2 of the video tower for L tokens (inference): patch embedding, per layer
 * q/k/v + output projection + MLP (24 L W^2) and attention scores + weighted sum (4 L^2 W). */
static double vision_flops(const char *cfg, int patches, int L) {
    const double W = config_int(cfg, "vision_width"), p = config_int(cfg, "patch_size"), P3 = 3.0 * p * p;
    return 2 * patches * P3 * W + config_int(cfg, "vision_layers") * (24.0 * L * W * W + 4.0 * L * L * W) +
           2 * W * config_int(cfg, "embed_dim");
}

static int fail(const viclip_error *err) {
    fprintf(stderr, "%s\n", err->msg);
    return 1;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, iters = argc > 2 ? atoi(argv[2]) : 3;
    if (iters < 1 || iters > 32) iters = 3;
    const char *preset = argc > 3 ? argv[3] : "b16", *prec = argc > 4 ? argv[4] : "fp32";
    if (!viclip_precision_valid(prec)) {
        fprintf(stderr, "bench_viclip: precision %s: expected fp32 or bf16\n", prec);
        return 2;
    }
    const char *phases = argc > 5 ? argv[5] : "video,text,train,ceiling";
    const int do_video = !!strstr(phases, "video"), do_text = !!strstr(phases, "text");
    const int do_video_b4 = do_video && !strstr(phases, "video1");
    const int do_train = !!strstr(phases, "train"), do_ceiling = !!strstr(phases, "ceiling");
    const int grad_ckpt = !!strstr(phases, "ckpt");
    viclip_set_threads(threads);
    viclip_error err;
    viclip_context *ctx = viclip_init_random(preset, 1, viclip_context_default_params(), &err);
    if (!ctx || viclip_set_precision(ctx, prec, &err)) return fail(&err);
    const char *cfg = viclip_model_config_json(ctx);
    const int T = viclip_n_frames(ctx), S = viclip_image_size(ctx), E = viclip_embed_dim(ctx);
    const int ctx_len = viclip_context_length(ctx), vocab = config_int(cfg, "vocab_size");
    const int patches = T * (S / config_int(cfg, "patch_size")) * (S / config_int(cfg, "patch_size"));
    const size_t clip = (size_t)T * 3 * S * S;
    enum { BV = 4, BT = 64, BTRAIN = 8 };
    float *video = malloc(BTRAIN * clip * sizeof *video), *out = malloc(BT * (size_t)E * sizeof *out);
    int32_t *tokens = calloc((size_t)BT * ctx_len, sizeof *tokens);
    if (!video || !out || !tokens) return fprintf(stderr, "bench_viclip: out of memory\n"), 1;
    uint64_t r = 3;
    for (size_t i = 0; i < BTRAIN * clip; i++) { /* a cheap uniform draw: the values do not matter to timing */
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        video[i] = (float)((r >> 40) / (double)(1ull << 24) * 2 - 1);
    }
    const int sot = vocab - 2, eot = vocab - 1; /* CLIP: 49406, 49407 */
    for (int b = 0; b < BT; b++) {
        int len = 5 + b % 20 < ctx_len - 1 ? 5 + b % 20 : ctx_len - 1;
        tokens[b * ctx_len] = sot;
        for (int k = 1; k < len; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            tokens[b * ctx_len + k] = (int32_t)((r >> 33) % (uint64_t)sot);
        }
        tokens[b * ctx_len + len] = eot;
    }
    double t[32], c[32], video_b1 = 0, video_b4 = 0, text_cps = 0, train_sps = 0;
    double cpu_b1 = 0, cpu_b4 = 0, cpu_text = 0, cpu_train = 0;
    /* video, batch 1 and 4 */
    for (int pass = 0; pass < do_video + do_video_b4; pass++) {
        int B = pass ? BV : 1;
        if (viclip_encode_clips(ctx, video, B, out, &err)) return fail(&err); /* warm-up (plans memory) */
        for (int i = 0; i < iters; i++) {
            double t0 = now_s(), c0 = cpu_s();
            viclip_encode_clips(ctx, video, B, out, &err);
            t[i] = now_s() - t0, c[i] = cpu_s() - c0;
        }
        double s = best(t, iters);
        if (pass) video_b4 = B / s, cpu_b4 = best(c, iters);
        else video_b1 = B / s, cpu_b1 = best(c, iters);
    }
    double rss_infer = peak_rss_mb();
    if (do_text && viclip_encode_tokens(ctx, tokens, BT, out, &err)) return fail(&err);
    for (int i = 0; i < iters * do_text; i++) {
        double t0 = now_s(), c0 = cpu_s();
        viclip_encode_tokens(ctx, tokens, BT, out, &err);
        t[i] = now_s() - t0, c[i] = cpu_s() - c0;
    }
    if (do_text) text_cps = BT / best(t, iters), cpu_text = best(c, iters);
    /* training step: forward + backward of both towers + AdamW, 90% of patch tokens masked */
    struct viclip_train_params tp = viclip_train_default_params();
    tp.mask_ratio = 0.9f, tp.seed = 5, tp.grad_checkpointing = grad_ckpt;
    const double train_act_mb = viclip_train_activation_bytes(ctx, BTRAIN, &tp) / (1024.0 * 1024.0);
    for (int i = 0; do_train && i <= iters; i++) { /* (no untimed step when the phase is off) */
        double loss, t0 = now_s(), c0 = cpu_s();
        if (viclip_train_step(ctx, video, tokens, BTRAIN, &tp, &loss, &err)) return fail(&err);
        if (i) t[i - 1] = now_s() - t0, c[i - 1] = cpu_s() - c0; /* the first step plans memory: not timed */
    }
    if (do_train) train_sps = BTRAIN / best(t, iters), cpu_train = best(c, iters);
    const double flops = vision_flops(cfg, patches, patches + 1);
    const double ceiling =
        do_ceiling ? gemm_ceiling(prec, patches + 1, config_int(cfg, "vision_width"), iters) : 0;
    struct viclip_system_info si;
    if (viclip_system_info(&si, &err)) return fail(&err);
    const int ran_bf16 = !strcmp(prec, "bf16") && si.has_bf16;
    printf("{\"impl\":\"viclip\",\"config\":\"%s\",\"threads\":%d,\"precision\":\"%s\",\"gemm\":\"%s\","
           "\"video_b1_clips_per_s\":%.4f,\"video_b4_clips_per_s\":%.4f,\"video_gflops\":%.1f,"
           "\"video_b1_gflops\":%.1f,\"gemm_ceiling_gflops\":%.1f,\"text_caps_per_s\":%.2f,"
           "\"train_samples_per_s\":%.4f,\"train_batch\":%d,\"train_grad_checkpointing\":%d,"
           "\"train_activations_planned_mb\":%.1f,\"peak_rss_infer_mb\":%.0f,\"peak_rss_mb\":%.0f,"
           "\"video_b1_cpu_s\":%.3f,\"video_b4_cpu_s\":%.3f,\"text_cpu_s\":%.3f,\"train_cpu_s\":%.3f}\n",
           preset, threads, ran_bf16 ? "bf16" : "fp32", si.gemm, video_b1, video_b4, flops * video_b4 / 1e9,
           flops * video_b1 / 1e9, ceiling, text_cps, train_sps, BTRAIN, grad_ckpt, train_act_mb, rss_infer, peak_rss_mb(),
           cpu_b1, cpu_b4, cpu_text, cpu_train);
    viclip_free(ctx);
    free(video), free(out), free(tokens);
    return 0;
}
