#include "dist/grad_sync.h"

#include <stdlib.h>
#include <string.h>

int vc_grad_sync_init(vc_grad_sync *s, vc_dist *d, const vc_param_table *t, const int frozen[3],
                      size_t bucket_elems, vc_error *err) {
    memset(s, 0, sizeof *s);
    s->dist = d;
    if (bucket_elems < 1) bucket_elems = 1;
    /* worst case: every parameter starts a bucket, plus one per bucket_elems */
    size_t cap = (size_t)t->count + t->total / bucket_elems + 1;
    s->buckets = malloc(cap * sizeof *s->buckets);
    s->pending = calloc(cap, sizeof *s->pending);
    if (!s->buckets || !s->pending) {
        vc_grad_sync_free(s);
        return vc_fail(err, "out of memory planning gradient buckets");
    }
    for (int i = 0; i < t->count; i++) {
        const vc_param_info *pi = &t->info[i];
        if (frozen[pi->tower]) continue;
        vc_grad_bucket *last = s->n_buckets ? &s->buckets[s->n_buckets - 1] : NULL;
        size_t off = pi->offset, left = pi->numel;
        /* grow the last bucket while the parameters are contiguous and of the same tower */
        if (last && last->tower == (int)pi->tower && last->offset + last->count == off && last->count < bucket_elems) {
            size_t take = bucket_elems - last->count < left ? bucket_elems - last->count : left;
            last->count += take, off += take, left -= take;
        }
        while (left > 0) {
            size_t take = left < bucket_elems ? left : bucket_elems;
            s->buckets[s->n_buckets++] = (vc_grad_bucket){off, take, (int)pi->tower};
            off += take, left -= take;
        }
    }
    return 0;
}

void vc_grad_sync_free(vc_grad_sync *s) {
    free(s->buckets), free(s->pending);
    memset(s, 0, sizeof *s);
}

size_t vc_grad_sync_elems(const vc_grad_sync *s) {
    size_t n = 0;
    for (int i = 0; i < s->n_buckets; i++) n += s->buckets[i].count;
    return n;
}

void vc_grad_sync_begin(vc_grad_sync *s, vc_real *grads) { s->grads = grads; }

int vc_grad_sync_ready(vc_grad_sync *s, int tower, size_t offset, vc_error *err) {
    if (s->dist->size == 1) return 0;
    for (int i = s->n_buckets - 1; i >= 0; i--) { /* the last buckets are ready first */
        const vc_grad_bucket *b = &s->buckets[i];
        if (b->tower != tower || b->offset < offset || s->pending[i]) continue;
        s->pending[i] = s->dist->ops->iallreduce_sum(s->dist, s->grads + b->offset, b->count, VC_DIST_REAL,
                                                     "gradient all-reduce", err);
        if (!s->pending[i]) return -1;
    }
    return 0;
}

int vc_grad_sync_finish(vc_grad_sync *s, vc_error *err) {
    if (s->dist->size == 1) return 0;
    int rc = 0;
    for (int tower = 0; tower < 3 && !rc; tower++) rc = vc_grad_sync_ready(s, tower, 0, err);
    /* wait for every started bucket even after a failure, so none is left writing the buffer */
    for (int i = 0; i < s->n_buckets; i++) {
        if (!s->pending[i]) continue;
        vc_error e;
        if (s->dist->ops->wait(s->dist, s->pending[i], &e) && !rc) {
            rc = -1;
            if (err) *err = e;
        }
        s->pending[i] = NULL;
    }
    return rc;
}
