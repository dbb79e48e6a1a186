/* The public API's utilities: names of enums, JSON quoting, output checks, text lists, .npy
 * files, system information and precision, synthetic data, the bare tokenizer and frames. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "core/checked_int.h"
#include "core/clock.h"
#include "core/cpu.h"
#include "core/rng.h"
#include "eval/templates.h"
#include "io/annotations.h"
#include "io/fs.h"
#include "io/npy.h"
#include "io/strbuf.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "search/build.h"
#include "video/clip.h"
#include "video/decode.h"
#include "video/synth.h"

#define pass_error vc_api_pass_error
#define fail vc_api_fail

void viclip_free_string(char *s) { free(s); }
void viclip_free_strings(char **list, int n) { vc_free_lines(list, n); }

int viclip_sampling_from_name(const char *name, enum viclip_sampling *out, viclip_error *err) {
    vc_error e;
    vc_sampling s;
    if (vc_sampling_parse(name, &s, &e)) return pass_error(&e, err), -1;
    *out = (enum viclip_sampling)s;
    return 0;
}

int viclip_interp_from_name(const char *name, enum viclip_interp *out, viclip_error *err) {
    vc_error e;
    vc_interp i;
    if (vc_interp_parse(name, &i, &e)) return pass_error(&e, err), -1;
    *out = (enum viclip_interp)i;
    return 0;
}

const char *viclip_sampling_name(enum viclip_sampling s) { return vc_sampling_name((vc_sampling)s); }
const char *viclip_interp_name(enum viclip_interp i) { return vc_interp_name((vc_interp)i); }

int viclip_parse_i64(const char *text, int64_t lo, int64_t hi, int64_t *out, const char *what, viclip_error *err) {
    vc_error e;
    if (vc_parse_i64(text, lo, hi, out, what, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_parse_u64(const char *text, uint64_t hi, uint64_t *out, const char *what, viclip_error *err) {
    vc_error e;
    if (vc_parse_u64(text, hi, out, what, &e)) return pass_error(&e, err), -1;
    return 0;
}

char *viclip_json_quote(const char *s) {
    vc_strbuf sb = {0};
    vc_error e;
    if (!s || vc_sb_append_json_string(&sb, s, strlen(s), &e)) {
        vc_sb_free(&sb);
        return NULL;
    }
    return sb.data; /* NUL-terminated by the append */
}

int viclip_prepare_outputs(const char *const *outputs, int n_out, const char *const *inputs, int n_in, viclip_error *err) {
    vc_error e;
    if (vc_prepare_outputs(outputs, n_out, inputs, n_in, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_read_class_names(const char *path, char ***names, int *n, viclip_error *err) {
    vc_error e;
    if (vc_read_class_names(path, names, n, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_read_templates(const char *path, char ***templates, int *n, viclip_error *err) {
    vc_error e;
    if (vc_read_templates(path, templates, n, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_preprocess_valid(const char *sampling, const char *interp, viclip_error *err) {
    vc_error e;
    vc_index_build_opts o = vc_index_build_default_opts();
    if (vc_index_build_parse_preprocess(sampling, interp, &o, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_annotation_format_valid(const char *name, viclip_error *err) {
    vc_error e;
    vc_annotation_format f;
    if (vc_annotation_format_parse(name, &f, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_make_dirs(const char *path, viclip_error *err) {
    vc_error e;
    if (vc_mkdir_p(path, &e)) return pass_error(&e, err), -1;
    return 0;
}

/* enum viclip_dtype -> vc_dtype */
static const vc_dtype DT[] = {VC_DT_F32, VC_DT_F16, VC_DT_BF16, VC_DT_U8, VC_DT_I8};
#define N_DT ((int)(sizeof DT / sizeof DT[0]))

const char *viclip_dtype_name(enum viclip_dtype dtype) {
    return (int)dtype >= 0 && (int)dtype < N_DT ? vc_dtype_name(DT[dtype]) : "?";
}

int viclip_npy_write(const char *path, enum viclip_dtype dtype, int ndim, const int64_t *shape, const void *data,
                     viclip_error *err) {
    if ((int)dtype < 0 || (int)dtype >= N_DT) return fail(err, "%s: not a viclip_dtype value", path ? path : "");
    vc_error e;
    if (vc_npy_write(path, DT[dtype], ndim, shape, data, &e)) return pass_error(&e, err), -1;
    return 0;
}

/* ---- system and precision ------------------------------------------------------------------- */

int viclip_system_info(struct viclip_system_info *out, viclip_error *err) {
    memset(out, 0, sizeof *out);
    vc_error e;
    vc_isa isa;
    if (vc_cpu_select_isa(&isa, &e)) return pass_error(&e, err), -1;
    vc_cpu_describe(out->cpu, sizeof out->cpu);
    snprintf(out->isa, sizeof out->isa, "%s", vc_isa_name(isa));
    out->isa_capped = getenv("VICLIP_ISA") != NULL;
    vc_gemm_describe(out->gemm, sizeof out->gemm);
    snprintf(out->default_precision, sizeof out->default_precision, "%s", vc_precision_name(vc_default_precision()));
    out->has_bf16 = vc_gemm_has_bf16();
    out->threads = omp_get_max_threads();
    vc_attention_describe(out->attention, sizeof out->attention);
    return 0;
}

int viclip_precision_valid(const char *name) {
    vc_precision p;
    return name && !vc_precision_from_name(name, &p);
}

int viclip_set_precision(viclip_context *ctx, const char *name, viclip_error *err) {
    vc_precision p = vc_default_precision();
    if (name && vc_precision_from_name(name, &p)) return fail(err, "precision '%s': expected fp32 or bf16", name);
    vc_model_set_precision(ctx->model, p);
    return 0;
}

int viclip_model_imported(const viclip_context *ctx) { return ctx->imported; }

double viclip_bench_gemm(int M, int N, int K, int trans_b, const char *precision, int reps) {
    vc_precision prec = vc_default_precision();
    if ((precision && vc_precision_from_name(precision, &prec)) || M < 1 || N < 1 || K < 1) return -1;
    float *a = malloc((size_t)M * K * sizeof *a), *b = malloc((size_t)K * N * sizeof *b), *c = malloc((size_t)M * N * sizeof *c);
    /* a planned bf16 operand space, as the model's layers have */
    vc_matmul mm = {prec, NULL, 0};
    if (prec == VC_BF16) {
        mm.bf16_elems = vc_matmul_bf16_elems(M, N, K);
        mm.bf16 = malloc(mm.bf16_elems * sizeof(uint16_t));
    }
    double best = -1;
    if (a && b && c && (prec != VC_BF16 || mm.bf16)) {
        vc_rng r = vc_rng_at(9, 0, 0, 0);
        for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)vc_rng_normal(&r);
        for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)vc_rng_normal(&r) * 0.03f;
        vc_gemm_p(&mm, 0, trans_b != 0, M, N, K, 1, a, K, b, trans_b ? K : N, 0, c, N); /* warm-up: packing buffers, threads */
        for (int i = 0; i < (reps > 0 ? reps : 1); i++) {
            const double t0 = vc_now_s();
            vc_gemm_p(&mm, 0, trans_b != 0, M, N, K, 1, a, K, b, trans_b ? K : N, 0, c, N);
            const double t = vc_now_s() - t0;
            if (best < 0 || t < best) best = t;
        }
    }
    free(a), free(b), free(c), free(mm.bf16);
    return best;
}

void viclip_gemm_nt(int M, int N, int K, const float *A, const float *B, float *C) {
    vc_gemm(0, 1, M, N, K, 1, A, K, B, K, 0, C, N);
}

/* ---- synthetic data ------------------------------------------------------------------------- */

struct viclip_synth_params viclip_synth_default_params(void) {
    const vc_synth_params d = vc_synth_default_params();
    return (struct viclip_synth_params){.frames = d.frames, .size = d.size, .n_train = d.n_train,
                                        .n_heldout_per_combo = d.n_heldout_per_combo, .seed = d.seed, .threads = d.threads};
}

int viclip_synth_generate(const char *out_dir, const struct viclip_synth_params *p, viclip_error *err) {
    const struct viclip_synth_params d = viclip_synth_default_params();
    if (!p) p = &d;
    vc_synth_params s = {.frames = p->frames, .size = p->size, .n_train = p->n_train,
                         .n_heldout_per_combo = p->n_heldout_per_combo, .seed = p->seed, .threads = p->threads};
    vc_error e;
    if (vc_synth_generate(out_dir, &s, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_synth_render(int combo, uint64_t seed, int frames, int size, uint8_t *rgb, char *caption, size_t caption_cap,
                        viclip_error *err) {
    vc_error e;
    if (vc_synth_render_clip(combo, seed, frames, size, rgb, &e)) return pass_error(&e, err), -1;
    if (caption && caption_cap) vc_synth_caption(combo, caption, caption_cap);
    return 0;
}

/* ---- the bare tokenizer --------------------------------------------------------------------- */

viclip_tokenizer *viclip_tokenizer_load(const char *vocab_path, viclip_error *err) {
    vc_error e;
    char found[4096];
    if (!vocab_path) {
        if (vc_tokenizer_find_vocab(found, sizeof found, &e)) return pass_error(&e, err), NULL;
        vocab_path = found;
    }
    vc_tokenizer *t = vc_tokenizer_load(vocab_path, &e);
    if (!t) pass_error(&e, err);
    return (viclip_tokenizer *)t;
}

void viclip_tokenizer_free(viclip_tokenizer *tok) { vc_tokenizer_free((vc_tokenizer *)tok); }

int viclip_tokenizer_encode(const viclip_tokenizer *tok, const char *text, int context, int32_t *ids, viclip_error *err) {
    vc_error e;
    const int n = vc_tokenize((const vc_tokenizer *)tok, text, context, ids, &e);
    if (n < 0) pass_error(&e, err);
    return n < 0 ? -1 : n;
}

/* ---- frames --------------------------------------------------------------------------------- */

struct viclip_frames_params viclip_frames_default_params(void) {
    const vc_preprocess pp = vc_preprocess_default(8, 224);
    struct viclip_frames_params p = {.frames = 8, .size = 224, .video = viclip_video_default_params(), .strict = 1,
                                     .timeout_s = 120};
    memcpy(p.mean, pp.mean, sizeof p.mean), memcpy(p.std, pp.std, sizeof p.std);
    return p;
}

int viclip_decode_frames(const char *path, const struct viclip_frames_params *p, uint8_t *rgb, float *clip, int *indices,
                         struct viclip_video_file_info *info, viclip_error *err) {
    _Static_assert(sizeof(vc_real) == sizeof(float), "the clip is written in place");
    const struct viclip_frames_params d = viclip_frames_default_params();
    if (!p) p = &d;
    if (p->frames < 1 || p->frames > 4096 || p->size < 1 || p->size > 8192)
        return fail(err, "%s", "viclip_frames_params: frames must be in 1..4096 and size in 1..8192");
    if (!(p->std[0] > 0 && p->std[1] > 0 && p->std[2] > 0)) return fail(err, "%s", "viclip_frames_params: std values must be positive");
    vc_clip_opts o = vc_clip_default_opts();
    const struct viclip_video_params *v = &p->video;
    o.sampling = (vc_sampling)v->sampling, o.interp = (vc_interp)v->interp, o.seed = v->seed, o.key = v->key;
    o.start = v->start_s, o.end = v->end_s, o.augment = v->augment;
    o.threads = v->decode_threads > 0 ? v->decode_threads : 1, o.timeout_s = p->timeout_s, o.strict = p->strict;
    vc_preprocess pp = vc_preprocess_default(p->frames, p->size);
    memcpy(pp.mean, p->mean, sizeof pp.mean), memcpy(pp.std, p->std, sizeof pp.std);
    const size_t n = (size_t)p->frames * p->size * p->size * 3;
    uint8_t *raw = rgb ? rgb : malloc(n);
    int *idx = indices ? indices : malloc((size_t)p->frames * sizeof *idx);
    vc_video_info vi;
    vc_error e;
    int rc = raw && idx ? 0 : vc_fail(&e, "%s: out of memory", path ? path : "");
    if (!rc) rc = vc_clip_load_u8_info(path, &pp, &o, raw, idx, &vi, &e);
    if (!rc && clip) vc_clip_normalize(&pp, raw, NULL, (vc_real *)(void *)clip);
    if (!rc && info) {
        memset(info, 0, sizeof *info);
        snprintf(info->codec, sizeof info->codec, "%s", vi.codec);
        snprintf(info->container, sizeof info->container, "%s", vi.container);
        info->width = vi.width, info->height = vi.height, info->rotation = vi.rotation, info->frames = vi.frames;
        info->counted = vi.counted, info->is_npy = vc_clip_is_npy(path);
    }
    if (raw != rgb) free(raw);
    if (idx != indices) free(idx);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}
