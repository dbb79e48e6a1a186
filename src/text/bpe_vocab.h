/* The CLIP BPE vocabulary built from bpe_simple_vocab_16e6.txt.gz exactly as
 * simple_tokenizer.py builds it: the 256 byte characters (bytes_to_unicode order), the same with
 * "</w>", the first 48,894 merges joined, <|startoftext|>, <|endoftext|>; the encoder is a dict,
 * so a repeated string maps to its last id; merge ranks likewise keep the last rank.
 * BPE symbols are represented by their encoder id. */
#ifndef VC_TEXT_BPE_VOCAB_H
#define VC_TEXT_BPE_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VC_BPE_MERGES (49152 - 256 - 2)

typedef struct {
    uint64_t key;      /* 1<<63 | (first id << 32) | second id; 0 = empty slot */
    int32_t rank;
    int32_t merged;    /* encoder id of first+second */
} vc_bpe_pair;

typedef struct {
    int32_t n_tokens;              /* VC_VOCAB_SIZE for the CLIP file */
    char *blob;                    /* all token strings (UTF-8 of byte characters) */
    uint32_t *tok_off, *tok_len;   /* token id -> its string in blob */
    uint8_t *decodable;            /* id is the encoder's value for its string (decoder has it) */
    int32_t byte_id[256];          /* id of the byte character of byte b */
    int32_t byte_id_end[256];      /* id of that character + "</w>" */
    int32_t sot, eot;              /* ids of <|startoftext|>, <|endoftext|> */
    vc_bpe_pair *pairs;            /* open addressing, pair_mask + 1 slots */
    uint64_t pair_mask;
    uint16_t char_byte[324];       /* byte character code point -> byte (decoding) */
    /* Every merge's parts are byte symbols or made by an earlier merge, and no two merges make
     * the same string: then merging in (rank, position) order with a heap gives exactly the
     * reference's result (see bpe_word in tokenizer.c). True for the CLIP file. */
    bool ranks_ordered;
} vc_bpe_vocab;

int vc_bpe_vocab_load(vc_bpe_vocab *v, const char *path, vc_error *err);
void vc_bpe_vocab_free(vc_bpe_vocab *v);

/* Rank of merging (a, b), or -1; *merged gets the merged symbol's id. */
static inline int32_t vc_bpe_rank(const vc_bpe_vocab *v, int32_t a, int32_t b, int32_t *merged) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b | (1ull << 63);
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = h >> 40;; i++) {
        const vc_bpe_pair *p = &v->pairs[i & v->pair_mask];
        if (p->key == 0) return -1;
        if (p->key == key) {
            *merged = p->merged;
            return p->rank;
        }
    }
}

/* Merges the symbols w[0..m) of one word in place, exactly as the reference's bpe(); returns
 * the new length (bpe_merge.c). */
size_t vc_bpe_merge(const vc_bpe_vocab *v, int32_t *w, size_t m);

/* The reference's decode() of ids into a NUL-terminated string; returns its length or -1
 * (bpe_decode.c). */
int vc_bpe_decode(const vc_bpe_vocab *v, const int32_t *ids, int n, char *out, size_t cap, vc_error *err);

#endif
