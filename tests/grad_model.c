/* Whole-model gradient check: both towers, patch masking on, drop-path on with a fixed seed,
 * shared positive ids — every parameter tensor of the tiny config against central differences. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "model_gradcheck.h"
#include "model/model.h"
#include "testutil.h"

typedef struct {
    vc_model *m;
    vc_real *video;
    int32_t tokens[3 * 8], keep[3 * 64], ids[3];
    double rates[3];
} fixture;

static int setup_layers(fixture *f, int vision_layers, double max_drop, char *why, size_t whylen) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    c.vision_layers = vision_layers;
    f->m = live_model(&c, &err);
    if (!f->m) {
        snprintf(why, whylen, "%s", err.msg);
        return -1;
    }
    const int B = 3;
    f->video = vc_test_random_video(&c, B, 123);
    static const int32_t rows[3][8] = {{98, 5, 17, 99, 0, 0, 0, 0},
                                       {98, 40, 41, 42, 43, 44, 45, 99},
                                       {98, 99, 0, 0, 0, 0, 0, 0}};
    memcpy(f->tokens, rows, sizeof rows);
    f->ids[0] = 0, f->ids[1] = 1, f->ids[2] = 0;
    vc_vision_sample_keep(f->keep, B, vc_config_video_tokens(&c), 16, 7, 3);
    vc_drop_path_schedule(f->rates, vision_layers, max_drop);
    return 0;
}

static int setup(fixture *f, char *why, size_t whylen) { return setup_layers(f, 2, 0.5, why, whylen); }

static vc_step_inputs inputs(fixture *f, int train_text) {
    vc_step_inputs in = {.video = f->video, .tokens = f->tokens, .ids = f->ids, .keep = f->keep,
                         .B = 3, .K = 16, .drop_rates = f->rates, .seed = 11, .step = 4,
                         .train_text = train_text, .grad_scale = 1};
    return in;
}

TEST(every_parameter_gradient_matches_finite_differences) {
    fixture f;
    CHECK(setup(&f, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    model_ctx ctx = {f.m, inputs(&f, 1)};
    double loss;
    vc_model_zero_grads(f.m);
    CHECK(vc_model_forward_backward(f.m, &ctx.in, &loss, &err) == 0, "%s", err.msg);
    CHECK(isfinite(loss) && loss > 0, "loss %g", loss);
    /* drop-path must really drop something in layer 1 for this seed, and keep something */
    const vc_real *ds = f.m->train.vis.blocks[1].drop_scale;
    int dropped = 0, kept = 0;
    for (int i = 0; i < 6; i++) dropped += ds[i] == 0, kept += ds[i] == 2;
    CHECK(dropped > 0 && kept > 0, "drop-path scales did not mix drops and keeps (%d/%d)", dropped, kept);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < f.m->table.count; i++) {
        const vc_param_info *pi = &f.m->table.info[i];
        double num = 0, ana = 0;
        double e = vc_gradcheck(f.m->params + pi->offset, pi->numel, f.m->grads + pi->offset,
                                model_loss, &ctx, 12, (uint64_t)i, &num, &ana);
        CHECK(e < 1e-5, "%s: error %g (numeric %.10g, analytic %.10g)", pi->name, e, num, ana);
        if (e > worst) worst = e, worst_name = pi->name;
    }
    printf("  worst relative gradient error %.3g (%s) over %d tensors\n", worst, worst_name, f.m->table.count);
    vc_model_free(f.m);
    free(f.video);
}

/* Activation recomputation (3 video blocks, two of them recomputed, and both text blocks but
 * the last): the gradients of the plain backward bit for bit, and so finite differences too. */
TEST(grad_checkpointing_gradients_match_finite_differences) {
    fixture f;
    CHECK(setup_layers(&f, 3, 0.8, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    model_ctx ctx = {f.m, inputs(&f, 1)};
    const size_t n = f.m->table.total;
    vc_real *plain = malloc(n * sizeof *plain);
    double loss_plain, loss;
    vc_model_zero_grads(f.m);
    CHECK(vc_model_forward_backward(f.m, &ctx.in, &loss_plain, &err) == 0, "%s", err.msg);
    memcpy(plain, f.m->grads, n * sizeof *plain);
    vc_model_set_grad_checkpointing(f.m, 1);
    vc_model_zero_grads(f.m);
    CHECK(vc_model_forward_backward(f.m, &ctx.in, &loss, &err) == 0, "%s", err.msg);
    CHECK(f.m->train.recompute && f.m->train.vis.scratch.recompute && f.m->train.txt.scratch.recompute, "not recomputing");
    CHECK(loss == loss_plain, "loss %.17g, without checkpointing %.17g", loss, loss_plain);
    CHECK(!memcmp(plain, f.m->grads, n * sizeof *plain), "gradients differ from the plain backward's");
    const vc_real *ds = f.m->train.vis.blocks[1].drop_scale; /* a recomputed block: drop-path replayed */
    int dropped = 0, kept = 0;
    for (int i = 0; i < 6; i++) dropped += ds[i] == 0, kept += ds[i] > 1;
    CHECK(dropped > 0 && kept > 0, "block 1's drop-path did not mix drops and keeps (%d/%d)", dropped, kept);
    check_model_gradients(&ctx, 1, 12, vc_t_failed, vc_t_why, vc_t_whylen);
    free(plain);
    vc_model_free(f.m);
    free(f.video);
}

TEST(frozen_text_tower_gets_no_gradient_but_vision_does) {
    fixture f;
    CHECK(setup(&f, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    vc_step_inputs in = inputs(&f, 0);
    double loss_frozen, loss_free;
    vc_model_zero_grads(f.m);
    CHECK(vc_model_forward_backward(f.m, &in, &loss_frozen, &err) == 0, "%s", err.msg);
    for (int i = 0; i < f.m->table.count; i++) {
        const vc_param_info *pi = &f.m->table.info[i];
        double s = 0;
        for (size_t k = 0; k < pi->numel; k++) s += fabs((double)f.m->grads[pi->offset + k]);
        if (pi->tower == VC_TOWER_TEXT) CHECK(s == 0, "%s has gradient %g with the text tower frozen", pi->name, s);
        if (!strcmp(pi->name, "vision_encoder.proj")) CHECK(s > 0, "vision proj has no gradient");
    }
    in.train_text = 1;
    CHECK(vc_model_loss(f.m, &in, &loss_free, &err) == 0, "%s", err.msg);
    CHECK(loss_frozen == loss_free, "freezing changed the forward loss: %.17g vs %.17g", loss_frozen, loss_free);
    vc_model_free(f.m);
    free(f.video);
}

TEST(bad_step_inputs_are_rejected_with_a_message) {
    fixture f;
    CHECK(setup(&f, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err = {{0}};
    vc_step_inputs in = inputs(&f, 1);
    double loss;
    f.tokens[3] = 100; /* outside vocab 100 */
    CHECK(vc_model_loss(f.m, &in, &loss, &err) != 0, "accepted token id 100");
    CHECK(strstr(err.msg, "token id 100") != NULL, "message: %s", err.msg);
    f.tokens[3] = 99;
    f.keep[1] = f.keep[0]; /* not ascending */
    CHECK(vc_model_loss(f.m, &in, &loss, &err) != 0, "accepted a repeated mask index");
    CHECK(strstr(err.msg, "mask") != NULL, "message: %s", err.msg);
    vc_model_free(f.m);
    free(f.video);
}

TEST(text_tower_stops_at_the_last_eot_without_changing_results) {
    fixture f;
    CHECK(setup(&f, vc_t_why, vc_t_whylen) == 0, "setup");
    vc_error err;
    const int ctx = f.m->cfg.context_length, E = f.m->cfg.embed_dim;
    /* rows 0 and 2 of the fixture end early (EOT at 3 and 1); row 1 fills the context */
    int32_t short_rows[2 * 8], all_rows[3 * 8];
    memcpy(short_rows, f.tokens, ctx * sizeof(int32_t));
    memcpy(short_rows + ctx, f.tokens + 2 * ctx, ctx * sizeof(int32_t));
    memcpy(all_rows, f.tokens, sizeof all_rows);
    vc_real e_short[2 * 24], e_all[3 * 24];
    CHECK(vc_model_encode_text(f.m, short_rows, 2, e_short, &err) == 0, "%s", err.msg);
    CHECK(f.m->infer.txt.L == 4, "ran %d positions, expected 4 (last EOT at 3)", f.m->infer.txt.L);
    CHECK(vc_model_encode_text(f.m, all_rows, 3, e_all, &err) == 0, "%s", err.msg);
    CHECK(f.m->infer.txt.L == ctx, "ran %d positions", f.m->infer.txt.L);
    for (int k = 0; k < E; k++) {
        CHECK_CLOSE(e_short[k], e_all[k], 1e-12, 1e-12);
        CHECK_CLOSE(e_short[E + k], e_all[2 * E + k], 1e-12, 1e-12);
    }
    /* gradients through the shortened text tower against finite differences */
    memcpy(f.tokens + ctx, f.tokens, ctx * sizeof(int32_t)); /* now every row is short */
    model_ctx c = {f.m, inputs(&f, 1)};
    c.in.drop_rates = NULL;
    double loss;
    vc_model_zero_grads(f.m);
    CHECK(vc_model_forward_backward(f.m, &c.in, &loss, &err) == 0, "%s", err.msg);
    CHECK(f.m->train.txt.L == 4, "training ran %d text positions", f.m->train.txt.L);
    for (int i = 0; i < f.m->table.count; i++) {
        const vc_param_info *pi = &f.m->table.info[i];
        if (pi->tower != VC_TOWER_TEXT) continue;
        double e = vc_gradcheck(f.m->params + pi->offset, pi->numel, f.m->grads + pi->offset, model_loss, &c, 8,
                                (uint64_t)i, NULL, NULL);
        CHECK(e < 1e-5, "%s: error %g", pi->name, e);
    }
    vc_model_free(f.m);
    free(f.video);
}

/* Accumulating two micro-batches with negatives from both (embeddings first, the loss over all
 * of them, then each micro-batch's backward from its slice of the gradient) gives the gradients
 * of one step on the whole batch: every parameter, and the temperature. */
TEST(accumulation_with_full_batch_negatives_equals_one_big_batch) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = live_model(&c, &err);
    CHECK(m, "%s", err.msg);
    enum { B = 4, HALF = 2, K = 16 };
    const int all = vc_config_video_tokens(&c), E = c.embed_dim, ctx = c.context_length;
    const size_t clip = (size_t)c.num_frames * 3 * c.image_size * c.image_size;
    vc_real *video = vc_test_random_video(&c, B, 321);
    int32_t tokens[B * 8] = {98, 5, 17, 99, 0, 0, 0, 0, 98, 40, 41, 42, 43, 44, 45, 99,
                             98, 99, 0, 0, 0, 0, 0, 0, 98, 7, 7, 99, 0, 0, 0, 0};
    int32_t ids[B] = {0, 1, 0, 2}, keep[B * K];
    CHECK(ctx == 8, "tiny context %d", ctx);
    vc_vision_sample_keep(keep, B, all, K, 7, 3);
    vc_step_inputs whole = {.video = video, .tokens = tokens, .ids = ids, .keep = keep, .B = B, .K = K,
                            .seed = 11, .step = 4, .train_text = 1, .grad_scale = 1};
    double loss;
    vc_model_zero_grads(m);
    CHECK(vc_model_forward_backward(m, &whole, &loss, &err) == 0, "%s", err.msg);
    vc_real *want = malloc(m->table.total * sizeof *want);
    memcpy(want, m->grads, m->table.total * sizeof *want);
    /* the same step as two micro-batches */
    vc_real v[B * 24], t[B * 24], dv[B * 24], dt[B * 24], dtemp;
    CHECK(E <= 24, "embed dim %d", E);
    vc_step_inputs micro[2];
    for (int h = 0; h < 2; h++) {
        micro[h] = whole;
        micro[h].video = video + (size_t)h * HALF * clip, micro[h].tokens = tokens + h * HALF * ctx;
        micro[h].ids = ids + h * HALF, micro[h].keep = keep + h * HALF * K, micro[h].B = HALF;
        CHECK(vc_model_step_embeddings(m, &micro[h], v + h * HALF * E, t + h * HALF * E, &err) == 0, "%s", err.msg);
    }
    vc_real *scratch = malloc(vc_contrastive_scratch_elems(B, B, E) * sizeof *scratch);
    double loss2 = vc_contrastive_loss(v, t, ids, B, E, m->p.temp[0], dv, dt, &dtemp, scratch);
    vc_model_zero_grads(m);
    for (int h = 0; h < 2; h++)
        CHECK(vc_model_backward_from(m, &micro[h], dv + h * HALF * E, dt + h * HALF * E, &err) == 0, "%s", err.msg);
    m->g.temp[0] += dtemp;
    CHECK(fabs(loss2 - loss) < 1e-12 * fabs(loss), "loss %.15g vs %.15g", loss2, loss);
    double worst = 0, scale = 0;
    for (size_t k = 0; k < m->table.total; k++) {
        worst = fmax(worst, fabs(m->grads[k] - want[k]));
        scale = fmax(scale, fabs(want[k]));
    }
    free(video), free(want), free(scratch);
    vc_model_free(m);
    CHECK(scale > 0 && worst <= 1e-11 * scale, "gradients differ by %.3g (largest %.3g)", worst, scale);
}

TEST_MAIN("grad_model", T(grad_checkpointing_gradients_match_finite_differences), T(accumulation_with_full_batch_negatives_equals_one_big_batch), T(text_tower_stops_at_the_last_eot_without_changing_results), T(every_parameter_gradient_matches_finite_differences),
          T(frozen_text_tower_gets_no_gradient_but_vision_does),
          T(bad_step_inputs_are_rejected_with_a_message))
