#include "train/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct keyed_key {
    const char *key; /* the grouping key: caption, video path or label */
    int index;
} keyed_key;

int vc_positives_parse(const char *s, vc_positives *out, vc_error *err) {
    if (!strcmp(s, "caption")) *out = VC_POSITIVES_CAPTION;
    else if (!strcmp(s, "video")) *out = VC_POSITIVES_VIDEO;
    else if (!strcmp(s, "label")) *out = VC_POSITIVES_LABEL;
    else return vc_fail(err, "positives '%s': expected caption, video or label", s);
    return 0;
}

static int compare_keyed(const void *a, const void *b) {
    const keyed_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
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
    char **why = calloc((size_t)d->n, sizeof *why); /* per clip: NULL, or why it was skipped */
    if (!why) {
        vc_dataset_free(d);
        return vc_fail(err, "%s: out of memory", annotations);
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < d->n; i++) {
        vc_error e;
        vc_clip_opts o = vc_clip_default_opts(); /* evaluation-style 'middle' sampling of [start, end) */
        o.start = d->ann.items[i].start;
        o.end = d->ann.items[i].end;
        if (vc_clip_load_u8_opts(d->ann.items[i].video, pp, &o, d->frames + i * clip, NULL, &e)) {
            vc_fail_ctx(&e, "%s:%ld", annotations, d->ann.items[i].line);
            why[i] = strdup(e.msg);
            if (!why[i]) why[i] = strdup("(out of memory)");
        }
    }
    /* keep the readable clips, in order; remember why the others were left out */
    int kept = 0;
    for (int i = 0; i < d->n; i++) {
        if (why[i]) {
            d->skipped = d->skipped ? d->skipped : calloc((size_t)d->n, sizeof *d->skipped);
            if (d->skipped) d->skipped[d->n_skipped++] = why[i];
            else free(why[i]);
            vc_annotation *a = &d->ann.items[i];
            free(a->video), free(a->caption), free(a->label);
            continue;
        }
        if (kept != i) {
            d->ann.items[kept] = d->ann.items[i];
            memmove(d->frames + kept * clip, d->frames + i * clip, clip);
        }
        kept++;
    }
    free(why);
    d->n = d->ann.n = kept;
    if (kept == 0) {
        vc_fail(err, "%s: none of the %d clips could be read; first: %s", annotations, d->n_skipped,
                d->n_skipped ? d->skipped[0] : "(unknown)");
        vc_dataset_free(d);
        return -1;
    }
    for (int i = 0; i < d->n; i++)
        if (vc_tokenize(tok, d->ann.items[i].caption, ctx, d->tokens + (size_t)i * ctx, err) < 0) {
            vc_fail_ctx(err, "%s:%ld: caption", annotations, d->ann.items[i].line);
            vc_dataset_free(d);
            return -1;
        }
    if (vc_dataset_set_positives(d, VC_POSITIVES_CAPTION, err)) {
        vc_dataset_free(d);
        return -1;
    }
    return 0;
}

int vc_dataset_group_ids(const vc_dataset *d, vc_positives mode, int32_t *ids, int *n_groups, vc_error *err) {
    /* identical keys share one id: sort by key, number the runs */
    keyed_key *order = malloc((size_t)d->n * sizeof *order);
    if (!order) return vc_fail(err, "out of memory");
    for (int i = 0; i < d->n; i++) {
        const vc_annotation *a = &d->ann.items[i];
        const char *key = mode == VC_POSITIVES_VIDEO ? a->video : mode == VC_POSITIVES_LABEL ? a->label : a->caption;
        if (!key) {
            free(order);
            return vc_fail(err, "%s:%ld: positives by label, but this line has no 'label'", d->ann.source, a->line);
        }
        order[i] = (keyed_key){key, i};
    }
    qsort(order, (size_t)d->n, sizeof *order, compare_keyed);
    int groups = 0;
    for (int i = 0; i < d->n; i++) {
        if (i == 0 || strcmp(order[i].key, order[i - 1].key)) groups++;
        ids[order[i].index] = groups - 1;
    }
    free(order);
    *n_groups = groups;
    return 0;
}

int vc_dataset_set_positives(vc_dataset *d, vc_positives mode, vc_error *err) {
    return vc_dataset_group_ids(d, mode, d->group, &d->n_groups, err);
}

void vc_dataset_free(vc_dataset *d) {
    for (int i = 0; i < d->n_skipped; i++) free(d->skipped[i]);
    free(d->skipped);
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
