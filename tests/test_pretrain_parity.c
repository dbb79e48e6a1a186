/* MAE pretraining against the PyTorch reference (tools/gen_pretrain_fixture.py): the same tiny
 * video tower and decoder, video and tube mask give the same predictions, loss and gradients. */
#include "model/mae.h"
#include "parity.h"

#define FIXTURE "tests/fixtures/mae_ref.safetensors"

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
    for (int i = 0; i < d->table.count; i++) {
        const vc_param_info *pi = &d->table.info[i];
        size_t n = 0;
        double *v = read_ref(st, pi->name, &n);
        CHECK(v && n == pi->numel, "fixture lacks %s", pi->name);
        for (size_t k = 0; k < n; k++) d->params[pi->offset + k] = (vc_real)v[k];
        free(v);
    }
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
    ref = read_ref(st, "output.loss", &n);
    printf("  loss %.9f vs reference %.9f\n", loss, ref[0]);
    CHECK(fabs(loss - ref[0]) <= 1e-5 * ref[0], "loss mismatch");
    free(ref);
    double worst = 0;
    const char *worst_name = "";
    int checked = 0;
    const struct { vc_real *g; const vc_param_table *t; } sets[2] = {{m->grads, &m->table}, {d->grads, &d->table}};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < sets[s].t->count; i++) {
            const vc_param_info *pi = &sets[s].t->info[i];
            char name[160];
            snprintf(name, sizeof name, "grad.%s", pi->name);
            if (!vc_st_find(st, name)) { /* no reference gradient: the loss does not reach it */
                double sum = 0;
                for (size_t k = 0; k < pi->numel; k++) sum += fabs((double)sets[s].g[pi->offset + k]);
                CHECK(sum == 0, "%s has a gradient the reference does not", pi->name);
                continue;
            }
            ref = read_ref(st, name, &n);
            CHECK(ref && n == pi->numel, "%s", name);
            double num = 0, den = 0;
            for (size_t k = 0; k < n; k++) {
                double e = sets[s].g[pi->offset + k] - ref[k];
                num += e * e, den += ref[k] * ref[k];
            }
            free(ref);
            double rel = den > 0 ? sqrt(num / den) : sqrt(num);
            CHECK(rel < 1e-4, "%s: gradient relative error %.3g", pi->name, rel);
            if (rel > worst) worst = rel, worst_name = pi->name;
            checked++;
        }
    CHECK(checked >= 40, "only %d gradients compared", checked);
    printf("  %d gradients: worst norm-wise relative error %.3g (%s)\n", checked, worst, worst_name);
    vc_mae_work_free(&w);
    vc_mae_decoder_free(d);
    vc_model_free(m);
    free(video_d), free(keep), free(masked), free(video);
    vc_st_close(st);
}

TEST_MAIN("pretrain_parity", T(mae_step_matches_pytorch_reference))
