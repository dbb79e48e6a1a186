#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/json.h"
#include "io/strbuf.h"

struct vc_safetensors {
    char *path;
    void *map;
    size_t map_size;
    vc_json *header; /* owns the tensor names and metadata strings */
    const vc_json *meta;
    vc_st_tensor *tensors;
    int count;
    int *by_name; /* tensor indices sorted by name, for vc_st_find */
};

/* Messages show at most this much of a name taken from a file. */
#define SHOW 200

static size_t show_len(size_t n) { return n > SHOW ? SHOW : n; }

/* "[768,512]" (cut with "..." if it does not fit). */
static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* prod(shape) * esz, or -1 on overflow. */
static int tensor_bytes(int ndim, const int64_t *shape, size_t esz, uint64_t *out) {
    uint64_t total = esz;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return -1;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d && total > UINT64_MAX / d) {
            /* A zero dim later would still make the product zero. */
            for (int j = i + 1; j < ndim; j++)
                if (shape[j] == 0) {
                    *out = 0;
                    return 0;
                }
            return -1;
        }
        total *= d;
    }
    if (total > SIZE_MAX) return -1;
    *out = total;
    return 0;
}

static int is_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = vc_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* ---------------- reader ---------------- */

static int parse_metadata(vc_safetensors *st, const vc_json *meta, vc_error *err) {
    if (vc_json_type(meta) != VC_JSON_OBJECT)
        return vc_fail(err, "%s: '__metadata__' must be an object of strings, got %s", st->path,
                       vc_json_type_name(vc_json_type(meta)));
    for (size_t i = 0; i < vc_json_len(meta); i++) {
        const vc_json *v = vc_json_value_at(meta, i);
        const char *key = vc_json_key_at(meta, i);
        size_t klen = vc_json_key_len_at(meta, i);
        if (vc_json_type(v) != VC_JSON_STRING)
            return vc_fail(err, "%s: metadata '%.*s' must be a string, got %s", st->path, (int)show_len(klen), key,
                           vc_json_type_name(vc_json_type(v)));
        if (strlen(key) != klen || strlen(vc_json_string(v)) != vc_json_string_len(v))
            return vc_fail(err, "%s: metadata '%.*s' contains a NUL character", st->path, (int)show_len(klen), key);
    }
    st->meta = meta;
    return 0;
}

/* Reads a non-negative int64 array (shape or data_offsets) of at most max_len items. */
static int int_array(const vc_json *a, int64_t *out, int max_len, int *len) {
    if (vc_json_type(a) != VC_JSON_ARRAY || vc_json_len(a) > (size_t)max_len) return -1;
    for (size_t i = 0; i < vc_json_len(a); i++)
        if (vc_json_as_int64(vc_json_at(a, i), &out[i]) || out[i] < 0) return -1;
    *len = (int)vc_json_len(a);
    return 0;
}

static int parse_entry(vc_safetensors *st, const char *name, size_t name_len, const vc_json *e, uint64_t data_size,
                       const unsigned char *data, uint64_t *begin_out, vc_st_tensor *t, vc_error *err) {
    const int nl = (int)show_len(name_len);
    if (strlen(name) != name_len) return vc_fail(err, "%s: tensor name '%.*s' contains a NUL character", st->path, nl, name);
    if (vc_json_type(e) != VC_JSON_OBJECT)
        return vc_fail(err, "%s: tensor '%.*s': entry must be an object, got %s", st->path, nl, name,
                       vc_json_type_name(vc_json_type(e)));
    for (size_t i = 0; i < vc_json_len(e); i++) {
        const char *k = vc_json_key_at(e, i);
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
            return vc_fail(err, "%s: tensor '%.*s': unexpected field '%.*s'", st->path, nl, name,
                           (int)show_len(vc_json_key_len_at(e, i)), k);
    }
    const vc_json *dt = vc_json_get(e, "dtype"), *shape = vc_json_get(e, "shape"), *offs = vc_json_get(e, "data_offsets");
    if (!dt || !shape || !offs)
        return vc_fail(err, "%s: tensor '%.*s': missing field '%s'", st->path, nl, name,
                       !dt ? "dtype" : !shape ? "shape" : "data_offsets");
    if (vc_json_type(dt) != VC_JSON_STRING)
        return vc_fail(err, "%s: tensor '%.*s': 'dtype' must be a string", st->path, nl, name);
    if (vc_dtype_from_name(vc_json_string(dt), &t->dtype))
        return vc_fail(err, "%s: tensor '%.*s': unsupported dtype '%.*s'", st->path, nl, name,
                       (int)show_len(vc_json_string_len(dt)), vc_json_string(dt));
    if (vc_json_type(shape) == VC_JSON_ARRAY && vc_json_len(shape) > VC_ST_MAX_DIMS)
        return vc_fail(err, "%s: tensor '%.*s': %zu dimensions (at most %d supported)", st->path, nl, name,
                       vc_json_len(shape), VC_ST_MAX_DIMS);
    if (int_array(shape, t->shape, VC_ST_MAX_DIMS, &t->ndim))
        return vc_fail(err, "%s: tensor '%.*s': 'shape' must be an array of non-negative integers", st->path, nl, name);
    int64_t o[2];
    int no = 0;
    if (int_array(offs, o, 2, &no) || no != 2)
        return vc_fail(err, "%s: tensor '%.*s': 'data_offsets' must be [begin, end] with non-negative integers",
                       st->path, nl, name);
    if (o[1] < o[0] || (uint64_t)o[1] > data_size)
        return vc_fail(err, "%s: tensor '%.*s': data_offsets [%lld,%lld] out of range (data section is %llu bytes)",
                       st->path, nl, name, (long long)o[0], (long long)o[1], (unsigned long long)data_size);
    uint64_t need;
    char sh[128];
    format_shape(sh, sizeof sh, t->ndim, t->shape);
    if (tensor_bytes(t->ndim, t->shape, vc_dtype_size(t->dtype), &need))
        return vc_fail(err, "%s: tensor '%.*s': shape %s is too large", st->path, nl, name, sh);
    if (need != (uint64_t)(o[1] - o[0]))
        return vc_fail(err, "%s: tensor '%.*s': data_offsets [%lld,%lld] span %llu bytes but %s %s needs %llu",
                       st->path, nl, name, (long long)o[0], (long long)o[1], (unsigned long long)(o[1] - o[0]),
                       vc_dtype_name(t->dtype), sh, (unsigned long long)need);
    t->name = name;
    t->data = data + o[0];
    t->nbytes = (size_t)need;
    *begin_out = (uint64_t)o[0];
    return 0;
}

typedef struct {
    uint64_t begin, end;
    int index;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int check_overlaps(vc_safetensors *st, const uint64_t *begins, vc_error *err) {
    span *s = malloc((size_t)(st->count ? st->count : 1) * sizeof *s);
    if (!s) return vc_fail(err, "%s: out of memory", st->path);
    int n = 0;
    for (int i = 0; i < st->count; i++)
        if (st->tensors[i].nbytes) /* empty tensors occupy no bytes */
            s[n++] = (span){begins[i], begins[i] + st->tensors[i].nbytes, i};
    qsort(s, (size_t)n, sizeof *s, cmp_span);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (s[i].begin < s[i - 1].end)
            rc = vc_fail(err, "%s: tensors '%.*s' and '%.*s' overlap in the data section", st->path,
                         (int)show_len(strlen(st->tensors[s[i - 1].index].name)), st->tensors[s[i - 1].index].name,
                         (int)show_len(strlen(st->tensors[s[i].index].name)), st->tensors[s[i].index].name);
    free(s);
    return rc;
}

/* qsort has no context argument, so the name index sorts pointers to tensors instead. */
static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const vc_st_tensor *const *)a)->name, (*(const vc_st_tensor *const *)b)->name);
}

static int build_name_index(vc_safetensors *st, vc_error *err) {
    const vc_st_tensor **order = malloc((size_t)(st->count ? st->count : 1) * sizeof *order);
    st->by_name = malloc((size_t)(st->count ? st->count : 1) * sizeof *st->by_name);
    if (!order || !st->by_name) {
        free(order);
        return vc_fail(err, "%s: out of memory", st->path);
    }
    for (int i = 0; i < st->count; i++) order[i] = &st->tensors[i];
    qsort(order, (size_t)st->count, sizeof *order, cmp_tensor_name);
    for (int i = 0; i < st->count; i++) st->by_name[i] = (int)(order[i] - st->tensors);
    free(order);
    return 0;
}

static int parse_header(vc_safetensors *st, uint64_t header_len, vc_error *err) {
    const unsigned char *base = st->map;
    st->header = vc_json_parse((const char *)base + 8, (size_t)header_len, err);
    if (!st->header) return vc_fail_ctx(err, "%s: header", st->path);
    const vc_json *root = st->header;
    if (vc_json_type(root) != VC_JSON_OBJECT)
        return vc_fail(err, "%s: header must be a JSON object, got %s", st->path, vc_json_type_name(vc_json_type(root)));
    size_t members = vc_json_len(root);
    if (members > INT_MAX / 2) return vc_fail(err, "%s: too many tensors (%zu)", st->path, members);
    st->tensors = calloc(members ? members : 1, sizeof *st->tensors);
    uint64_t *begins = malloc((members ? members : 1) * sizeof *begins);
    int rc = st->tensors && begins ? 0 : vc_fail(err, "%s: out of memory", st->path);
    const uint64_t data_size = st->map_size - 8 - header_len;
    const unsigned char *data = base + 8 + header_len;
    for (size_t i = 0; i < members && !rc; i++) {
        const char *key = vc_json_key_at(root, i);
        const vc_json *v = vc_json_value_at(root, i);
        if (!strcmp(key, "__metadata__")) {
            rc = parse_metadata(st, v, err);
            continue;
        }
        rc = parse_entry(st, key, vc_json_key_len_at(root, i), v, data_size, data, &begins[st->count],
                         &st->tensors[st->count], err);
        if (!rc) st->count++;
    }
    if (!rc) rc = check_overlaps(st, begins, err);
    if (!rc) rc = build_name_index(st, err);
    free(begins);
    return rc;
}

vc_safetensors *vc_st_open(const char *path, vc_error *err) {
    vc_safetensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        vc_fail(err, "%s: out of memory", path);
        return NULL;
    }
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) rc = vc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    else if (fstat(fd, &sb)) rc = vc_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) rc = vc_fail(err, "%s: not a regular file", path);
    else if (sb.st_size < 8)
        rc = vc_fail(err, "%s: file is %lld bytes, too short for the 8-byte header length", path, (long long)sb.st_size);
    else if ((uint64_t)sb.st_size > SIZE_MAX) rc = vc_fail(err, "%s: file too large to map", path);
    if (!rc) {
        st->map_size = (size_t)sb.st_size;
        st->map = mmap(NULL, st->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (st->map == MAP_FAILED) {
            st->map = NULL;
            rc = vc_fail(err, "%s: cannot map: %s", path, strerror(errno));
        }
    }
    if (fd >= 0) close(fd);
    if (!rc) {
        const unsigned char *b = st->map;
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
        if (n > st->map_size - 8)
            rc = vc_fail(err, "%s: header length %llu exceeds the file size (%zu bytes): truncated or not a safetensors file",
                         path, (unsigned long long)n, st->map_size);
        else if (n > VC_ST_MAX_HEADER)
            rc = vc_fail(err, "%s: header length %llu is larger than the %llu-byte limit", path, (unsigned long long)n,
                         VC_ST_MAX_HEADER);
        else rc = parse_header(st, n, err);
    }
    if (rc) {
        vc_st_close(st);
        return NULL;
    }
    return st;
}

void vc_st_close(vc_safetensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_size);
    vc_json_free(st->header);
    free(st->tensors);
    free(st->by_name);
    free(st->path);
    free(st);
}

int vc_st_count(const vc_safetensors *st) { return st->count; }

const vc_st_tensor *vc_st_at(const vc_safetensors *st, int i) {
    return i >= 0 && i < st->count ? &st->tensors[i] : NULL;
}

const vc_st_tensor *vc_st_find(const vc_safetensors *st, const char *name) {
    int lo = 0, hi = st->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const vc_st_tensor *t = &st->tensors[st->by_name[mid]];
        int c = strcmp(t->name, name);
        if (!c) return t;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *vc_st_meta(const vc_safetensors *st, const char *key) {
    return vc_json_string(vc_json_get(st->meta, key));
}

const char *vc_st_path(const vc_safetensors *st) { return st->path; }

static const vc_st_tensor *find_shaped(const vc_safetensors *st, const char *name, int ndim, const int64_t *shape,
                                       vc_error *err) {
    const vc_st_tensor *t = vc_st_find(st, name);
    if (!t) {
        vc_fail(err, "%s: missing tensor '%s'", st->path, name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char have[128], want[128];
        format_shape(have, sizeof have, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim > 0 && ndim <= VC_ST_MAX_DIMS ? ndim : 0, shape);
        vc_fail(err, "%s: tensor '%s' has shape %s, expected %s", st->path, name, have, want);
        return NULL;
    }
    return t;
}

static size_t numel(const vc_st_tensor *t) {
    size_t esz = vc_dtype_size(t->dtype);
    return esz ? t->nbytes / esz : 0;
}

static int not_float(const vc_safetensors *st, const vc_st_tensor *t, vc_error *err) {
    return vc_fail(err, "%s: tensor '%s' has dtype %s, expected a float dtype (F32, F16, BF16, F64)", st->path, t->name,
                   vc_dtype_name(t->dtype));
}

int vc_st_read_f32(const vc_safetensors *st, const char *name, float *dst, int ndim, const int64_t *shape, vc_error *err) {
    const vc_st_tensor *t = find_shaped(st, name, ndim, shape, err);
    if (!t) return -1;
    if (vc_convert_to_f32(dst, t->data, t->dtype, numel(t))) return not_float(st, t, err);
    return 0;
}

int vc_st_read_f64(const vc_safetensors *st, const char *name, double *dst, int ndim, const int64_t *shape, vc_error *err) {
    const vc_st_tensor *t = find_shaped(st, name, ndim, shape, err);
    if (!t) return -1;
    if (vc_convert_to_f64(dst, t->data, t->dtype, numel(t))) return not_float(st, t, err);
    return 0;
}

int vc_st_read_i32(const vc_safetensors *st, const char *name, int32_t *dst, int ndim, const int64_t *shape, vc_error *err) {
    const vc_st_tensor *t = find_shaped(st, name, ndim, shape, err);
    if (!t) return -1;
    const unsigned char *p = t->data;
    size_t n = numel(t);
    switch (t->dtype) {
    case VC_DT_I32:
        if (n) memcpy(dst, p, n * 4);
        return 0;
    case VC_DT_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            if (v < INT32_MIN || v > INT32_MAX)
                return vc_fail(err, "%s: tensor '%s' element %zu (%lld) does not fit in int32", st->path, name, i,
                               (long long)v);
            dst[i] = (int32_t)v;
        }
        return 0;
    case VC_DT_I16:
        for (size_t i = 0; i < n; i++) {
            int16_t v;
            memcpy(&v, p + 2 * i, 2);
            dst[i] = v;
        }
        return 0;
    case VC_DT_I8:
        for (size_t i = 0; i < n; i++) dst[i] = (int8_t)p[i];
        return 0;
    case VC_DT_U8:
        for (size_t i = 0; i < n; i++) dst[i] = p[i];
        return 0;
    default:
        return vc_fail(err, "%s: tensor '%s' has dtype %s, expected an integer dtype (I32, I64, I16, I8, U8)", st->path,
                       name, vc_dtype_name(t->dtype));
    }
}

/* ---------------- writer ---------------- */

typedef struct {
    char *name;
    vc_dtype dtype;
    int ndim;
    int64_t shape[VC_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} pending_tensor;

struct vc_st_writer {
    pending_tensor *t;
    int n, cap;
    char **meta; /* key, value, key, value, ... */
    int nmeta, meta_cap;
};

vc_st_writer *vc_st_writer_new(void) { return calloc(1, sizeof(vc_st_writer)); }

void vc_st_writer_free(vc_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < 2 * w->nmeta; i++) free(w->meta[i]);
    free(w->t);
    free(w->meta);
    free(w);
}

int vc_st_writer_add(vc_st_writer *w, const char *name, vc_dtype dtype, int ndim, const int64_t *shape,
                     const void *data, vc_error *err) {
    if (!name) return vc_fail(err, "safetensors writer: tensor without a name");
    if (!strcmp(name, "__metadata__")) return vc_fail(err, "safetensors writer: '__metadata__' is reserved, not a tensor name");
    if (!is_utf8(name, strlen(name))) return vc_fail(err, "safetensors writer: tensor name '%s' is not valid UTF-8", name);
    if (!vc_dtype_size(dtype)) return vc_fail(err, "safetensors writer: tensor '%s' has an invalid dtype (%d)", name, (int)dtype);
    if (ndim < 0 || ndim > VC_ST_MAX_DIMS || (ndim && !shape))
        return vc_fail(err, "safetensors writer: tensor '%s' has %d dimensions (0..%d supported)", name, ndim, VC_ST_MAX_DIMS);
    uint64_t nbytes;
    if (tensor_bytes(ndim, shape, vc_dtype_size(dtype), &nbytes))
        return vc_fail(err, "safetensors writer: tensor '%s' has a negative dimension or too many elements", name);
    if (nbytes && !data) return vc_fail(err, "safetensors writer: tensor '%s' has no data", name);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) return vc_fail(err, "safetensors writer: duplicate tensor name '%s'", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        pending_tensor *t = cap < INT_MAX / 2 ? realloc(w->t, (size_t)cap * sizeof *t) : NULL;
        if (!t) return vc_fail(err, "safetensors writer: out of memory");
        w->t = t;
        w->cap = cap;
    }
    pending_tensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return vc_fail(err, "safetensors writer: out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = data;
    t->nbytes = (size_t)nbytes;
    w->n++;
    return 0;
}

int vc_st_writer_meta(vc_st_writer *w, const char *key, const char *value, vc_error *err) {
    if (!key || !value) return vc_fail(err, "safetensors writer: metadata key and value are required");
    if (!is_utf8(key, strlen(key)) || !is_utf8(value, strlen(value)))
        return vc_fail(err, "safetensors writer: metadata '%s' is not valid UTF-8", key);
    for (int i = 0; i < w->nmeta; i++)
        if (!strcmp(w->meta[2 * i], key)) return vc_fail(err, "safetensors writer: duplicate metadata key '%s'", key);
    if (w->nmeta == w->meta_cap) {
        int cap = w->meta_cap ? 2 * w->meta_cap : 8;
        char **m = cap < INT_MAX / 4 ? realloc(w->meta, 2 * (size_t)cap * sizeof *m) : NULL;
        if (!m) return vc_fail(err, "safetensors writer: out of memory");
        w->meta = m;
        w->meta_cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k), free(v);
        return vc_fail(err, "safetensors writer: out of memory");
    }
    w->meta[2 * w->nmeta] = k;
    w->meta[2 * w->nmeta + 1] = v;
    w->nmeta++;
    return 0;
}

/* Data order: wider elements first (stable), so each tensor starts at a multiple of its
 * element size given the 8-aligned data section, as the reference writer arranges it. */
static void data_order(const vc_st_writer *w, int *order) {
    int k = 0;
    static const size_t WIDTHS[] = {8, 4, 2, 1};
    for (size_t wi = 0; wi < 4; wi++)
        for (int i = 0; i < w->n; i++)
            if (vc_dtype_size(w->t[i].dtype) == WIDTHS[wi]) order[k++] = i;
}

static int build_header(const vc_st_writer *w, const uint64_t *offsets, vc_strbuf *h, vc_error *err) {
    int rc = vc_sb_putc(h, '{', err);
    if (!rc && w->nmeta) {
        rc = vc_sb_puts(h, "\"__metadata__\":{", err);
        for (int i = 0; i < w->nmeta && !rc; i++) {
            if (i) rc = vc_sb_putc(h, ',', err);
            if (!rc) rc = vc_sb_append_json_string(h, w->meta[2 * i], strlen(w->meta[2 * i]), err);
            if (!rc) rc = vc_sb_putc(h, ':', err);
            if (!rc) rc = vc_sb_append_json_string(h, w->meta[2 * i + 1], strlen(w->meta[2 * i + 1]), err);
        }
        if (!rc) rc = vc_sb_putc(h, '}', err);
    }
    for (int i = 0; i < w->n && !rc; i++) {
        const pending_tensor *t = &w->t[i];
        if (i || w->nmeta) rc = vc_sb_putc(h, ',', err);
        if (!rc) rc = vc_sb_append_json_string(h, t->name, strlen(t->name), err);
        if (!rc) rc = vc_sb_appendf(h, err, ":{\"dtype\":\"%s\",\"shape\":[", vc_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim && !rc; d++) rc = vc_sb_appendf(h, err, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        if (!rc)
            rc = vc_sb_appendf(h, err, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offsets[i],
                               (unsigned long long)(offsets[i] + t->nbytes));
    }
    if (!rc) rc = vc_sb_putc(h, '}', err);
    while (!rc && h->len % 8) rc = vc_sb_putc(h, ' ', err);
    return rc;
}

int vc_st_writer_write(const vc_st_writer *w, const char *path, vc_error *err) {
    int n = w->n;
    int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    uint64_t *offsets = malloc((size_t)(n ? n : 1) * sizeof *offsets);
    vc_strbuf h = VC_STRBUF_INIT;
    int rc = order && offsets ? 0 : vc_fail(err, "out of memory");
    if (!rc) {
        data_order(w, order);
        uint64_t off = 0;
        for (int k = 0; k < n; k++) {
            offsets[order[k]] = off;
            off += w->t[order[k]].nbytes;
        }
        rc = build_header(w, offsets, &h, err);
    }
    if (rc) vc_fail_ctx(err, "%s", path);
    vc_atomic_file *f = NULL;
    if (!rc) rc = (f = vc_atomic_open(path, err)) ? 0 : -1;
    if (!rc) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
        rc = vc_atomic_write(f, len8, 8, err);
        if (!rc) rc = vc_atomic_write(f, h.data, h.len, err);
        for (int k = 0; k < n && !rc; k++) rc = vc_atomic_write(f, w->t[order[k]].data, w->t[order[k]].nbytes, err);
        if (!rc) rc = vc_atomic_commit(f, err);
        else vc_atomic_abort(f);
    }
    vc_sb_free(&h);
    free(order);
    free(offsets);
    return rc;
}
