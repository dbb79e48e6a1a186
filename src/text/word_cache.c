/* Open-addressing word cache: 2^16 slots, emptied when half full, so memory stays bounded on
 * arbitrarily long streams of text. */
#include "text/word_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { CACHE_SLOTS = 1 << 16, CACHE_LIMIT = CACHE_SLOTS / 2 };

typedef struct {
    uint64_t hash;      /* 0: empty */
    uint32_t klen, n;
    char *mem;          /* key bytes, padded to 4, then n int32 ids */
} cache_entry;

struct vc_word_cache {
    pthread_mutex_t lock;
    cache_entry *slots;
    size_t used;
};

static uint64_t word_hash(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h | 1;   /* never 0 */
}

static size_t key_room(size_t n) { return (n + 3) & ~(size_t)3; }

static cache_entry *find(vc_word_cache *c, uint64_t h, const uint8_t *s, size_t n) {
    for (size_t i = h;; i++) {
        cache_entry *e = &c->slots[i & (CACHE_SLOTS - 1)];
        if (e->hash == 0 || (e->hash == h && e->klen == n && memcmp(e->mem, s, n) == 0)) return e;
    }
}

static void clear(vc_word_cache *c) {
    for (size_t i = 0; i < CACHE_SLOTS; i++) free(c->slots[i].mem);
    memset(c->slots, 0, sizeof(cache_entry) * CACHE_SLOTS);
    c->used = 0;
}

vc_word_cache *vc_word_cache_new(void) {
    vc_word_cache *c = calloc(1, sizeof *c);
    cache_entry *slots = calloc(CACHE_SLOTS, sizeof *slots);
    if (!c || !slots || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        free(slots);
        return NULL;
    }
    c->slots = slots;
    return c;
}

void vc_word_cache_free(vc_word_cache *c) {
    if (!c) return;
    clear(c);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int vc_word_cache_get(vc_word_cache *c, const uint8_t *s, size_t n, int32_t *ids) {
    uint64_t h = word_hash(s, n);
    pthread_mutex_lock(&c->lock);
    const cache_entry *e = find(c, h, s, n);
    int m = -1;
    if (e->hash) {
        m = (int)e->n;
        memcpy(ids, e->mem + key_room(n), sizeof(int32_t) * e->n);
    }
    pthread_mutex_unlock(&c->lock);
    return m;
}

void vc_word_cache_put(vc_word_cache *c, const uint8_t *s, size_t n, const int32_t *ids, size_t m) {
    if (n > UINT32_MAX) return;
    char *mem = malloc(key_room(n) + m * sizeof(int32_t));
    if (!mem) return;
    memcpy(mem, s, n);
    memcpy(mem + key_room(n), ids, m * sizeof(int32_t));
    uint64_t h = word_hash(s, n);
    pthread_mutex_lock(&c->lock);
    if (c->used >= CACHE_LIMIT) clear(c);
    cache_entry *e = find(c, h, s, n);
    if (e->hash == 0) {
        *e = (cache_entry){h, (uint32_t)n, (uint32_t)m, mem};
        c->used++;
        mem = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    free(mem);   /* another thread cached it first */
}
