#include "io/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vc_sb_free(vc_strbuf *sb) {
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

int vc_sb_reserve(vc_strbuf *sb, size_t extra, vc_error *err) {
    if (extra > SIZE_MAX - 1 - sb->len) return vc_fail(err, "string buffer size overflow");
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return 0;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(sb->data, cap);
    if (!p) return vc_fail(err, "out of memory growing a string buffer to %zu bytes", cap);
    if (!sb->data) p[0] = 0;
    sb->data = p;
    sb->cap = cap;
    return 0;
}

int vc_sb_append(vc_strbuf *sb, const void *bytes, size_t n, vc_error *err) {
    if (vc_sb_reserve(sb, n, err)) return -1;
    if (n) memcpy(sb->data + sb->len, bytes, n);
    sb->len += n;
    sb->data[sb->len] = 0;
    return 0;
}

int vc_sb_puts(vc_strbuf *sb, const char *s, vc_error *err) { return vc_sb_append(sb, s, strlen(s), err); }

int vc_sb_putc(vc_strbuf *sb, char c, vc_error *err) { return vc_sb_append(sb, &c, 1, err); }

int vc_sb_appendf(vc_strbuf *sb, vc_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return vc_fail(err, "formatting error in '%s'", fmt);
    if (vc_sb_reserve(sb, (size_t)n, err)) return -1;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return 0;
}

size_t vc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) len = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, v = c & 0x07, min = 0x10000;
    else return 0; /* continuation byte, overlong lead (C0/C1) or beyond U+10FFFF (F5..FF) */
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

int vc_sb_append_json_string(vc_strbuf *sb, const char *s, size_t n, vc_error *err) {
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 2; /* the quotes */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = vc_utf8_decode(u + i, n - i, &cp);
        if (!k) return vc_fail(err, "string is not valid UTF-8 (byte 0x%02X at offset %zu)", u[i], i);
        out += cp < 0x20 ? 6 : (cp == '"' || cp == '\\') ? 2 : k;
        i += k;
    }
    if (vc_sb_reserve(sb, out, err)) return -1;
    char *d = sb->data + sb->len;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = (char)c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            const char *short_esc = c == '\n' ? "n" : c == '\t' ? "t" : c == '\r' ? "r" : c == '\b' ? "b" : c == '\f' ? "f" : NULL;
            *d++ = '\\';
            if (short_esc) {
                *d++ = short_esc[0];
            } else {
                memcpy(d, "u00", 3);
                d[3] = hex[c >> 4];
                d[4] = hex[c & 15];
                d += 5;
            }
        } else {
            *d++ = (char)c;
        }
    }
    *d++ = '"';
    *d = 0;
    sb->len = (size_t)(d - sb->data);
    return 0;
}
