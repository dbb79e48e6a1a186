/* MAE pretraining: tube masking, per-patch normalised targets, and every gradient of the MAE
 * objective (video tower + decoder) against central differences in double precision. */
#include <stdlib.h>
#include <string.h>

#include "model_gradcheck.h"
#include "model/mae.h"
#include "testutil.h"

enum { B = 2, KEEP_PATCHES = 4 };

typedef struct {
    vc_model *m;
    vc_mae_decoder *d;
    vc_mae_work w;
    vc_real *video;
    int32_t keep[B * 64], masked[B * 64];
    int K;
} mae_ctx;

static double mae_loss(void *p) {
    mae_ctx *c = p;
    double loss = NAN;
    vc_error err;
    if (vc_mae_step(&c->w, c->m, c->d, c->video, c->keep, c->masked, B, c->K, 0, 1, &loss, &err)) return NAN;
    return loss;
}

static int setup(mae_ctx *c, char *why, size_t whylen) {
    vc_error err;
    memset(c, 0, sizeof *c);
    vc_config cfg = vc_config_preset(VC_PRESET_TINY);
    c->m = vc_model_new(&cfg, &err);
    c->d = c->m ? vc_mae_decoder_new(&cfg, 8, 2, 2, &err) : NULL;
    if (!c->m || !c->d || vc_model_enable_grads(c->m, &err)) {
        snprintf(why, whylen, "%s", err.msg);
        return -1;
    }
    vc_model_init_random(c->m, 3, 0.07);
    vc_model_init_temporal(c->m, 3, 0.5);
    vc_mae_decoder_init(c->d, 4);
    perturb_params(c->m->params, &c->m->table, 5);
    perturb_params(c->d->params, &c->d->table, 6);
    c->video = vc_test_random_video(&cfg, B, 9);
    c->K = KEEP_PATCHES * cfg.num_frames;
    vc_tube_mask(c->keep, c->masked, B, vc_config_patches(&cfg), cfg.num_frames, KEEP_PATCHES, 1, 2);
    return 0;
}

static void teardown(mae_ctx *c) {
    vc_mae_work_free(&c->w);
    vc_mae_decoder_free(c->d);
    vc_model_free(c->m);
    free(c->video);
}

TEST(tube_mask_hides_the_same_patches_in_every_frame) {
    enum { P = 16, T = 4, KP = 3 };
    int32_t keep[5 * KP * T], masked[5 * (P - KP) * T];
    vc_tube_mask(keep, masked, 5, P, T, KP, 7, 1);
    int differ = 0;
    for (int b = 0; b < 5; b++) {
        const int32_t *k = keep + b * KP * T;
        for (int i = 0; i < KP * T; i++) {
            CHECK(k[i] % T == i % T && k[i] / T == k[i - i % T] / T, "clip %d: token %d breaks the tube", b, k[i]);
            if (i) CHECK(k[i] > k[i - 1], "not ascending");
        }
        int seen[P * T] = {0};
        for (int i = 0; i < KP * T; i++) seen[k[i]]++;
        for (int i = 0; i < (P - KP) * T; i++) seen[masked[b * (P - KP) * T + i]]++;
        for (int j = 0; j < P * T; j++) CHECK(seen[j] == 1, "token %d seen %d times", j, seen[j]);
        if (b && memcmp(k, keep, sizeof(int32_t) * KP * T)) differ = 1;
    }
    CHECK(differ, "every clip drew the same mask");
}

TEST(patch_targets_are_normalised_per_patch_and_channel) {
    vc_real x[2 * 3 * 16];
    for (int i = 0; i < 96; i++) x[i] = (vc_real)(0.1 * i * i - 3);
    vc_patch_normalize(x, 2, 16);
    for (int c = 0; c < 6; c++) {
        double s = 0, ss = 0;
        for (int k = 0; k < 16; k++) s += x[c * 16 + k], ss += x[c * 16 + k] * x[c * 16 + k];
        CHECK(fabs(s) < 1e-9, "channel %d mean %g", c, s / 16);
        CHECK_CLOSE(ss / 15, 1.0, 1e-5, 0); /* unbiased variance 1 (up to the 1e-6 epsilon) */
    }
}

TEST(every_mae_gradient_matches_finite_differences) {
    mae_ctx c;
    CHECK(setup(&c, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    double loss;
    vc_model_zero_grads(c.m);
    memset(c.d->grads, 0, c.d->table.total * sizeof(vc_real));
    CHECK(vc_mae_step(&c.w, c.m, c.d, c.video, c.keep, c.masked, B, c.K, 1, 1, &loss, &err) == 0, "%s", err.msg);
    CHECK(isfinite(loss) && loss > 0.1, "loss %g", loss);
    const param_set sets[2] = {{c.m->params, c.m->grads, &c.m->table}, {c.d->params, c.d->grads, &c.d->table}};
    double worst;
    const char *worst_name;
    int checked;
    check_vision_gradients(sets, 2, mae_loss, &c, &worst, &worst_name, &checked, vc_t_failed, vc_t_why, vc_t_whylen);
    if (*vc_t_failed) return;
    /* the hidden patches' pixels reach the loss only as targets: the tower sees visible ones */
    const vc_param_info *conv = vc_param_find(&c.m->table, "vision_encoder.conv1.weight");
    double gsum = 0;
    for (size_t k = 0; k < conv->numel; k++) gsum += fabs((double)c.m->grads[conv->offset + k]);
    CHECK(gsum > 0, "no gradient reached the patch embedding");
    printf("  worst relative gradient error %.3g (%s) over %d tensors\n", worst, worst_name, checked);
    teardown(&c);
}

TEST(hidden_pixels_do_not_reach_the_encoder) {
    mae_ctx c;
    CHECK(setup(&c, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    double before, after;
    CHECK(vc_mae_step(&c.w, c.m, c.d, c.video, c.keep, c.masked, B, c.K, 0, 1, &before, &err) == 0, "%s", err.msg);
    const vc_real *pred = vc_mae_prediction(&c.w);
    const size_t n = (size_t)B * c.w.M * 48;
    vc_real *saved = malloc(n * sizeof *saved);
    memcpy(saved, pred, n * sizeof *saved);
    /* change the pixels of one hidden token of clip 0: the prediction must not move */
    const vc_config *cfg = &c.m->cfg;
    const int j = c.masked[0], T = cfg->num_frames, G = cfg->image_size / cfg->patch_size;
    const int t = j % T, py = (j / T) / G, px = (j / T) % G, S = cfg->image_size;
    for (int ch = 0; ch < 3; ch++)
        c.video[((size_t)t * 3 + ch) * S * S + (size_t)(py * 4) * S + px * 4] += 5;
    CHECK(vc_mae_step(&c.w, c.m, c.d, c.video, c.keep, c.masked, B, c.K, 0, 1, &after, &err) == 0, "%s", err.msg);
    CHECK(memcmp(saved, vc_mae_prediction(&c.w), n * sizeof *saved) == 0, "a hidden patch leaked into the prediction");
    CHECK(after != before, "the hidden patch's target did not change the loss");
    free(saved);
    teardown(&c);
}

TEST(bad_masks_are_rejected_with_a_message) {
    mae_ctx c;
    CHECK(setup(&c, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err = {{0}};
    double loss;
    c.keep[1] = c.keep[0];
    CHECK(vc_mae_step(&c.w, c.m, c.d, c.video, c.keep, c.masked, B, c.K, 0, 1, &loss, &err) != 0, "accepted a repeated token");
    CHECK(strstr(err.msg, "MAE mask of clip 0") != NULL, "message: %s", err.msg);
    teardown(&c);
}

TEST_MAIN("grad_mae", T(tube_mask_hides_the_same_patches_in_every_frame),
          T(patch_targets_are_normalised_per_patch_and_channel), T(every_mae_gradient_matches_finite_differences),
          T(hidden_pixels_do_not_reach_the_encoder), T(bad_masks_are_rejected_with_a_message))
