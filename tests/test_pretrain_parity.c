/* MAE and UMT pretraining against the PyTorch reference (tools/gen_pretrain_fixture.py): the
 * same tiny towers, heads and video give the same predictions, teacher features, semantic
 * mask, loss and gradients. */
#include "model/mae.h"
#include "model/umt.h"
#include "parity.h"

#define FIXTURE "tests/fixtures/mae_ref.safetensors"

/* Norm-wise relative error of every gradient of a table against grad.<name>; a tensor without a
 * reference gradient must have none. Returns the number compared, or -1 (why filled). */
static int compare_grads(const vc_safetensors *st, const vc_param_table *t, const vc_real *grads, double tol,
                         double *worst, const char **worst_name, char *why, size_t whylen) {
    int checked = 0;
    for (int i = 0; i < t->count; i++) {
        const vc_param_info *pi = &t->info[i];
        char name[160];
        snprintf(name, sizeof name, "grad.%s", pi->name);
        if (!vc_st_find(st, name)) { /* no reference gradient: the loss does not reach it */
            double sum = 0;
            for (size_t k = 0; k < pi->numel; k++) sum += fabs((double)grads[pi->offset + k]);
            if (sum != 0) return snprintf(why, whylen, "%s has a gradient the reference does not", pi->name), -1;
            continue;
        }
        size_t n = 0;
        double *ref = read_ref(st, name, &n), num = 0, den = 0;
        if (!ref || n != pi->numel) return free(ref), snprintf(why, whylen, "%s", name), -1;
        for (size_t k = 0; k < n; k++) {
            double e = grads[pi->offset + k] - ref[k];
            num += e * e, den += ref[k] * ref[k];
        }
        free(ref);
        double rel = den > 0 ? sqrt(num / den) : sqrt(num);
        if (rel > tol) return snprintf(why, whylen, "%s: gradient relative error %.3g", pi->name, rel), -1;
        if (rel > *worst) *worst = rel, *worst_name = pi->name;
        checked++;
    }
    return checked;
}

/* Copies a head's parameters (MAE decoder, UMT projection) from the fixture. */
static int load_head(const vc_safetensors *st, const vc_param_table *t, vc_real *params, char *why, size_t whylen) {
    for (int i = 0; i < t->count; i++) {
        const vc_param_info *pi = &t->info[i];
        size_t n = 0;
        double *v = read_ref(st, pi->name, &n);
        if (!v || n != pi->numel) return free(v), snprintf(why, whylen, "fixture lacks %s", pi->name), -1;
        for (size_t k = 0; k < n; k++) params[pi->offset + k] = (vc_real)v[k];
        free(v);
    }
    return 0;
}

/* The step's loss against output.loss (1e-5 relative), then the tower's and the head's gradients
 * against grad.* (1e-4 norm-wise). Returns the number of gradients compared, or -1 (why filled). */
static int compare_loss_and_grads(const vc_safetensors *st, double loss, const vc_param_table *tower,
                                  const vc_real *tower_grads, const vc_param_table *head,
                                  const vc_real *head_grads, char *why, size_t whylen) {
    size_t n = 0;
    double *ref = read_ref(st, "output.loss", &n);
    if (!ref || n != 1) return free(ref), snprintf(why, whylen, "fixture lacks output.loss"), -1;
    printf("  loss %.9f vs reference %.9f\n", loss, ref[0]);
    double want = ref[0];
    free(ref);
    if (fabs(loss - want) > 1e-5 * want) return snprintf(why, whylen, "loss %.9g, reference %.9g", loss, want), -1;
    double worst = 0;
    const char *worst_name = "";
    int c1 = compare_grads(st, tower, tower_grads, 1e-4, &worst, &worst_name, why, whylen);
    if (c1 < 0) return -1;
    int c2 = compare_grads(st, head, head_grads, 1e-4, &worst, &worst_name, why, whylen);
    if (c2 < 0) return -1;
    printf("  %d gradients: worst norm-wise relative error %.3g (%s)\n", c1 + c2, worst, worst_name);
    return c1 + c2;
}

TEST(mae_step_matches_pytorch_reference) {
    (void)parity_run; /* the contrastive parity helper, unused here */
    vc_error err;
    vc_safetensors *st = vc_st_open(FIXTURE, &err);
    CHECK(st, "%s (regenerate with tools/gen_pretrain_fixture.py)", err.msg);
    vc_model *m = vc_model_from_safetensors(st, (const char *const[]){"mae_decoder.", "input.", "output.", "grad.", NULL}, &err);
    CHECK(m && vc_model_enable_grads(m, &err) == 0, "%s", err.msg);
    vc_mae_decoder *d = vc_mae_decoder_new(&m->cfg, 8, 2, 2, &err);
    CHECK(d, "%s", err.msg);
    CHECK(strstr(vc_st_meta(st, "mae_decoder"), "\"width\":8,\"depth\":2,\"heads\":2") != NULL, "decoder dims changed");
    char why[256];
    CHECK(load_head(st, &d->table, d->params, why, sizeof why) == 0, "%s", why);
    size_t nv = 0, nk = 0, nm = 0, n = 0;
    double *video_d = read_ref(st, "input.video", &nv);
    int32_t *keep = read_ints(st, "input.keep", &nk), *masked = read_ints(st, "input.masked", &nm);
    CHECK(video_d && keep && masked, "fixture inputs missing");
    const int B = 2, K = (int)(nk / B);
    vc_real *video = malloc(nv * sizeof *video);
    for (size_t i = 0; i < nv; i++) video[i] = (vc_real)video_d[i];
    vc_mae_work w = {0};
    double loss;
    vc_model_zero_grads(m);
    CHECK(vc_mae_step(&w, m, d, video, keep, masked, B, K, 1, 1, &loss, &err) == 0, "%s", err.msg);
    double *ref = read_ref(st, "output.pred", &n);
    CHECK(ref && n == (size_t)B * w.M * 48, "output.pred");
    cmp_result r = compare(vc_mae_prediction(&w), ref, n);
    printf("  reconstruction: cosine %.9f, max abs err / max %.3g\n", r.cosine, r.max_abs_rel);
    CHECK(r.cosine > 0.99999 && r.max_abs_rel < 1e-4, "prediction mismatch");
    free(ref);
    int checked = compare_loss_and_grads(st, loss, &m->table, m->grads, &d->table, d->grads, why, sizeof why);
    CHECK(checked >= 0, "%s", why);
    CHECK(checked >= 40, "only %d gradients compared", checked);
    vc_mae_work_free(&w);
    vc_mae_decoder_free(d);
    vc_model_free(m);
    free(video_d), free(keep), free(masked), free(video);
    vc_st_close(st);
}

TEST(umt_step_matches_pytorch_reference) {
    vc_error err;
    vc_model *tm = vc_model_load("tests/fixtures/umt_teacher.safetensors", NULL, &err);
    CHECK(tm, "%s (regenerate with tools/gen_pretrain_fixture.py)", err.msg);
    vc_safetensors *st = vc_st_open("tests/fixtures/umt_ref.safetensors", &err);
    CHECK(st, "%s", err.msg);
    vc_model *m = vc_model_from_safetensors(st, (const char *const[]){"umt_head.", "input.", "output.", "grad.", NULL}, &err);
    CHECK(m && vc_model_enable_grads(m, &err) == 0, "%s", err.msg);
    const vc_config *c = &m->cfg;
    const int B = 2, T = c->num_frames, P = vc_config_patches(c), E = c->embed_dim, KP = 4, K = KP * T;
    vc_umt_teacher *t = vc_umt_teacher_new(tm, T, &err);
    vc_umt_head *h = vc_umt_head_new(c->vision_width, E, &err);
    CHECK(t && h, "%s", err.msg);
    char why[256];
    CHECK(load_head(st, &h->table, h->params, why, sizeof why) == 0, "%s", why);
    size_t nv = 0, nk = 0, n = 0;
    double *video_d = read_ref(st, "input.video", &nv);
    int32_t *want_keep = read_ints(st, "output.keep", &nk);
    CHECK(video_d && want_keep && nk == (size_t)B * K, "fixture inputs missing");
    vc_real *video = malloc(nv * sizeof *video);
    for (size_t i = 0; i < nv; i++) video[i] = (vc_real)video_d[i];
    CHECK(vc_umt_teacher_forward(t, video, B, &err) == 0, "%s", err.msg);
    double *ref = read_ref(st, "output.teacher_features", &n);
    CHECK(ref && n == (size_t)B * T * P * E, "output.teacher_features");
    cmp_result r = compare(t->head.out, ref, n);
    printf("  teacher features (frame by frame): cosine %.9f, max abs err / max %.3g\n", r.cosine, r.max_abs_rel);
    CHECK(r.cosine > 0.99999 && r.max_abs_rel < 1e-4, "teacher features mismatch");
    free(ref);
    ref = read_ref(st, "output.teacher_attention", &n);
    CHECK(ref && n == (size_t)B * T * P, "output.teacher_attention");
    r = compare(t->attention, ref, n);
    printf("  teacher class-token attention: max abs err / max %.3g\n", r.max_abs_rel);
    CHECK(r.max_abs_rel < 1e-4, "teacher attention mismatch");
    free(ref);
    int32_t keep[2 * 64];
    vc_umt_select(keep, t->attention, VC_UMT_SEMANTIC, B, T, P, KP, 0, 0);
    CHECK(memcmp(keep, want_keep, (size_t)B * K * sizeof *keep) == 0, "semantic mask differs from the reference's top-k");
    vc_umt_work w = {0};
    double loss;
    vc_model_zero_grads(m);
    CHECK(vc_umt_step(&w, m, h, t, video, keep, B, K, VC_UMT_COSINE, 1, 1, &loss, &err) == 0, "%s", err.msg);
    int checked = compare_loss_and_grads(st, loss, &m->table, m->grads, &h->table, h->grads, why, sizeof why);
    CHECK(checked >= 0, "%s", why);
    CHECK(checked >= 30, "only %d gradients compared", checked);
    vc_umt_work_free(&w);
    vc_umt_head_free(h);
    vc_umt_teacher_free(t);
    vc_model_free(m);
    vc_model_free(tm);
    free(video_d), free(want_keep), free(video);
    vc_st_close(st);
}

TEST_MAIN("pretrain_parity", T(mae_step_matches_pytorch_reference), T(umt_step_matches_pytorch_reference))
