#include "text/caption_clean.h"

#include <stdlib.h>
#include <string.h>

#include "text/ustr.h"

/* What is wrong with the UTF-8 sequence starting at s[0], or NULL if it is well formed; *len
 * is its length. Strict (RFC 3629): no overlongs, surrogates or code points past U+10FFFF. */
static const char *utf8_problem(const unsigned char *s, size_t *len) {
    const unsigned c = s[0];
    *len = 1;
    if (c < 0x80) return NULL;
    if (c < 0xC0) return "a continuation byte with no lead byte";
    if (c < 0xC2) return "an overlong encoding";
    if (c > 0xF4) return "a byte that never occurs in UTF-8";
    const size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return "a sequence cut short"; /* also stops at the NUL */
    *len = n;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xF0 && s[1] < 0x90)) return "an overlong encoding";
    if (c == 0xED && s[1] >= 0xA0) return "a UTF-16 surrogate";
    if (c == 0xF4 && s[1] >= 0x90) return "a code point past U+10FFFF";
    return NULL;
}

static int is_dropped(uint32_t c) { return c && c < 0x80 && strchr(",.'!?\"()*#:;~", (int)c); }

static int is_person_tag(const uint32_t *d) {
    static const char tag[] = "<person>";
    for (int k = 0; k < 8; k++)
        if (d[k] != (uint32_t)tag[k]) return 0;
    return 1;
}

int vc_clean_caption(const char *in, char **out, vc_error *err) {
    *out = NULL;
    const unsigned char *u = (const unsigned char *)in;
    const size_t n_in = strlen(in);
    for (size_t i = 0, len; i < n_in; i += len) {
        const char *why = utf8_problem(u + i, &len);
        if (why) return vc_fail(err, "caption is not valid UTF-8: byte 0x%02X at offset %zu is %s", u[i], i, why);
    }
    vc_ustr text = {0}, low = {0}, t = {0};
    vc_ustr_from_utf8(u, n_in, &text);
    vc_py_lower_str(&text, &low);
    /* the stages in the reference's order: each one sees the previous one's output, so a
     * punctuation mark dropped inside "<per.son>" makes a tag that the replace then finds */
    for (size_t i = 0; i < low.n; i++)
        if (!is_dropped(low.d[i])) vc_ustr_push(&t, low.d[i] == '-' || low.d[i] == '/' ? ' ' : low.d[i]);
    size_t w = 0;
    for (size_t i = 0; i < t.n;) { /* str.replace('<person>', 'person'): left to right, no overlaps */
        if (i + 8 <= t.n && is_person_tag(t.d + i)) {
            memmove(t.d + w, t.d + i + 1, 6 * sizeof *t.d);
            w += 6, i += 8;
        } else t.d[w++] = t.d[i++];
    }
    t.n = w;
    /* \s{2,} -> ' ': runs of two or more whitespace characters become one space */
    w = 0;
    for (size_t i = 0; i < t.n;) {
        size_t j = i;
        while (j < t.n && vc_py_isspace(t.d[j])) j++;
        if (j - i >= 2) t.d[w++] = ' ', i = j;
        else t.d[w++] = t.d[i++];
    }
    t.n = w;
    size_t lo = 0, hi = t.n;
    while (hi > lo && t.d[hi - 1] == '\n') hi--; /* rstrip('\n'), then strip(' ') */
    while (lo < hi && t.d[lo] == ' ') lo++;
    while (hi > lo && t.d[hi - 1] == ' ') hi--;
    int rc = 0;
    char *s = text.oom || low.oom || t.oom ? NULL : malloc(4 * (hi - lo) + 1);
    if (!s) rc = vc_fail(err, "out of memory cleaning a caption of %zu bytes", n_in);
    else {
        size_t n = 0;
        for (size_t i = lo; i < hi; i++) n += (size_t)vc_utf8_put(t.d[i], (uint8_t *)s + n);
        s[n] = 0;
        *out = s;
    }
    vc_ustr_free(&text), vc_ustr_free(&low), vc_ustr_free(&t);
    return rc;
}

int vc_tokenize_caption(const vc_tokenizer *tok, const char *text, int ctx, int clean, int32_t *ids, vc_error *err) {
    char *cleaned = NULL;
    int rc = clean ? vc_clean_caption(text, &cleaned, err) : 0;
    if (!rc) rc = vc_tokenize(tok, cleaned ? cleaned : text, ctx, ids, err) < 0 ? -1 : 0;
    free(cleaned);
    return rc;
}
