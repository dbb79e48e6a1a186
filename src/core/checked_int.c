#include "core/checked_int.h"

#include <inttypes.h>
#include <stdio.h>

static int out_of_range(const char *what, const char *value, int64_t lo, int64_t hi, vc_error *err) {
    return vc_fail(err, "%s is %s, outside %" PRId64 "..%" PRId64, what, value, lo, hi);
}

/* The magnitude of the digits of text (after an optional '-' when signed); -1 if text is not
 * a plain decimal integer, 1 (with *mag = UINT64_MAX) if it does not fit 64 bits. */
static int magnitude(const char *text, int allow_minus, int *neg, uint64_t *mag) {
    const char *p = text;
    *neg = allow_minus && *p == '-';
    p += *neg;
    if (*p < '0' || *p > '9') return -1;
    uint64_t v = 0;
    int big = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        const unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) big = 1;
        else v = v * 10 + d;
    }
    if (*p) return -1;
    *mag = big ? UINT64_MAX : v;
    return big;
}

int vc_parse_i64(const char *text, int64_t lo, int64_t hi, int64_t *out, const char *what, vc_error *err) {
    int neg;
    uint64_t mag;
    const int r = text ? magnitude(text, 1, &neg, &mag) : -1;
    if (r < 0) return vc_fail(err, "%s: '%s' is not a valid integer", what, text ? text : "");
    if (r > 0 || mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return out_of_range(what, text, lo, hi, err);
    const int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag; /* 0 - mag: INT64_MIN without overflow */
    if (v < lo || v > hi) return out_of_range(what, text, lo, hi, err);
    *out = v;
    return 0;
}

int vc_parse_u64(const char *text, uint64_t hi, uint64_t *out, const char *what, vc_error *err) {
    int neg;
    uint64_t mag;
    const int r = text ? magnitude(text, 0, &neg, &mag) : -1;
    if (r < 0) return vc_fail(err, "%s: '%s' is not a valid integer (0 or more)", what, text ? text : "");
    if (r > 0 || mag > hi) return vc_fail(err, "%s is %s, outside 0..%" PRIu64, what, text, hi);
    *out = mag;
    return 0;
}

int vc_check_i64(int64_t v, int64_t lo, int64_t hi, const char *what, vc_error *err) {
    if (v >= lo && v <= hi) return 0;
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    return out_of_range(what, text, lo, hi, err);
}
