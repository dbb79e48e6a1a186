#include "eval/encode_videos.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/contrastive.h"

vc_video_encode_params vc_video_encode_default_params(void) {
    return (vc_video_encode_params){.workers = 2, .batch = 16, .clip = vc_clip_default_opts(), .seed = 1234};
}

/* The frame order of clip i under a baseline (NULL: as decoded). */
static const int *baseline_order(const vc_video_encode_params *p, int i, int T, int32_t *perm, int *order) {
    if (p->shuffle_frames) {
        vc_rng r = vc_rng_at(p->seed, VC_STREAM_AUGMENT, (uint64_t)i, 7);
        vc_rng_permutation(&r, perm, T);
        for (int t = 0; t < T; t++) order[t] = perm[t];
        return order;
    }
    if (p->single_frame) {
        for (int t = 0; t < T; t++) order[t] = T / 2;
        return order;
    }
    return NULL;
}

/* What both paths (decoded videos, preprocessed float32 clips) share: a batch of model inputs
 * is encoded, normalised and scattered to its items' rows. */
typedef struct {
    vc_model *m;
    const vc_video_encode_params *p;
    int T, E, n;
    size_t clip;          /* values per clip */
    vc_real *video, *out; /* [batch, clip], [batch, E] */
    int32_t *perm;
    int *order;
    vc_real *emb;
    unsigned char *ok;
    int good, done_tensors, done_decoded;
} encoder;

static int encode_batch(encoder *e, const int *item, int k, vc_error *err) {
    if (k && vc_model_encode_video(e->m, e->video, k, e->out, err)) return -1;
    vc_l2_normalize_rows(e->out, k, e->E);
    for (int i = 0; i < k; i++) {
        memcpy(e->emb + (size_t)item[i] * e->E, e->out + (size_t)i * e->E, e->E * sizeof *e->emb);
        e->ok[item[i]] = 1;
    }
    e->good += k;
    if (e->p->on_progress) e->p->on_progress(e->done_tensors + e->done_decoded, e->n, e->p->user);
    return 0;
}

/* Preprocessed clips: read as they are (no decoding, no uint8 frames), frames reordered for a
 * baseline, in batches. */
static int encode_tensors(encoder *e, const vc_loader_item *items, const int *which, int n, int batch,
                          const vc_preprocess *pp, vc_error *err) {
    const size_t frame = e->clip / (size_t)e->T;
    vc_real *held = malloc(e->clip * sizeof *held);
    int *item = malloc((size_t)batch * sizeof *item);
    int rc = held && item ? 0 : vc_fail(err, "out of memory encoding %d clips", n);
    for (int i = 0, k = 0; !rc && i < n; i++) {
        const int it = which[i];
        vc_real *dst = e->video + (size_t)k * e->clip;
        vc_error why;
        if (vc_clip_load_opts(items[it].path, pp, &e->p->clip, dst, NULL, &why)) {
            if (e->p->on_failure) e->p->on_failure(it, why.msg, e->p->user);
        } else {
            const int *order = baseline_order(e->p, it, e->T, e->perm, e->order);
            if (order) {
                memcpy(held, dst, e->clip * sizeof *held);
                for (int t = 0; t < e->T; t++) memcpy(dst + t * frame, held + order[t] * frame, frame * sizeof *held);
            }
            item[k++] = it;
        }
        e->done_tensors++;
        if (k == batch || i == n - 1) {
            rc = encode_batch(e, item, k, err);
            k = 0;
        }
    }
    free(held), free(item);
    return rc;
}

/* Everything else through the decoding loader; sub[k] is the item of its k-th entry. */
static int encode_decoded(encoder *e, const vc_loader_item *sub_items, const int *sub, int n, const vc_loader_params *lp,
                          const vc_preprocess *pp, vc_error *err) {
    int *item = malloc((size_t)lp->batch * sizeof *item);
    vc_loader *l = item ? vc_loader_start(sub_items, n, lp, err) : NULL;
    int rc = l ? 0 : item ? -1 : vc_fail(err, "out of memory encoding %d clips", n);
    while (!rc) {
        vc_loader_batch b;
        if ((rc = vc_loader_next(l, &b, err))) break;
        for (int k = 0; k < b.n_failed; k++)
            if (e->p->on_failure) e->p->on_failure(sub[b.failed[k].item], b.failed[k].msg, e->p->user);
        if (b.end) break;
        for (int k = 0; k < b.n; k++) {
            item[k] = sub[b.item[k]];
            vc_clip_normalize(pp, b.frames + k * e->clip, baseline_order(e->p, item[k], e->T, e->perm, e->order),
                              e->video + k * e->clip);
        }
        e->done_decoded = (int)((b.index + 1) * lp->batch < n ? (b.index + 1) * lp->batch : n);
        rc = encode_batch(e, item, b.n, err);
    }
    vc_loader_free(l);
    free(item);
    return rc;
}

int vc_encode_videos(vc_model *m, const vc_loader_item *items, int n, const vc_video_encode_params *p,
                     vc_real *emb, unsigned char *ok, int *n_ok, vc_error *err) {
    const vc_config *c = &m->cfg;
    const int T = c->num_frames, E = c->embed_dim;
    const vc_preprocess pp = vc_preprocess_default(T, c->image_size);
    vc_loader_params lp = vc_loader_default_params(&pp);
    lp.clip = p->clip;
    lp.workers = p->workers > 0 ? p->workers : 2;
    lp.batch = p->batch > 0 ? p->batch : 16;
    memset(emb, 0, (size_t)n * E * sizeof *emb);
    memset(ok, 0, (size_t)n);
    encoder e = {.m = m, .p = p, .T = T, .E = E, .n = n, .clip = (size_t)T * 3 * c->image_size * c->image_size,
                 .emb = emb, .ok = ok};
    e.video = malloc((size_t)lp.batch * e.clip * sizeof *e.video);
    e.out = malloc((size_t)lp.batch * E * sizeof *e.out);
    e.perm = malloc((size_t)T * sizeof *e.perm);
    e.order = malloc((size_t)T * sizeof *e.order);
    /* preprocessed float32 clips are the model input already: the loader, which makes uint8
     * frames, only gets the others */
    int *tensors = malloc(((size_t)n + 1) * sizeof *tensors), *decoded = malloc(((size_t)n + 1) * sizeof *decoded);
    vc_loader_item *decoded_items = malloc(((size_t)n + 1) * sizeof *decoded_items);
    int rc = e.video && e.out && e.perm && e.order && tensors && decoded && decoded_items
                 ? 0
                 : vc_fail(err, "out of memory encoding %d clips", n);
    int nt = 0, nd = 0;
    for (int i = 0; !rc && i < n; i++) {
        if (vc_clip_is_preprocessed(items[i].path)) {
            tensors[nt++] = i;
        } else {
            decoded_items[nd] = items[i];
            decoded[nd++] = i;
        }
    }
    if (!rc && nt) rc = encode_tensors(&e, items, tensors, nt, lp.batch, &pp, err);
    if (!rc && (nd || !nt)) rc = encode_decoded(&e, decoded_items, decoded, nd, &lp, &pp, err);
    free(e.video), free(e.out), free(e.perm), free(e.order);
    free(tensors), free(decoded), free(decoded_items);
    if (n_ok) *n_ok = e.good;
    return rc;
}
