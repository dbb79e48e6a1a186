#include "io/json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/strbuf.h"

typedef struct vc_json_member vc_json_member;

struct vc_json {
    vc_json_kind type;
    int boolean;
    size_t len;       /* string bytes, array items, object members, or number text length */
    const char *text; /* decoded string, or the number as written (for exact integers) */
    union {
        double number;
        vc_json *items;
        vc_json_member *members;
    } u;
};

struct vc_json_member {
    const char *key;
    size_t key_len;
    vc_json value;
};

/* All nodes and strings of one tree live in a chain of chunks freed together. */
typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    max_align_t data[];
} chunk;

/* The root node comes first so vc_json_free can recover the document from it. */
typedef struct {
    vc_json root;
    chunk *chunks;
} document;

/* Members (or array items, key == NULL) collected while their container is open. */
typedef struct {
    vc_json_member m;
    size_t pos; /* where the key starts, to point at duplicates */
} slot;

typedef struct {
    const unsigned char *s;
    size_t n, pos;
    int depth;
    int single_line; /* JSON Lines: report "column C" without a line number */
    chunk *chunks;
    size_t next_cap;
    slot *stack;
    size_t sp, stack_cap;
    locale_t c_locale; /* created on first non-integer number: strtod must not follow LC_NUMERIC */
    vc_error *err;
} parser;

/* ---- errors ---- */

static int fail_at(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(parser *p, size_t pos, const char *fmt, ...) {
    if (!p->err) return -1;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < p->n; i++) {
        if (p->s[i] == '\n') line++, col = 1;
        else if ((p->s[i] & 0xc0) != 0x80) col++; /* count characters, not UTF-8 bytes */
    }
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->single_line) return vc_fail(p->err, "column %zu: %s", col, msg);
    return vc_fail(p->err, "JSON error at line %zu, column %zu: %s", line, col, msg);
}

/* Describes the byte at pos for "found ..." in messages. */
static const char *found(const parser *p, size_t pos, char buf[32]) {
    if (pos >= p->n) return "end of input";
    unsigned c = p->s[pos];
    if (c >= 0x21 && c < 0x7f) snprintf(buf, 32, "'%c'", (char)c);
    else snprintf(buf, 32, "byte 0x%02X", c);
    return buf;
}

/* ---- memory ---- */

static void free_chunks(chunk *c) {
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
}

static void *arena_alloc(parser *p, size_t size) {
    const size_t align = sizeof(max_align_t);
    if (size > SIZE_MAX - align) return NULL;
    size = (size + align - 1) / align * align;
    chunk *c = p->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = p->next_cap > size ? p->next_cap : size;
        if (cap > SIZE_MAX - sizeof(chunk)) return NULL;
        c = malloc(sizeof(chunk) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = p->chunks;
        p->chunks = c;
        if (p->next_cap < SIZE_MAX / 4) p->next_cap *= 2;
    }
    void *r = (unsigned char *)c->data + c->used;
    c->used += size;
    return r;
}

static int oom(parser *p) { return fail_at(p, p->pos, "out of memory"); }

static int push(parser *p, const vc_json_member *m, size_t pos) {
    if (p->sp == p->stack_cap) {
        size_t cap = p->stack_cap ? 2 * p->stack_cap : 64;
        slot *s = cap < SIZE_MAX / sizeof *s ? realloc(p->stack, cap * sizeof *s) : NULL;
        if (!s) return oom(p);
        p->stack = s;
        p->stack_cap = cap;
    }
    p->stack[p->sp].m = *m;
    p->stack[p->sp].pos = pos;
    p->sp++;
    return 0;
}

/* ---- lexing ---- */

static void skip_ws(parser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hex4(const unsigned char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_encode(uint32_t cp, unsigned char *d) {
    if (cp < 0x80) {
        d[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (unsigned char)(0xc0 | (cp >> 6));
        d[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char)(0xe0 | (cp >> 12));
        d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (unsigned char)(0xf0 | (cp >> 18));
    d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses the string starting at the opening quote into the arena. */
static int parse_string(parser *p, const char **out, size_t *out_len) {
    const size_t open = p->pos, start = open + 1;
    size_t end = start;
    while (end < p->n && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n) return fail_at(p, open, "unterminated string (no closing '\"')");
    /* Decoding never makes a string longer: escapes shrink, other bytes are copied. */
    unsigned char *d = arena_alloc(p, end - start + 1);
    if (!d) return oom(p);
    size_t k = 0;
    for (size_t i = start; i < end;) {
        unsigned c = p->s[i];
        if (c < 0x20)
            return fail_at(p, i, "control character 0x%02X in a string must be escaped", c);
        if (c >= 0x80) {
            uint32_t cp;
            size_t len = vc_utf8_decode(p->s + i, end - i, &cp);
            if (!len) return fail_at(p, i, "invalid UTF-8 byte 0x%02X in a string", c);
            memcpy(d + k, p->s + i, len);
            k += len, i += len;
            continue;
        }
        if (c != '\\') {
            d[k++] = (unsigned char)c;
            i++;
            continue;
        }
        unsigned e = p->s[i + 1]; /* i + 1 < end: the scan above skipped escaped bytes */
        const char *simple = strchr("\"\\/bfnrt", (int)e);
        if (e && simple) {
            static const unsigned char decoded[] = {'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'};
            d[k++] = decoded[simple - "\"\\/bfnrt"];
            i += 2;
            continue;
        }
        if (e != 'u') {
            char buf[32];
            return fail_at(p, i, "invalid escape: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u after '\\', found %s",
                           found(p, i + 1, buf));
        }
        uint32_t cp;
        if (i + 6 > end || hex4(p->s + i + 2, &cp))
            return fail_at(p, i, "invalid \\u escape: expected 4 hex digits");
        size_t esc = i;
        i += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return fail_at(p, esc, "lone low surrogate \\u%04X (it must follow a high surrogate)", (unsigned)cp);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (i + 6 > end || p->s[i] != '\\' || p->s[i + 1] != 'u' || hex4(p->s + i + 2, &lo) || lo < 0xdc00 ||
                lo > 0xdfff)
                return fail_at(p, esc, "lone high surrogate \\u%04X (expected a low surrogate \\uDC00-\\uDFFF next)",
                               (unsigned)cp);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
        }
        k += utf8_encode(cp, d + k);
    }
    d[k] = 0;
    *out = (const char *)d;
    *out_len = k;
    p->pos = end + 1;
    return 0;
}

static int parse_number(parser *p, vc_json *v) {
    const size_t start = p->pos;
    size_t i = start;
    const unsigned char *s = p->s;
    char buf[32];
    if (s[i] == '-') i++;
    if (i >= p->n || s[i] < '0' || s[i] > '9')
        return fail_at(p, i, "expected a digit in the number, found %s", found(p, i, buf));
    if (s[i] == '0' && i + 1 < p->n && s[i + 1] >= '0' && s[i + 1] <= '9')
        return fail_at(p, start, "numbers must not have leading zeros");
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
    int integer = 1;
    if (i < p->n && s[i] == '.') {
        integer = 0;
        i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9')
            return fail_at(p, i, "expected a digit after '.', found %s", found(p, i, buf));
        while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        integer = 0;
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9')
            return fail_at(p, i, "expected a digit in the exponent, found %s", found(p, i, buf));
        while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t len = i - start;
    char *text = arena_alloc(p, len + 1);
    if (!text) return oom(p);
    memcpy(text, s + start, len);
    text[len] = 0;
    double d;
    if (integer && len <= 16) { /* fits a long long; the int->double conversion rounds like strtod */
        long long iv = 0;
        for (size_t k = text[0] == '-'; k < len; k++) iv = iv * 10 + (text[k] - '0');
        d = text[0] == '-' ? -(double)iv : (double)iv;
    } else {
        if (!p->c_locale && !(p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0))) return oom(p);
        d = strtod_l(text, NULL, p->c_locale);
        if (isinf(d)) return fail_at(p, start, "number %s is out of range", text);
    }
    v->type = VC_JSON_NUMBER;
    v->u.number = d;
    v->text = text;
    v->len = len;
    p->pos = i;
    return 0;
}

static int parse_literal(parser *p, vc_json *v) {
    static const struct {
        const char *word;
        vc_json_kind type;
        int boolean;
    } LITERALS[] = {{"true", VC_JSON_BOOL, 1}, {"false", VC_JSON_BOOL, 0}, {"null", VC_JSON_NULL, 0}};
    for (size_t k = 0; k < 3; k++) {
        if (LITERALS[k].word[0] != p->s[p->pos]) continue;
        size_t len = strlen(LITERALS[k].word);
        if (p->n - p->pos < len || memcmp(p->s + p->pos, LITERALS[k].word, len))
            return fail_at(p, p->pos, "invalid literal (expected '%s')", LITERALS[k].word);
        v->type = LITERALS[k].type;
        v->boolean = LITERALS[k].boolean;
        p->pos += len;
        return 0;
    }
    return -1; /* not reached: callers dispatch on the first letter */
}

/* ---- containers ---- */

static int parse_value(parser *p, vc_json *v);

static int cmp_slot_key(const void *a, const void *b) {
    const slot *x = *(const slot *const *)a, *y = *(const slot *const *)b;
    size_t n = x->m.key_len < y->m.key_len ? x->m.key_len : y->m.key_len;
    int c = memcmp(x->m.key, y->m.key, n);
    if (c) return c;
    if (x->m.key_len != y->m.key_len) return x->m.key_len < y->m.key_len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorting keeps this O(n log n) for objects with very many keys. */
static int check_duplicates(parser *p, size_t base, size_t count) {
    if (count < 2) return 0;
    slot **order = malloc(count * sizeof *order);
    if (!order) return oom(p);
    for (size_t i = 0; i < count; i++) order[i] = &p->stack[base + i];
    qsort(order, count, sizeof *order, cmp_slot_key);
    const slot *dup = NULL;
    for (size_t i = 1; i < count; i++) {
        const slot *a = order[i - 1], *b = order[i];
        if (a->m.key_len == b->m.key_len && !memcmp(a->m.key, b->m.key, a->m.key_len) && (!dup || b->pos < dup->pos))
            dup = b; /* report the earliest second occurrence */
    }
    free(order);
    if (!dup) return 0;
    size_t show = dup->m.key_len > 200 ? 200 : dup->m.key_len;
    return fail_at(p, dup->pos, "duplicate key '%.*s' in object", (int)show, dup->m.key);
}

static int parse_container(parser *p, vc_json *v, int is_object) {
    const char close = is_object ? '}' : ']';
    const size_t open = p->pos, base = p->sp;
    char buf[32];
    if (++p->depth > VC_JSON_MAX_DEPTH)
        return fail_at(p, open, "nesting deeper than %d levels", VC_JSON_MAX_DEPTH);
    p->pos++;
    skip_ws(p);
    int first = 1;
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            vc_json_member m = {NULL, 0, {0}};
            size_t key_pos = p->pos;
            if (is_object) {
                if (p->pos >= p->n || p->s[p->pos] != '"')
                    return fail_at(p, p->pos, first ? "expected a string key or '}', found %s" : "expected a string key after ',', found %s",
                                   found(p, p->pos, buf));
                if (parse_string(p, &m.key, &m.key_len)) return -1;
                skip_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != ':')
                    return fail_at(p, p->pos, "expected ':' after the object key, found %s", found(p, p->pos, buf));
                p->pos++;
            }
            if (parse_value(p, &m.value) || push(p, &m, key_pos)) return -1;
            first = 0;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == close) {
                p->pos++;
                break;
            }
            return fail_at(p, p->pos, "expected ',' or '%c' after %s, found %s", close,
                           is_object ? "an object member" : "an array item", found(p, p->pos, buf));
        }
    }
    size_t count = p->sp - base;
    v->type = is_object ? VC_JSON_OBJECT : VC_JSON_ARRAY;
    v->len = count;
    if (is_object && check_duplicates(p, base, count)) return -1;
    if (count) {
        size_t esz = is_object ? sizeof(vc_json_member) : sizeof(vc_json);
        void *arr = count < SIZE_MAX / esz ? arena_alloc(p, count * esz) : NULL;
        if (!arr) return oom(p);
        for (size_t i = 0; i < count; i++) {
            if (is_object) ((vc_json_member *)arr)[i] = p->stack[base + i].m;
            else ((vc_json *)arr)[i] = p->stack[base + i].m.value;
        }
        if (is_object) v->u.members = arr;
        else v->u.items = arr;
    }
    p->sp = base;
    p->depth--;
    return 0;
}

static int parse_value(parser *p, vc_json *v) {
    char buf[32];
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->pos >= p->n) return fail_at(p, p->pos, "expected a JSON value, found end of input");
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{': return parse_container(p, v, 1);
    case '[': return parse_container(p, v, 0);
    case '"':
        v->type = VC_JSON_STRING;
        return parse_string(p, &v->text, &v->len);
    case 't':
    case 'f':
    case 'n': return parse_literal(p, v);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
        return fail_at(p, p->pos, "expected a JSON value (object, array, string, number, true, false or null), found %s",
                       found(p, p->pos, buf));
    }
}

static vc_json *parse(const char *text, size_t len, int single_line, vc_error *err) {
    parser p = {.s = (const unsigned char *)text, .n = len, .single_line = single_line, .err = err};
    p.next_cap = len < 1024 ? 1024 : len; /* roughly one chunk for typical documents */
    document *doc = malloc(sizeof *doc);
    int rc = doc ? 0 : fail_at(&p, 0, "out of memory");
    if (!rc && !text && len) rc = fail_at(&p, 0, "no text given");
    if (!rc) rc = parse_value(&p, &doc->root);
    if (!rc) {
        skip_ws(&p);
        char buf[32];
        if (p.pos < p.n) rc = fail_at(&p, p.pos, "unexpected data after the JSON value: %s", found(&p, p.pos, buf));
    }
    free(p.stack);
    if (p.c_locale) freelocale(p.c_locale);
    if (rc) {
        free_chunks(p.chunks);
        free(doc);
        return NULL;
    }
    doc->chunks = p.chunks;
    return &doc->root;
}

vc_json *vc_json_parse(const char *text, size_t len, vc_error *err) { return parse(text, len, 0, err); }

void vc_json_free(vc_json *root) {
    if (!root) return;
    document *doc = (document *)root;
    free_chunks(doc->chunks);
    free(doc);
}

/* ---- accessors ---- */

vc_json_kind vc_json_type(const vc_json *v) { return v ? v->type : VC_JSON_NULL; }

const char *vc_json_type_name(vc_json_kind t) {
    static const char *const NAMES[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < 6 ? NAMES[t] : "?";
}

const vc_json *vc_json_get(const vc_json *obj, const char *key) {
    if (!obj || obj->type != VC_JSON_OBJECT || !key) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->len; i++)
        if (obj->u.members[i].key_len == n && !memcmp(obj->u.members[i].key, key, n)) return &obj->u.members[i].value;
    return NULL;
}

size_t vc_json_len(const vc_json *v) {
    if (!v || (v->type != VC_JSON_STRING && v->type != VC_JSON_ARRAY && v->type != VC_JSON_OBJECT)) return 0;
    return v->len;
}

const vc_json *vc_json_at(const vc_json *arr, size_t i) {
    return arr && arr->type == VC_JSON_ARRAY && i < arr->len ? &arr->u.items[i] : NULL;
}

const char *vc_json_key_at(const vc_json *obj, size_t i) {
    return obj && obj->type == VC_JSON_OBJECT && i < obj->len ? obj->u.members[i].key : NULL;
}

size_t vc_json_key_len_at(const vc_json *obj, size_t i) {
    return obj && obj->type == VC_JSON_OBJECT && i < obj->len ? obj->u.members[i].key_len : 0;
}

const vc_json *vc_json_value_at(const vc_json *obj, size_t i) {
    return obj && obj->type == VC_JSON_OBJECT && i < obj->len ? &obj->u.members[i].value : NULL;
}

double vc_json_number(const vc_json *v) { return v && v->type == VC_JSON_NUMBER ? v->u.number : 0; }

int vc_json_bool(const vc_json *v) { return v && v->type == VC_JSON_BOOL ? v->boolean : 0; }

const char *vc_json_string(const vc_json *v) { return v && v->type == VC_JSON_STRING ? v->text : NULL; }

size_t vc_json_string_len(const vc_json *v) { return v && v->type == VC_JSON_STRING ? v->len : 0; }

int vc_json_as_int64(const vc_json *v, int64_t *out) {
    if (!v || v->type != VC_JSON_NUMBER) return -1;
    const char *t = v->text;
    int neg = t[0] == '-';
    if (strspn(t + neg, "0123456789") == v->len - (size_t)neg) {
        /* Written as an integer: convert the digits exactly. */
        uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const char *c = t + neg; *c; c++) {
            unsigned dgt = (unsigned)(*c - '0');
            if (mag > (limit - dgt) / 10) return -1;
            mag = mag * 10 + dgt;
        }
        *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
        return 0;
    }
    /* Fraction or exponent (2.0, 1e3): only where the double is certainly exact. */
    double d = v->u.number;
    if (d != floor(d) || fabs(d) > 9007199254740992.0) return -1;
    *out = (int64_t)d;
    return 0;
}

static const vc_json *member_of_type(const vc_json *obj, const char *key, vc_json_kind want, const char *want_name,
                                     vc_error *err) {
    if (!obj || obj->type != VC_JSON_OBJECT) {
        vc_fail(err, "expected a JSON object holding field '%s', got %s", key, vc_json_type_name(vc_json_type(obj)));
        return NULL;
    }
    const vc_json *v = vc_json_get(obj, key);
    if (!v) {
        vc_fail(err, "missing field '%s'", key);
        return NULL;
    }
    if (v->type != want) {
        vc_fail(err, "field '%s' must be %s, got %s", key, want_name, vc_json_type_name(v->type));
        return NULL;
    }
    return v;
}

int vc_json_get_int_in(const vc_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, vc_error *err) {
    const vc_json *v = member_of_type(obj, key, VC_JSON_NUMBER, "an integer", err);
    if (!v) return -1;
    int64_t i = 0;
    char what[160];
    snprintf(what, sizeof what, "field '%.120s'", key);
    if (vc_json_as_int64(v, &i)) return vc_fail(err, "%s must be an integer, got %s", what, v->text);
    if (i < lo || i > hi) return vc_fail(err, "%s is %s, outside %" PRId64 "..%" PRId64, what, v->text, lo, hi);
    *out = i;
    return 0;
}

int vc_json_get_int(const vc_json *obj, const char *key, long *out, vc_error *err) {
    int64_t i = 0;
    if (vc_json_get_int_in(obj, key, LONG_MIN, LONG_MAX, &i, err)) return -1;
    *out = (long)i;
    return 0;
}

int vc_json_get_double(const vc_json *obj, const char *key, double *out, vc_error *err) {
    const vc_json *v = member_of_type(obj, key, VC_JSON_NUMBER, "a number", err);
    if (!v) return -1;
    *out = v->u.number;
    return 0;
}

int vc_json_get_bool(const vc_json *obj, const char *key, int *out, vc_error *err) {
    const vc_json *v = member_of_type(obj, key, VC_JSON_BOOL, "true or false", err);
    if (!v) return -1;
    *out = v->boolean;
    return 0;
}

const char *vc_json_get_str(const vc_json *obj, const char *key, vc_error *err) {
    const vc_json *v = member_of_type(obj, key, VC_JSON_STRING, "a string", err);
    if (!v) return NULL;
    if (strlen(v->text) != v->len) {
        vc_fail(err, "field '%s' contains a NUL character (\\u0000)", key);
        return NULL;
    }
    return v->text;
}

/* ---- JSON Lines ---- */

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int vc_jsonl_foreach(const char *path, vc_jsonl_fn fn, void *ud, vc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    ssize_t got;
    errno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        const char *s = line;
        size_t n = (size_t)got;
        if (lineno == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3;
        if (n && s[n - 1] == '\n') n--;
        if (n && s[n - 1] == '\r') n--;
        if (blank(s, n)) continue;
        vc_json *v = parse(s, n, 1, err);
        if (!v) {
            rc = vc_fail_ctx(err, "%s:%ld", path, lineno);
            break;
        }
        vc_fail(err, "%s:%ld: line rejected", path, lineno); /* in case fn fails without a message */
        int r = fn(v, lineno, ud, err);
        vc_json_free(v);
        if (r) {
            rc = -1;
            break;
        }
        errno = 0;
    }
    if (!rc && ferror(f)) rc = vc_fail(err, "%s: read error after line %ld: %s", path, lineno, strerror(errno ? errno : EIO));
    free(line);
    fclose(f);
    return rc;
}
