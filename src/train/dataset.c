#include "train/dataset.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "text/caption_clean.h"

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

const char *vc_positives_name(vc_positives mode) {
    return mode == VC_POSITIVES_VIDEO ? "video" : mode == VC_POSITIVES_LABEL ? "label" : "caption";
}

static int compare_keyed(const void *a, const void *b) {
    const keyed_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

vc_dataset_opts vc_dataset_default_opts(void) { return (vc_dataset_opts){.clean_captions = 1}; }

static void fill_items(vc_dataset *d) {
    for (int i = 0; i < d->n; i++)
        d->items[i] = (vc_loader_item){d->ann.items[i].video, d->ann.items[i].start, d->ann.items[i].end};
}

/* Why a path cannot be a clip before decoding it (NULL: worth trying). Folders are frame folders. */
static const char *obviously_unreadable(const char *path) {
    struct stat sb;
    if (stat(path, &sb)) return strerror(errno);
    if (S_ISREG(sb.st_mode) && sb.st_size == 0) return "empty file";
    return NULL;
}

static int tokenize_caption(const vc_dataset *d, const vc_tokenizer *tok, int i, int clean, vc_error *err) {
    const vc_annotation *a = &d->ann.items[i];
    if (vc_tokenize_caption(tok, a->caption, d->ctx, clean, d->tokens + (size_t)i * d->ctx, err))
        return vc_fail_ctx(err, "%s:%ld: caption", d->ann.source, a->line);
    return 0;
}

int vc_dataset_open(vc_dataset *d, const char *annotations, const vc_preprocess *pp, const vc_tokenizer *tok,
                    int ctx, const vc_dataset_opts *o, vc_error *err) {
    memset(d, 0, sizeof *d);
    const vc_dataset_opts opts = o ? *o : vc_dataset_default_opts();
    if (vc_annotations_load_opts(annotations, &opts.annotations, &d->ann, err)) return -1;
    d->pp = *pp;
    d->n = d->ann.n;
    d->ctx = ctx;
    d->items = malloc((size_t)d->n * sizeof *d->items);
    d->tokens = calloc((size_t)d->n * ctx, sizeof *d->tokens);
    d->group = malloc((size_t)d->n * sizeof *d->group);
    char **why = calloc((size_t)d->n, sizeof *why);
    int rc = d->items && d->tokens && d->group && why ? 0 : vc_fail(err, "%s: out of memory for %d clips", annotations, d->n);
    for (int i = 0; i < d->n && !rc; i++) rc = tokenize_caption(d, tok, i, opts.clean_captions, err);
    for (int i = 0; i < d->n && !rc; i++) {
        const char *reason = obviously_unreadable(d->ann.items[i].video);
        if (reason && !(why[i] = malloc(strlen(d->ann.items[i].video) + strlen(reason) + 3))) rc = vc_fail(err, "out of memory");
        else if (reason) sprintf(why[i], "%s: %s", d->ann.items[i].video, reason);
    }
    const int n = d->n;
    if (!rc) rc = vc_dataset_drop(d, why, err);
    for (int i = 0; why && i < n; i++) free(why[i]);
    free(why);
    if (rc) vc_dataset_free(d);
    return rc;
}

int vc_dataset_drop(vc_dataset *d, char *const *why, vc_error *err) {
    const size_t clip = (size_t)d->pp.frames * d->pp.size * d->pp.size * 3;
    int kept = 0, dropped = 0;
    for (int i = 0; i < d->n; i++) dropped += why[i] != NULL;
    if (dropped) {
        char **grown = realloc(d->skipped, (size_t)(d->n_skipped + dropped) * sizeof *grown);
        if (!grown) return vc_fail(err, "out of memory");
        d->skipped = grown;
    }
    for (int i = 0; i < d->n; i++) {
        vc_annotation *a = &d->ann.items[i];
        if (why[i]) {
            char *msg = malloc(strlen(d->ann.source) + strlen(why[i]) + 32);
            if (msg) sprintf(msg, "%s:%ld: %s", d->ann.source, a->line, why[i]);
            d->skipped[d->n_skipped++] = msg ? msg : strdup("(out of memory)");
            free(a->video), free(a->caption), free(a->label);
            continue;
        }
        if (kept != i) {
            d->ann.items[kept] = *a;
            memmove(d->tokens + (size_t)kept * d->ctx, d->tokens + (size_t)i * d->ctx, (size_t)d->ctx * sizeof *d->tokens);
            if (d->frames) memmove(d->frames + kept * clip, d->frames + i * clip, clip);
        }
        kept++;
    }
    d->n = d->ann.n = kept;
    fill_items(d);
    if (kept == 0)
        return vc_fail(err, "%s: none of the %d clips could be read; first: %s", d->ann.source, d->n_skipped,
                       d->n_skipped && d->skipped[0] ? d->skipped[0] : "(unknown)");
    return vc_dataset_set_positives(d, (vc_positives)d->positives, err);
}

int vc_dataset_preload(vc_dataset *d, int workers, vc_error *err) {
    const int n = d->n;
    const size_t clip = (size_t)d->pp.frames * d->pp.size * d->pp.size * 3;
    vc_loader_params lp = vc_loader_default_params(&d->pp);
    lp.workers = workers > 0 ? workers : omp_get_max_threads();
    lp.batch = 16;
    free(d->frames);
    d->frames = malloc((size_t)d->n * clip);
    char **why = calloc((size_t)d->n, sizeof *why);
    vc_loader *l = d->frames && why ? vc_loader_start(d->items, d->n, &lp, err) : NULL;
    int rc = l ? 0 : d->frames && why ? -1 : vc_fail(err, "%s: out of memory for %d clips", d->ann.source, d->n);
    unsigned char *delivered = calloc((size_t)n + 1, 1);
    if (!rc && !delivered) rc = vc_fail(err, "out of memory");
    for (vc_loader_batch b = {0}; !rc && !b.end;) {
        if ((rc = vc_loader_next(l, &b, err))) break;
        for (int k = 0; k < b.n_failed; k++) why[b.failed[k].item] = strdup(b.failed[k].msg);
        for (int k = 0; k < b.n; k++) {
            memcpy(d->frames + (size_t)b.item[k] * clip, b.frames + k * clip, clip);
            delivered[b.item[k]] = 1;
        }
    }
    vc_loader_free(l);
    for (int i = 0; !rc && i < n; i++) /* never delivered and not reported: still not kept */
        if (!delivered[i] && !why[i] && !(why[i] = strdup("could not be read"))) rc = vc_fail(err, "out of memory");
    free(delivered);
    if (!rc) rc = vc_dataset_drop(d, why, err);
    for (int i = 0; why && i < n; i++) free(why[i]);
    free(why);
    return rc;
}

int vc_dataset_load(vc_dataset *d, const char *annotations, const vc_preprocess *pp,
                    const vc_tokenizer *tok, int ctx, vc_error *err) {
    if (vc_dataset_open(d, annotations, pp, tok, ctx, NULL, err)) return -1;
    if (vc_dataset_preload(d, 0, err)) {
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
    d->positives = (int)mode;
    return vc_dataset_group_ids(d, mode, d->group, &d->n_groups, err);
}

void vc_dataset_free(vc_dataset *d) {
    for (int i = 0; i < d->n_skipped; i++) free(d->skipped[i]);
    free(d->skipped);
    vc_annotations_free(&d->ann);
    free(d->items);
    free(d->frames);
    free(d->tokens);
    free(d->group);
    memset(d, 0, sizeof *d);
}

void vc_dataset_clip(const vc_dataset *d, int i, const int *frame_order, vc_real *out) {
    const size_t clip = (size_t)d->pp.frames * d->pp.size * d->pp.size * 3;
    vc_clip_normalize(&d->pp, d->frames + (size_t)i * clip, frame_order, out);
}
