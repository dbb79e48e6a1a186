#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"
#include "io/strbuf.h"

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static const struct {
    const char *descr;
    vc_dtype dtype;
} DESCRS[] = {
    {"<f4", VC_DT_F32}, {"<f8", VC_DT_F64}, {"<f2", VC_DT_F16}, {"<i8", VC_DT_I64}, {"<i4", VC_DT_I32},
    {"<i2", VC_DT_I16}, {"|i1", VC_DT_I8},  {"|u1", VC_DT_U8},  {"|b1", VC_DT_BOOL},
};
#define N_DESCRS (sizeof DESCRS / sizeof DESCRS[0])

/* ---- header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } ---- */

typedef struct {
    const char *s;
    size_t n, pos;
    const char *path;
    vc_error *err;
} hdr_parser;

static void hp_ws(hdr_parser *h) {
    while (h->pos < h->n && strchr(" \t\r\n", h->s[h->pos]) && h->s[h->pos]) h->pos++;
}

static int hp_fail(hdr_parser *h, const char *what) {
    char shown[24];
    if (h->pos >= h->n) snprintf(shown, sizeof shown, "end of header");
    else if (h->s[h->pos] > 0x20 && h->s[h->pos] < 0x7f) snprintf(shown, sizeof shown, "'%c'", h->s[h->pos]);
    else snprintf(shown, sizeof shown, "byte 0x%02X", (unsigned char)h->s[h->pos]);
    return vc_fail(h->err, "%s: bad .npy header: expected %s at header offset %zu, found %s", h->path, what, h->pos,
                   shown);
}

static int hp_char(hdr_parser *h, char c, const char *what) {
    hp_ws(h);
    if (h->pos >= h->n || h->s[h->pos] != c) return hp_fail(h, what);
    h->pos++;
    return 0;
}

/* A Python str literal without escapes (all that numpy writes here). */
static int hp_string(hdr_parser *h, char *out, size_t cap, const char *what) {
    hp_ws(h);
    if (h->pos >= h->n || (h->s[h->pos] != '\'' && h->s[h->pos] != '"')) return hp_fail(h, what);
    char q = h->s[h->pos++];
    size_t k = 0;
    while (h->pos < h->n && h->s[h->pos] != q) {
        char c = h->s[h->pos];
        if (c == '\\' || (unsigned char)c < 0x20 || k + 1 >= cap) return hp_fail(h, "a short plain string");
        out[k++] = c;
        h->pos++;
    }
    if (h->pos >= h->n) return hp_fail(h, "the closing quote");
    h->pos++;
    out[k] = 0;
    return 0;
}

static int hp_bool(hdr_parser *h, int *out) {
    hp_ws(h);
    if (h->n - h->pos >= 4 && !memcmp(h->s + h->pos, "True", 4)) *out = 1, h->pos += 4;
    else if (h->n - h->pos >= 5 && !memcmp(h->s + h->pos, "False", 5)) *out = 0, h->pos += 5;
    else return hp_fail(h, "True or False");
    return 0;
}

static int hp_shape(hdr_parser *h, int *ndim, int64_t *shape) {
    if (hp_char(h, '(', "'(' starting the shape tuple")) return -1;
    int n = 0, trailing_comma = 0;
    for (;;) {
        hp_ws(h);
        if (h->pos < h->n && h->s[h->pos] == ')') break;
        if (h->pos >= h->n || h->s[h->pos] < '0' || h->s[h->pos] > '9') return hp_fail(h, "a dimension or ')'");
        int64_t v = 0;
        while (h->pos < h->n && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
            int d = h->s[h->pos++] - '0';
            if (v > (INT64_MAX - d) / 10) return hp_fail(h, "a dimension that fits in 64 bits");
            v = v * 10 + d;
        }
        if (h->pos < h->n && h->s[h->pos] == 'L') h->pos++; /* Python 2 long literal */
        if (n == VC_NPY_MAX_DIMS)
            return vc_fail(h->err, "%s: array has more than %d dimensions", h->path, VC_NPY_MAX_DIMS);
        shape[n++] = v;
        hp_ws(h);
        trailing_comma = 0;
        if (h->pos < h->n && h->s[h->pos] == ',') {
            h->pos++;
            trailing_comma = 1;
            continue;
        }
        if (h->pos < h->n && h->s[h->pos] == ')') break;
        return hp_fail(h, "',' or ')' in the shape tuple");
    }
    if (n == 1 && !trailing_comma) return hp_fail(h, "',' (a 1-element shape is written '(N,)')");
    h->pos++;
    *ndim = n;
    return 0;
}

typedef struct {
    char descr[32];
    int fortran;
    int ndim;
    int64_t shape[VC_NPY_MAX_DIMS];
} npy_header;

static int parse_header(hdr_parser *h, npy_header *out) {
    int seen[3] = {0, 0, 0};
    static const char *const KEYS[3] = {"descr", "fortran_order", "shape"};
    if (hp_char(h, '{', "'{'")) return -1;
    for (;;) {
        hp_ws(h);
        if (h->pos < h->n && h->s[h->pos] == '}') break;
        char key[32];
        if (hp_string(h, key, sizeof key, "a quoted key or '}'")) return -1;
        int k = 0;
        while (k < 3 && strcmp(key, KEYS[k])) k++;
        if (k == 3) return vc_fail(h->err, "%s: bad .npy header: unexpected key '%s'", h->path, key);
        if (seen[k]) return vc_fail(h->err, "%s: bad .npy header: duplicate key '%s'", h->path, key);
        seen[k] = 1;
        if (hp_char(h, ':', "':' after the key")) return -1;
        int rc = k == 0 ? hp_string(h, out->descr, sizeof out->descr, "a quoted dtype descr")
                 : k == 1 ? hp_bool(h, &out->fortran)
                          : hp_shape(h, &out->ndim, out->shape);
        if (rc) return -1;
        hp_ws(h);
        if (h->pos < h->n && h->s[h->pos] == ',') {
            h->pos++;
            continue;
        }
        if (h->pos < h->n && h->s[h->pos] == '}') break;
        return hp_fail(h, "',' or '}'");
    }
    h->pos++;
    hp_ws(h);
    if (h->pos != h->n) return hp_fail(h, "only padding after '}'");
    for (int k = 0; k < 3; k++)
        if (!seen[k]) return vc_fail(h->err, "%s: bad .npy header: missing key '%s'", h->path, KEYS[k]);
    return 0;
}

static int descr_to_dtype(const char *path, const char *descr, vc_dtype *out, vc_error *err) {
    for (size_t i = 0; i < N_DESCRS; i++)
        if (!strcmp(descr, DESCRS[i].descr)) {
            *out = DESCRS[i].dtype;
            return 0;
        }
    if (descr[0] == '>') return vc_fail(err, "%s: big-endian data ('%s') is not supported; save it little-endian", path, descr);
    return vc_fail(err, "%s: unsupported dtype '%s' (supported: <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1)", path, descr);
}

/* Elements and bytes of a shape, or -1 on overflow. */
static int shape_bytes(int ndim, const int64_t *shape, size_t esz, size_t *nbytes) {
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        if (shape[i] == 0) { /* empty, however large the other dims */
            *nbytes = 0;
            return 0;
        }
    }
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if ((uint64_t)shape[i] > SIZE_MAX) return -1;
        if (shape[i] && count > SIZE_MAX / (size_t)shape[i]) return -1;
        count *= (size_t)shape[i];
    }
    if (esz && count > SIZE_MAX / esz) return -1;
    *nbytes = count * esz;
    return 0;
}

/* ---- reading ---- */

static int read_exact(FILE *f, void *buf, size_t n) { return n == 0 || fread(buf, 1, n, f) == n ? 0 : -1; }

/* The header (and, with_data, the data) into *out; the file size must match the header either way. */
static int read_file(FILE *f, const char *path, int with_data, vc_npy *out, vc_error *err) {
    struct stat st;
    if (fstat(fileno(f), &st)) return vc_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return vc_fail(err, "%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size;
    unsigned char pre[12];
    if (size < 10 || read_exact(f, pre, 10)) return vc_fail(err, "%s: too short to be a .npy file (%llu bytes)", path, (unsigned long long)size);
    if (memcmp(pre, MAGIC, 6)) return vc_fail(err, "%s: not a .npy file (missing the \\x93NUMPY magic)", path);
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0) return vc_fail(err, "%s: unsupported .npy format version %d.%d", path, major, minor);
    uint64_t hlen, hstart;
    if (major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        hstart = 10;
    } else {
        if (size < 12 || read_exact(f, pre + 10, 2)) return vc_fail(err, "%s: truncated in the .npy preamble", path);
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
        hstart = 12;
    }
    if (hlen > size - hstart)
        return vc_fail(err, "%s: header length %llu runs past the end of the file (%llu bytes)", path,
                       (unsigned long long)hlen, (unsigned long long)size);
    char *text = malloc(hlen + 1);
    if (!text) return vc_fail(err, "%s: out of memory for a %llu-byte header", path, (unsigned long long)hlen);
    if (read_exact(f, text, hlen)) {
        free(text);
        return vc_fail(err, "%s: read error in the header", path);
    }
    npy_header h = {.ndim = 0};
    hdr_parser hp = {text, hlen, 0, path, err};
    int rc = parse_header(&hp, &h);
    free(text);
    if (rc) return -1;
    vc_dtype dt = VC_DT_F32;
    if (descr_to_dtype(path, h.descr, &dt, err)) return -1;
    if (h.fortran) { /* Fortran order only differs from C order if two or more dims exceed 1. */
        int big = 0;
        for (int i = 0; i < h.ndim; i++) big += h.shape[i] > 1;
        if (big > 1) return vc_fail(err, "%s: Fortran-order arrays are not supported (save with np.ascontiguousarray)", path);
    }
    size_t nbytes;
    if (shape_bytes(h.ndim, h.shape, vc_dtype_size(dt), &nbytes))
        return vc_fail(err, "%s: array size overflows", path);
    uint64_t avail = size - hstart - hlen;
    if (avail < nbytes)
        return vc_fail(err, "%s: truncated: the data needs %zu bytes but the file has %llu after the header", path,
                       nbytes, (unsigned long long)avail);
    if (avail > nbytes)
        return vc_fail(err, "%s: %llu unexpected bytes after the %zu bytes of data", path,
                       (unsigned long long)(avail - nbytes), nbytes);
    out->dtype = dt;
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    if (!with_data) return 0;
    void *data = malloc(nbytes ? nbytes : 1);
    if (!data) return vc_fail(err, "%s: out of memory for %zu bytes of data", path, nbytes);
    if (read_exact(f, data, nbytes)) {
        free(data);
        return vc_fail(err, "%s: read error in the data", path);
    }
    out->data = data;
    out->nbytes = nbytes;
    return 0;
}

static int read_path(const char *path, int with_data, vc_npy *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return vc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    int rc = read_file(f, path, with_data, out, err);
    fclose(f);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

int vc_npy_read(const char *path, vc_npy *out, vc_error *err) { return read_path(path, 1, out, err); }

int vc_npy_read_header(const char *path, vc_npy *out, vc_error *err) { return read_path(path, 0, out, err); }

void vc_npy_free(vc_npy *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- writing ---- */

int vc_npy_write(const char *path, vc_dtype dtype, int ndim, const int64_t *shape, const void *data, vc_error *err) {
    const char *descr = NULL;
    for (size_t i = 0; i < N_DESCRS; i++)
        if (DESCRS[i].dtype == dtype) descr = DESCRS[i].descr;
    if (!descr) return vc_fail(err, "%s: dtype %s has no .npy equivalent", path, vc_dtype_name(dtype));
    if (ndim < 0 || ndim > VC_NPY_MAX_DIMS)
        return vc_fail(err, "%s: %d dimensions (at most %d supported)", path, ndim, VC_NPY_MAX_DIMS);
    size_t nbytes;
    if (shape_bytes(ndim, shape, vc_dtype_size(dtype), &nbytes))
        return vc_fail(err, "%s: invalid shape (negative dimension or size overflow)", path);
    if (nbytes && !data) return vc_fail(err, "%s: no data given for %zu bytes", path, nbytes);

    vc_strbuf hdr = VC_STRBUF_INIT;
    int rc = vc_sb_appendf(&hdr, err, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim && !rc; i++) rc = vc_sb_appendf(&hdr, err, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (!rc) rc = vc_sb_puts(&hdr, ndim == 1 ? ",), }" : "), }", err);
    /* Pad with spaces and end with '\n' so the data starts at a multiple of 64 bytes. */
    size_t pre = hdr.len + 1 + 10 > 65535 ? 12 : 10;
    while (!rc && (pre + hdr.len + 1) % 64) rc = vc_sb_putc(&hdr, ' ', err);
    if (!rc) rc = vc_sb_putc(&hdr, '\n', err);
    if (rc) {
        vc_sb_free(&hdr);
        return vc_fail_ctx(err, "%s", path);
    }
    unsigned char preamble[12];
    memcpy(preamble, MAGIC, 6);
    preamble[6] = pre == 10 ? 1 : 2;
    preamble[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) preamble[8 + i] = (unsigned char)(hdr.len >> (8 * i));

    vc_atomic_file *f = vc_atomic_open(path, err);
    rc = f ? 0 : -1;
    if (!rc) rc = vc_atomic_write(f, preamble, pre, err);
    if (!rc) rc = vc_atomic_write(f, hdr.data, hdr.len, err);
    if (!rc) rc = vc_atomic_write(f, data, nbytes, err);
    if (!rc) rc = vc_atomic_commit(f, err);
    else vc_atomic_abort(f);
    vc_sb_free(&hdr);
    return rc;
}
