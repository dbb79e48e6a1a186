/* The CUDA backend against the CPU reference (issue 10): the same model and inputs encoded on
 * both, GPU fp32 (no TF32) within 1e-5 relative of the CPU's fp32 embeddings, GPU bf16 at cosine
 * >= 0.999 to them. Without a GPU (or a build without CUDA) the GPU tests print a SKIP line
 * and --device cuda is checked to fail with the reason. The B/16-size case runs only under
 * `make test-cuda` (VICLIP_TEST_CUDA_LARGE=1): its CPU reference takes a while. */
#include <sys/stat.h>

#include "backend/device.h"
#include "core/features.h"
#include "core/rng.h"
#include "io/npy.h"
#include "model/model_io.h"
#include "model/model.h"
#include "testutil.h"
#include "viclip.h"

static int gpu_or_skip(const char *test) {
    char why[512];
    if (vc_cuda_usable(why, sizeof why)) return 1;
    printf("SKIP %s: %s\n", test, why);
    return 0;
}

static void random_video(float *v, size_t n, uint64_t seed) {
    vc_rng r = vc_rng_at(seed, 1, 0, 0);
    for (size_t i = 0; i < n; i++) v[i] = (float)vc_rng_normal(&r);
}

/* Rows of ids in [1, 49406) ending in the EOT id 49407 at a different place each, then zeros. */
static void random_tokens(int32_t *t, int N, const vc_config *c, uint64_t seed) {
    vc_rng r = vc_rng_at(seed, 2, 0, 0);
    for (int b = 0; b < N; b++) {
        int eot = 1 + (b * 7) % (c->context_length - 1);
        for (int i = 0; i < c->context_length; i++)
            t[(size_t)b * c->context_length + i] =
                i < eot ? 1 + (int32_t)(vc_rng_uniform(&r) * (c->vocab_size - 3)) : i == eot ? c->vocab_size - 1 : 0;
    }
}

/* Largest row-wise |g - c| / |c| and smallest cosine over N rows of E. */
static void compare(const float *g, const float *c, int N, int E, double *worst_rel, double *worst_cos) {
    *worst_rel = 0, *worst_cos = 1;
    for (int n = 0; n < N; n++) {
        double d2 = 0, c2 = 0, g2 = 0, gc = 0;
        for (int e = 0; e < E; e++) {
            double a = g[(size_t)n * E + e], b = c[(size_t)n * E + e];
            d2 += (a - b) * (a - b), c2 += b * b, g2 += a * a, gc += a * b;
        }
        double rel = sqrt(d2 / c2), cs = gc / sqrt(g2 * c2);
        if (!(rel <= *worst_rel)) *worst_rel = rel;
        if (!(cs >= *worst_cos)) *worst_cos = cs;
    }
}

typedef struct parity {
    double video_rel, text_rel, video_cos16, text_cos16;
    int ok;
    char msg[1200];
} parity;

/* Encodes Nv clips and Nt texts on the CPU (fp32) and on the GPU (fp32, then bf16). */
static parity run_parity(const vc_config *cfg, int Nv, int Nt, uint64_t seed) {
    parity P = {0};
    vc_error err;
    vc_model *m = vc_model_new(cfg, &err);
    const int E = cfg->embed_dim;
    const size_t clip = (size_t)cfg->num_frames * 3 * cfg->image_size * cfg->image_size;
    float *video = malloc(Nv * clip * sizeof(float));
    int32_t *tok = malloc((size_t)Nt * cfg->context_length * sizeof(int32_t));
    float *cv = malloc((size_t)Nv * E * 4), *gv = malloc((size_t)Nv * E * 4);
    float *ct = malloc((size_t)Nt * E * 4), *gt = malloc((size_t)Nt * E * 4);
    if (!m || !video || !tok || !cv || !gv || !ct || !gt) {
        snprintf(P.msg, sizeof P.msg, "setup: %s", m ? "out of memory" : err.msg);
        goto done;
    }
    vc_model_init_random(m, seed, 0.07);
    vc_model_init_temporal(m, seed + 1, 0.5); /* non-zero, so the temporal embedding is exercised */
    random_video(video, Nv * clip, seed);
    random_tokens(tok, Nt, cfg, seed);
    vc_model_set_precision(m, VC_FP32);
    if (vc_model_encode_video(m, video, Nv, cv, &err) || vc_model_encode_text(m, tok, Nt, ct, &err) ||
        vc_model_use_device(m, VC_DEVICE_CUDA, &err) || vc_model_encode_video(m, video, Nv, gv, &err) ||
        vc_model_encode_text(m, tok, Nt, gt, &err)) {
        snprintf(P.msg, sizeof P.msg, "fp32: %s", err.msg);
        goto done;
    }
    double cs;
    compare(gv, cv, Nv, E, &P.video_rel, &cs);
    compare(gt, ct, Nt, E, &P.text_rel, &cs);
    double rel;
    vc_model_set_precision(m, VC_BF16);
    if (vc_model_encode_video(m, video, Nv, gv, &err) || vc_model_encode_text(m, tok, Nt, gt, &err)) {
        snprintf(P.msg, sizeof P.msg, "bf16: %s", err.msg);
        goto done;
    }
    compare(gv, cv, Nv, E, &rel, &P.video_cos16);
    compare(gt, ct, Nt, E, &rel, &P.text_cos16);
    char dev[512];
    vc_device_describe(m->device, dev, sizeof dev);
    printf("  %s\n", dev);
    printf("  fp32: video rel %.3g, text rel %.3g; bf16: video cosine %.6f, text cosine %.6f\n", P.video_rel,
           P.text_rel, P.video_cos16, P.text_cos16);
    P.ok = 1;
done:
    vc_model_free(m);
    free(video), free(tok), free(cv), free(gv), free(ct), free(gt);
    return P;
}

/* The bounds: GPU fp32 within 1e-5 relative of the CPU, GPU bf16 at cosine >= 0.999. */
#define CHECK_PARITY(P)                                                                                         \
    do {                                                                                                        \
        CHECK((P).ok, "%s", (P).msg);                                                                           \
        CHECK((P).video_rel < 1e-5 && (P).text_rel < 1e-5, "fp32 relative error video %g text %g", (P).video_rel, \
              (P).text_rel);                                                                                    \
        CHECK((P).video_cos16 >= 0.999 && (P).text_cos16 >= 0.999, "bf16 cosine video %f text %f",              \
              (P).video_cos16, (P).text_cos16);                                                                 \
    } while (0)

TEST(device_flag_and_absent_gpu) {
    vc_device_kind k;
    vc_error err;
    CHECK(vc_device_kind_from_name("cuda", &k, &err) == 0 && k == VC_DEVICE_CUDA, "cuda");
    CHECK(vc_device_kind_from_name("cpu", &k, &err) == 0 && k == VC_DEVICE_CPU, "cpu");
    CHECK(vc_device_kind_from_name("gpu", &k, &err) == -1 && strstr(err.msg, "--device gpu"), "'%s'", err.msg);
    char why[512];
    const int usable = vc_cuda_usable(why, sizeof why);
    CHECK(usable || !vc_have_cuda() || strstr(why, "no CUDA device"), "'%s'", why);
    if (usable) return; /* the parity tests cover a present GPU */
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    int rc = vc_model_use_device(m, VC_DEVICE_CUDA, &err);
    int named = strstr(err.msg, vc_have_cuda() ? "no CUDA device" : "built without CUDA") != NULL;
    int cpu_rc = vc_model_use_device(m, VC_DEVICE_CPU, &err);
    int on_cpu = m->device == NULL;
    vc_model_free(m);
    CHECK(rc == -1 && named, "--device cuda without a GPU: rc %d, '%s'", rc, err.msg);
    CHECK(cpu_rc == 0 && on_cpu, "back on the CPU");
}

TEST(tiny_model_matches_cpu) {
    if (!gpu_or_skip("cuda.tiny_model_matches_cpu")) return;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    c.vocab_size = 49408, c.context_length = 32, c.image_size = 32, c.patch_size = 8, c.num_frames = 8;
    parity P = run_parity(&c, 70, 37, 11); /* 70 clips: three chunks through the two pinned copy slots */
    CHECK_PARITY(P);
}

TEST(demo_model_matches_cpu) {
    if (!gpu_or_skip("cuda.demo_model_matches_cpu")) return;
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    parity P = run_parity(&c, 6, 70, 12);
    CHECK_PARITY(P);
}

/* Head dim 64 without a mask: --precision bf16 runs the tensor-core attention (257 tokens: five
 * query blocks, the last one partial, and a partial key tile); VICLIP_CUDA_ATTENTION=exact runs
 * the fp32 kernel instead, printed next to it so a failure points at one kernel or the other. */
TEST(tensor_core_attention_matches_cpu) {
    if (!gpu_or_skip("cuda.tensor_core_attention_matches_cpu")) return;
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    c.image_size = 64, c.num_frames = 4, c.vision_heads = 2, c.text_heads = 2;
    setenv("VICLIP_CUDA_ATTENTION", "exact", 1);
    parity exact = run_parity(&c, 3, 8, 14);
    unsetenv("VICLIP_CUDA_ATTENTION");
    parity P = run_parity(&c, 3, 8, 14);
    CHECK(exact.ok && P.ok, "%s%s", exact.msg, P.msg);
    CHECK(exact.video_cos16 >= 0.999, "bf16 with the exact attention: video cosine %f", exact.video_cos16);
    CHECK(P.video_rel < 1e-5 && P.video_cos16 >= 0.999, "fp32 rel %g; bf16 (tensor-core attention) cosine %f",
          P.video_rel, P.video_cos16);
}

/* Parameters changed on the CPU reach the GPU after vc_device_sync (training, then encoding). */
TEST(sync_after_cpu_update) {
    if (!gpu_or_skip("cuda.sync_after_cpu_update")) return;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_error err;
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    vc_model_init_random(m, 3, 0.07);
    int32_t tok[2 * 64];
    random_tokens(tok, 2, &c, 5);
    float a[2 * 1024], b[2 * 1024], ref[2 * 1024];
    int rc = vc_model_use_device(m, VC_DEVICE_CUDA, &err) || vc_model_encode_text(m, tok, 2, a, &err);
    for (size_t i = 0; i < m->table.total; i++) m->params[i] *= 0.9f;
    rc = rc || vc_device_sync(m->device, m, &err) || vc_model_encode_text(m, tok, 2, b, &err) ||
         vc_model_use_device(m, VC_DEVICE_CPU, &err) || vc_model_encode_text(m, tok, 2, ref, &err);
    const int E = c.embed_dim;
    vc_model_free(m);
    CHECK(!rc, "%s", err.msg);
    double rel, cs, rel_old;
    compare(b, ref, 2, E, &rel, &cs);
    compare(a, ref, 2, E, &rel_old, &cs);
    CHECK(rel < 1e-5 && rel_old > 1e-3, "after sync: %g (before: %g)", rel, rel_old);
}

/* The device through the public API (what the CLI's --device uses): names checked, "cpu" by
 * default, "cuda" failing with the reason without a GPU; with one, a viclip_train_step on the
 * CPU reaches the GPU's copy (its embeddings then match the CPU's) and the description names
 * the GPU's peak memory. */
TEST(public_api_device) {
    viclip_error err = {{0}};
    CHECK(viclip_device_valid(NULL, &err) == 0 && viclip_device_valid("cpu", &err) == 0 &&
          viclip_device_valid("cuda", &err) == 0, "cpu, cuda and NULL are devices");
    CHECK(viclip_device_valid("gpu", &err) == -1 && strstr(err.msg, "--device gpu"), "'%s'", err.msg);
    char built[256];
    viclip_build_features(built, sizeof built);
    CHECK(strstr(built, vc_have_cuda() ? "cuda=built" : "cuda=no"), "'%s'", built);
    struct viclip_context_params cp = viclip_context_default_params();
    cp.vocab_path = "";
    viclip_context *ctx = viclip_init_random("tiny", 3, cp, &err);
    CHECK(ctx, "%s", err.msg);
    char *d = viclip_device_describe(ctx);
    int cpu_named = d && !strcmp(d, "cpu");
    viclip_free_string(d);
    CHECK(cpu_named, "a new context computes on the CPU");
    char why[512];
    if (!viclip_cuda_usable(why, sizeof why)) {
        int rc = viclip_set_device(ctx, "cuda", &err);
        int named = strstr(err.msg, vc_have_cuda() ? "no CUDA device" : "built without CUDA") != NULL;
        int back = viclip_set_device(ctx, "cpu", &err);
        viclip_free(ctx);
        CHECK(rc == -1 && named && back == 0, "set_device cuda without a GPU: rc %d, '%s'", rc, err.msg);
        printf("SKIP cuda.public_api_device (GPU part): %s\n", why);
        return;
    }
    const int T = viclip_n_frames(ctx), S = viclip_image_size(ctx), L = viclip_context_length(ctx), E = viclip_embed_dim(ctx);
    struct viclip_config cfg;
    CHECK(viclip_config_preset("tiny", &cfg, &err) == 0, "%s", err.msg);
    const int V = cfg.vocab_size;
    const size_t clip = (size_t)T * 3 * S * S;
    float *clips = malloc(4 * clip * sizeof *clips), g[4 * 1024], ref[4 * 1024];
    int32_t *ids = malloc(4 * (size_t)L * sizeof *ids);
    random_video(clips, 4 * clip, 21);
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < L; i++) /* start, a few ids, EOT (the largest id), zeros */
            ids[b * L + i] = i == 0 ? V - 2 : i == 3 + b ? V - 1 : i < 3 + b ? 1 + (7 * b + i) % (V - 3) : 0;
    struct viclip_train_params tp = viclip_train_default_params();
    tp.lr = 1e-3f;
    int rc = viclip_set_device(ctx, "cuda", &err) || viclip_train_step(ctx, clips, ids, 4, &tp, NULL, &err) ||
             viclip_encode_clips(ctx, clips, 4, g, &err) || viclip_set_device(ctx, NULL, &err) ||
             viclip_encode_clips(ctx, clips, 4, ref, &err);
    viclip_set_device(ctx, "cuda", &err);
    d = viclip_device_describe(ctx);
    int peak_named = d && strstr(d, "peak") != NULL;
    viclip_free_string(d);
    viclip_free(ctx);
    free(clips), free(ids);
    CHECK(!rc, "%s", err.msg);
    double rel, cs;
    compare(g, ref, 4, E, &rel, &cs);
    CHECK(rel < 1e-5, "GPU after a train step vs the CPU: relative error %g", rel);
    CHECK(peak_named, "the description names the peak memory");
}

/* --device on the command line: a bad name is refused before any work; a short demo trains on
 * the GPU (or fails naming why there is none);
 * `encode -d cuda` of a clip tensor gives the CPU's embeddings (on a GPU) or fails with the
 * reason (without one). */
TEST(device_flag_on_the_command_line) {
    char out[8192];
    char why[512];
    const int usable = vc_cuda_usable(why, sizeof why);
    /* training on the device: a 2-step demo (or the reason there is no GPU) */
    int rc = vc_test_run(VICLIP " demo -d cuda -o build/tests/cuda/demo --n-train 64 -s 2 -b 8 --unmasked-steps 1", 1,
                         out, sizeof out);
    if (usable) CHECK(rc == 0, "demo -d cuda: exit %d: %s", rc, out);
    else CHECK(rc == 1 && strstr(out, vc_have_cuda() ? "no CUDA device" : "built without CUDA"), "demo -d cuda: exit %d: %s",
               rc, out);
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    vc_model_init_random(m, 4, 0.07);
    mkdir("build/tests/cuda", 0755);
    const size_t n = (size_t)c.num_frames * 3 * c.image_size * c.image_size;
    float *clip = malloc(n * sizeof *clip);
    random_video(clip, n, 31);
    const int64_t shape[4] = {c.num_frames, 3, c.image_size, c.image_size};
    rc = vc_model_save(m, "build/tests/cuda/m.safetensors", VC_DT_F32, &err) ||
         vc_npy_write("build/tests/cuda/clip.npy", VC_DT_F32, 4, shape, clip, &err);
    vc_model_free(m);
    free(clip);
    CHECK(!rc, "%s", err.msg);
/* fp32 on both: the CLI's default is bf16 where oneDNN runs bf16 on this CPU, and the two
 * devices' bf16 paths differ by far more than the 1e-5 checked */
#define ENCODE VICLIP " encode -m build/tests/cuda/m.safetensors --video-tensor build/tests/cuda/clip.npy --precision fp32 --out build/tests/cuda/"
    rc = vc_test_run(ENCODE "g.npy -d gpu", 1, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--device gpu: expected cpu or cuda"), "exit %d: %s", rc, out);
    rc = vc_test_run(ENCODE "g.npy -d cuda", 1, out, sizeof out);
    if (!usable) {
        CHECK(rc == 1 && strstr(out, vc_have_cuda() ? "no CUDA device" : "built without CUDA"), "exit %d: %s", rc, out);
        printf("SKIP cuda.device_flag_on_the_command_line (GPU part): %s\n", why);
        return;
    }
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(vc_test_run(ENCODE "c.npy -d cpu", 1, out, sizeof out) == 0, "%s", out);
#undef ENCODE
    vc_npy g = {0}, r = {0};
    rc = vc_npy_read("build/tests/cuda/g.npy", &g, &err) || vc_npy_read("build/tests/cuda/c.npy", &r, &err);
    CHECK(!rc, "%s", err.msg);
    double rel, cs;
    compare(g.data, r.data, 1, c.embed_dim, &rel, &cs);
    vc_npy_free(&g), vc_npy_free(&r);
    CHECK(rel < 1e-5, "encode -d cuda vs -d cpu: relative error %g", rel);
}

TEST(b16_size_matches_cpu) {
    if (!gpu_or_skip("cuda.b16_size_matches_cpu")) return;
    const char *large = getenv("VICLIP_TEST_CUDA_LARGE");
    if (!large || strcmp(large, "1")) {
        printf("SKIP cuda.b16_size_matches_cpu: B/16 size runs under make test-cuda (VICLIP_TEST_CUDA_LARGE=1)\n");
        return;
    }
    vc_config c = vc_config_preset(VC_PRESET_B16);
    parity P = run_parity(&c, 2, 16, 13);
    CHECK_PARITY(P);
}

TEST_MAIN("cuda", T(device_flag_and_absent_gpu), T(tiny_model_matches_cpu), T(demo_model_matches_cpu),
          T(tensor_core_attention_matches_cpu), T(sync_after_cpu_update), T(public_api_device),
          T(device_flag_on_the_command_line),
          T(b16_size_matches_cpu))
