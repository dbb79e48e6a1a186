/* viclip side of `make bench`: ViCLIP-B/16 video encode, text encode and a training step with
 * 90% patch masking, timed after warm-up (best of runs: other work on the machine only ever
 * slows a run down), in fp32 or bf16. Also measures the GEMM ceiling: the best the GEMM
 * backend does on the model's largest shapes in the same precision, so the model's GFLOP/s can
 * be read as a fraction of it. Prints one JSON object whose keys match bench/bench_torch.py.
 * Usage: bench_viclip THREADS ITERS CONFIG [fp32|bf16] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/rng.h"
#include "kernels/gemm.h"
#include "model/model.h"
#include "train/optimizer.h"

void openblas_set_num_threads(int n);

static double best(const double *v, int n) {
    double b = v[0];
    for (int i = 1; i < n; i++) b = v[i] < b ? v[i] : b;
    return b;
}

/* Best GFLOP/s of the GEMM on the video tower's MLP shapes at batch 4 (fc: [6276,768]x[768,3072]^T,
 * proj: [6276,3072]x[3072,768]^T), the largest products of the model. */
static double gemm_ceiling(vc_precision prec, int L, int W, int iters) {
    const int M = 4 * L;
    float *A = malloc((size_t)M * 4 * W * sizeof *A), *B = malloc((size_t)4 * W * W * sizeof *B);
    float *C = malloc((size_t)M * 4 * W * sizeof *C);
    vc_rng r = vc_rng_at(9, 0, 0, 0);
    for (size_t i = 0; i < (size_t)M * 4 * W; i++) A[i] = (float)vc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)4 * W * W; i++) B[i] = (float)vc_rng_normal(&r) * 0.03f;
    double top = 0;
    for (int shape = 0; shape < 2; shape++) {
        const int N = shape ? W : 4 * W, K = shape ? 4 * W : W;
        for (int i = 0; i <= (iters < 5 ? 5 : iters); i++) {
            double t0 = vc_now_s();
            vc_gemm_p(prec, 0, 1, M, N, K, 1, A, K, B, K, 0, C, N);
            double g = 2.0 * M * N * K / (vc_now_s() - t0) / 1e9;
            if (i && g > top) top = g; /* the first call plans: not counted */
        }
    }
    free(A), free(B), free(C);
    return top;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Multiply-adds x2 of the video tower for L tokens (inference): patch embedding, per layer
 * q/k/v + output projection + MLP (24 L W^2) and attention scores + weighted sum (4 L^2 W). */
static double vision_flops(const vc_config *c, int L) {
    double W = c->vision_width, P3 = 3.0 * c->patch_size * c->patch_size;
    double patches = (double)vc_config_video_tokens(c);
    return 2 * patches * P3 * W + c->vision_layers * (24.0 * L * W * W + 4.0 * L * L * W) + 2 * W * c->embed_dim;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, iters = argc > 2 ? atoi(argv[2]) : 3;
    if (iters < 1 || iters > 32) iters = 3;
    const char *preset = argc > 3 ? argv[3] : "b16";
    vc_precision prec = VC_FP32;
    if (argc > 4 && vc_precision_from_name(argv[4], &prec)) {
        fprintf(stderr, "bench_viclip: precision %s: expected fp32 or bf16\n", argv[4]);
        return 2;
    }
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    vc_error err;
    vc_config c;
    if (vc_config_from_name(preset, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    vc_model *m = vc_model_new(&c, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    vc_model_init_random(m, 1, 0.01);
    vc_model_set_precision(m, prec);
    const size_t clip = (size_t)c.num_frames * 3 * c.image_size * c.image_size;
    enum { BV = 4, BT = 64, BTRAIN = 8 };
    float *video = malloc(BTRAIN * clip * sizeof *video), *out = malloc(BT * (size_t)c.embed_dim * sizeof *out);
    int32_t *tokens = calloc((size_t)BT * c.context_length, sizeof *tokens);
    vc_rng r = vc_rng_at(3, 0, 0, 0);
    for (size_t i = 0; i < BTRAIN * clip; i++) video[i] = (float)vc_rng_normal(&r);
    const int sot = c.vocab_size - 2, eot = c.vocab_size - 1; /* CLIP: 49406, 49407 */
    for (int b = 0; b < BT; b++) {
        int len = 5 + b % 20 < c.context_length - 1 ? 5 + b % 20 : c.context_length - 1;
        tokens[b * c.context_length] = sot;
        for (int k = 1; k < len; k++) tokens[b * c.context_length + k] = (int32_t)vc_rng_below(&r, (uint64_t)sot);
        tokens[b * c.context_length + len] = eot;
    }
    double t[32], video_b1 = 0, video_b4 = 0, text_cps, train_sps;
    /* video, batch 1 and 4 */
    for (int pass = 0; pass < 2; pass++) {
        int B = pass ? BV : 1;
        vc_model_encode_video(m, video, B, out, &err); /* warm-up (plans memory) */
        for (int i = 0; i < iters; i++) {
            double t0 = vc_now_s();
            vc_model_encode_video(m, video, B, out, &err);
            t[i] = vc_now_s() - t0;
        }
        double s = best(t, iters);
        if (pass) video_b4 = B / s; else video_b1 = B / s;
    }
    double rss_infer = peak_rss_mb();
    vc_model_encode_text(m, tokens, BT, out, &err);
    for (int i = 0; i < iters; i++) {
        double t0 = vc_now_s();
        vc_model_encode_text(m, tokens, BT, out, &err);
        t[i] = vc_now_s() - t0;
    }
    text_cps = BT / best(t, iters);
    /* training step: forward + backward of both towers + AdamW, 90% of patch tokens masked */
    vc_adamw opt;
    vc_adamw_params op = vc_adamw_default_params();
    if (vc_adamw_init(&opt, &m->table, &op, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const int N = vc_config_video_tokens(&c), K = vc_config_kept_tokens(&c, 0.9);
    int32_t *keep = malloc((size_t)BTRAIN * K * sizeof *keep);
    for (int i = 0; i <= iters; i++) {
        vc_vision_sample_keep(keep, BTRAIN, N, K, 5, (uint64_t)i);
        vc_step_inputs in = {.video = video, .tokens = tokens, .keep = keep, .B = BTRAIN, .K = K,
                             .train_text = 1, .grad_scale = 1, .step = (uint64_t)i};
        double loss, t0 = vc_now_s();
        vc_model_zero_grads(m);
        if (vc_model_forward_backward(m, &in, &loss, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        vc_adamw_step(&opt, &m->table, m->params, m->grads, 1e-5, 1, m->p.temp);
        if (i) t[i - 1] = vc_now_s() - t0; /* the first step plans memory: not timed */
    }
    train_sps = BTRAIN / best(t, iters);
    double flops = vision_flops(&c, N + 1);
    const double ceiling = gemm_ceiling(prec, N + 1, c.vision_width, iters);
    char gemm[256];
    vc_gemm_describe(gemm, sizeof gemm);
    const int ran_bf16 = prec == VC_BF16 && vc_gemm_has_bf16();
    printf("{\"impl\":\"viclip\",\"config\":\"%s\",\"threads\":%d,\"precision\":\"%s\",\"gemm\":\"%s\","
           "\"video_b1_clips_per_s\":%.4f,\"video_b4_clips_per_s\":%.4f,\"video_gflops\":%.1f,"
           "\"video_b1_gflops\":%.1f,\"gemm_ceiling_gflops\":%.1f,\"text_caps_per_s\":%.2f,"
           "\"train_samples_per_s\":%.4f,\"train_batch\":%d,\"peak_rss_infer_mb\":%.0f,\"peak_rss_mb\":%.0f}\n",
           preset, threads, ran_bf16 ? "bf16" : "fp32", gemm, video_b1, video_b4, flops * video_b4 / 1e9,
           flops * video_b1 / 1e9, ceiling, text_cps, train_sps, BTRAIN, rss_infer, peak_rss_mb());
    vc_adamw_free(&opt);
    vc_model_free(m);
    free(video), free(out), free(tokens), free(keep);
    return 0;
}
