/* A training step's data: which clips (a pure function of seed and position), their pixels,
 * tokens and positive groups, and the patch masks. */
#include <string.h>

#include "core/rng.h"
#include "train/train_state.h"

int vc_sample_order_index(vc_sample_order *o, int64_t g) {
    int64_t e = g / o->n;
    if (e != o->epoch) {
        vc_rng r = vc_rng_at(o->seed, VC_STREAM_SHUFFLE, (uint64_t)e, 0);
        vc_rng_permutation(&r, o->perm, o->n);
        o->epoch = e;
    }
    return o->perm[g % o->n];
}

int vc_train_next_streamed(vc_loader *l, const vc_dataset *d, int B, void (*on_warning)(const char *, void *),
                           void *user, double *wait_s, int *n_skipped, vc_loader_batch *lb, vc_error *err) {
    if (vc_loader_next(l, lb, err)) return -1;
    *wait_s += lb->wait_s;
    for (int k = 0; k < lb->n_failed; k++, (*n_skipped)++) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s:%ld: %s (replaced by the next readable clip)", d->ann.source,
                 d->ann.items[lb->failed[k].item].line, lb->failed[k].msg);
        if (on_warning) on_warning(msg, user);
    }
    if (lb->n != B) return vc_fail(err, "the loader returned %d clips for a batch of %d", lb->n, B);
    return 0;
}

static int next_streamed(vc_train_state *s, vc_loader_batch *lb, vc_error *err) {
    return vc_train_next_streamed(s->loader, &s->data, s->B, s->p->on_warning, s->p->user, &s->data_wait_s,
                                  &s->n_skipped, lb, err);
}

int vc_train_load_batch(vc_train_state *s, int64_t step, int masked, vc_error *err) {
    const vc_train_params *p = s->p;
    const vc_config *c = &s->model->cfg;
    const int B = s->B, T = c->num_frames, S = c->image_size, ctx = c->context_length;
    const int K = masked ? s->K_masked : s->N_tok;
    for (int micro = 0; micro < s->A; micro++) {
        const uint64_t draw = (uint64_t)step * s->A + micro; /* micro-batch counter */
        vc_real *video = s->video + (size_t)micro * B * s->clip;
        int32_t *tokens = s->tokens + (size_t)micro * B * ctx, *ids = s->ids + (size_t)micro * B;
        int32_t *keep = s->keep + (size_t)micro * B * s->N_tok;
        vc_loader_batch lb = {0};
        if (s->loader && next_streamed(s, &lb, err)) return -1;
        for (int b = 0; b < B; b++) {
            /* this rank's shard of the global batch: positions depend on (seed, step) only */
            const int64_t g = ((int64_t)draw * s->ranks + s->rank) * B + b;
            int i = s->loader ? lb.item[b] : vc_sample_order_index(&s->order, g);
            if (s->loader) vc_clip_normalize(&s->pp, lb.frames + (size_t)b * T * S * S * 3, NULL, video + b * s->clip);
            else vc_dataset_clip(&s->data, i, NULL, video + b * s->clip);
            memcpy(tokens + (size_t)b * ctx, s->data.tokens + (size_t)i * ctx, (size_t)ctx * sizeof(int32_t));
            ids[b] = s->data.group[i];
        }
        if (masked) { /* drawn per row of the global batch */
            vc_vision_sample_keep(s->keep_global, s->ranks * B, s->N_tok, K, s->seed, draw);
            memcpy(keep, s->keep_global + (size_t)s->rank * B * K, (size_t)B * K * sizeof *keep);
        }
        s->micro[micro] = (vc_step_inputs){.video = video, .tokens = tokens, .ids = ids,
                                           .keep = masked ? keep : NULL, .B = B, .K = K,
                                           .drop_rates = p->drop_path > 0 ? s->rates : NULL, .seed = s->seed,
                                           .step = draw, .row0 = s->rank * B, .train_text = !p->freeze_text,
                                           .grad_scale = 1, .align = &s->align};
    }
    return 0;
}
