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

int vc_encode_videos(vc_model *m, const vc_loader_item *items, int n, const vc_video_encode_params *p,
                     vc_real *emb, unsigned char *ok, int *n_ok, vc_error *err) {
    const vc_config *c = &m->cfg;
    const int T = c->num_frames, E = c->embed_dim;
    const vc_preprocess pp = vc_preprocess_default(T, c->image_size);
    const size_t clip = (size_t)T * 3 * c->image_size * c->image_size, clip_u8 = clip;
    vc_loader_params lp = vc_loader_default_params(&pp);
    lp.clip = p->clip;
    lp.workers = p->workers > 0 ? p->workers : 2;
    lp.batch = p->batch > 0 ? p->batch : 16;
    memset(emb, 0, (size_t)n * E * sizeof *emb);
    memset(ok, 0, (size_t)n);
    vc_real *video = malloc((size_t)lp.batch * clip * sizeof *video), *out = malloc((size_t)lp.batch * E * sizeof *out);
    int32_t *perm = malloc((size_t)T * sizeof *perm);
    int *order = malloc((size_t)T * sizeof *order);
    vc_loader *l = video && out && perm && order ? vc_loader_start(items, n, &lp, err) : NULL;
    int rc = l ? 0 : video && out && perm && order ? -1 : vc_fail(err, "out of memory encoding %d clips", n);
    int done = 0, good = 0;
    while (!rc) {
        vc_loader_batch b;
        if ((rc = vc_loader_next(l, &b, err))) break;
        for (int k = 0; k < b.n_failed; k++)
            if (p->on_failure) p->on_failure(b.failed[k].item, b.failed[k].msg, p->user);
        if (b.end) break;
        for (int k = 0; k < b.n; k++)
            vc_clip_normalize(&pp, b.frames + k * clip_u8, baseline_order(p, b.item[k], T, perm, order), video + k * clip);
        if (b.n && (rc = vc_model_encode_video(m, video, b.n, out, err))) break;
        vc_l2_normalize_rows(out, b.n, E);
        for (int k = 0; k < b.n; k++) {
            memcpy(emb + (size_t)b.item[k] * E, out + (size_t)k * E, E * sizeof *emb);
            ok[b.item[k]] = 1;
        }
        good += b.n;
        done = (int)((b.index + 1) * lp.batch < n ? (b.index + 1) * lp.batch : n);
        if (p->on_progress) p->on_progress(done, n, p->user);
    }
    vc_loader_free(l);
    free(video), free(out), free(perm), free(order);
    if (n_ok) *n_ok = good;
    return rc;
}
