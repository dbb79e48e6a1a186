/* A bounded cache of BPE results per word (the reference keeps an unbounded dict). Guarded by
 * a mutex, so a tokenizer can be shared between threads. */
#ifndef VC_TEXT_WORD_CACHE_H
#define VC_TEXT_WORD_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct vc_word_cache vc_word_cache;

vc_word_cache *vc_word_cache_new(void);   /* NULL when out of memory */
void vc_word_cache_free(vc_word_cache *c);
/* Ids cached for word s[0..n) copied into ids (room for n ids: a word never has more ids than
 * bytes); returns their count, or -1 when the word is not cached. */
int vc_word_cache_get(vc_word_cache *c, const uint8_t *s, size_t n, int32_t *ids);
/* Remembers the m ids of word s[0..n) (silently skipped when out of memory). */
void vc_word_cache_put(vc_word_cache *c, const uint8_t *s, size_t n, const int32_t *ids, size_t m);

#endif
