#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/finite.h"
#include "core/rng.h"

vc_model *vc_model_new(const vc_config *cfg, vc_error *err) {
    if (vc_config_validate(cfg, err)) return NULL;
    vc_model *m = calloc(1, sizeof *m);
    if (!m) {
        vc_fail(err, "out of memory allocating the model");
        return NULL;
    }
    m->cfg = *cfg;
    m->max_threads = omp_get_max_threads();
    if (vc_param_table_build(cfg, &m->table, err)) goto fail;
    m->params = calloc(m->table.total, sizeof(vc_real));
    if (!m->params) {
        vc_fail(err, "out of memory allocating %zu parameters", m->table.total);
        goto fail;
    }
    if (vc_params_view_bind(cfg, &m->table, m->params, &m->p, err)) goto fail;
    return m;
fail:
    vc_model_free(m);
    return NULL;
}

static void workspace_free(vc_workspace *w) {
    free(w->mem);
    free(w->ints);
    free(w->vis.blocks);
    free(w->txt.blocks);
    memset(w, 0, sizeof *w);
}

/* Everything sized by the parameter table: workspaces, views, parameters, gradients. */
static void release_buffers(vc_model *m) {
    workspace_free(&m->infer);
    workspace_free(&m->train);
    vc_params_view_free(&m->p);
    vc_params_view_free(&m->g);
    free(m->params);
    free(m->grads);
    m->params = m->grads = NULL;
    vc_param_table_free(&m->table);
}

void vc_model_free(vc_model *m) {
    if (!m) return;
    vc_device_free(m->device);
    release_buffers(m);
    free(m);
}

int vc_model_set_align_heads(vc_model *m, const int *layers, int n, vc_error *err) {
    const vc_config *c = &m->cfg;
    const int depth = c->vision_layers < c->text_layers ? c->vision_layers : c->text_layers;
    if (n < 0 || n > VC_ALIGN_MAX_LAYERS) return vc_fail(err, "%d alignment heads: at most %d", n, VC_ALIGN_MAX_LAYERS);
    for (int i = 0; i < n; i++)
        if (layers[i] < 1 || layers[i] > depth || (i && layers[i] <= layers[i - 1]))
            return vc_fail(err, "alignment head layer %d: the layers must ascend within 1..%d (both towers' depth)",
                           layers[i], depth);
    vc_param_table table;
    vc_params_view view;
    if (vc_param_table_build_heads(c, layers, n, &table, err)) return -1;
    vc_real *params = calloc(table.total, sizeof(vc_real));
    if (!params) {
        vc_param_table_free(&table);
        return vc_fail(err, "out of memory allocating %zu parameters", table.total);
    }
    if (vc_params_view_bind(c, &table, params, &view, err)) {
        free(params);
        vc_param_table_free(&table);
        return -1;
    }
    int kept[VC_ALIGN_MAX_LAYERS], n_kept = 0;
    for (int i = 0; i < table.count; i++) { /* by name: the towers, temp and the heads kept */
        const vc_param_info *pi = &table.info[i], *old = vc_param_find(&m->table, pi->name);
        if (!old) continue;
        memcpy(params + pi->offset, m->params + old->offset, pi->numel * sizeof(vc_real));
        const int l = vc_param_head_layer(pi->name);
        if (l && (!n_kept || kept[n_kept - 1] != l)) kept[n_kept++] = l;
    }
    vc_layer_align_init_heads(c, &view, kept, n_kept);
    release_buffers(m);
    m->table = table, m->params = params, m->p = view;
    return 0;
}

int vc_model_heads_match(const vc_model *m, const vc_align_weights *w) {
    int same = w->n_layers == m->p.n_heads;
    for (int i = 0; same && i < m->p.n_heads; i++) same = w->layers[i] == m->p.heads[i].layer;
    return same;
}

void vc_model_heads_format(const vc_model *m, char *buf, size_t cap) {
    vc_align_weights have = {.n_layers = m->p.n_heads};
    for (int i = 0; i < m->p.n_heads; i++) have.layers[i] = m->p.heads[i].layer;
    vc_align_layers_format(&have, buf, cap);
    if (!m->p.n_heads) snprintf(buf, cap, "(none)");
}

int vc_model_enable_grads(vc_model *m, vc_error *err) {
    if (m->grads) return 0;
    m->grads = calloc(m->table.total, sizeof(vc_real));
    if (!m->grads) return vc_fail(err, "out of memory allocating %zu gradients", m->table.total);
    return vc_params_view_bind(&m->cfg, &m->table, m->grads, &m->g, err);
}

void vc_model_zero_grads(vc_model *m) {
    if (m->grads) memset(m->grads, 0, m->table.total * sizeof(vc_real));
}

void vc_model_set_grad_checkpointing(vc_model *m, int on) { m->grad_checkpointing = !!on; }

vc_acts_mode vc_model_training_acts(const vc_model *m) {
    return m->grad_checkpointing ? VC_ACTS_RECOMPUTE : VC_ACTS_TRAINING;
}

void vc_drop_path_schedule(double *rates, int layers, double max_rate) {
    for (int l = 0; l < layers; l++) rates[l] = layers > 1 ? max_rate * l / (layers - 1) : 0;
}

void vc_model_init_random(vc_model *m, uint64_t seed, double temp_init) {
    const vc_config *c = &m->cfg;
    const size_t W = (size_t)c->vision_width, Wt = (size_t)c->text_width, E = (size_t)c->embed_dim;
    const size_t P3 = 3 * (size_t)c->patch_size * c->patch_size;
    vc_rng r = vc_rng_at(seed, VC_STREAM_INIT, 0, 0);
    const double scale = pow((double)W, -0.5);
    /* Follows CLIP's initialisation; the temporal embedding starts at zero as in ViCLIP. */
    vc_fill_normal(m->p.v.conv1, W * P3, pow((double)P3, -0.5), &r);
    vc_fill_normal(m->p.v.class_emb, W, scale, &r);
    vc_fill_normal(m->p.v.pos_emb, (1 + (size_t)vc_config_patches(c)) * W, scale, &r);
    vc_fill_const(m->p.v.temporal_emb, (size_t)c->num_frames * W, 0);
    vc_fill_const(m->p.v.ln_pre_w, W, 1);
    vc_fill_const(m->p.v.ln_pre_b, W, 0);
    vc_blocks_init(m->p.v.blocks, c->vision_layers, c->vision_width, &r);
    vc_fill_const(m->p.v.ln_post_w, W, 1);
    vc_fill_const(m->p.v.ln_post_b, W, 0);
    vc_fill_normal(m->p.v.proj, W * E, scale, &r);
    vc_fill_normal(m->p.t.token_emb, (size_t)c->vocab_size * Wt, 0.02, &r);
    vc_fill_normal(m->p.t.pos_emb, (size_t)c->context_length * Wt, 0.01, &r);
    vc_blocks_init(m->p.t.blocks, c->text_layers, c->text_width, &r);
    vc_fill_const(m->p.t.ln_final_w, Wt, 1);
    vc_fill_const(m->p.t.ln_final_b, Wt, 0);
    vc_fill_normal(m->p.t.proj, Wt * E, pow((double)Wt, -0.5), &r);
    m->p.temp[0] = (vc_real)temp_init;
}

void vc_model_init_temporal(vc_model *m, uint64_t seed, double std) {
    vc_rng r = vc_rng_at(seed, VC_STREAM_INIT, 1, 0);
    vc_fill_normal(m->p.v.temporal_emb, (size_t)m->cfg.num_frames * m->cfg.vision_width, std, &r);
}

/* Lays out (counting when a->base is NULL) everything a workspace needs. */
static void workspace_layout(const vc_model *m, vc_workspace *w, vc_arena *a) {
    const vc_config *c = &m->cfg;
    const vc_acts_mode train = w->recompute ? VC_ACTS_RECOMPUTE : VC_ACTS_TRAINING;
    if (w->Bv > 0)
        vc_vision_plan(a, &w->vis, c, w->Bv, w->K, w->training ? train : VC_ACTS_INFERENCE, w->drop_path, m->max_threads);
    if (w->Bt > 0)
        vc_text_plan(a, &w->txt, c, w->Bt, w->training && w->train_text ? train : VC_ACTS_INFERENCE, m->max_threads);
    /* Only the frame-level alignment reads the towers' other output tokens; otherwise each
     * tower's last block computes its class / EOT row alone (the layer-level heads read that
     * same row). */
    w->vis.pooled_last = w->txt.pooled_last = !w->align_frame;
    if (w->training) {
        w->loss_scratch = vc_arena_take(a, vc_contrastive_scratch_elems(w->Bv, w->Bt, c->embed_dim));
        w->dv = vc_arena_take(a, (size_t)w->Bv * c->embed_dim);
        w->dt = vc_arena_take(a, (size_t)w->Bt * c->embed_dim);
        if (w->align_frame) vc_frame_align_plan(a, &w->fa, c, w->Bv, w->K);
        if (w->align_heads) vc_layer_align_plan(a, &w->la, c, &m->p, &w->vis, &w->txt, w->Bv);
    }
}

static int workspace_plan(vc_model *m, vc_workspace *w, int Bv, int Bt, int K, int training,
                          int train_text, int drop_path, int align_frame, int align_heads, vc_error *err) {
    const int recompute = training && m->grad_checkpointing;
    if (w->planned && w->Bv == Bv && w->Bt == Bt && w->K == K && w->training == training &&
        w->train_text == train_text && w->drop_path == drop_path && w->align_frame == align_frame &&
        w->align_heads == align_heads && w->recompute == recompute)
        return 0;
    workspace_free(w);
    const vc_config *c = &m->cfg;
    w->recompute = recompute;
    w->Bv = Bv;
    w->Bt = Bt;
    w->K = K;
    w->training = training;
    w->train_text = train_text;
    w->drop_path = drop_path;
    w->align_frame = align_frame;
    w->align_heads = align_heads;
    w->vis.blocks = calloc((size_t)c->vision_layers, sizeof(vc_block_acts));
    w->txt.blocks = calloc((size_t)c->text_layers, sizeof(vc_block_acts));
    size_t n_ints = (size_t)Bv * K + (size_t)Bt * c->context_length + (size_t)Bt;
    w->ints = calloc(n_ints ? n_ints : 1, sizeof(int32_t));
    if (!w->vis.blocks || !w->txt.blocks || !w->ints) goto oom;
    w->vis.keep = w->ints;
    w->txt.tokens = w->ints + (size_t)Bv * K;
    w->txt.eot = w->txt.tokens + (size_t)Bt * c->context_length;
    vc_arena count = {NULL, 0};
    workspace_layout(m, w, &count);
    w->elems = count.used;
    w->mem = vc_arena_alloc(&count);
    if (!w->mem) goto oom;
    vc_arena real_arena = {w->mem, 0};
    workspace_layout(m, w, &real_arena);
    w->planned = 1;
    return 0;
oom:
    workspace_free(w);
    return vc_fail(err, "out of memory planning activations (video batch %d, %d tokens, text batch %d)",
                   Bv, K + 1, Bt);
}

size_t vc_model_training_bytes(const vc_model *m, int Bv, int Bt, int K, int train_text, int drop_path,
                               const vc_align_weights *align) {
    const vc_config *c = &m->cfg;
    vc_workspace w = {.Bv = Bv, .Bt = Bt, .K = K, .training = 1, .train_text = train_text, .drop_path = drop_path,
                      .align_frame = align && align->frame > 0, .align_heads = align && align->n_layers > 0,
                      .recompute = m->grad_checkpointing};
    w.vis.blocks = calloc((size_t)c->vision_layers, sizeof(vc_block_acts));
    w.txt.blocks = calloc((size_t)c->text_layers, sizeof(vc_block_acts));
    vc_arena count = {NULL, 0};
    if (w.vis.blocks && w.txt.blocks) workspace_layout(m, &w, &count);
    free(w.vis.blocks), free(w.txt.blocks);
    return count.used * sizeof(vc_real);
}

/* The blocks read the precision from their scratch; set it before every forward so a change
 * by vc_model_set_precision applies to the next call whatever was planned. */
static void use_precision(const vc_model *m, vc_workspace *w) {
    w->vis.scratch.mm.precision = m->precision;
    w->txt.scratch.mm.precision = m->precision;
}

void vc_model_set_precision(vc_model *m, vc_precision p) { m->precision = p; }

int vc_model_use_device(vc_model *m, vc_device_kind k, vc_error *err) {
    vc_device *d = vc_device_open(k, m, err);
    if (!d && k != VC_DEVICE_CPU) return -1;
    vc_device_free(m->device);
    m->device = d;
    return 0;
}

enum { INFER_VIDEO_CHUNK = 4, INFER_TEXT_CHUNK = 64 };

/* A non-finite embedding is an error, never a silent NaN in an index or a score. */
static int check_embeddings(const vc_real *emb, int N, int E, const char *tower, vc_error *err) {
    const vc_nonfinite c = vc_count_nonfinite_real(emb, (size_t)N * E);
    if (c.nan + c.inf == 0) return 0;
    return vc_fail(err, "the %s embedding of input %zu (of %d) is not finite (%zu NaN, %zu Inf values in the batch)",
                   tower, c.first / (size_t)E, N, c.nan, c.inf);
}

int vc_model_encode_video(vc_model *m, const vc_real *video, int N, vc_real *out, vc_error *err) {
    const vc_config *c = &m->cfg;
    const size_t clip = (size_t)c->num_frames * 3 * c->image_size * c->image_size;
    const int all = vc_config_video_tokens(c);
    if (m->device) {
        if (N > 0 && m->device->ops->encode_video(m->device, m, video, N, out, err)) return -1;
        return check_embeddings(out, N, c->embed_dim, "video", err);
    }
    for (int n0 = 0; n0 < N; n0 += INFER_VIDEO_CHUNK) {
        int B = N - n0 < INFER_VIDEO_CHUNK ? N - n0 : INFER_VIDEO_CHUNK;
        int Bt = m->infer.planned ? m->infer.Bt : 0;
        if (!m->infer.planned || m->infer.Bv < B) {
            if (workspace_plan(m, &m->infer, INFER_VIDEO_CHUNK, Bt, all, 0, 0, 0, 0, 0, err)) return -1;
        }
        use_precision(m, &m->infer);
        vc_vision_forward(c, &m->p.v, &m->infer.vis, video + (size_t)n0 * clip, B, NULL, NULL, 0, 0, 0);
        memcpy(out + (size_t)n0 * c->embed_dim, m->infer.vis.head.out, (size_t)B * c->embed_dim * sizeof(vc_real));
    }
    return check_embeddings(out, N, c->embed_dim, "video", err);
}

int vc_model_encode_text(vc_model *m, const int32_t *tokens, int N, vc_real *out, vc_error *err) {
    const vc_config *c = &m->cfg;
    if (vc_text_check_tokens(c, tokens, N, err)) return -1;
    if (m->device) {
        if (N > 0 && m->device->ops->encode_text(m->device, m, tokens, N, out, err)) return -1;
        return check_embeddings(out, N, c->embed_dim, "text", err);
    }
    for (int n0 = 0; n0 < N; n0 += INFER_TEXT_CHUNK) {
        int B = N - n0 < INFER_TEXT_CHUNK ? N - n0 : INFER_TEXT_CHUNK;
        if (!m->infer.planned || m->infer.Bt < B) {
            int Bv = m->infer.planned ? m->infer.Bv : 0;
            if (workspace_plan(m, &m->infer, Bv, INFER_TEXT_CHUNK, vc_config_video_tokens(c), 0, 0, 0, 0, 0, err))
                return -1;
        }
        use_precision(m, &m->infer);
        vc_text_forward(c, &m->p.t, &m->infer.txt, tokens + (size_t)n0 * c->context_length, B);
        memcpy(out + (size_t)n0 * c->embed_dim, m->infer.txt.head.out, (size_t)B * c->embed_dim * sizeof(vc_real));
    }
    return check_embeddings(out, N, c->embed_dim, "text", err);
}

int vc_model_check_step(const vc_model *m, const vc_step_inputs *in, vc_error *err) {
    const vc_config *c = &m->cfg;
    const int all = vc_config_video_tokens(c);
    if (in->B < 1) return vc_fail(err, "training batch size %d must be positive", in->B);
    if (in->K < 1 || in->K > all) return vc_fail(err, "kept tokens %d outside [1, %d]", in->K, all);
    if (!in->keep && in->K != all)
        return vc_fail(err, "no mask given but K = %d differs from the %d patch tokens", in->K, all);
    if (in->keep)
        for (int b = 0; b < in->B; b++)
            for (int k = 0; k < in->K; k++) {
                int32_t j = in->keep[(size_t)b * in->K + k];
                if (j < 0 || j >= all || (k && j <= in->keep[(size_t)b * in->K + k - 1]))
                    return vc_fail(err, "token mask row %d: index %d at %d is out of range or not ascending", b, j, k);
            }
    if (!(m->p.temp[0] > 0)) return vc_fail(err, "temperature %g must be positive", (double)m->p.temp[0]);
    if (in->align && !(in->align->global >= 0 && in->align->frame >= 0))
        return vc_fail(err, "alignment weights (global %g, frame %g) must be non-negative", in->align->global,
                       in->align->frame);
    if (in->align && in->align->n_layers) {
        if (!vc_model_heads_match(m, in->align)) {
            char want[128], have[128];
            vc_align_layers_format(in->align, want, sizeof want);
            vc_model_heads_format(m, have, sizeof have);
            return vc_fail(err, "alignment at layers %s, but the model has heads at layers %s (vc_model_set_align_heads)",
                           want, have);
        }
        for (int i = 0; i < in->align->n_layers; i++)
            if (!(in->align->layer_weight[i] >= 0))
                return vc_fail(err, "alignment weight %g of layer %d must be non-negative", in->align->layer_weight[i],
                               in->align->layers[i]);
    }
    return vc_text_check_tokens(c, in->tokens, in->B, err);
}

static int frame_level(const vc_step_inputs *in) { return in->align && in->align->frame > 0; }
static int layer_level(const vc_step_inputs *in) { return in->align && in->align->n_layers > 0; }

/* Both towers' training forward (masking, drop-path), activations kept for backward. */
static int step_towers(vc_model *m, const vc_step_inputs *in, vc_error *err) {
    if (vc_model_check_step(m, in, err)) return -1;
    /* Loss-only and training calls share one plan, so a gradient check never re-plans. */
    if (workspace_plan(m, &m->train, in->B, in->B, in->K, 1, in->train_text, in->drop_rates != NULL,
                       frame_level(in), layer_level(in), err))
        return -1;
    vc_workspace *w = &m->train;
    const vc_config *c = &m->cfg;
    use_precision(m, w);
    vc_vision_forward(c, &m->p.v, &w->vis, in->video, in->B, in->keep, in->drop_rates, in->seed, in->step, in->row0);
    vc_text_forward(c, &m->p.t, &w->txt, in->tokens, in->B);
    return 0;
}

static int step_forward(vc_model *m, const vc_step_inputs *in, int training, double *loss, vc_error *err) {
    if (step_towers(m, in, err)) return -1;
    vc_workspace *w = &m->train;
    w->loss_global = vc_contrastive_loss(w->vis.head.out, w->txt.head.out, in->ids, in->B, m->cfg.embed_dim, m->p.temp[0],
                                         training ? w->dv : NULL, training ? w->dt : NULL,
                                         training ? &w->dtemp_value : NULL, w->loss_scratch);
    w->loss_frame = 0;
    const double wg = in->align ? in->align->global : 1;
    *loss = wg * w->loss_global;
    if (training && wg != 1) {
        for (size_t i = 0; i < (size_t)in->B * m->cfg.embed_dim; i++) w->dv[i] *= (vc_real)wg, w->dt[i] *= (vc_real)wg;
        w->dtemp_value *= (vc_real)wg;
    }
    if (frame_level(in)) {
        vc_real dtemp = 0;
        w->loss_frame = vc_frame_align_forward(&m->cfg, &m->p, &w->fa, &w->vis, &w->txt, in->ids, in->B, training,
                                               in->train_text, &dtemp);
        *loss += in->align->frame * w->loss_frame;
        if (training) w->dtemp_value += (vc_real)(in->align->frame * dtemp);
    }
    if (layer_level(in))
        *loss += vc_layer_align_forward(&m->cfg, &m->p, &w->la, in->ids, in->align->layer_weight, in->B, training,
                                        &w->dtemp_value);
    return 0;
}

int vc_model_step_embeddings(vc_model *m, const vc_step_inputs *in, vc_real *v_emb, vc_real *t_emb, vc_error *err) {
    if (vc_model_enable_grads(m, err) || step_towers(m, in, err)) return -1;
    const size_t BE = (size_t)in->B * m->cfg.embed_dim;
    memcpy(v_emb, m->train.vis.head.out, BE * sizeof *v_emb);
    memcpy(t_emb, m->train.txt.head.out, BE * sizeof *t_emb);
    return 0;
}

static void vision_grads_ready(void *user, const vc_real *from) {
    const vc_step_inputs *in = user;
    in->on_grads_ready(in->hook_user, VC_TOWER_VISION, from);
}

/* Backward through both towers from w->dv / w->dt (already scaled), accumulating into m->grads. */
/* d_vout, d_tout: gradients w.r.t. the towers' output tokens from the frame-level alignment,
 * or NULL. */
static void backward_towers(vc_model *m, const vc_step_inputs *in, const vc_real *d_vout, const vc_real *d_tout) {
    vc_workspace *w = &m->train;
    /* The text tower first: its gradients are then sent while the (larger) video backward runs,
     * whose blocks are sent one by one as they finish. */
    if (in->train_text) vc_text_backward_with_tokens(&m->cfg, &m->p.t, &m->g.t, &w->txt, w->dt, d_tout, in->B);
    if (in->on_grads_ready && in->train_text) in->on_grads_ready(in->hook_user, VC_TOWER_TEXT, m->g.t.token_emb);
    const vc_grads_ready vision_ready = {vision_grads_ready, (void *)in};
    vc_vision_backward_with_tokens(&m->cfg, &m->p.v, &m->g.v, &w->vis, w->dv, d_vout, in->B,
                                   in->on_grads_ready ? &vision_ready : NULL);
}

/* Backward from the gradients of the raw embeddings, scaled by in->grad_scale. */
static void backward_scaled(vc_model *m, const vc_step_inputs *in, const vc_real *dv, const vc_real *dt) {
    vc_workspace *w = &m->train;
    const size_t BE = (size_t)in->B * m->cfg.embed_dim;
    const vc_real s = (vc_real)in->grad_scale;
    for (size_t i = 0; i < BE; i++) {
        w->dv[i] = s * dv[i];
        w->dt[i] = s * dt[i];
    }
    backward_towers(m, in, NULL, NULL);
}

int vc_model_backward_from(vc_model *m, const vc_step_inputs *in, const vc_real *dv, const vc_real *dt, vc_error *err) {
    if (vc_model_enable_grads(m, err) || step_towers(m, in, err)) return -1;
    backward_scaled(m, in, dv, dt);
    return 0;
}

int vc_model_backward_kept(vc_model *m, const vc_step_inputs *in, const vc_real *dv, const vc_real *dt, vc_error *err) {
    vc_workspace *w = &m->train;
    if (!m->grads || !w->planned || !w->training || w->Bv != in->B || w->K != in->K)
        return vc_fail(err, "backward without the forward of this batch (%d clips, %d tokens)", in->B, in->K);
    backward_scaled(m, in, dv, dt);
    return 0;
}

int vc_model_loss(vc_model *m, const vc_step_inputs *in, double *loss, vc_error *err) {
    return step_forward(m, in, 0, loss, err);
}

int vc_model_forward_backward(vc_model *m, const vc_step_inputs *in, double *loss, vc_error *err) {
    if (vc_model_enable_grads(m, err)) return -1;
    if (step_forward(m, in, 1, loss, err)) return -1;
    vc_workspace *w = &m->train;
    const size_t BE = (size_t)in->B * m->cfg.embed_dim;
    const vc_real s = (vc_real)in->grad_scale;
    for (size_t i = 0; i < BE; i++) {
        w->dv[i] *= s;
        w->dt[i] *= s;
    }
    m->g.temp[0] += s * w->dtemp_value;
    /* the alignment heads first, then each tower once from its pooled embedding's gradient, its
     * output tokens' (frame level) and its intermediate tokens' (layer level, through the taps) */
    if (frame_level(in))
        vc_frame_align_backward(&m->cfg, &m->p, &m->g, &w->fa, &w->vis, &w->txt, in->B,
                                in->align->frame * in->grad_scale, in->train_text);
    if (layer_level(in)) {
        vc_layer_align_backward(&m->cfg, &m->p, &m->g, &w->la, in->align->layer_weight, in->B, in->grad_scale);
        w->vis.taps.grad = w->la.v_tap_grad;
        w->txt.taps.grad = w->la.t_tap_grad; /* used only when the text tower trains */
    }
    backward_towers(m, in, frame_level(in) ? w->fa.d_vout : NULL, frame_level(in) ? w->fa.d_tout : NULL);
    w->vis.taps.grad = w->txt.taps.grad = NULL;
    return 0;
}

static int check_video_step(vc_model *m, const vc_step_inputs *in, vc_error *err) {
    const int all = vc_config_video_tokens(&m->cfg);
    if (in->B < 1) return vc_fail(err, "training batch size %d must be positive", in->B);
    if (in->keep || in->K != all)
        return vc_fail(err, "video-only training takes every patch token (K = %d, got %d, mask %s)", all, in->K,
                       in->keep ? "given" : "none");
    return 0;
}

int vc_model_video_forward_train(vc_model *m, const vc_step_inputs *in, vc_real *v_emb, vc_error *err) {
    if (vc_model_enable_grads(m, err) || check_video_step(m, in, err)) return -1;
    if (workspace_plan(m, &m->train, in->B, 0, in->K, 1, 0, in->drop_rates != NULL, 0, 0, err)) return -1;
    vc_workspace *w = &m->train;
    use_precision(m, w);
    vc_vision_forward(&m->cfg, &m->p.v, &w->vis, in->video, in->B, NULL, in->drop_rates, in->seed, in->step, in->row0);
    memcpy(v_emb, w->vis.head.out, (size_t)in->B * m->cfg.embed_dim * sizeof *v_emb);
    return 0;
}

int vc_model_video_backward(vc_model *m, const vc_step_inputs *in, const vc_real *dv, vc_error *err) {
    vc_workspace *w = &m->train;
    if (!m->grads || !w->planned || w->Bv != in->B || w->Bt != 0)
        return vc_fail(err, "vc_model_video_backward needs the vc_model_video_forward_train of the same batch first");
    const size_t BE = (size_t)in->B * m->cfg.embed_dim;
    for (size_t i = 0; i < BE; i++) w->dv[i] = (vc_real)(in->grad_scale * dv[i]);
    vc_vision_backward(&m->cfg, &m->p.v, &m->g.v, &w->vis, w->dv, in->B, NULL);
    return 0;
}
