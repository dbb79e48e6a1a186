/* UMT pretraining: the teacher's semantic masking, the alignment losses and every gradient of
 * the UMT objective (student video tower + projection head) against central differences. */
#include <stdlib.h>
#include <string.h>

#include "model_gradcheck.h"
#include "model/umt.h"
#include "testutil.h"

enum { B = 2, KEEP = 4 };

typedef struct {
    vc_model *student, *teacher_model;
    vc_umt_teacher *teacher;
    vc_umt_head *head;
    vc_umt_work w;
    vc_real *video;
    int32_t keep[B * 64];
    int K;
    vc_umt_loss kind;
} umt_ctx;

static double umt_loss(void *p) {
    umt_ctx *c = p;
    double loss = NAN;
    vc_error err;
    if (vc_umt_step(&c->w, c->student, c->head, c->teacher, c->video, c->keep, B, c->K, c->kind, 0, 1, &loss, &err))
        return NAN;
    return loss;
}

static int setup(umt_ctx *c, char *why, size_t whylen) {
    vc_error err;
    memset(c, 0, sizeof *c);
    vc_config cfg = vc_config_preset(VC_PRESET_TINY);
    c->student = vc_model_new(&cfg, &err);
    c->teacher_model = c->student ? vc_model_new(&cfg, &err) : NULL;
    if (!c->teacher_model || vc_model_enable_grads(c->student, &err)) goto fail;
    vc_model_init_random(c->student, 3, 0.07);
    vc_model_init_temporal(c->student, 3, 0.5);
    vc_model_init_random(c->teacher_model, 8, 0.07);
    vc_model_init_temporal(c->teacher_model, 8, 0.5);
    perturb_params(c->student->params, &c->student->table, 5);
    perturb_params(c->teacher_model->params, &c->teacher_model->table, 7);
    if (!(c->teacher = vc_umt_teacher_new(c->teacher_model, cfg.num_frames, &err))) goto fail;
    if (!(c->head = vc_umt_head_new(cfg.vision_width, cfg.embed_dim, &err))) goto fail;
    vc_umt_head_init(c->head, 4);
    perturb_params(c->head->params, &c->head->table, 6);
    c->video = vc_test_random_video(&cfg, B, 9);
    if (vc_umt_teacher_forward(c->teacher, c->video, B, &err)) goto fail;
    c->K = KEEP * cfg.num_frames;
    vc_umt_select(c->keep, c->teacher->attention, VC_UMT_SEMANTIC, B, cfg.num_frames, vc_config_patches(&cfg), KEEP, 1, 2);
    return 0;
fail:
    snprintf(why, whylen, "%s", err.msg);
    return -1;
}

static void teardown(umt_ctx *c) {
    vc_umt_work_free(&c->w);
    vc_umt_head_free(c->head);
    vc_umt_teacher_free(c->teacher);
    vc_model_free(c->teacher_model);
    vc_model_free(c->student);
    free(c->video);
}

TEST(semantic_masking_keeps_the_most_attended_patches_of_each_frame) {
    umt_ctx c;
    CHECK(setup(&c, vc_t_why, vc_t_whylen) == 0, "setup");
    const int T = 4, P = 16;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const vc_real *a = c.teacher->attention + ((size_t)b * T + t) * P;
            double sum = 0, lowest_kept = 1e9, highest_hidden = -1;
            int kept[16] = {0}, nk = 0;
            for (int k = 0; k < c.K; k++)
                if (c.keep[b * c.K + k] % T == t) kept[c.keep[b * c.K + k] / T] = 1, nk++;
            for (int n = 0; n < P; n++) {
                sum += a[n];
                if (kept[n]) lowest_kept = fmin(lowest_kept, a[n]);
                else highest_hidden = fmax(highest_hidden, a[n]);
            }
            CHECK(nk == KEEP, "clip %d frame %d keeps %d patches", b, t, nk);
            CHECK(lowest_kept >= highest_hidden, "clip %d frame %d kept %g < hidden %g", b, t, lowest_kept, highest_hidden);
            CHECK(sum > 0.05 && sum < 1, "class-token attention to patches sums to %g", sum);
        }
    int32_t rnd[B * 16];
    vc_umt_select(rnd, NULL, VC_UMT_RANDOM, B, T, P, KEEP, 1, 2);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < c.K; k++) CHECK(!k || rnd[b * c.K + k] > rnd[b * c.K + k - 1], "random mask not ascending");
    teardown(&c);
}

TEST(teacher_sees_each_frame_alone) {
    umt_ctx c;
    CHECK(setup(&c, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    const vc_config *cfg = &c.student->cfg;
    const size_t frame = 3 * (size_t)cfg->image_size * cfg->image_size, E = (size_t)cfg->embed_dim, P = 16;
    vc_real *saved = malloc(P * E * sizeof *saved);
    memcpy(saved, c.teacher->head.out, P * E * sizeof *saved); /* clip 0, frame 0 */
    for (size_t i = 0; i < frame; i++) c.video[frame + i] += 1; /* change frame 1 only */
    CHECK(vc_umt_teacher_forward(c.teacher, c.video, B, &err) == 0, "%s", err.msg);
    CHECK(memcmp(saved, c.teacher->head.out, P * E * sizeof *saved) == 0, "frame 1 changed frame 0's teacher features");
    CHECK(memcmp(saved, c.teacher->head.out + P * E, P * E * sizeof *saved) != 0, "frames 0 and 1 have equal features");
    free(saved);
    teardown(&c);
}

static void gradient_case(vc_umt_loss kind, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    umt_ctx c;
    CHECK(setup(&c, vc_t_why, vc_t_whylen) == 0, "setup");
    c.kind = kind;
    vc_error err;
    double loss;
    vc_model_zero_grads(c.student);
    CHECK(vc_umt_step(&c.w, c.student, c.head, c.teacher, c.video, c.keep, B, c.K, kind, 1, 1, &loss, &err) == 0, "%s", err.msg);
    CHECK(isfinite(loss) && loss > 0.01, "loss %g", loss);
    const param_set sets[2] = {{c.student->params, c.student->grads, &c.student->table},
                               {c.head->params, c.head->grads, &c.head->table}};
    double worst;
    const char *worst_name;
    check_vision_gradients(sets, 2, umt_loss, &c, &worst, &worst_name, NULL, vc_t_failed, vc_t_why, vc_t_whylen);
    if (*vc_t_failed) return;
    printf("  %s: loss %.6f, worst relative gradient error %.3g (%s)\n", kind == VC_UMT_MSE ? "mse" : "cosine", loss,
           worst, worst_name);
    teardown(&c);
}

TEST(cosine_alignment_gradients_match_finite_differences) { gradient_case(VC_UMT_COSINE, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(mse_alignment_gradients_match_finite_differences) { gradient_case(VC_UMT_MSE, vc_t_failed, vc_t_why, vc_t_whylen); }

TEST_MAIN("grad_umt", T(semantic_masking_keeps_the_most_attended_patches_of_each_frame), T(teacher_sees_each_frame_alone),
          T(cosine_alignment_gradients_match_finite_differences), T(mse_alignment_gradients_match_finite_differences))
