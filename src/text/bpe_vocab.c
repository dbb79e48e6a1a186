/* Loading bpe_simple_vocab_16e6.txt.gz into the encoder / merge-rank tables. */
#include "text/bpe_vocab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef VC_HAVE_ZLIB
#include <zlib.h>
#endif

#include "text/ustr.h"

/* ---------------------------------------------------------------- file reading */

#ifdef VC_HAVE_ZLIB
/* Whole file through zlib (which passes plain text through unchanged). */
static int read_all(const char *path, uint8_t **data, size_t *len, vc_error *err) {
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return vc_fail(err, "cannot open vocab file '%s': %s", path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        gzclose_r(f);
        return vc_fail(err, "out of memory reading vocab file '%s'", path);
    }
    for (;;) {
        if (cap - n < 65536) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                gzclose_r(f);
                return vc_fail(err, "out of memory reading vocab file '%s'", path);
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + n, 65536);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            vc_fail(err, "cannot read vocab file '%s': %s", path,
                    zerr == Z_ERRNO ? strerror(errno) : msg);
            free(buf);
            gzclose_r(f);
            return -1;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    int rc = gzclose_r(f);
    if (rc != Z_OK) {
        free(buf);
        return vc_fail(err, "vocab file '%s' is a truncated or corrupt gzip stream (zlib error %d)", path, rc);
    }
    *data = buf;
    *len = n;
    return 0;
}
#else
/* Without zlib: the plain-text vocabulary, FILE itself or, for FILE.gz, FILE next to it
 * (`gunzip -k FILE.gz` makes it). */
static int read_all(const char *path, uint8_t **data, size_t *len, vc_error *err) {
    char plain[4096];
    const char *use = path;
    size_t n = strlen(path);
    FILE *f = fopen(path, "rb");
    unsigned char magic[2] = {0, 0};
    int gz = f && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gz || !f) {
        if (f) fclose(f);
        f = NULL;
        if (n > 3 && n < sizeof plain && !strcmp(path + n - 3, ".gz")) {
            memcpy(plain, path, n - 3);
            plain[n - 3] = 0;
            use = plain;
            f = fopen(plain, "rb");
        }
        if (!f && gz)
            return vc_fail(err, "vocab file '%s' is gzip-compressed and viclip was built without zlib: "
                                "give the uncompressed file (gunzip -k '%s')", path, path);
        if (!f) return vc_fail(err, "cannot open vocab file '%s': %s", path, strerror(errno));
    } else
        rewind(f);
    size_t cap = 1 << 20, got = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (cap - got < 65536) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + got, 1, 65536, f);
        got += k;
        if (k == 0) break;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return vc_fail(err, "cannot read vocab file '%s'", use);
    }
    *data = buf;
    *len = got;
    return 0;
}
#endif

/* Offset of the first byte that makes the data invalid UTF-8 (Python's strict decode), or -1. */
static long utf8_invalid_at(const uint8_t *p, size_t n) {
    vc_ustr one = {0};
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
        if (len > n - i) len = n - i;
        vc_ustr_clear(&one);
        vc_ustr_from_utf8(p + i, len, &one);
        if (one.n != 1 || one.d[0] == 0xFFFD) {   /* U+FFFD itself is EF BF BD: valid */
            bool real_fffd = len == 3 && p[i] == 0xEF && p[i + 1] == 0xBF && p[i + 2] == 0xBD;
            if (!real_fffd) {
                vc_ustr_free(&one);
                return (long)i;
            }
        }
        i += len;
    }
    vc_ustr_free(&one);
    return -1;
}

/* ---------------------------------------------------------------- string -> id map */

typedef struct {
    const vc_bpe_vocab *v;
    int32_t *slot;     /* token id or -1 */
    size_t mask;
} str_map;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* Slot for string s (its id, or the empty slot where it would go). */
static int32_t *str_map_slot(const str_map *m, const char *s, size_t n) {
    for (size_t i = hash_bytes(s, n);; i++) {
        int32_t *slot = &m->slot[i & m->mask];
        if (*slot < 0) return slot;
        const vc_bpe_vocab *v = m->v;
        if (v->tok_len[*slot] == n && memcmp(v->blob + v->tok_off[*slot], s, n) == 0) return slot;
    }
}

static int32_t str_map_get(const str_map *m, const char *s, size_t n) {
    return *str_map_slot(m, s, n);
}

/* ---------------------------------------------------------------- building */

typedef struct {
    char *d;
    size_t n, cap;
} text_buf;

static bool buf_add(text_buf *b, const char *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d) return false;
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    return true;
}

static void put_cp(text_buf *b, uint32_t cp, bool *ok) {
    uint8_t u[4];
    int k = vc_utf8_put(cp, u);
    *ok = *ok && buf_add(b, (const char *)u, (size_t)k);
}

/* Python's bytes_to_unicode(): byte -> character, and the order of bytes in the vocab. */
static void bytes_to_unicode(uint32_t cs[256], uint8_t order[256]) {
    int k = 0;
    bool printable[256] = {false};
    for (int b = 0; b < 256; b++)
        printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    for (int b = 0; b < 256; b++)
        if (printable[b]) {
            cs[b] = (uint32_t)b;
            order[k++] = (uint8_t)b;
        }
    int extra = 0;
    for (int b = 0; b < 256; b++)
        if (!printable[b]) {
            cs[b] = 256u + (uint32_t)extra++;
            order[k++] = (uint8_t)b;
        }
}

void vc_bpe_vocab_free(vc_bpe_vocab *v) {
    free(v->blob);
    free(v->tok_off);
    free(v->tok_len);
    free(v->decodable);
    free(v->pairs);
    memset(v, 0, sizeof *v);
}

typedef struct { size_t a_off, a_len, b_off, b_len; } merge_ref;   /* into the file data */

/* Parses the merge lines: the 48,894 lines after the header, two symbols each. */
static int parse_merges(const char *path, const uint8_t *data, size_t len, merge_ref *merges, vc_error *err) {
    size_t pos = 0, line = 0;
    vc_ustr cps = {0};
    int count = 0;
    while (count < VC_BPE_MERGES) {
        if (pos >= len && line > 0) break;
        const uint8_t *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        if (line > 0) {
            /* str.split(): fields separated by (Unicode) whitespace */
            size_t f_off[3], f_len[3];
            int nf = 0;
            size_t i = pos;
            while (i < end) {
                vc_ustr_clear(&cps);
                size_t clen = data[i] < 0x80 ? 1 : data[i] >= 0xF0 ? 4 : data[i] >= 0xE0 ? 3 : 2;
                vc_ustr_from_utf8(data + i, clen, &cps);
                if (cps.n && vc_py_isspace(cps.d[0])) {
                    i += clen;
                    continue;
                }
                size_t start = i;
                while (i < end) {
                    clen = data[i] < 0x80 ? 1 : data[i] >= 0xF0 ? 4 : data[i] >= 0xE0 ? 3 : 2;
                    vc_ustr_clear(&cps);
                    vc_ustr_from_utf8(data + i, clen, &cps);
                    if (cps.n && vc_py_isspace(cps.d[0])) break;
                    i += clen;
                }
                if (nf < 3) {
                    f_off[nf] = start;
                    f_len[nf] = i - start;
                }
                nf++;
            }
            if (nf != 2) {
                vc_ustr_free(&cps);
                return vc_fail(err, "vocab file '%s' line %zu: expected two merge symbols, found %d",
                               path, line + 1, nf);
            }
            merges[count++] = (merge_ref){f_off[0], f_len[0], f_off[1], f_len[1]};
        }
        line++;
        if (!nl) break;
        pos = end + 1;
    }
    vc_ustr_free(&cps);
    if (count < VC_BPE_MERGES)
        return vc_fail(err, "vocab file '%s' has %d merge lines, expected at least %d "
                            "(truncated, or not the CLIP bpe_simple_vocab_16e6 file?)",
                       path, count, VC_BPE_MERGES);
    return 0;
}

int vc_bpe_vocab_load(vc_bpe_vocab *v, const char *path, vc_error *err) {
    memset(v, 0, sizeof *v);
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_all(path, &data, &len, err)) return -1;
    long bad = utf8_invalid_at(data, len);
    if (bad >= 0) {
        free(data);
        return vc_fail(err, "vocab file '%s' is not UTF-8 text (invalid byte at offset %ld after decompression)",
                       path, bad);
    }
    merge_ref *merges = malloc(sizeof *merges * VC_BPE_MERGES);
    if (!merges) {
        free(data);
        return vc_fail(err, "out of memory loading '%s'", path);
    }
    if (parse_merges(path, data, len, merges, err)) {
        free(merges);
        free(data);
        return -1;
    }

    /* Token strings in id order. */
    const int32_t n_tok = 512 + VC_BPE_MERGES + 2;
    uint32_t cs[256];
    uint8_t order[256];
    bytes_to_unicode(cs, order);
    text_buf blob = {0};
    bool ok = true;
    v->n_tokens = n_tok;
    v->tok_off = malloc(sizeof *v->tok_off * (size_t)n_tok);
    v->tok_len = malloc(sizeof *v->tok_len * (size_t)n_tok);
    v->decodable = calloc((size_t)n_tok, 1);
    ok = v->tok_off && v->tok_len && v->decodable;
    for (int32_t id = 0; id < n_tok && ok; id++) {
        size_t start = blob.n;
        if (id < 512) {
            put_cp(&blob, cs[order[id % 256]], &ok);
            if (id >= 256) ok = ok && buf_add(&blob, "</w>", 4);
        } else if (id < 512 + VC_BPE_MERGES) {
            const merge_ref *m = &merges[id - 512];
            ok = buf_add(&blob, (const char *)data + m->a_off, m->a_len) &&
                 buf_add(&blob, (const char *)data + m->b_off, m->b_len);
        } else {
            const char *s = id == n_tok - 2 ? "<|startoftext|>" : "<|endoftext|>";
            ok = buf_add(&blob, s, strlen(s));
        }
        if (ok) {
            v->tok_off[id] = (uint32_t)start;
            v->tok_len[id] = (uint32_t)(blob.n - start);
        }
    }
    v->blob = blob.d;

    /* Encoder: string -> last id. */
    str_map enc = {v, NULL, 0};
    size_t slots = 1;
    while (slots < 2 * (size_t)n_tok) slots *= 2;
    enc.mask = slots - 1;
    enc.slot = ok ? malloc(sizeof(int32_t) * slots) : NULL;
    ok = ok && enc.slot;
    if (ok) {
        for (size_t i = 0; i < slots; i++) enc.slot[i] = -1;
        for (int32_t id = 0; id < n_tok; id++)
            *str_map_slot(&enc, v->blob + v->tok_off[id], v->tok_len[id]) = id;
        for (int32_t id = 0; id < n_tok; id++)
            v->decodable[id] = str_map_get(&enc, v->blob + v->tok_off[id], v->tok_len[id]) == id;
        for (int b = 0; b < 256; b++) {
            char s[8];
            uint8_t u[4];
            int k = vc_utf8_put(cs[b], u);
            memcpy(s, u, (size_t)k);
            v->byte_id[b] = str_map_get(&enc, s, (size_t)k);
            memcpy(s + k, "</w>", 4);
            v->byte_id_end[b] = str_map_get(&enc, s, (size_t)k + 4);
            v->char_byte[cs[b]] = (uint16_t)b;
        }
        v->sot = str_map_get(&enc, "<|startoftext|>", 15);
        v->eot = str_map_get(&enc, "<|endoftext|>", 13);
    }

    /* Merge ranks: (id(a), id(b)) -> (last rank, id(a+b)). A merge whose parts are not tokens
     * can never apply (every BPE symbol is a token), so it is left out. */
    size_t pslots = 1;
    while (pslots < 2 * (size_t)VC_BPE_MERGES) pslots *= 2;
    v->pairs = ok ? calloc(pslots, sizeof *v->pairs) : NULL;
    v->pair_mask = pslots - 1;
    ok = ok && v->pairs;
    for (int32_t r = 0; ok && r < VC_BPE_MERGES; r++) {
        const merge_ref *m = &merges[r];
        int32_t a = str_map_get(&enc, (const char *)data + m->a_off, m->a_len);
        int32_t b = str_map_get(&enc, (const char *)data + m->b_off, m->b_len);
        if (a < 0 || b < 0) continue;
        int32_t merged = str_map_get(&enc, v->blob + v->tok_off[512 + r], v->tok_len[512 + r]);
        uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b | (1ull << 63);
        uint64_t h = key * 0x9E3779B97F4A7C15ull;
        for (uint64_t i = h >> 40;; i++) {
            vc_bpe_pair *p = &v->pairs[i & v->pair_mask];
            if (p->key == 0 || p->key == key) {
                *p = (vc_bpe_pair){key, r, merged};
                break;
            }
        }
    }
    /* ranks_ordered: creator[id] = rank of the merge producing token id (-1: a byte symbol) */
    int32_t *creator = ok ? malloc(sizeof(int32_t) * (size_t)n_tok) : NULL;
    v->ranks_ordered = creator != NULL;
    if (creator) {
        for (int32_t id = 0; id < n_tok; id++) creator[id] = id < 512 ? -1 : INT32_MAX;
        for (int32_t r = 0; r < VC_BPE_MERGES; r++) {
            int32_t out = str_map_get(&enc, v->blob + v->tok_off[512 + r], v->tok_len[512 + r]);
            if (creator[out] != INT32_MAX) v->ranks_ordered = false;   /* made twice (or a byte symbol) */
            creator[out] = r;
        }
        for (int32_t r = 0; r < VC_BPE_MERGES && v->ranks_ordered; r++) {
            const merge_ref *m = &merges[r];
            int32_t a = str_map_get(&enc, (const char *)data + m->a_off, m->a_len);
            int32_t b = str_map_get(&enc, (const char *)data + m->b_off, m->b_len);
            if (a < 0 || b < 0 || creator[a] >= r || creator[b] >= r) v->ranks_ordered = false;
        }
        free(creator);
    }
    free(enc.slot);
    free(merges);
    free(data);
    if (!ok) {
        vc_bpe_vocab_free(v);
        return vc_fail(err, "out of memory loading '%s'", path);
    }
    return 0;
}
