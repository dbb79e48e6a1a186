#include "text/caption_clean.h"

#include <stdlib.h>
#include <string.h>

#include "text/ustr.h"

static int dropped(uint32_t c) { return c < 0x80 && strchr(",.'!?\"()*#:;~", (int)c) && c; }

int vc_clean_caption(const char *in, char **out, vc_error *err) {
    vc_ustr text = {0}, low = {0}, t = {0};
    *out = NULL;
    vc_ustr_from_utf8((const uint8_t *)in, strlen(in), &text);
    vc_py_lower_str(&text, &low);
    /* the stages in the reference's order: each one sees the previous one's output */
    for (size_t i = 0; i < low.n; i++)
        if (!dropped(low.d[i])) vc_ustr_push(&t, low.d[i] == '-' || low.d[i] == '/' ? ' ' : low.d[i]);
    static const uint32_t person[8] = {'<', 'p', 'e', 'r', 's', 'o', 'n', '>'};
    size_t w = 0;
    for (size_t i = 0; i < t.n;) { /* str.replace('<person>', 'person'): left to right, no overlaps */
        if (i + 8 <= t.n && !memcmp(t.d + i, person, sizeof person)) {
            memmove(t.d + w, person + 1, 6 * sizeof *t.d);
            w += 6, i += 8;
        } else t.d[w++] = t.d[i++];
    }
    t.n = w;
    /* runs of two or more whitespace characters become one space; a single one stays as it is */
    w = 0;
    for (size_t i = 0; i < t.n;) {
        size_t j = i;
        while (j < t.n && vc_py_isspace(t.d[j])) j++;
        if (j - i >= 2) t.d[w++] = ' ', i = j;
        else t.d[w++] = t.d[i++];
    }
    t.n = w;
    size_t lo = 0, hi = t.n;
    while (hi > lo && t.d[hi - 1] == '\n') hi--;
    while (lo < hi && t.d[lo] == ' ') lo++;
    while (hi > lo && t.d[hi - 1] == ' ') hi--;
    int rc = 0;
    char *s = text.oom || low.oom || t.oom ? NULL : malloc(4 * (hi - lo) + 1);
    if (!s) rc = vc_fail(err, "out of memory cleaning a caption");
    else {
        size_t n = 0;
        for (size_t i = lo; i < hi; i++) n += (size_t)vc_utf8_put(t.d[i], (uint8_t *)s + n);
        s[n] = 0;
        *out = s;
    }
    vc_ustr_free(&text), vc_ustr_free(&low), vc_ustr_free(&t);
    return rc;
}
