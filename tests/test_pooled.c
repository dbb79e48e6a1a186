/* The towers' last block computes only the pooled row (video: class token, text: EOT) when
 * nothing reads the others (vc_block_forward_pooled). In float it must give what the full
 * block gives: embeddings, loss and every gradient within float round-off (the products run
 * with other shapes, so not always bit for bit). The double build's gradient checks
 * (grad_model, grad_parity, grad_align_layers) cover the pooled path's exactness. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "model/model.h"
#include "testutil.h"

enum { B = 3, K = 16 };

typedef struct {
    vc_model *m;
    vc_real *video;
    int32_t tokens[B * 8], keep[B * 64], ids[B];
    double rates[2];
    vc_align_weights align;
} fixture;

static int setup(fixture *f, char *why, size_t whylen) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    f->m = vc_model_new(&c, &err);
    if (!f->m) return snprintf(why, whylen, "%s", err.msg), -1;
    vc_model_init_random(f->m, 42, 0.1);
    vc_model_init_temporal(f->m, 1, 0.5);
    /* layer-level heads at both blocks: the last one reads the pooled rows themselves */
    const int layers[2] = {1, 2};
    if (vc_model_set_align_heads(f->m, layers, 2, &err)) return snprintf(why, whylen, "%s", err.msg), -1;
    f->video = vc_test_random_video(&c, B, 123);
    static const int32_t rows[B][8] = {{98, 5, 17, 99, 0, 0, 0, 0},
                                       {98, 40, 41, 42, 43, 44, 45, 99},
                                       {98, 99, 0, 0, 0, 0, 0, 0}};
    memcpy(f->tokens, rows, sizeof rows);
    f->ids[0] = 0, f->ids[1] = 1, f->ids[2] = 2;
    vc_vision_sample_keep(f->keep, B, vc_config_video_tokens(&c), K, 7, 3);
    vc_drop_path_schedule(f->rates, 2, 0.5);
    f->align = (vc_align_weights){.global = 1, .n_layers = 2, .layers = {1, 2}, .layer_weight = {0.5, 0.25}};
    return 0;
}

/* Largest |a - b| over a tensor, relative to its largest |b|. */
static double rel_diff(const vc_real *a, const vc_real *b, size_t n) {
    double worst = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / scale;
}

static void set_pooled(vc_workspace *w, int on) { w->vis.pooled_last = w->txt.pooled_last = on; }

TEST(pooled_last_block_matches_the_full_block_in_training) {
    fixture f;
    CHECK(setup(&f, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_model *m = f.m;
    vc_error err;
    vc_step_inputs in = {.video = f.video, .tokens = f.tokens, .ids = f.ids, .keep = f.keep, .B = B, .K = K,
                         .drop_rates = f.rates, .seed = 11, .step = 4, .train_text = 1, .grad_scale = 1,
                         .align = &f.align};
    double loss[2];
    vc_real *grads[2];
    for (int pass = 0; pass < 2; pass++) {
        CHECK(vc_model_enable_grads(m, &err) == 0, "%s", err.msg);
        vc_model_zero_grads(m);
        if (pass) set_pooled(&m->train, 0); /* the plan is kept: the same inputs re-plan nothing */
        CHECK(vc_model_forward_backward(m, &in, &loss[pass], &err) == 0, "%s", err.msg);
        CHECK(m->train.vis.pooled_last == !pass && m->train.txt.pooled_last == !pass, "the pass ran the wrong path");
        grads[pass] = malloc(m->table.total * sizeof(vc_real));
        memcpy(grads[pass], m->grads, m->table.total * sizeof(vc_real));
    }
    CHECK_CLOSE(loss[0], loss[1], 0, 1e-6);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        const double e = rel_diff(grads[0] + pi->offset, grads[1] + pi->offset, pi->numel);
        CHECK(e < 1e-5, "%s: pooled and full gradients differ by %g", pi->name, e);
        if (e > worst) worst = e, worst_name = pi->name;
    }
    printf("  loss %.9g vs %.9g; worst gradient difference %.2g (%s) over %d tensors\n", loss[0], loss[1],
           worst, worst_name, m->table.count);
    free(grads[0]), free(grads[1]);
    vc_model_free(m);
    free(f.video);
}

TEST(pooled_last_block_matches_the_full_block_at_inference) {
    fixture f;
    CHECK(setup(&f, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_model *m = f.m;
    vc_error err;
    const int E = m->cfg.embed_dim;
    for (int prec = 0; prec < 2; prec++) {
        vc_model_set_precision(m, prec ? VC_BF16 : VC_FP32);
        vc_real v[2][B * 64], t[2][B * 64];
        for (int pass = 0; pass < 2; pass++) {
            if (pass) set_pooled(&m->infer, 0);
            CHECK(vc_model_encode_video(m, f.video, B, v[pass], &err) == 0, "%s", err.msg);
            CHECK(vc_model_encode_text(m, f.tokens, B, t[pass], &err) == 0, "%s", err.msg);
            CHECK(m->infer.vis.pooled_last == !pass, "the pass ran the wrong path");
        }
        set_pooled(&m->infer, 1);
        /* fp32: round-off only; bf16: the full block's attention runs in bf16, the pooled one in fp32 */
        const double tol = prec ? 2e-2 : 1e-5, dv = rel_diff(v[0], v[1], (size_t)B * E),
                     dt = rel_diff(t[0], t[1], (size_t)B * E);
        printf("  %s: video embeddings differ by %.2g, text by %.2g\n", prec ? "bf16" : "fp32", dv, dt);
        CHECK(dv < tol && dt < tol, "%s: video %g, text %g", prec ? "bf16" : "fp32", dv, dt);
    }
    vc_model_free(m);
    free(f.video);
}

TEST_MAIN("pooled", T(pooled_last_block_matches_the_full_block_in_training),
          T(pooled_last_block_matches_the_full_block_at_inference))
