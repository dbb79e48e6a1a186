/* Parity with the PyTorch reference (tools/gen_model_fixture.py): the fixture holds the
 * official-layout parameters of a tiny ViCLIP, inputs, and the reference embeddings, loss
 * and every parameter gradient computed in float64. Included by tests/grad_parity.c (double
 * build: agreement to ~1e-10) and tests/test_parity.c (float build: the targets). */
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model_io.h"
#include "testutil.h"


typedef struct {
    double max_abs_rel; /* max |a-b| / max|b| */
    double cosine;      /* compare: of the whole tensor; compare_rows: the lowest of one row */
} cmp_result;

static double cosine(const vc_real *a, const double *b, size_t n) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) dot += a[i] * b[i], na += (double)a[i] * a[i], nb += b[i] * b[i];
    return (na > 0 && nb > 0) ? dot / sqrt(na * nb) : (na == nb);
}

/* The lowest cosine over rows of `dim` (dim = n: the whole tensor as one vector). */
static cmp_result compare_rows(const vc_real *a, const double *b, size_t n, size_t dim) {
    double mx = 0, mb = 0, cmin = 1;
    for (size_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(a[i] - b[i]));
        mb = fmax(mb, fabs(b[i]));
    }
    for (size_t r = 0; r + dim <= n; r += dim) cmin = fmin(cmin, cosine(a + r, b + r, dim));
    cmp_result res = {mb > 0 ? mx / mb : mx, cmin};
    return res;
}

static inline cmp_result compare(const vc_real *a, const double *b, size_t n) { return compare_rows(a, b, n, n); }

/* Element count of a fixture tensor, or 0 when it is missing. */
static size_t fixture_numel(const vc_safetensors *st, const char *name, const vc_st_tensor **t) {
    *t = vc_st_find(st, name);
    if (!*t) return 0;
    size_t count = 1;
    for (int i = 0; i < (*t)->ndim; i++) count *= (size_t)(*t)->shape[i];
    return count;
}

/* Reads a fixture tensor as double (any float dtype). */
static double *read_ref(const vc_safetensors *st, const char *name, size_t *n) {
    const vc_st_tensor *t;
    size_t count = fixture_numel(st, name, &t);
    double *out = t ? malloc(count * sizeof *out + 1) : NULL;
    vc_error err;
    if (out && vc_st_read_f64(st, name, out, t->ndim, t->shape, &err)) {
        free(out);
        return NULL;
    }
    *n = count;
    return out;
}

static int32_t *read_ints(const vc_safetensors *st, const char *name, size_t *n) {
    const vc_st_tensor *t;
    size_t count = fixture_numel(st, name, &t);
    int32_t *out = t ? malloc(count * sizeof *out + 1) : NULL;
    vc_error err;
    if (out && vc_st_read_i32(st, name, out, t->ndim, t->shape, &err)) {
        free(out);
        return NULL;
    }
    *n = count;
    return out;
}

/* Runs every comparison with the model's matrix products in `prec`; emb_tol bounds max-abs-relative error of embeddings, grad_tol the
 * norm-wise relative error of each gradient, loss_tol the relative loss error. */
static void parity_run(const char *fixture, vc_precision prec, double emb_tol, double cos_min,
                       double loss_tol, double grad_tol, int *vc_t_failed, char *vc_t_why,
                       size_t vc_t_whylen) {
    vc_error err;
    vc_safetensors *st = vc_st_open(fixture, &err);
    CHECK(st, "%s (regenerate with tools/gen_model_fixture.py)", err.msg);
    vc_model *m = vc_model_from_safetensors(st, (const char *const[]){"input.", "output.", "grad.", NULL}, &err);
    CHECK(m, "%s", err.msg);
    vc_model_set_precision(m, prec);
    const vc_config *c = &m->cfg;
    size_t nv = 0, nt = 0, nk = 0, ni = 0, n = 0;
    double *video_d = read_ref(st, "input.video", &nv);
    int32_t *text = read_ints(st, "input.text", &nt), *keep = read_ints(st, "input.keep", &nk);
    int32_t *ids = read_ints(st, "input.idx", &ni);
    CHECK(video_d && text && keep && ids, "fixture inputs missing");
    const int B = (int)ni, K = (int)(nk / ni), E = c->embed_dim;
    vc_real *video = malloc(nv * sizeof *video), *emb = malloc((size_t)B * E * sizeof *emb);
    for (size_t i = 0; i < nv; i++) video[i] = (vc_real)video_d[i];

    double *ref = read_ref(st, "output.vision_emb_nomask", &n);
    CHECK(ref && n == (size_t)B * E, "output.vision_emb_nomask");
    CHECK(vc_model_encode_video(m, video, B, emb, &err) == 0, "%s", err.msg);
    cmp_result r = compare_rows(emb, ref, n, (size_t)E);
    printf("  video embedding (no mask): lowest cosine %.9f, max abs err / max %.3g\n", r.cosine, r.max_abs_rel);
    CHECK(r.cosine >= cos_min && r.max_abs_rel <= emb_tol, "video embedding mismatch");
    free(ref);

    ref = read_ref(st, "output.text_emb", &n);
    CHECK(ref, "output.text_emb");
    CHECK(vc_model_encode_text(m, text, B, emb, &err) == 0, "%s", err.msg);
    r = compare_rows(emb, ref, n, (size_t)E);
    printf("  text embedding: lowest cosine %.9f, max abs err / max %.3g\n", r.cosine, r.max_abs_rel);
    CHECK(r.cosine >= cos_min && r.max_abs_rel <= emb_tol, "text embedding mismatch");
    free(ref);

    vc_step_inputs in = {.video = video, .tokens = text, .ids = ids, .keep = keep, .B = B, .K = K,
                         .train_text = 1, .grad_scale = 1};
    double loss;
    vc_model_zero_grads(m);
    CHECK(vc_model_forward_backward(m, &in, &loss, &err) == 0, "%s", err.msg);
    ref = read_ref(st, "output.vision_emb", &n);
    CHECK(ref, "output.vision_emb");
    r = compare_rows(m->train.vis.head.out, ref, n, (size_t)E);
    printf("  video embedding (masked, K=%d): lowest cosine %.9f, max abs err / max %.3g\n", K, r.cosine, r.max_abs_rel);
    CHECK(r.cosine >= cos_min && r.max_abs_rel <= emb_tol, "masked video embedding mismatch");
    free(ref);
    ref = read_ref(st, "output.loss", &n);
    CHECK(ref, "output.loss");
    printf("  loss %.12f vs reference %.12f (rel %.3g)\n", loss, ref[0], fabs(loss - ref[0]) / fabs(ref[0]));
    CHECK(fabs(loss - ref[0]) <= loss_tol * fabs(ref[0]), "loss mismatch");
    free(ref);

    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        char name[160];
        snprintf(name, sizeof name, "grad.%s", pi->name);
        ref = read_ref(st, name, &n);
        CHECK(ref && n == pi->numel, "fixture lacks %s", name);
        double num = 0, den = 0;
        for (size_t k = 0; k < n; k++) {
            double d = m->grads[pi->offset + k] - ref[k];
            num += d * d, den += ref[k] * ref[k];
        }
        double rel = den > 0 ? sqrt(num / den) : sqrt(num);
        free(ref);
        CHECK(rel <= grad_tol, "%s: gradient relative error %.3g", pi->name, rel);
        if (rel > worst) worst = rel, worst_name = pi->name;
    }
    printf("  %d gradients: worst norm-wise relative error %.3g (%s)\n", m->table.count, worst, worst_name);
    free(video_d), free(text), free(keep), free(ids), free(video), free(emb);
    vc_model_free(m);
    vc_st_close(st);
}
