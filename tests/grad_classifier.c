/* Finite-difference checks of the classification head and the soft-target cross-entropy
 * (label smoothing, mixup targets), double precision, plus their known values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "model/classifier.h"
#include "model/model.h"
#include "testutil.h"

#define TOL 1e-6

enum { B = 5, E = 7, C = 4 };

typedef struct {
    vc_real emb[B * E], w[C * E], b[C], x[B * E], logits[B * C], targets[B * C];
} head_ctx;

static double head_loss(void *p) {
    head_ctx *h = p;
    vc_head_forward(h->w, h->b, h->emb, B, E, C, h->x, h->logits);
    return vc_soft_cross_entropy(h->logits, h->targets, B, C, NULL);
}

static void head_case(double smoothing, double lam, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    head_ctx h;
    vc_fill_random(h.emb, B * E, 1.5, 1);
    vc_fill_random(h.w, C * E, 0.7, 2);
    vc_fill_random(h.b, C, 0.3, 3);
    const int32_t y[B] = {0, 3, 1, 1, 2};
    int32_t y2[B];
    vc_real scratch[B * E];
    vc_real mixed[B * E];
    memcpy(mixed, h.emb, sizeof mixed);
    vc_mixup_rows(mixed, B, E, lam, y, y2, scratch); /* only for the partner labels */
    vc_soft_targets(y, lam < 1 ? y2 : NULL, lam, B, C, smoothing, h.targets);
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += h.targets[i * C + c];
        CHECK_CLOSE(s, 1.0, 1e-12, 0);
    }
    vc_real dlogits[B * C], dw[C * E] = {0}, db[C] = {0}, demb[B * E];
    vc_head_forward(h.w, h.b, h.emb, B, E, C, h.x, h.logits);
    vc_soft_cross_entropy(h.logits, h.targets, B, C, dlogits);
    vc_head_backward(h.w, h.emb, h.x, dlogits, B, E, C, dw, db, demb);
    CHECK(vc_gradcheck(h.emb, B * E, demb, head_loss, &h, 100, 4, NULL, NULL) < TOL, "demb");
    CHECK(vc_gradcheck(h.w, C * E, dw, head_loss, &h, 100, 5, NULL, NULL) < TOL, "dw");
    CHECK(vc_gradcheck(h.b, C, db, head_loss, &h, 100, 6, NULL, NULL) < TOL, "db");
}

TEST(head_and_cross_entropy_gradients_hard_labels) { head_case(0, 1, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(head_and_cross_entropy_gradients_label_smoothing) { head_case(0.1, 1, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(head_and_cross_entropy_gradients_mixup_and_smoothing) { head_case(0.1, 0.3, vc_t_failed, vc_t_why, vc_t_whylen); }

TEST(known_values_of_the_loss_targets_and_head) {
    /* equal logits: log C whatever the targets */
    vc_real z[2 * 3] = {0.5, 0.5, 0.5, -1, -1, -1}, t[2 * 3];
    const int32_t y[2] = {2, 0};
    vc_soft_targets(y, NULL, 1, 2, 3, 0.3, t);
    CHECK_CLOSE(t[0], 0.1, 1e-12, 0);
    CHECK_CLOSE(t[2], 0.8, 1e-12, 0);
    CHECK_CLOSE(vc_soft_cross_entropy(z, t, 2, 3, NULL), log(3.0), 1e-12, 0);
    /* hard target: -log softmax; logits (0, ln 3): p(class 1) = 3/4 */
    vc_real z2[2] = {0, log(3.0)}, t2[2];
    const int32_t y1 = 1;
    vc_soft_targets(&y1, NULL, 1, 1, 2, 0, t2);
    CHECK_CLOSE(vc_soft_cross_entropy(z2, t2, 1, 2, NULL), -log(0.75), 1e-12, 0);
    /* the head's input is sqrt(E) * unit vector */
    vc_real emb[4] = {3, 0, 0, 4}, w[4] = {1, 0, 0, 0}, b[1] = {0.5}, x[4], logit[1];
    vc_head_forward(w, b, emb, 1, 4, 1, x, logit);
    CHECK_CLOSE(x[0], 2 * 0.6, 1e-12, 0);
    CHECK_CLOSE(logit[0], 1.2 + 0.5, 1e-12, 0);
}

static double uni(void *r) { return vc_rng_uniform(r); }
static double nrm(void *r) { return vc_rng_normal(r); }

TEST(beta_draws_have_the_beta_mean_and_variance) {
    vc_rng r = vc_rng_at(1, 9, 0, 0);
    const double alphas[2] = {0.8, 2.0};
    for (int a = 0; a < 2; a++) {
        double s = 0, s2 = 0;
        const int n = 20000;
        for (int i = 0; i < n; i++) {
            double v = vc_beta_sample(alphas[a], uni, nrm, &r);
            CHECK(v >= 0 && v <= 1, "draw %g", v);
            s += v, s2 += v * v;
        }
        const double mean = s / n, var = s2 / n - mean * mean, want = 1 / (4 * (2 * alphas[a] + 1));
        CHECK_CLOSE(mean, 0.5, 0.01, 0);
        CHECK_CLOSE(var, want, 0.005, 0);
    }
}

/* The fine-tuning step end to end: video tower (drop-path on, fixed seed) -> head -> soft
 * cross-entropy with smoothing, every video-tower tensor and the head against central
 * differences, through vc_model_video_forward_train / vc_model_video_backward. */
typedef struct {
    vc_model *m;
    vc_step_inputs in;
    vc_real *w, *b, *targets, emb[3 * 24], x[3 * 24], logits[3 * 5];
} tower_ctx;

static double tower_loss(void *p) {
    tower_ctx *t = p;
    vc_error err;
    if (vc_model_video_forward_train(t->m, &t->in, t->emb, &err)) return NAN;
    vc_head_forward(t->w, t->b, t->emb, t->in.B, t->m->cfg.embed_dim, 5, t->x, t->logits);
    return vc_soft_cross_entropy(t->logits, t->targets, t->in.B, 5, NULL);
}

TEST(tower_head_and_loss_gradients_end_to_end) {
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_error err;
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    vc_model_init_random(m, 42, 0.1);
    vc_model_init_temporal(m, 42, 0.3);
    const int Bn = 3, Cn = 5, En = c.embed_dim;
    CHECK(En == 24, "tiny embed_dim %d", En);
    vc_real *video = vc_test_random_video(&c, Bn, 123), w[5 * 24], bias[5], targets[3 * 5];
    vc_fill_random(w, (size_t)Cn * En, 0.5, 9);
    vc_fill_random(bias, Cn, 0.1, 10);
    const int32_t y[3] = {4, 0, 2}, y2[3] = {1, 0, 3};
    vc_soft_targets(y, y2, 0.7, Bn, Cn, 0.1, targets);
    double rates[2];
    vc_drop_path_schedule(rates, c.vision_layers, 0.5);
    tower_ctx t = {.m = m, .in = {.video = video, .B = Bn, .K = vc_config_video_tokens(&c), .drop_rates = rates,
                                  .seed = 11, .step = 4, .grad_scale = 1},
                   .w = w, .b = bias, .targets = targets};
    vc_real dlogits[3 * 5], dw[5 * 24] = {0}, db[5] = {0}, demb[3 * 24];
    CHECK(vc_model_video_forward_train(m, &t.in, t.emb, &err) == 0, "%s", err.msg);
    vc_model_zero_grads(m);
    vc_head_forward(w, bias, t.emb, Bn, En, Cn, t.x, t.logits);
    vc_soft_cross_entropy(t.logits, targets, Bn, Cn, dlogits);
    vc_head_backward(w, t.emb, t.x, dlogits, Bn, En, Cn, dw, db, demb);
    CHECK(vc_model_video_backward(m, &t.in, demb, &err) == 0, "%s", err.msg);
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (pi->tower != VC_TOWER_VISION) continue;
        double e = vc_gradcheck(m->params + pi->offset, pi->numel, m->grads + pi->offset, tower_loss, &t, 6,
                                (uint64_t)i, NULL, NULL);
        CHECK(e < 1e-5, "%s: error %.3g", pi->name, e); /* the whole-model check's tolerance (grad_model.c) */
    }
    CHECK(vc_gradcheck(w, (size_t)Cn * En, dw, tower_loss, &t, 40, 1, NULL, NULL) < TOL, "head weight");
    CHECK(vc_gradcheck(bias, Cn, db, tower_loss, &t, 5, 2, NULL, NULL) < TOL, "head bias");
    /* masking is the contrastive pre-training's; the classifier step takes every token */
    t.in.K = 3;
    CHECK(vc_model_video_forward_train(m, &t.in, t.emb, &err) != 0 && strstr(err.msg, "every patch token"), "%s", err.msg);
    free(video);
    vc_model_free(m);
}

TEST_MAIN("grad_classifier", T(head_and_cross_entropy_gradients_hard_labels),
          T(head_and_cross_entropy_gradients_label_smoothing), T(head_and_cross_entropy_gradients_mixup_and_smoothing),
          T(known_values_of_the_loss_targets_and_head), T(beta_draws_have_the_beta_mean_and_variance),
          T(tower_head_and_loss_gradients_end_to_end))
