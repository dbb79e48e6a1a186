/* Multi-level alignment, the layer level: the tiny model with heads on the class / EOT tokens
 * after blocks 1 and 2, every parameter (heads, towers through the intermediate tokens, the
 * temperature) against finite differences, with and without masking, the frame level and the
 * text tower's training; the backward stopping where it must (a frozen text tower, the blocks
 * above the only head); a head at the last block starting as the global head; heads kept,
 * added and dropped by vc_model_set_align_heads. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "model_gradcheck.h"
#include "model/model.h"
#include "testutil.h"

enum { B = 3 };

typedef struct {
    vc_model *m;
    vc_real *video;
    int32_t tokens[B * 8], ids[B], keep[B * 64];
    model_ctx ctx;
} layer_setup;

static vc_model *tiny_with_heads(const int *layers, int n, vc_error *err) {
    vc_config c = vc_config_preset(VC_PRESET_TINY); /* 2 video blocks, 2 text blocks */
    vc_model *m = vc_model_new(&c, err);
    if (!m) return NULL;
    vc_model_init_random(m, 42, 0.1);
    if (vc_model_set_align_heads(m, layers, n, err) || vc_model_enable_grads(m, err)) {
        vc_model_free(m);
        return NULL;
    }
    return m;
}

static void inputs(layer_setup *s, int masked, int train_text, const vc_align_weights *w) {
    const vc_config *c = &s->m->cfg;
    const int all = vc_config_video_tokens(c), K = masked ? 16 : all;
    s->video = vc_test_random_video(c, B, 123);
    const int32_t tokens[B * 8] = {98, 5, 17, 99, 0, 0, 0, 0, 98, 40, 41, 42, 43, 44, 45, 99, 98, 99, 0, 0, 0, 0, 0, 0};
    memcpy(s->tokens, tokens, sizeof tokens);
    s->ids[0] = 0, s->ids[1] = 1, s->ids[2] = 0;
    vc_vision_sample_keep(s->keep, B, all, K, 7, 3);
    s->ctx = (model_ctx){s->m, {.video = s->video, .tokens = s->tokens, .ids = s->ids, .keep = masked ? s->keep : NULL,
                                .B = B, .K = K, .train_text = train_text, .grad_scale = 0.5, .align = w}};
}

static void model_case(int masked, int train_text, int frame, int samples, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    vc_error err;
    const int layers[2] = {1, 2};
    layer_setup s = {0};
    s.m = tiny_with_heads(layers, 2, &err);
    CHECK(s.m && s.m->p.n_heads == 2, "%s", err.msg);
    perturb(s.m); /* the heads' LayerNorms too: they no longer equal the final ones */
    const vc_align_weights w = {.global = 0.7, .frame = frame ? 1.3 : 0, .n_layers = 2, .layers = {1, 2},
                                .layer_weight = {0.6, 0.9}};
    inputs(&s, masked, train_text, &w);
    double loss;
    vc_model_zero_grads(s.m);
    CHECK(vc_model_forward_backward(s.m, &s.ctx.in, &loss, &err) == 0, "%s", err.msg);
    const vc_workspace *ws = &s.m->train;
    CHECK(ws->la.loss[0] > 0 && ws->la.loss[1] > 0, "layer terms %g %g", ws->la.loss[0], ws->la.loss[1]);
    CHECK_CLOSE(loss, 0.7 * ws->loss_global + w.frame * ws->loss_frame + 0.6 * ws->la.loss[0] + 0.9 * ws->la.loss[1],
                1e-12, 1e-12);
    const vc_param_info *tp = vc_param_find(&s.m->table, "text_encoder.align_layers.1.proj");
    double g2 = 0;
    for (size_t k = 0; k < tp->numel; k++) g2 += s.m->grads[tp->offset + k] * s.m->grads[tp->offset + k];
    CHECK(g2 > 0, "the text head of layer 1 got no gradient (train_text %d)", train_text);
    check_model_gradients(&s.ctx, train_text, samples, vc_t_failed, vc_t_why, vc_t_whylen);
    vc_model_free(s.m);
    free(s.video);
}

/* global,frame,layers=1,2 on the whole tiny model, masked, both towers training */
TEST(masked_model_with_frame_and_layer_heads_gradients_match_finite_differences) {
    model_case(1, 1, 1, 12, vc_t_failed, vc_t_why, vc_t_whylen);
}
/* global,layers=1,2 with the text tower frozen: its blocks get nothing, its heads train */
TEST(frozen_text_with_layer_heads_gradients_match_finite_differences) {
    model_case(0, 0, 0, 6, vc_t_failed, vc_t_why, vc_t_whylen);
}

/* The layer-1 head alone (global weight 0): block 1's output is read by nothing with weight, so
 * the second blocks and the final heads get exactly zero; the first blocks and the embeddings get
 * theirs through the intermediate tokens, matching finite differences. */
TEST(a_head_alone_reaches_only_the_blocks_below_it) {
    vc_error err;
    const int layer = 1;
    layer_setup s = {0};
    s.m = tiny_with_heads(&layer, 1, &err);
    CHECK(s.m, "%s", err.msg);
    perturb(s.m);
    const vc_align_weights w = {.global = 0, .n_layers = 1, .layers = {1}, .layer_weight = {1}};
    inputs(&s, 0, 1, &w);
    double loss;
    vc_model_zero_grads(s.m);
    CHECK(vc_model_forward_backward(s.m, &s.ctx.in, &loss, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(loss, s.m->train.la.loss[0], 1e-15, 1e-15);
    for (int i = 0; i < s.m->table.count; i++) {
        const vc_param_info *pi = &s.m->table.info[i];
        const int above = strstr(pi->name, "resblocks.1.") || strstr(pi->name, "ln_post") || strstr(pi->name, "ln_final") ||
                          !strcmp(pi->name, "vision_encoder.proj") || strstr(pi->name, "text_projection");
        double n2 = 0;
        for (size_t k = 0; k < pi->numel; k++) n2 += s.m->grads[pi->offset + k] * s.m->grads[pi->offset + k];
        if (above) CHECK(n2 == 0, "%s (above the head) has a gradient", pi->name);
        else if (strstr(pi->name, "resblocks.0.mlp.c_fc.weight") || strstr(pi->name, "conv1") || strstr(pi->name, "token_emb"))
            CHECK(n2 > 0, "%s (below the head) has no gradient", pi->name);
    }
    check_model_gradients(&s.ctx, 1, 6, vc_t_failed, vc_t_why, vc_t_whylen);
    vc_model_free(s.m);
    free(s.video);
}

/* A new head copies the final LayerNorm and projection, so at the last block (2 in both tiny
 * towers) it starts as the global head itself: the same loss to the last bit. */
TEST(a_new_head_at_the_last_block_starts_as_the_global_head) {
    vc_error err;
    const int layers[2] = {1, 2};
    layer_setup s = {0};
    s.m = tiny_with_heads(layers, 2, &err);
    CHECK(s.m, "%s", err.msg);
    const vc_align_weights w = {.global = 1, .n_layers = 2, .layers = {1, 2}, .layer_weight = {1, 1}};
    inputs(&s, 1, 0, &w);
    double loss;
    CHECK(vc_model_loss(s.m, &s.ctx.in, &loss, &err) == 0, "%s", err.msg);
    CHECK(s.m->train.la.loss[1] == s.m->train.loss_global, "layer 2 %.17g, global %.17g", s.m->train.la.loss[1],
          s.m->train.loss_global);
    CHECK(s.m->train.la.loss[0] != s.m->train.loss_global, "layer 1 equals the global term");
    vc_model_free(s.m);
    free(s.video);
}

/* vc_model_set_align_heads keeps the heads it is asked for again, initialises new ones and drops
 * the rest; the towers and the temperature keep their values; asking a model for heads it lacks
 * is an error. */
TEST(heads_are_kept_added_and_dropped_by_layer) {
    vc_error err;
    const int both[2] = {1, 2}, one = 1, two = 2;
    vc_model *m = tiny_with_heads(both, 2, &err);
    CHECK(m, "%s", err.msg);
    vc_config c = m->cfg;
    vc_model *plain = vc_model_new(&c, &err);
    vc_model_init_random(plain, 42, 0.1);
    m->p.heads[0].v.proj[3] = 1.5; /* layer 1's head trained away from its copy */
    CHECK(vc_model_set_align_heads(m, &one, 1, &err) == 0, "%s", err.msg);
    CHECK(m->p.n_heads == 1 && m->p.heads[0].layer == 1 && m->p.heads[0].v.proj[3] == 1.5, "layer 1's head not kept");
    CHECK(!vc_param_find(&m->table, "vision_encoder.align_layers.2.proj"), "layer 2's head not dropped");
    CHECK(vc_model_set_align_heads(m, &two, 1, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(m->p.heads[0].t.proj, m->p.t.proj, (size_t)c.text_width * c.embed_dim * sizeof(vc_real)),
          "a new head is not a copy of text_projection");
    CHECK(m->table.total > plain->table.total && !memcmp(m->params, plain->params, plain->table.total * sizeof(vc_real)),
          "the towers or the temperature moved");
    CHECK(vc_model_set_align_heads(m, NULL, 0, &err) == 0 && m->table.total == plain->table.total, "%s", err.msg);
    const int bad[2] = {2, 1}, deep = 3;
    CHECK(vc_model_set_align_heads(m, bad, 2, &err) != 0 && strstr(err.msg, "ascend"), "%s", err.msg);
    CHECK(vc_model_set_align_heads(m, &deep, 1, &err) != 0 && strstr(err.msg, "1..2"), "%s", err.msg);
    /* a step asking for layers the model has no heads for */
    layer_setup s = {.m = m};
    const vc_align_weights w = {.global = 1, .n_layers = 1, .layers = {1}, .layer_weight = {1}};
    inputs(&s, 0, 1, &w);
    double loss;
    CHECK(vc_model_loss(m, &s.ctx.in, &loss, &err) != 0 && strstr(err.msg, "heads at layers (none)"), "%s", err.msg);
    vc_model_free(m);
    vc_model_free(plain);
    free(s.video);
}

TEST_MAIN("grad_align_layers", T(masked_model_with_frame_and_layer_heads_gradients_match_finite_differences),
          T(frozen_text_with_layer_heads_gradients_match_finite_differences),
          T(a_head_alone_reaches_only_the_blocks_below_it), T(a_new_head_at_the_last_block_starts_as_the_global_head),
          T(heads_are_kept_added_and_dropped_by_layer))
