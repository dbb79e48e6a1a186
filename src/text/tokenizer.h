/* CLIP's byte-level BPE tokenizer (simple_tokenizer.py of OpenAI CLIP / ViCLIP), byte-for-byte.
 *
 * Text goes through the reference's clean-up (ftfy.fix_text, html.unescape twice, whitespace
 * collapse, str.lower), the regex split, UTF-8 bytes mapped to the 256 "byte characters", and
 * BPE with the merges of bpe_simple_vocab_16e6.txt.gz. Ids: 256 byte characters, the same with
 * "</w>", 48,894 merges, <|startoftext|> = 49406, <|endoftext|> = 49407.
 *
 * Input is UTF-8; invalid sequences are decoded as Python's bytes.decode('utf-8', 'replace')
 * would (each maximal ill-formed subsequence -> U+FFFD), so the ids equal the reference's on
 * that decoded string. A NUL byte ends the text (as for any C string).
 *
 * A tokenizer is immutable after loading except for an internal word cache guarded by a
 * mutex, so one tokenizer may be used from several threads at once. */
#ifndef VC_TEXT_TOKENIZER_H
#define VC_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VC_TOKEN_SOT 49406
#define VC_TOKEN_EOT 49407
#define VC_VOCAB_SIZE 49408
#define VC_VOCAB_FILE "bpe_simple_vocab_16e6.txt.gz"

typedef struct vc_tokenizer vc_tokenizer;

/* Loads the merges file (gzip, or plain text). NULL with a message on error (missing file,
 * bad gzip, not UTF-8, fewer than 48,894 merges, a merge line without exactly two symbols). */
vc_tokenizer *vc_tokenizer_load(const char *bpe_gz_path, vc_error *err);
void vc_tokenizer_free(vc_tokenizer *t);

/* Encode text as [SOT] bpe... [EOT], truncated to `context` with EOT forced into the last slot,
 * zero-padded. Writes exactly `context` ids into out. Returns number of non-pad tokens, or -1 on
 * error (context < 1, NULL arguments, out of memory). */
int vc_tokenize(const vc_tokenizer *t, const char *utf8, int context, int32_t *out, vc_error *err);

/* Raw BPE ids without SOT/EOT/padding; returns count written (<= cap) or -1; *n_total (if not
 * NULL) gets the full count. out may be NULL when cap == 0. */
int vc_tokenize_raw(const vc_tokenizer *t, const char *utf8, int32_t *out, int cap, int *n_total,
                    vc_error *err);

/* Decode ids back to text like the reference's decode(): the byte characters' bytes decoded
 * as UTF-8 with replacement, "</w>" -> " ". Writes a NUL-terminated string; returns its length,
 * or -1 (unknown id, or cap too small: the message gives the size needed). */
int vc_detokenize(const vc_tokenizer *t, const int32_t *ids, int n, char *out, size_t cap,
                  vc_error *err);

/* Find the vocab file: $VICLIP_VOCAB, then build/assets/bpe_simple_vocab_16e6.txt.gz relative to
 * cwd, then <dir of executable>/assets/..., then /usr/local/share/viclip/...; returns 0 and fills
 * path, or -1 with a message listing where it looked. */
int vc_tokenizer_find_vocab(char *path, size_t cap, vc_error *err);

#endif
