#include "train/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct keyed_caption {
    const char *caption;
    int index;
} keyed_caption;

static int compare_keyed(const void *a, const void *b) {
    const keyed_caption *x = a, *y = b;
    int c = strcmp(x->caption, y->caption);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

int vc_dataset_load(vc_dataset *d, const char *annotations, const vc_preprocess *pp,
                    const vc_tokenizer *tok, int ctx, vc_error *err) {
    memset(d, 0, sizeof *d);
    if (vc_annotations_load(annotations, &d->ann, err)) return -1;
    d->pp = *pp;
    d->n = d->ann.n;
    d->ctx = ctx;
    const size_t clip = (size_t)pp->frames * pp->size * pp->size * 3;
    d->frames = malloc((size_t)d->n * clip);
    d->tokens = calloc((size_t)d->n * ctx, sizeof *d->tokens);
    d->group = malloc((size_t)d->n * sizeof *d->group);
    if (!d->frames || !d->tokens || !d->group) {
        vc_dataset_free(d);
        return vc_fail(err, "%s: out of memory for %d clips", annotations, d->n);
    }
    int failed = 0;
    vc_error first = {{0}};
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < d->n; i++) {
        vc_error e;
        if (vc_clip_load_u8(d->ann.items[i].video, pp, d->frames + i * clip, &e)) {
#pragma omp critical
            if (!failed++) {
                first = e;
                vc_fail_ctx(&first, "%s:%ld", annotations, d->ann.items[i].line);
            }
        }
    }
    if (failed) {
        vc_dataset_free(d);
        return vc_fail(err, "%d of the clips could not be loaded; first: %s", failed, first.msg);
    }
    for (int i = 0; i < d->n; i++)
        if (vc_tokenize(tok, d->ann.items[i].caption, ctx, d->tokens + (size_t)i * ctx, err) < 0) {
            vc_fail_ctx(err, "%s:%ld: caption", annotations, d->ann.items[i].line);
            vc_dataset_free(d);
            return -1;
        }
    /* group ids: identical captions share one id (sort by caption, number the runs) */
    keyed_caption *order = malloc((size_t)d->n * sizeof *order);
    if (!order) {
        vc_dataset_free(d);
        return vc_fail(err, "out of memory");
    }
    for (int i = 0; i < d->n; i++) order[i] = (keyed_caption){d->ann.items[i].caption, i};
    qsort(order, (size_t)d->n, sizeof *order, compare_keyed);
    for (int i = 0; i < d->n; i++) {
        if (i == 0 || strcmp(order[i].caption, order[i - 1].caption)) d->n_groups++;
        d->group[order[i].index] = d->n_groups - 1;
    }
    free(order);
    return 0;
}

void vc_dataset_free(vc_dataset *d) {
    vc_annotations_free(&d->ann);
    free(d->frames);
    free(d->tokens);
    free(d->group);
    memset(d, 0, sizeof *d);
}

void vc_dataset_clip(const vc_dataset *d, int i, const int *frame_order, vc_real *out) {
    const size_t clip = (size_t)d->pp.frames * d->pp.size * d->pp.size * 3;
    vc_clip_normalize(&d->pp, d->frames + (size_t)i * clip, frame_order, out);
}
