/* html.unescape and ftfy's unescape_html on code point strings.
 * Python's html.unescape substitutes every match of
 *     &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
 * left to right; ftfy's fixer substitutes matches of &#?[0-9A-Za-z]{1,24}; using its own
 * entity table. Both are hand-written scanners here with the same leftmost-first results. */
#include "text/html_unescape.h"

#include <string.h>

/* Binary search of a strcmp-sorted entity table for the name key[0..len). */
static const vc_entity *entity_find(const vc_entity *tab, size_t n, const char *key, size_t len) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = tab[mid].name;
        int c = strncmp(key, name, len);
        if (c == 0) c = name[len] == '\0' ? 0 : -1;   /* key is a proper prefix of name: smaller */
        if (c < 0) hi = mid;
        else if (c > 0) lo = mid + 1;
        else return &tab[mid];
    }
    return NULL;
}

static bool is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static bool is_ascii_hex(uint32_t c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_ascii_alnum(uint32_t c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Append the decoding of numeric reference `num` (saturated above 0x10FFFF). */
static void push_numeric(vc_ustr *out, uint32_t num) {
    const vc_umulti *m = vc_umulti_find(vc_html_invalid_charrefs, vc_html_invalid_charrefs_n, num);
    if (m) {
        vc_ustr_append(out, m->out, m->n);
    } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        vc_ustr_push(out, 0xFFFD);
    } else if (!vc_uset_has(&vc_html_invalid_codepoints, num)) {
        vc_ustr_push(out, num);
    }
}

/* Length of the html.unescape match starting at s[i] == '&' (0: no match); the replacement
 * is appended to out when there is a match. */
static size_t charref_at(const uint32_t *s, size_t n, size_t i, vc_ustr *out) {
    size_t j = i + 1;
    if (j < n && s[j] == '#') {
        size_t k = j + 1;
        if (k < n && is_ascii_digit(s[k])) {
            uint32_t num = 0;
            for (; k < n && is_ascii_digit(s[k]); k++)
                num = num > 0x110000 ? num : num * 10 + (s[k] - '0');
            if (k < n && s[k] == ';') k++;
            push_numeric(out, num);
            return k - i;
        }
        if (k + 1 < n && (s[k] == 'x' || s[k] == 'X') && is_ascii_hex(s[k + 1])) {
            uint32_t num = 0;
            for (k++; k < n && is_ascii_hex(s[k]); k++) {
                uint32_t d = is_ascii_digit(s[k]) ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10;
                num = num > 0x110000 ? num : num * 16 + d;
            }
            if (k < n && s[k] == ';') k++;
            push_numeric(out, num);
            return k - i;
        }
        return 0;   /* '#' cannot start a name either */
    }
    /* Named: [^\t\n\f <&#;]{1,32};? */
    size_t k = j;
    while (k < n && k - j < 32) {
        uint32_t c = s[k];
        if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';')
            break;
        k++;
    }
    if (k == j) return 0;
    if (k < n && s[k] == ';') k++;
    /* The group s[j..k); html5 names are ASCII, so only its ASCII prefix can match. */
    char name[40];
    size_t len = k - j, ascii_len = 0;
    while (ascii_len < len && s[j + ascii_len] < 0x80) {
        name[ascii_len] = (char)s[j + ascii_len];
        ascii_len++;
    }
    const vc_entity *e = NULL;
    size_t used = 0;
    if (ascii_len == len) {
        e = entity_find(vc_html5_entities, vc_html5_entities_n, name, len);
        used = len;
    }
    /* Longest prefix of length len-1 .. 2 (Python: range(len(s)-1, 1, -1)). */
    for (size_t x = (len - 1 < ascii_len ? len - 1 : ascii_len); !e && x >= 2; x--) {
        e = entity_find(vc_html5_entities, vc_html5_entities_n, name, x);
        used = x;
    }
    if (e) {
        vc_ustr_append(out, e->cp, e->n);
        vc_ustr_append(out, s + j + used, len - used);
    } else {
        vc_ustr_append(out, s + i, k - i);
    }
    return k - i;
}

void vc_html_unescape(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n;) {
        if (in->d[i] == '&') {
            size_t m = charref_at(in->d, in->n, i, out);
            if (m) {
                i += m;
                continue;
            }
        }
        vc_ustr_push(out, in->d[i++]);
    }
}

void vc_ftfy_unescape_html(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    vc_ustr probe = {0};
    const uint32_t *s = in->d;
    size_t n = in->n;
    for (size_t i = 0; i < n;) {
        if (s[i] != '&') {
            vc_ustr_push(out, s[i++]);
            continue;
        }
        /* &#?[0-9A-Za-z]{1,24}; */
        size_t j = i + 1;
        bool hash = j < n && s[j] == '#';
        if (hash) j++;
        size_t k = j;
        while (k < n && is_ascii_alnum(s[k])) k++;
        if (k == j || k - j > 24 || k >= n || s[k] != ';') {
            vc_ustr_push(out, s[i++]);
            continue;
        }
        size_t end = k + 1;   /* the match is s[i..end) */
        if (!hash) {
            char name[32];
            size_t len = end - j;   /* name including ';' */
            for (size_t t = 0; t < len; t++) name[t] = (char)s[j + t];
            const vc_entity *e = entity_find(vc_html5_entities, vc_html5_entities_n, name, len);
            if (!e) e = entity_find(vc_ftfy_upper_entities, vc_ftfy_upper_entities_n, name, len);
            if (e) vc_ustr_append(out, e->cp, e->n);
            else vc_ustr_append(out, s + i, end - i);
        } else {
            /* html.unescape of the match, kept only if it consumed the ';' */
            /* a read-only view of the match (vc_html_unescape does not modify its input) */
            vc_ustr match = {.d = (uint32_t *)(s + i), .n = end - i, .cap = end - i};
            vc_html_unescape(&match, &probe);
            bool semi = false;
            for (size_t t = 0; t < probe.n && !semi; t++) semi = probe.d[t] == ';';
            if (probe.oom) out->oom = true;
            if (semi) vc_ustr_append(out, s + i, end - i);
            else vc_ustr_append(out, probe.d, probe.n);
        }
        i = end;
    }
    vc_ustr_free(&probe);
}
