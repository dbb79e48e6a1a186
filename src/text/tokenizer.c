/* Public tokenizer API: clean-up and split (text_clean.c), BPE per word (bpe_merge.c) behind a
 * word cache, truncation and padding as ViCLIP's tokenize(), decoding (bpe_decode.c). */
#include "text/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "text/bpe_vocab.h"
#include "text/text_clean.h"
#include "text/word_cache.h"

struct vc_tokenizer {
    vc_bpe_vocab v;
    vc_word_cache *cache;   /* mutable behind the const API; has its own lock */
};

typedef struct {
    int32_t *d;
    size_t n, cap;
    bool oom;
} ids_t;

static bool ids_reserve(ids_t *b, size_t extra) {
    if (b->oom) return false;
    if (b->n + extra <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra) cap *= 2;
    int32_t *d = realloc(b->d, cap * sizeof *d);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->d = d;
    b->cap = cap;
    return true;
}

/* Appends the ids of one pre-token (its UTF-8 bytes s[0..n)) to out; `word` is scratch. */
static void bpe_word(const vc_tokenizer *t, const uint8_t *s, size_t n, ids_t *word, ids_t *out) {
    const vc_bpe_vocab *v = &t->v;
    /* the reference's bpe() cache starts with the two special tokens mapped to themselves */
    if (n == 15 && memcmp(s, "<|startoftext|>", 15) == 0) {
        if (ids_reserve(out, 1)) out->d[out->n++] = v->sot;
        return;
    }
    if (n == 13 && memcmp(s, "<|endoftext|>", 13) == 0) {
        if (ids_reserve(out, 1)) out->d[out->n++] = v->eot;
        return;
    }
    word->n = 0;
    if (!ids_reserve(word, n) || !ids_reserve(out, n)) {
        out->oom = true;
        return;
    }
    int cached = vc_word_cache_get(t->cache, s, n, out->d + out->n);
    if (cached >= 0) {
        out->n += (size_t)cached;
        return;
    }
    int32_t *w = word->d;
    for (size_t i = 0; i < n; i++) w[i] = i + 1 < n ? v->byte_id[s[i]] : v->byte_id_end[s[i]];
    size_t m = vc_bpe_merge(v, w, n);
    memcpy(out->d + out->n, w, m * sizeof(int32_t));
    out->n += m;
    vc_word_cache_put(t->cache, s, n, w, m);
}

/* BPE ids of the text, stopping once max_ids are reached (SIZE_MAX: all). */
static int encode_text(const vc_tokenizer *t, const char *utf8, size_t max_ids, ids_t *out, vc_error *err) {
    if (!t || !utf8) return vc_fail(err, "tokenizer: NULL %s", t ? "text" : "tokenizer");
    vc_ustr text = {0};
    if (vc_clip_clean(utf8, strlen(utf8), &text, err)) {
        vc_ustr_free(&text);
        return -1;
    }
    ids_t word = {0};
    uint8_t *bytes = NULL;
    size_t bytes_cap = 0, pos = 0;
    bool oom = false;
    vc_piece pc;
    while (!oom && out->n < max_ids && vc_clip_next_piece(&text, &pos, &pc)) {
        if (bytes_cap < pc.len * 4) {
            uint8_t *nb = realloc(bytes, pc.len * 4);
            if (!nb) {
                oom = true;
                break;
            }
            bytes = nb;
            bytes_cap = pc.len * 4;
        }
        size_t nb = 0;
        for (size_t i = 0; i < pc.len; i++) nb += (size_t)vc_utf8_put(text.d[pc.start + i], bytes + nb);
        bpe_word(t, bytes, nb, &word, out);
        oom = out->oom;
    }
    free(bytes);
    free(word.d);
    vc_ustr_free(&text);
    if (oom || out->oom) return vc_fail(err, "tokenizer: out of memory");
    return 0;
}

int vc_tokenize_raw(const vc_tokenizer *t, const char *utf8, int32_t *out, int cap, int *n_total,
                    vc_error *err) {
    if (cap < 0 || (cap > 0 && !out)) return vc_fail(err, "vc_tokenize_raw: bad output buffer (cap %d)", cap);
    ids_t ids = {0};
    if (encode_text(t, utf8, SIZE_MAX, &ids, err)) {
        free(ids.d);
        return -1;
    }
    if (ids.n > INT32_MAX) {
        free(ids.d);
        return vc_fail(err, "vc_tokenize_raw: text has more than 2^31 tokens");
    }
    int n = (int)ids.n < cap ? (int)ids.n : cap;
    if (n > 0) memcpy(out, ids.d, (size_t)n * sizeof(int32_t));
    if (n_total) *n_total = (int)ids.n;
    free(ids.d);
    return n;
}

int vc_tokenize(const vc_tokenizer *t, const char *utf8, int context, int32_t *out, vc_error *err) {
    if (context < 1 || !out)
        return vc_fail(err, "vc_tokenize: context must be >= 1 (got %d) with an output buffer", context);
    ids_t ids = {0};
    /* context-1 BPE ids decide everything: more than context-2 means truncation */
    if (encode_text(t, utf8, (size_t)context - 1, &ids, err)) {
        free(ids.d);
        return -1;
    }
    size_t total = ids.n + 2;   /* SOT + ids + EOT (ids may stop short of the whole text) */
    size_t used = total < (size_t)context ? total : (size_t)context;
    out[0] = t->v.sot;
    for (size_t i = 1; i < used; i++) out[i] = i - 1 < ids.n ? ids.d[i - 1] : t->v.eot;
    out[used - 1] = t->v.eot;   /* the last kept slot is EOT, truncated or not */
    for (size_t i = used; i < (size_t)context; i++) out[i] = 0;
    free(ids.d);
    return (int)used;
}

int vc_detokenize(const vc_tokenizer *t, const int32_t *ids, int n, char *out, size_t cap, vc_error *err) {
    if (!t || (n > 0 && !ids) || !out || cap == 0 || n < 0)
        return vc_fail(err, "vc_detokenize: bad arguments");
    return vc_bpe_decode(&t->v, ids, n, out, cap, err);
}

vc_tokenizer *vc_tokenizer_load(const char *bpe_gz_path, vc_error *err) {
    if (!bpe_gz_path) {
        vc_fail(err, "vc_tokenizer_load: NULL path");
        return NULL;
    }
    vc_tokenizer *t = calloc(1, sizeof *t);
    if (t) t->cache = vc_word_cache_new();
    if (!t || !t->cache) {
        free(t);
        vc_fail(err, "out of memory creating tokenizer");
        return NULL;
    }
    if (vc_bpe_vocab_load(&t->v, bpe_gz_path, err)) {
        vc_word_cache_free(t->cache);
        free(t);
        return NULL;
    }
    return t;
}

void vc_tokenizer_free(vc_tokenizer *t) {
    if (!t) return;
    vc_word_cache_free(t->cache);
    vc_bpe_vocab_free(&t->v);
    free(t);
}
