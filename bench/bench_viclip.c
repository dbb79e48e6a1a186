/* viclip side of `make bench`: ViCLIP-B/16 video encode, text encode and a training step with
 * 90% patch masking, timed after warm-up (median of runs). Prints one JSON object whose keys
 * match bench/bench_torch.py so bench/run.sh can print them side by side. Uses only the public
 * header (include/viclip.h). usage: build/bench_viclip [THREADS] [ITERS] [CONFIG] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "viclip.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* A field of the model's config JSON ({"image_size":224,...}). */
static double config_value(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? atof(p + strlen(pat)) : 0;
}

/* Multiply-adds x2 of the video tower for L tokens (inference): patch embedding, per layer
 * q/k/v + output projection + MLP (24 L W^2) and attention scores + weighted sum (4 L^2 W). */
static double vision_flops(const char *cfg, int L) {
    double W = config_value(cfg, "vision_width"), p = config_value(cfg, "patch_size"), S = config_value(cfg, "image_size");
    double T = config_value(cfg, "num_frames"), layers = config_value(cfg, "vision_layers"), E = config_value(cfg, "embed_dim");
    double patches = (S / p) * (S / p) * T;
    return 2 * patches * 3 * p * p * W + layers * (24.0 * L * W * W + 4.0 * L * L * W) + 2 * W * E;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void) { /* xorshift64*, (0, 1) */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return ((rng_state * 0x2545F4914F6CDD1Dull >> 11) + 0.5) / 9007199254740992.0;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, iters = argc > 2 ? atoi(argv[2]) : 3;
    if (iters < 1 || iters > 32) iters = 3;
    const char *preset = argc > 3 ? argv[3] : "b16";
    viclip_set_threads(threads);
    viclip_error err;
    viclip_context *ctx = viclip_init_random(preset, 1, viclip_context_default_params(), &err);
    if (!ctx) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const char *cfg = viclip_model_config_json(ctx);
    const int T = viclip_n_frames(ctx), S = viclip_image_size(ctx), ctxlen = viclip_context_length(ctx);
    const size_t clip = (size_t)T * 3 * S * S;
    enum { BV = 4, BT = 64, BTRAIN = 8 };
    float *video = malloc(BTRAIN * clip * sizeof *video), *out = malloc(BT * (size_t)viclip_embed_dim(ctx) * sizeof *out);
    int32_t *tokens = calloc((size_t)BT * ctxlen, sizeof *tokens);
    for (size_t i = 0; i < BTRAIN * clip; i++) video[i] = (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()));
    for (int b = 0; b < BT; b++) {
        int len = 5 + b % 20;
        tokens[b * ctxlen] = 49406;
        for (int k = 1; k < len; k++) tokens[b * ctxlen + k] = (int32_t)(uniform() * 49000);
        tokens[b * ctxlen + len] = 49407;
    }
    double t[32], video_b1 = 0, video_b4 = 0, text_cps, train_sps;
    /* video, batch 1 and 4 */
    for (int pass = 0; pass < 2; pass++) {
        int B = pass ? BV : 1;
        viclip_encode_clips(ctx, video, B, out, &err); /* warm-up (plans memory) */
        for (int i = 0; i < iters; i++) {
            double t0 = now_s();
            viclip_encode_clips(ctx, video, B, out, &err);
            t[i] = now_s() - t0;
        }
        double s = median(t, iters);
        if (pass) video_b4 = B / s; else video_b1 = B / s;
    }
    double rss_infer = peak_rss_mb();
    viclip_encode_tokens(ctx, tokens, BT, out, &err);
    for (int i = 0; i < iters; i++) {
        double t0 = now_s();
        viclip_encode_tokens(ctx, tokens, BT, out, &err);
        t[i] = now_s() - t0;
    }
    text_cps = BT / median(t, iters);
    /* training step: forward + backward of both towers + AdamW, 90% of patch tokens masked */
    struct viclip_train_params tp = viclip_train_default_params();
    tp.mask_ratio = 0.9f, tp.seed = 5;
    for (int i = 0; i <= iters; i++) {
        double loss, t0 = now_s();
        if (viclip_train_step(ctx, video, tokens, BTRAIN, &tp, &loss, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        if (i) t[i - 1] = now_s() - t0; /* the first step plans memory: not timed */
    }
    train_sps = BTRAIN / median(t, iters);
    const double S_p = S / config_value(cfg, "patch_size");
    const int L = (int)(S_p * S_p * T) + 1;
    double flops = vision_flops(cfg, L);
    printf("{\"impl\":\"viclip\",\"config\":\"%s\",\"threads\":%d,\"video_b1_clips_per_s\":%.4f,"
           "\"video_b4_clips_per_s\":%.4f,\"video_gflops\":%.1f,\"text_caps_per_s\":%.2f,"
           "\"train_samples_per_s\":%.4f,\"train_batch\":%d,\"peak_rss_infer_mb\":%.0f,\"peak_rss_mb\":%.0f}\n",
           preset, threads, video_b1, video_b4, flops * video_b4 / 1e9, text_cps, train_sps, BTRAIN,
           rss_infer, peak_rss_mb());
    viclip_free(ctx);
    free(video), free(out), free(tokens);
    return 0;
}
