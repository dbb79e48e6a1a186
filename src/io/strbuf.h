/* A growable, always NUL-terminated byte string for building headers and JSON text.
 * Appends report out-of-memory through vc_error instead of aborting; after a failed append
 * the buffer still holds what it held before. */
#ifndef VC_IO_STRBUF_H
#define VC_IO_STRBUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    char *data; /* NULL until the first append; then NUL-terminated */
    size_t len;
    size_t cap;
} vc_strbuf;

#define VC_STRBUF_INIT {NULL, 0, 0}

void vc_sb_free(vc_strbuf *sb);
/* Makes room for `extra` more bytes plus the terminator. */
int vc_sb_reserve(vc_strbuf *sb, size_t extra, vc_error *err);
int vc_sb_append(vc_strbuf *sb, const void *bytes, size_t n, vc_error *err);
int vc_sb_puts(vc_strbuf *sb, const char *s, vc_error *err);
int vc_sb_putc(vc_strbuf *sb, char c, vc_error *err);
int vc_sb_appendf(vc_strbuf *sb, vc_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends s[0..n) as a quoted JSON string: escapes '"', '\\' and control characters (so
 * embedded NUL bytes survive as \u0000); other bytes pass through. Fails (appending nothing)
 * if s is not valid UTF-8, since JSON text must be. */
int vc_sb_append_json_string(vc_strbuf *sb, const char *s, size_t n, vc_error *err);

/* Decodes one UTF-8 sequence at s[0..n): returns its length (1..4) and the code point, or 0
 * for an invalid sequence (overlong, surrogate, above U+10FFFF, truncated, stray byte). */
size_t vc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
