/* viclip side of `make bench-cuda`: one workload of the GPU benchmark (bench/cuda.sh), timed
 * after a warm-up run, the median of ITERS runs. A client of the public API (viclip.h) like the
 * other benchmarks: viclip_set_device(ctx, "cuda") and viclip_encode_clips/_tokens, or
 * viclip_train_step (train: 90% of the patch tokens masked, the text tower frozen; the step
 * computes on the GPU, parameters and AdamW moments staying there). Inputs start in host memory
 * and the timing includes copying them to the GPU (and the embeddings back); PyTorch's side
 * starts with its inputs on the GPU. Prints one JSON line: ms, items/s, model TFLOP/s
 * (training: ~3x the forward, as bench/bench_torch.py estimates it) and utilisation of the
 * given peak, and the device with the memory it held at its peak (viclip_device_describe).
 * Usage: bench_cuda video|text|train CONFIG BATCH fp32|bf16 ITERS [PEAK_TFLOPS] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viclip.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* splitmix64: reproducible inputs without the library's internals */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(uint64_t *s) { return (next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Matmul FLOPs (2 per multiply-add) of one pass of `layers` blocks of width W over L tokens:
 * 24 L W^2 (q/k/v, output, MLP) + 4 L^2 W (scores and weighted sum), as bench/bench_torch.py. */
static double blocks_flops(int layers, double L, double W) { return layers * (24.0 * L * W * W + 4.0 * L * L * W); }

/* One JSON line saying why this workload has no time (skipped: no GPU; failed: the run). */
/* The row's name: VICLIP_BENCH_IMPL (e.g. viclip-tc for a variant chosen by the environment). */
static const char *impl_name(void) {
    const char *s = getenv("VICLIP_BENCH_IMPL");
    return s && *s ? s : "viclip";
}

static void report_problem(const char *key, const char *workload, const char *config, int B, const char *msg) {
    char *q = viclip_json_quote(msg);
    printf("{\"impl\":\"%s\",\"workload\":\"%s\",\"config\":\"%s\",\"batch\":%d,\"%s\":%s}\n", impl_name(), workload, config, B,
           key, q ? q : "\"\"");
    viclip_free_string(q);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_cuda video|text|train CONFIG BATCH fp32|bf16 ITERS [PEAK_TFLOPS]\n");
        return 2;
    }
    const int train = !strcmp(argv[1], "train"), video = !strcmp(argv[1], "video") || train;
    const int B = atoi(argv[3]), iters = atoi(argv[5]);
    const double peak = argc > 6 ? atof(argv[6]) : 790.0;
    viclip_error err = {{0}};
    struct viclip_config c;
    if (viclip_config_preset(argv[2], &c, &err) || !viclip_precision_valid(argv[4]) || B < 1 || iters < 1) {
        fprintf(stderr, "bench_cuda: bad arguments (%s)\n", err.msg);
        return 2;
    }
    struct viclip_context_params cp = viclip_context_default_params();
    cp.vocab_path = ""; /* token ids are made here: no tokenizer */
    viclip_context *ctx = viclip_init_random(argv[2], 0, cp, &err);
    if (!ctx || viclip_set_precision(ctx, argv[4], &err)) {
        fprintf(stderr, "bench_cuda: %s\n", err.msg);
        viclip_free(ctx);
        return 1;
    }
    if (viclip_set_device(ctx, "cuda", &err)) {
        report_problem("skipped", argv[1], argv[2], B, err.msg);
        viclip_free(ctx);
        return 0;
    }
    const size_t clip = (size_t)c.num_frames * 3 * c.image_size * c.image_size;
    float *in = video ? malloc((size_t)B * clip * sizeof(float)) : NULL;
    int32_t *tok = video && !train ? NULL : malloc((size_t)B * c.context_length * sizeof(int32_t));
    float *out = malloc((size_t)B * c.embed_dim * sizeof(float));
    double *t = malloc((size_t)(iters + 1) * sizeof *t);
    if ((video && !in) || ((!video || train) && !tok) || !out || !t) {
        fprintf(stderr, "bench_cuda: out of memory\n");
        free(t), free(in), free(tok), free(out);
        viclip_free(ctx);
        return 1;
    }
    uint64_t r = 1;
    if (video) /* roughly normalised pixels: uniform with unit variance */
        for (size_t i = 0; i < (size_t)B * clip; i++) in[i] = (float)((uniform(&r) - 0.5) * 3.4641);
    if (tok) /* full contexts: start token, random ids, EOT (the largest id) last, as bench_torch.py */
        for (int b = 0; b < B; b++)
            for (int i = 0; i < c.context_length; i++)
                tok[(size_t)b * c.context_length + i] = i == 0 ? c.vocab_size - 2 : i == c.context_length - 1
                    ? c.vocab_size - 1 : 1 + (int32_t)(uniform(&r) * (c.vocab_size - 3));
    int rc = 0;
    struct viclip_train_params tp = viclip_train_default_params();
    tp.mask_ratio = 0.9f, tp.train_text = 0, tp.lr = 1e-6f; /* the official recipe: text frozen */
    for (int i = 0; i <= iters && !rc; i++) {
        double t0 = now_s(), loss;
        rc = train ? viclip_train_step(ctx, in, tok, B, &tp, &loss, &err)
             : video ? viclip_encode_clips(ctx, in, B, out, &err) : viclip_encode_tokens(ctx, tok, B, out, &err);
        t[i] = now_s() - t0;
        if (!rc && train && !isfinite(loss)) { /* a fast wrong step is no result */
            snprintf(err.msg, sizeof err.msg, "the training loss is %g at step %d", loss, i + 1);
            rc = -1;
        }
    }
    if (rc) {
        report_problem("failed", argv[1], argv[2], B, err.msg);
    } else {
        qsort(t + 1, (size_t)iters, sizeof *t, cmp_double); /* t[0]: the warm-up */
        const double med = t[1 + iters / 2];
        const int tokens = (c.image_size / c.patch_size) * (c.image_size / c.patch_size) * c.num_frames;
        const int L = video ? tokens + 1 : c.context_length;
        const double W = video ? c.vision_width : c.text_width;
        double flops = B * (blocks_flops(video ? c.vision_layers : c.text_layers, L, W) +
                            (video ? 2.0 * (L - 1) * 3 * c.patch_size * c.patch_size * W : 0) + 2 * W * c.embed_dim);
        if (train) { /* bench_torch.py's train_flops_estimate: 3x the masked forward, 2x the patch embedding */
            const int kept = tokens - (int)(0.9 * tokens);
            const double patch = 2.0 * tokens * 3 * c.patch_size * c.patch_size * c.vision_width;
            const double vis = blocks_flops(c.vision_layers, kept + 1, c.vision_width) + 2.0 * c.vision_width * c.embed_dim;
            const double txt = blocks_flops(c.text_layers, c.context_length, c.text_width) + 2.0 * c.text_width * c.embed_dim;
            flops = B * (3 * vis + 2 * patch + 3 * txt);
        }
        char *dev = viclip_device_describe(ctx), *dev_json = viclip_json_quote(dev ? dev : "");
        /* the most viclip held on the GPU, from the description's "(peak N MiB)" */
        const char *pk = dev ? strstr(dev, "(peak ") : NULL;
        const double peak_gib = pk ? atof(pk + 6) / 1024.0 : -1;
        printf("{\"impl\":\"%s\",\"workload\":\"%s\",\"config\":\"%s\",\"batch\":%d,\"precision\":\"%s\","
               "\"ms\":%.3f,\"items_per_s\":%.2f,\"tflops\":%.2f,\"mfu\":%.4f,\"peak_mem_gib\":%.2f,\"device\":%s}\n",
               impl_name(), argv[1], argv[2], B, argv[4], med * 1e3, B / med, flops / med / 1e12, flops / med / 1e12 / peak, peak_gib,
               dev_json ? dev_json : "\"\"");
        viclip_free_string(dev_json);
        viclip_free_string(dev);
    }
    free(t), free(in), free(tok), free(out);
    viclip_free(ctx);
    return rc ? 1 : 0;
}
