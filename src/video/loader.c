#include "video/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* One batch being decoded or held by the consumer. Slots are reused round-robin: batch b lives
 * in slot b % (prefetch + 1), so the consumer's batch and `prefetch` batches ahead coexist. */
typedef struct slot {
    uint8_t *frames; /* [batch, T, S, S, 3] */
    int *item, *ok;
    int64_t batch;   /* which batch it holds (-1: none yet) */
    int done, count; /* clips finished / clips in the batch */
} slot;

struct vc_loader {
    const vc_loader_item *items;
    int n;
    vc_loader_params p;
    size_t clip_bytes;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, ready_cv;
    pthread_t *threads;
    int n_threads;
    int64_t claim;      /* next position a worker takes */
    int64_t next_batch; /* next batch the consumer gets */
    int64_t end;        /* positions end here (single pass) or never (INT64_MAX) */
    slot *slots;
    int n_slots;
    unsigned char *bad; /* per item: found unreadable */
    vc_loader_failure *pending, *given;
    int n_pending, cap_pending, n_given;
    int stop, fatal;
    char fatal_msg[1024];
};

vc_loader_params vc_loader_default_params(const vc_preprocess *pp) {
    vc_loader_params p = {.pp = *pp, .clip = vc_clip_default_opts(), .workers = 2, .batch = 32, .prefetch = 2};
    return p;
}

/* Called with the lock held. A failed allocation drops the message, never the accounting. */
static void note_failure(vc_loader *l, int item, const char *msg) {
    if (l->bad[item]) return;
    l->bad[item] = 1;
    if (l->n_pending == l->cap_pending) {
        int cap = l->cap_pending ? 2 * l->cap_pending : 16;
        vc_loader_failure *grown = realloc(l->pending, (size_t)cap * sizeof *grown);
        if (!grown) return;
        l->pending = grown, l->cap_pending = cap;
    }
    char *copy = strdup(msg);
    if (copy) l->pending[l->n_pending++] = (vc_loader_failure){item, copy};
}

/* Decodes the clip at position g into dst; returns the item shown, or -1 if none could be read. */
static int decode_position(vc_loader *l, int64_t g, int item, uint8_t *dst) {
    vc_clip_opts o = l->p.clip;
    o.key = (uint64_t)g;
    o.threads = 1;
    for (int tries = 0; tries < l->n; tries++, item = (item + 1) % l->n) {
        pthread_mutex_lock(&l->mu);
        const int known_bad = l->bad[item], stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop) return -1;
        if (!known_bad) {
            const vc_loader_item *it = &l->items[item];
            o.start = it->start, o.end = it->end;
            vc_error e;
            if (!vc_clip_load_u8_opts(it->path, &l->p.pp, &o, dst, NULL, &e)) return item;
            pthread_mutex_lock(&l->mu);
            note_failure(l, item, e.msg);
            pthread_mutex_unlock(&l->mu);
        }
        if (!l->p.substitute) return -1;
    }
    return -1;
}

static void *worker_main(void *arg) {
    vc_loader *l = arg;
    const int B = l->p.batch;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !l->fatal &&
               (l->claim >= l->end || l->claim / B >= l->next_batch + l->p.prefetch))
            pthread_cond_wait(&l->work_cv, &l->mu);
        if (l->stop || l->fatal) break;
        const int64_t g = l->claim++, b = g / B;
        slot *s = &l->slots[b % l->n_slots];
        if (s->batch != b) { /* first position of batch b: the slot's previous batch was released */
            s->batch = b, s->done = 0;
            s->count = l->end - b * B < B ? (int)(l->end - b * B) : B;
        }
        /* the position in the global sequence (this loader may read one shard of each batch) */
        const int64_t pos = l->p.global_batch > 0 ? b * l->p.global_batch + l->p.shard_offset + g % B : g;
        int item = l->p.item_at ? l->p.item_at(l->p.user, pos) : (int)pos;
        if (item < 0 || item >= l->n) {
            l->fatal = 1;
            snprintf(l->fatal_msg, sizeof l->fatal_msg, "clip position %lld maps to item %d of %d", (long long)pos, item, l->n);
            pthread_cond_broadcast(&l->ready_cv);
            break;
        }
        pthread_mutex_unlock(&l->mu);
        const int k = (int)(g % B);
        const int shown = decode_position(l, pos, item, s->frames + (size_t)k * l->clip_bytes);
        pthread_mutex_lock(&l->mu);
        s->item[k] = shown;
        s->ok[k] = shown >= 0;
        if (shown < 0 && l->p.substitute && !l->stop && !l->fatal) {
            l->fatal = 1;
            snprintf(l->fatal_msg, sizeof l->fatal_msg, "none of the %d clips could be read", l->n);
        }
        if (++s->done == s->count || l->fatal) pthread_cond_broadcast(&l->ready_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void free_failures(vc_loader_failure *f, int n) {
    for (int i = 0; i < n; i++) free(f[i].msg);
    free(f);
}

void vc_loader_free(vc_loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_threads; i++) pthread_join(l->threads[i], NULL);
    for (int i = 0; l->slots && i < l->n_slots; i++) free(l->slots[i].frames), free(l->slots[i].item), free(l->slots[i].ok);
    free(l->slots), free(l->threads), free(l->bad);
    free_failures(l->pending, l->n_pending);
    free_failures(l->given, l->n_given);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    free(l);
}

vc_loader *vc_loader_start(const vc_loader_item *items, int n, const vc_loader_params *p, vc_error *err) {
    if (n < 1) return vc_fail(err, "no clips to load"), NULL;
    if (p->workers < 1 || p->batch < 1 || p->prefetch < 1 || p->first_batch < 0)
        return vc_fail(err, "loader: workers (%d), batch (%d) and prefetch (%d) must be at least 1", p->workers,
                       p->batch, p->prefetch), NULL;
    vc_loader *l = calloc(1, sizeof *l);
    if (!l) return vc_fail(err, "out of memory"), NULL;
    l->items = items, l->n = n, l->p = *p;
    l->clip_bytes = (size_t)p->pp.frames * p->pp.size * p->pp.size * 3;
    l->end = p->item_at ? INT64_MAX : n;
    l->claim = p->first_batch * p->batch;
    l->next_batch = p->first_batch;
    l->n_slots = p->prefetch + 1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    l->slots = calloc((size_t)l->n_slots, sizeof *l->slots);
    l->bad = calloc((size_t)n, 1);
    l->threads = calloc((size_t)p->workers, sizeof *l->threads);
    int ok = l->slots && l->bad && l->threads;
    for (int i = 0; ok && i < l->n_slots; i++) {
        slot *s = &l->slots[i];
        s->batch = -1;
        s->frames = malloc((size_t)p->batch * l->clip_bytes);
        s->item = malloc((size_t)p->batch * sizeof *s->item);
        s->ok = malloc((size_t)p->batch * sizeof *s->ok);
        ok = s->frames && s->item && s->ok;
    }
    if (!ok) {
        vc_loader_free(l);
        return vc_fail(err, "out of memory for %d batches of %d clips", p->prefetch + 1, p->batch), NULL;
    }
    for (int i = 0; i < p->workers; i++) {
        if (pthread_create(&l->threads[i], NULL, worker_main, l)) {
            vc_loader_free(l);
            return vc_fail(err, "could not start decoding thread %d", i + 1), NULL;
        }
        l->n_threads++;
    }
    return l;
}

static int by_item(const void *a, const void *b) {
    const vc_loader_failure *x = a, *y = b;
    return (x->item > y->item) - (x->item < y->item);
}

int vc_loader_next(vc_loader *l, vc_loader_batch *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    const int B = l->p.batch;
    pthread_mutex_lock(&l->mu);
    free_failures(l->given, l->n_given);
    l->given = NULL, l->n_given = 0;
    const int64_t b = l->next_batch;
    slot *s = &l->slots[b % l->n_slots];
    out->index = b;
    const double t0 = vc_now_s();
    const int over = b * B >= l->end;
    while (!over && !l->fatal && !(s->batch == b && s->done == s->count)) pthread_cond_wait(&l->ready_cv, &l->mu);
    out->wait_s = vc_now_s() - t0;
    if (l->fatal) {
        pthread_mutex_unlock(&l->mu);
        return vc_fail(err, "%s", l->fatal_msg);
    }
    if (!over) l->next_batch++;
    pthread_cond_broadcast(&l->work_cv);
    /* hand over the failures found so far, in item order */
    l->given = l->pending, l->n_given = l->n_pending;
    l->pending = NULL, l->n_pending = l->cap_pending = 0;
    pthread_mutex_unlock(&l->mu);
    if (l->n_given > 1) qsort(l->given, (size_t)l->n_given, sizeof *l->given, by_item); /* never qsort(NULL, 0) */
    out->failed = l->given, out->n_failed = l->n_given;
    out->end = over;
    if (over) return 0;
    int kept = 0; /* the slot is the consumer's until the next call: compact the readable clips */
    for (int k = 0; k < s->count; k++) {
        if (!s->ok[k]) continue;
        if (kept != k) memmove(s->frames + (size_t)kept * l->clip_bytes, s->frames + (size_t)k * l->clip_bytes, l->clip_bytes);
        s->item[kept++] = s->item[k];
    }
    out->frames = s->frames, out->item = s->item, out->n = kept;
    return 0;
}
