/* ftfy.fix_text() with the default TextFixerConfig: the text is cut into segments after each
 * '\n' (and every 1,000,000 code points), and each segment goes through ftfy's fixers in
 * ftfy's order until a pass changes nothing. */
#include "text/ftfy.h"

#include "text/html_unescape.h"
#include "text/normalize.h"

enum { MAX_DECODE_LENGTH = 1000000, MAX_PASSES = 64 };

/* str.translate with a table of replacements. */
static void translate(const vc_ustr *in, vc_ustr *out, const vc_umulti *tab, size_t n) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n; i++) {
        const vc_umulti *m = in->d[i] >= 0x80 ? vc_umulti_find(tab, n, in->d[i]) : NULL;
        if (m) vc_ustr_append(out, m->out, m->n);
        else vc_ustr_push(out, in->d[i]);
    }
}

/* uncurl_quotes: [\u02bc\u2018-\u201b] -> ', [\u201c-\u201f] -> " */
static void uncurl_quotes(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->d[i];
        if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
        else if (c >= 0x201C && c <= 0x201F) c = '"';
        vc_ustr_push(out, c);
    }
}

/* fix_line_breaks: \r\n, \r, U+2028, U+2029, U+0085 -> \n */
static void fix_line_breaks(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->d[i];
        if (c == '\r' && i + 1 < in->n && in->d[i + 1] == '\n') i++;
        else if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
        vc_ustr_push(out, c);
    }
}

/* remove_terminal_escapes: \033\[((?:\d|;)*)([a-zA-Z]) with re's Unicode \d */
static void remove_terminal_escapes(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n;) {
        if (in->d[i] == 0x1B && i + 1 < in->n && in->d[i + 1] == '[') {
            size_t j = i + 2;
            while (j < in->n && (in->d[j] == ';' || (in->d[j] >= '0' && in->d[j] <= '9') ||
                                 (in->d[j] >= 0x80 && vc_uset_has(&vc_py_decimal, in->d[j]))))
                j++;
            if (j < in->n && ((in->d[j] | 0x20) >= 'a' && (in->d[j] | 0x20) <= 'z')) {
                i = j + 1;
                continue;
            }
        }
        vc_ustr_push(out, in->d[i++]);
    }
}

static void remove_control_chars(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n; i++)
        if (!vc_uset_has(&vc_ftfy_control_chars, in->d[i])) vc_ustr_push(out, in->d[i]);
}

/* ftfy.fix_and_explain on one segment. */
static void fix_segment(const vc_ustr *seg, bool unescape, vc_ustr *out) {
    vc_ustr cur = {0}, next = {0}, orig = {0}, tmp = {0};
    vc_ustr_append(&cur, seg->d, seg->n);
    for (int pass = 0; pass < MAX_PASSES && !cur.oom; pass++) {
        vc_ustr_clear(&orig);
        vc_ustr_append(&orig, cur.d, cur.n);
        if (unescape) {
            vc_ftfy_unescape_html(&cur, &next);
            vc_ustr_swap(&cur, &next);
        }
        vc_ftfy_fix_encoding(&cur, &next);
        vc_ustr_swap(&cur, &next);
        vc_ftfy_fix_c1_controls(&cur, &next);
        vc_ustr_swap(&cur, &next);
        translate(&cur, &next, vc_ftfy_ligatures, vc_ftfy_ligatures_n);
        vc_ustr_swap(&cur, &next);
        translate(&cur, &next, vc_ftfy_width, vc_ftfy_width_n);
        vc_ustr_swap(&cur, &next);
        uncurl_quotes(&cur, &next);
        vc_ustr_swap(&cur, &next);
        fix_line_breaks(&cur, &next);
        vc_ustr_swap(&cur, &next);
        remove_terminal_escapes(&cur, &next);
        vc_ustr_swap(&cur, &next);
        remove_control_chars(&cur, &next);
        vc_ustr_swap(&cur, &next);
        vc_nfc(&cur, &next, &tmp);
        vc_ustr_swap(&cur, &next);
        if (next.oom || tmp.oom || orig.oom) cur.oom = true;
        if (vc_ustr_eq(&cur, &orig)) break;
    }
    if (cur.oom) out->oom = true;
    vc_ustr_append(out, cur.d, cur.n);
    vc_ustr_free(&cur);
    vc_ustr_free(&next);
    vc_ustr_free(&orig);
    vc_ustr_free(&tmp);
}

int vc_ftfy_fix_text(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    vc_ustr seg = {0};
    bool unescape = true;   /* "auto": disabled from the first segment containing '<' on */
    for (size_t pos = 0; pos < in->n;) {
        size_t brk = pos;
        while (brk < in->n && in->d[brk] != '\n') brk++;
        brk = brk < in->n ? brk + 1 : in->n;
        if (brk - pos > MAX_DECODE_LENGTH) brk = pos + MAX_DECODE_LENGTH;
        vc_ustr_clear(&seg);
        vc_ustr_append(&seg, in->d + pos, brk - pos);
        for (size_t i = 0; i < seg.n && unescape; i++)
            if (seg.d[i] == '<') unescape = false;
        fix_segment(&seg, unescape, out);
        pos = brk;
    }
    bool oom = out->oom || seg.oom;
    vc_ustr_free(&seg);
    return oom ? -1 : 0;
}
