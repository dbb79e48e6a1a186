#include "model/align.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/filip.h"

enum { LEVEL_GLOBAL, LEVEL_FRAME, LEVEL_LAYERS };

/* Reads a layer number ("8" of "layers=4,8"): digits only, 1..VC_CONFIG_MAX_DIM. */
static int parse_layer(const char *s, size_t len, int *out) {
    if (!len || len > 7 || strspn(s, "0123456789") < len) return -1;
    *out = atoi(s);
    return *out >= 1 ? 0 : -1;
}

int vc_align_weights_parse(const char *levels, const char *weights, vc_align_weights *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    int kinds[3 + VC_ALIGN_MAX_LAYERS], n_levels = 0, seen[3] = {0};
    const char *l = levels;
    int in_layers = 0;
    while (l && *l) {
        const size_t len = strcspn(l, ",");
        int layer, kind = -1;
        if (len == 6 && !strncmp(l, "global", 6)) kind = LEVEL_GLOBAL;
        else if (len == 5 && !strncmp(l, "frame", 5)) kind = LEVEL_FRAME;
        else if (len >= 7 && !strncmp(l, "layers=", 7)) kind = LEVEL_LAYERS;
        if (kind == LEVEL_LAYERS || (kind < 0 && in_layers)) { /* layers=L or a further layer */
            const char *num = kind == LEVEL_LAYERS ? l + 7 : l;
            const size_t nlen = kind == LEVEL_LAYERS ? len - 7 : len;
            if (parse_layer(num, nlen, &layer))
                return vc_fail(err, "--align: '%.*s' is not a layer number (layers=L1,L2,... take blocks from 1)",
                               (int)nlen, num);
            if (out->n_layers == VC_ALIGN_MAX_LAYERS)
                return vc_fail(err, "--align: more than %d layers", VC_ALIGN_MAX_LAYERS);
            for (int k = 0; k < out->n_layers; k++)
                if (out->layers[k] == layer) return vc_fail(err, "--align: layer %d is named twice", layer);
            out->layers[out->n_layers++] = layer;
            in_layers = 1;
            if (kind != LEVEL_LAYERS) kind = -2; /* continues the layers level */
        } else {
            in_layers = 0;
        }
        if (kind == -1)
            return vc_fail(err, "--align: unknown level '%.*s' (expected global, frame or layers=L1,L2,...)", (int)len, l);
        if (kind >= 0) {
            if (seen[kind]) return vc_fail(err, "--align: level '%.*s' is named twice", (int)(kind == LEVEL_LAYERS ? 6 : len), l);
            seen[kind] = 1;
            kinds[n_levels++] = kind;
        }
        l += len;
        if (*l) l++;
    }
    if (!n_levels) return vc_fail(err, "--align: no level given (expected global, frame and/or layers=L1,L2,...)");
    /* the weights: one per level, or one per layer in place of the layers level's one */
    double w[3 + VC_ALIGN_MAX_LAYERS];
    int n_w = 0;
    for (const char *q = weights; q; n_w++) {
        char *end;
        const double x = strtod(q, &end);
        if (end == q || (*end && *end != ',') || !(x >= 0) || x > 1e30)
            return vc_fail(err, "--align-weights: weight %d of '%s' is not a non-negative number", n_w + 1, weights);
        if (n_w == (int)(sizeof w / sizeof w[0]))
            return vc_fail(err, "--align-weights '%s' has more weights than --align '%s' has levels", weights, levels);
        w[n_w] = x;
        q = *end ? end + 1 : NULL;
    }
    const int per_layer = seen[LEVEL_LAYERS] && out->n_layers > 1 && n_w == n_levels - 1 + out->n_layers;
    if (weights && n_w != n_levels && !per_layer) {
        if (seen[LEVEL_LAYERS] && out->n_layers > 1)
            return vc_fail(err, "--align-weights '%s' has %d weights; --align '%s' takes %d (one per level) or %d (one "
                                "per layer in place of the layers level's)", weights, n_w, levels, n_levels,
                           n_levels - 1 + out->n_layers);
        return vc_fail(err, "--align-weights '%s' has %s weights than --align '%s' has levels", weights,
                       n_w < n_levels ? "fewer" : "more", levels);
    }
    double sum = 0;
    for (int i = 0, k = 0; i < n_levels; i++) {
        if (kinds[i] == LEVEL_LAYERS) {
            for (int j = 0; j < out->n_layers; j++) {
                out->layer_weight[j] = !weights ? 1 : per_layer ? w[k + j] : w[k];
                sum += out->layer_weight[j];
            }
            k += per_layer ? out->n_layers : 1;
        } else {
            const double x = weights ? w[k++] : 1;
            *(kinds[i] == LEVEL_GLOBAL ? &out->global : &out->frame) = x;
            sum += x;
        }
    }
    if (!(sum > 0)) return vc_fail(err, "--align-weights: every weight is 0");
    /* ascending layers (the model's heads' order), each keeping its weight */
    for (int i = 1; i < out->n_layers; i++)
        for (int j = i; j > 0 && out->layers[j - 1] > out->layers[j]; j--) {
            const int t = out->layers[j];
            out->layers[j] = out->layers[j - 1], out->layers[j - 1] = t;
            const double x = out->layer_weight[j];
            out->layer_weight[j] = out->layer_weight[j - 1], out->layer_weight[j - 1] = x;
        }
    return 0;
}

int vc_align_check_layers(const vc_align_weights *w, const vc_config *c, vc_error *err) {
    const int depth = c->vision_layers < c->text_layers ? c->vision_layers : c->text_layers;
    for (int i = 0; i < w->n_layers; i++)
        if (w->layers[i] > depth)
            return vc_fail(err, "--align layers=%d: the video tower has %d blocks and the text tower %d; a layer names "
                                "the same block of both, so it must be in 1..%d",
                           w->layers[i], c->vision_layers, c->text_layers, depth);
    return 0;
}

void vc_align_layers_format(const vc_align_weights *w, char *buf, size_t cap) {
    size_t n = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < w->n_layers && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? "," : "", w->layers[i]);
}

static unsigned char *take_bytes(vc_arena *a, size_t n) {
    return (unsigned char *)vc_arena_take(a, (n + sizeof(vc_real) - 1) / sizeof(vc_real));
}

void vc_frame_align_plan(vc_arena *a, vc_frame_align_acts *acts, const vc_config *c, int B, int K) {
    const int T = c->num_frames, W = c->vision_width, Wt = c->text_width, E = c->embed_dim;
    const int Lt = c->context_length;
    const size_t BT = (size_t)B * T, BL = (size_t)B * Lt;
    memset(acts, 0, sizeof *acts);
    acts->B = B, acts->T = T, acts->Lt = Lt;
    acts->f_pool = vc_arena_take(a, BT * W);
    acts->f_count = vc_arena_take(a, BT);
    vc_ln_head_plan(a, &acts->frames, (int)BT, W, E, 1);
    acts->d_femb = vc_arena_take(a, BT * E);
    vc_ln_head_plan(a, &acts->words, (int)BL, Wt, E, 1);
    acts->d_wemb = vc_arena_take(a, BL * E);
    acts->vmask = take_bytes(a, BT);
    acts->tmask = take_bytes(a, BL);
    acts->d_pool = vc_arena_take(a, BT * W);
    acts->d_vout = vc_arena_take(a, (size_t)B * (K + 1) * W);
    acts->d_tout = vc_arena_take(a, BL * Wt);
    acts->loss_scratch = vc_arena_take(a, vc_filip_scratch_elems(B, T, Lt, E));
}

static const vc_real *text_output(const vc_config *c, const vc_text_acts *txt) {
    return txt->training ? txt->blocks[c->text_layers - 1].out : txt->embed;
}

/* Per-frame embeddings: each frame's kept patch tokens averaged, then ln_post and proj. */
static void frame_embed(const vc_config *c, const vc_vision_view *p, vc_frame_align_acts *acts,
                        const vc_vision_acts *vis, int B) {
    const int T = c->num_frames, W = c->vision_width, K = vis->K, L = K + 1;
    const vc_real *out = vc_vision_output_tokens(c, vis);
    memset(acts->f_pool, 0, (size_t)B * T * W * sizeof(vc_real));
    memset(acts->f_count, 0, (size_t)B * T * sizeof(vc_real));
    for (int b = 0; b < B; b++)
        for (int l = 1; l < L; l++) {
            const int j = vis->masked ? vis->keep[(size_t)b * K + l - 1] : l - 1, f = b * T + j % T;
            const vc_real *x = out + ((size_t)b * L + l) * W;
            vc_real *dst = acts->f_pool + (size_t)f * W;
            for (int k = 0; k < W; k++) dst[k] += x[k];
            acts->f_count[f] += 1;
        }
    for (int f = 0; f < B * T; f++) {
        acts->vmask[f] = acts->f_count[f] > 0; /* masking may drop every patch of a frame */
        if (acts->vmask[f])
            for (int k = 0; k < W; k++) acts->f_pool[(size_t)f * W + k] /= acts->f_count[f];
    }
    const vc_ln_head head = vc_vision_head(p);
    vc_ln_head_forward(&head, &acts->frames, acts->f_pool, B * T);
}

/* Per-word embeddings at the positions the tower ran: ln_final and text_projection. */
static void word_embed(const vc_config *c, const vc_text_view *p, vc_frame_align_acts *acts,
                       const vc_text_acts *txt, int B) {
    const int Lw = txt->L;
    const vc_ln_head head = vc_text_head(p);
    acts->Lw = Lw;
    vc_ln_head_forward(&head, &acts->words, text_output(c, txt), B * Lw);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < Lw; i++) {
            const int eot = txt->eot[b];
            acts->tmask[(size_t)b * Lw + i] = (i >= 1 && i <= eot) || i == eot;
        }
}

double vc_frame_align_forward(const vc_config *c, const vc_params_view *p, vc_frame_align_acts *acts,
                              const vc_vision_acts *vis, const vc_text_acts *txt, const int32_t *ids,
                              int B, int grads, int text_grads, vc_real *dtemp) {
    frame_embed(c, &p->v, acts, vis, B);
    word_embed(c, &p->t, acts, txt, B);
    return vc_filip_loss(acts->frames.out, acts->vmask, c->num_frames, acts->words.out, acts->tmask, acts->Lw, ids, B,
                         c->embed_dim, p->temp[0], grads ? acts->d_femb : NULL,
                         grads && text_grads ? acts->d_wemb : NULL, grads ? dtemp : NULL, acts->loss_scratch);
}

void vc_frame_align_backward(const vc_config *c, const vc_params_view *p, vc_params_view *g,
                             vc_frame_align_acts *acts, const vc_vision_acts *vis, const vc_text_acts *txt,
                             int B, double scale, int text) {
    const int T = c->num_frames, W = c->vision_width, E = c->embed_dim;
    const int K = vis->K, L = K + 1, Lw = acts->Lw;
    const size_t BT = (size_t)B * T, BL = (size_t)B * Lw;
    for (size_t k = 0; k < BT * E; k++) acts->d_femb[k] *= (vc_real)scale;
    const vc_ln_head vhead = vc_vision_head(&p->v), vhead_g = vc_vision_head(&g->v);
    vc_ln_head_backward(&vhead, &vhead_g, &acts->frames, acts->f_pool, acts->d_femb, acts->d_pool, (int)BT);
    /* the mean's gradient back to each kept patch token of the frame; the class token gets none */
    for (int b = 0; b < B; b++) {
        memset(acts->d_vout + (size_t)b * L * W, 0, (size_t)W * sizeof(vc_real));
        for (int l = 1; l < L; l++) {
            const int j = vis->masked ? vis->keep[(size_t)b * K + l - 1] : l - 1, f = b * T + j % T;
            const vc_real *src = acts->d_pool + (size_t)f * W;
            vc_real *dst = acts->d_vout + ((size_t)b * L + l) * W;
            for (int k = 0; k < W; k++) dst[k] = src[k] / acts->f_count[f];
        }
    }
    if (!text) return;
    for (size_t k = 0; k < BL * E; k++) acts->d_wemb[k] *= (vc_real)scale;
    const vc_ln_head thead = vc_text_head(&p->t), thead_g = vc_text_head(&g->t);
    vc_ln_head_backward(&thead, &thead_g, &acts->words, text_output(c, txt), acts->d_wemb, acts->d_tout, (int)BL);
}
