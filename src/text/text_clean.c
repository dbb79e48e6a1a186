/* Text preparation and pre-tokenisation of CLIP's simple_tokenizer.py, on code points. */
#include "text/text_clean.h"

#include <string.h>

#include "text/ftfy.h"
#include "text/html_unescape.h"

int vc_clip_clean(const char *utf8, size_t len, vc_ustr *out, vc_error *err) {
    vc_ustr a = {0}, b = {0};
    vc_ustr_from_utf8((const uint8_t *)utf8, len, &a);
    int rc = vc_ftfy_fix_text(&a, &b);
    vc_html_unescape(&b, &a);
    vc_html_unescape(&a, &b);
    vc_py_strip(&b, &a);
    /* re.sub(r'\s+', ' ', text) with the regex module's \s, then str.strip() */
    vc_ustr_clear(&b);
    for (size_t i = 0; i < a.n;) {
        if (vc_uset_has(&vc_re_space, a.d[i])) {
            while (i < a.n && vc_uset_has(&vc_re_space, a.d[i])) i++;
            vc_ustr_push(&b, ' ');
        } else {
            vc_ustr_push(&b, a.d[i++]);
        }
    }
    vc_py_strip(&b, &a);
    vc_py_lower_str(&a, out);
    bool oom = rc != 0 || a.oom || b.oom || out->oom;
    vc_ustr_free(&a);
    vc_ustr_free(&b);
    return oom ? vc_fail(err, "tokenizer: out of memory while cleaning %zu bytes of text", len) : 0;
}

/* Does the pattern letter `p` (ASCII) match code point c under the regex module's IGNORECASE? */
static bool fold_eq(char p, uint32_t c) {
    if (c == (uint32_t)p) return true;
    if (p >= 'a' && p <= 'z') {
        if (c == (uint32_t)(p - 32)) return true;
        for (size_t i = 0; i < vc_re_fold_extra_n; i++)
            if (vc_re_fold_extra[i].cp == c && vc_re_fold_extra[i].ascii == p) return true;
    }
    return false;
}

/* Length of `lit` matched case-insensitively at pos, or 0. */
static size_t literal_at(const vc_ustr *t, size_t pos, const char *lit) {
    size_t n = strlen(lit);
    if (t->n - pos < n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!fold_eq(lit[i], t->d[pos + i])) return 0;
    return n;
}

static bool is_letter(uint32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return vc_uset_has(&vc_re_letter, c);
}
static bool is_number(uint32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return vc_uset_has(&vc_re_number, c);
}
static bool is_other(uint32_t c) { return vc_uset_has(&vc_re_other, c); }

/* Length of the match at pos, or 0 (no alternative matches there). */
static size_t match_at(const vc_ustr *t, size_t pos) {
    static const char *const literals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                           "'ve", "'m", "'ll", "'d"};
    uint32_t c = t->d[pos];
    if (c == '<' || c == '\'') {
        for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++) {
            size_t m = literal_at(t, pos, literals[i]);
            if (m) return m;
        }
    }
    size_t end = pos;
    if (is_letter(c)) {
        while (end < t->n && is_letter(t->d[end])) end++;
        return end - pos;
    }
    if (is_number(c)) return 1;
    while (end < t->n && is_other(t->d[end])) end++;
    return end - pos;
}

bool vc_clip_next_piece(const vc_ustr *text, size_t *pos, vc_piece *piece) {
    for (size_t p = *pos; p < text->n; p++) {
        size_t m = match_at(text, p);
        if (m) {
            piece->start = p;
            piece->len = m;
            *pos = p + m;
            return true;
        }
    }
    *pos = text->n;
    return false;
}
