/* Multi-level alignment, the frame level: the FILIP loss (late interaction with max over
 * frames/words, masks, positive groups, temperature) against finite differences and against
 * the global InfoNCE it reduces to with one frame and one word; then the whole tiny model
 * trained with global + frame terms, every parameter against finite differences. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "model_gradcheck.h"
#include "model/filip.h"
#include "model/model.h"
#include "testutil.h"

enum { B = 3, TV = 3, LT = 4, E = 5 };

typedef struct {
    vc_real v[B * TV * E], t[B * LT * E], temp;
    unsigned char vm[B * TV], tm[B * LT];
    int32_t ids[B];
    vc_real scratch[1024];
} filip_ctx;

static double filip_loss(void *p) {
    filip_ctx *c = p;
    return vc_filip_loss(c->v, c->vm, TV, c->t, c->tm, LT, c->ids, B, E, c->temp, NULL, NULL, NULL, c->scratch);
}

static void filip_setup(filip_ctx *c) {
    memset(c, 0, sizeof *c);
    vc_fill_random(c->v, B * TV * E, 1, 31);
    vc_fill_random(c->t, B * LT * E, 1, 32);
    memset(c->vm, 1, sizeof c->vm);
    memset(c->tm, 1, sizeof c->tm);
    c->vm[1 * TV + 2] = 0;                      /* clip 1: a frame without kept patches */
    c->tm[0 * LT + 3] = 0;                      /* caption 0: three words */
    c->tm[2 * LT + 2] = c->tm[2 * LT + 3] = 0;  /* caption 2: two words */
    c->ids[0] = 0, c->ids[1] = 1, c->ids[2] = 0;
    c->temp = 0.3;
}

TEST(filip_gradients_match_finite_differences) {
    filip_ctx c;
    filip_setup(&c);
    CHECK(vc_filip_scratch_elems(B, TV, LT, E) <= 1024, "scratch");
    vc_real dv[B * TV * E], dt[B * LT * E], dtemp;
    const double loss = vc_filip_loss(c.v, c.vm, TV, c.t, c.tm, LT, c.ids, B, E, c.temp, dv, dt, &dtemp, c.scratch);
    CHECK(isfinite(loss) && loss > 0, "loss %g", loss);
    CHECK(fabs(loss - filip_loss(&c)) < 1e-14, "loss with and without gradients differ");
    double num = 0, ana = 0, e;
    e = vc_gradcheck(c.v, B * TV * E, dv, filip_loss, &c, 1000, 1, &num, &ana);
    CHECK(e < 1e-6, "video: error %g (numeric %.10g, analytic %.10g)", e, num, ana);
    e = vc_gradcheck(c.t, B * LT * E, dt, filip_loss, &c, 1000, 2, &num, &ana);
    CHECK(e < 1e-6, "text: error %g (numeric %.10g, analytic %.10g)", e, num, ana);
    e = vc_gradcheck(&c.temp, 1, &dtemp, filip_loss, &c, 1, 3, &num, &ana);
    CHECK(e < 1e-6, "temp: error %g (numeric %.10g, analytic %.10g)", e, num, ana);
    /* masked frames and words take no part: no gradient, and changing them changes nothing */
    for (int k = 0; k < E; k++) {
        CHECK(dv[(1 * TV + 2) * E + k] == 0, "masked frame has a gradient");
        CHECK(dt[(2 * LT + 3) * E + k] == 0, "masked word has a gradient");
    }
    c.v[(1 * TV + 2) * E] += 5, c.t[(0 * LT + 3) * E + 1] -= 3;
    CHECK(filip_loss(&c) == loss, "a masked entry changed the loss");
    /* every max really routes somewhere: both sides have non-zero gradients on valid rows */
    double sv = 0, st = 0;
    for (int k = 0; k < B * TV * E; k++) sv += fabs(dv[k]);
    for (int k = 0; k < B * LT * E; k++) st += fabs(dt[k]);
    CHECK(sv > 0 && st > 0, "zero gradients");
}

TEST(one_frame_one_word_is_the_global_infonce) {
    vc_real v[B * E], t[B * E], scratch[1024], scratch2[1024], dv1[B * E], dt1[B * E], dv2[B * E], dt2[B * E];
    vc_real dtemp1, dtemp2;
    unsigned char m[B] = {1, 1, 1};
    int32_t ids[B] = {0, 1, 0};
    vc_fill_random(v, B * E, 1, 41);
    vc_fill_random(t, B * E, 1, 42);
    const double a = vc_filip_loss(v, m, 1, t, m, 1, ids, B, E, 0.2, dv1, dt1, &dtemp1, scratch);
    const double b = vc_contrastive_loss(v, t, ids, B, E, 0.2, dv2, dt2, &dtemp2, scratch2);
    CHECK_CLOSE(a, b, 1e-13, 1e-13);
    CHECK_CLOSE(dtemp1, dtemp2, 1e-13, 1e-12);
    for (int k = 0; k < B * E; k++) {
        CHECK_CLOSE(dv1[k], dv2[k], 1e-13, 1e-11);
        CHECK_CLOSE(dt1[k], dt2[k], 1e-13, 1e-11);
    }
}

/* s(i, j) by hand for orthonormal axes: clip 0's frames are e0, e1; caption 0's words e0, e2.
 * video->text: mean(max(1, 0), max(0, 0)) = 0.5; text->video: mean(max(1, 0), max(0, 0)) = 0.5. */
TEST(similarity_is_the_mean_of_maxima_both_ways) {
    enum { E3 = 3 };
    vc_real v[2 * 2 * E3] = {1, 0, 0, 0, 1, 0, /* clip 1: */ 0, 0, 1, 0, 0, 1};
    vc_real t[2 * 2 * E3] = {1, 0, 0, 0, 0, 1, /* caption 1: */ 0, 1, 0, 0, 1, 0};
    unsigned char m[4] = {1, 1, 1, 1};
    vc_real scratch[256];
    const double temp = 1;
    const double loss = vc_filip_loss(v, m, 2, t, m, 2, NULL, 2, E3, (vc_real)temp, NULL, NULL, NULL, scratch);
    /* s00: v->t ½(1 + 0), t->v ½(1 + 0) => 0.5.  s01: v->t ½(0 + 1) = ½, t->v ½(1 + 1) = 1 => 0.75.
     * s10: v->t ½(1 + 1) = 1, t->v ½(0 + 1) = ½ => 0.75.  s11: all zero => 0. */
    const double s[2][2] = {{0.5, 0.75}, {0.75, 0}};
    double want = 0;
    for (int i = 0; i < 2; i++) {
        want += -(s[i][i] - log(exp(s[i][0]) + exp(s[i][1])));  /* video -> text */
        want += -(s[i][i] - log(exp(s[0][i]) + exp(s[1][i])));  /* text -> video */
    }
    want /= 4;
    CHECK_CLOSE(loss, want, 1e-12, 1e-12);
}


static void model_case(int masked, int train_text, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = live_model(&c, &err);
    CHECK(m, "%s", err.msg);
    const int all = vc_config_video_tokens(&c), K = masked ? 16 : all;
    vc_real *video = vc_test_random_video(&c, B, 123);
    int32_t tokens[B * 8] = {98, 5, 17, 99, 0, 0, 0, 0, 98, 40, 41, 42, 43, 44, 45, 99, 98, 99, 0, 0, 0, 0, 0, 0};
    int32_t ids[B] = {0, 1, 0}, keep[B * 64];
    vc_vision_sample_keep(keep, B, all, K, 7, 3);
    const vc_align_weights w = {.global = 0.7, .frame = 1.3};
    model_ctx ctx = {m, {.video = video, .tokens = tokens, .ids = ids, .keep = masked ? keep : NULL, .B = B, .K = K,
                         .train_text = train_text, .grad_scale = 0.5, .align = &w}};
    double loss;
    vc_model_zero_grads(m);
    CHECK(vc_model_forward_backward(m, &ctx.in, &loss, &err) == 0, "%s", err.msg);
    CHECK(m->train.loss_frame > 0 && m->train.loss_global > 0, "terms %g %g", m->train.loss_global, m->train.loss_frame);
    CHECK_CLOSE(loss, 0.7 * m->train.loss_global + 1.3 * m->train.loss_frame, 1e-12, 1e-12);
    check_model_gradients(&ctx, train_text, 12, vc_t_failed, vc_t_why, vc_t_whylen);
    vc_model_free(m);
    free(video);
}

TEST(model_with_frame_level_gradients_match_finite_differences) { model_case(0, 1, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(masked_model_with_frame_level_gradients_match_finite_differences) { model_case(1, 1, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(frozen_text_with_frame_level_gradients_match_finite_differences) { model_case(1, 0, vc_t_failed, vc_t_why, vc_t_whylen); }

TEST_MAIN("grad_align", T(filip_gradients_match_finite_differences), T(one_frame_one_word_is_the_global_infonce),
          T(similarity_is_the_mean_of_maxima_both_ways), T(model_with_frame_level_gradients_match_finite_differences),
          T(masked_model_with_frame_level_gradients_match_finite_differences),
          T(frozen_text_with_frame_level_gradients_match_finite_differences))
