#include "serve/http_range.h"

#include <ctype.h>
#include <string.h>

/* Digits only, no sign or spaces; -1 if none or overflow. */
static int64_t parse_u63(const char **p) {
    int64_t v = 0;
    const char *s = *p;
    if (!isdigit((unsigned char)*s)) return -1;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    return v;
}

int vc_http_range(const char *header, int64_t size, int64_t *first, int64_t *last) {
    if (!header || strncmp(header, "bytes=", 6)) return 0;
    const char *p = header + 6;
    while (*p == ' ') p++;
    if (strchr(p, ',')) return 0;
    if (*p == '-') { /* the last N bytes */
        p++;
        int64_t n = parse_u63(&p);
        while (*p == ' ') p++;
        if (n < 0 || *p) return 0;
        if (n == 0 || size == 0) return -1;
        *first = n >= size ? 0 : size - n, *last = size - 1;
        return 1;
    }
    int64_t a = parse_u63(&p), b = -1;
    if (a < 0 || *p != '-') return 0;
    p++;
    if (*p && (b = parse_u63(&p)) < 0) return 0;
    while (*p == ' ') p++;
    if (*p || (b >= 0 && b < a)) return 0;
    if (a >= size) return -1;
    *first = a, *last = b < 0 || b >= size ? size - 1 : b;
    return 1;
}
