/* Reading checkpoint files into named float32 tensors (see model/import.h). */
#include "model/import.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/pickle.h"
#include "io/safetensors.h"
#include "io/zip.h"

#define MAX_NEST 32
#define MAX_NAME 512

/* Where storage bytes come from: a zip archive, or the legacy file's storage table. */
typedef struct {
    const char *key;
    const uint8_t *data; /* numel * element size bytes */
} legacy_storage;

typedef struct {
    const char *label;
    const vc_zip *zip;        /* zip archives */
    const char *zip_prefix;
    legacy_storage *legacy;   /* legacy files */
    size_t n_legacy;
} storage_source;

void vc_imp_set_free(vc_imp_set *s) {
    if (!s) return;
    for (int i = 0; i < s->count; i++) {
        free(s->t[i].name);
        free(s->t[i].data);
    }
    free(s->t);
    memset(s, 0, sizeof *s);
}

const vc_imp_tensor *vc_imp_find(const vc_imp_set *s, const char *name) {
    for (int i = 0; i < s->count; i++)
        if (!strcmp(s->t[i].name, name)) return &s->t[i];
    return NULL;
}

static vc_imp_tensor *add_tensor(vc_imp_set *s, int *cap, const char *name, vc_error *err) {
    if (s->count == *cap) {
        int c = *cap ? 2 * *cap : 64;
        vc_imp_tensor *n = realloc(s->t, (size_t)c * sizeof *n);
        if (!n) {
            vc_fail(err, "out of memory");
            return NULL;
        }
        s->t = n;
        *cap = c;
    }
    vc_imp_tensor *t = &s->t[s->count];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) {
        vc_fail(err, "out of memory");
        return NULL;
    }
    s->count++;
    return t;
}

static void count_conversion(vc_imp_set *s, vc_dtype dt, size_t n) {
    if (dt == VC_DT_F16 || dt == VC_DT_BF16) s->converted_half += n;
    if (dt == VC_DT_F64) s->converted_f64 += n;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(((const vc_imp_tensor *)a)->name, ((const vc_imp_tensor *)b)->name);
}

/* Names must be unique; sorting a copy of the index keeps the check O(n log n). */
static int check_unique(const vc_imp_set *s, const char *label, vc_error *err) {
    if (s->count < 2) return 0;
    vc_imp_tensor *copy = malloc((size_t)s->count * sizeof *copy);
    if (!copy) return vc_fail(err, "out of memory");
    memcpy(copy, s->t, (size_t)s->count * sizeof *copy);
    qsort(copy, (size_t)s->count, sizeof *copy, cmp_names);
    int rc = 0;
    for (int i = 1; i < s->count && !rc; i++)
        if (!strcmp(copy[i - 1].name, copy[i].name)) rc = vc_fail(err, "%s: tensor '%s' appears twice", label, copy[i].name);
    free(copy);
    return rc;
}

/* ---- tensors from pickles ---------------------------------------------------------------- */

static int storage_bytes(const storage_source *src, const vc_pk_value *st, const uint8_t **data, void **owned,
                         vc_error *err) {
    *owned = NULL;
    size_t esz = vc_dtype_size(st->dtype), need_bytes;
    if (__builtin_mul_overflow((size_t)st->numel, esz, &need_bytes))
        return vc_fail(err, "%s: storage '%s' is too large", src->label, st->s);
    if (src->zip) {
        char name[MAX_NAME + 64];
        snprintf(name, sizeof name, "%sdata/%s", src->zip_prefix, st->s);
        const vc_zip_entry *e = vc_zip_find(src->zip, name);
        if (!e) return vc_fail(err, "%s: storage '%s' is missing from the archive (no entry '%s')", src->label, st->s, name);
        const void *p;
        size_t n;
        if (vc_zip_read(src->zip, e, &p, &n, owned, err)) return -1;
        if (n < need_bytes) {
            free(*owned);
            *owned = NULL;
            return vc_fail(err, "%s: storage '%s' has %zu bytes, its tensors need %zu", src->label, st->s, n, need_bytes);
        }
        *data = p;
        return 0;
    }
    for (size_t i = 0; i < src->n_legacy; i++)
        if (!strcmp(src->legacy[i].key, st->s)) {
            *data = src->legacy[i].data;
            return 0;
        }
    return vc_fail(err, "%s: storage '%s' is missing from the file", src->label, st->s);
}

static int is_contiguous(const vc_pk_value *t) {
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
        expect *= t->shape[i];
    }
    return 1;
}

/* Copies a (possibly strided) tensor out of its storage, converting to float32. */
static int materialize(vc_imp_set *s, vc_imp_tensor *out, const vc_pk_value *t, const storage_source *src,
                       vc_error *err) {
    const vc_pk_value *st = t->storage;
    out->src_dtype = st->dtype;
    out->ndim = t->ndim;
    out->numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        out->shape[i] = t->shape[i];
        out->numel *= (size_t)t->shape[i]; /* bounded by the storage size (checked in the VM) */
    }
    if (!vc_dtype_is_float(st->dtype)) return 0; /* integer buffers: listed, not loaded */
    const uint8_t *base = NULL;
    void *owned = NULL;
    if (storage_bytes(src, st, &base, &owned, err)) return -1;
    out->data = malloc((out->numel ? out->numel : 1) * sizeof *out->data);
    if (!out->data) {
        free(owned);
        return vc_fail(err, "%s: out of memory for tensor '%s' (%zu elements)", src->label, out->name, out->numel);
    }
    const size_t esz = vc_dtype_size(st->dtype);
    if (is_contiguous(t)) {
        vc_convert_to_f32(out->data, base + (size_t)t->offset * esz, st->dtype, out->numel);
    } else {
        int64_t idx[VC_PK_MAX_DIMS] = {0};
        for (size_t k = 0; k < out->numel; k++) {
            int64_t off = t->offset;
            for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
            vc_convert_to_f32(out->data + k, base + (size_t)off * esz, st->dtype, 1);
            for (int d = t->ndim - 1; d >= 0; d--) {
                if (++idx[d] < t->shape[d]) break;
                idx[d] = 0;
            }
        }
    }
    count_conversion(s, st->dtype, out->numel);
    free(owned);
    return 0;
}

typedef struct {
    vc_imp_set *s;
    int cap;
    const storage_source *src;
    vc_error *err;
    size_t budget; /* values left to visit: shared (memoised) values could make the walk exponential */
} flattener;

/* Walks dicts and TorchScript objects; tensors get dotted names. Other values are skipped. */
static int flatten(flattener *f, const vc_pk_value *v, char *name, size_t len, int depth) {
    if (!f->budget--) return vc_fail(f->err, "%s: the object graph shares values too often (at '%s')", f->src->label, name);
    if (depth > MAX_NEST) return vc_fail(f->err, "%s: values nested more than %d deep at '%s' (cyclic?)", f->src->label, MAX_NEST, name);
    if (v->kind == VC_PK_TENSOR) {
        if (!len) return vc_fail(f->err, "%s: the file holds a single tensor, not a state dict", f->src->label);
        vc_imp_tensor *t = add_tensor(f->s, &f->cap, name, f->err);
        return t ? materialize(f->s, t, v, f->src, f->err) : -1;
    }
    if (v->kind == VC_PK_OBJECT) return v->attrs ? flatten(f, v->attrs, name, len, depth + 1) : 0;
    if (v->kind != VC_PK_DICT) return 0;
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        const vc_pk_value *k = v->items[i];
        if (k->kind != VC_PK_STR) continue;
        if (strlen(k->s) != k->len) return vc_fail(f->err, "%s: a key contains a NUL byte", f->src->label);
        if (len + k->len + 2 > MAX_NAME) return vc_fail(f->err, "%s: tensor name longer than %d bytes", f->src->label, MAX_NAME);
        size_t n = len;
        if (len) name[n++] = '.';
        memcpy(name + n, k->s, k->len + 1);
        if (flatten(f, v->items[i + 1], name, n + k->len, depth + 1)) return -1;
        name[len] = 0;
    }
    return 0;
}

/* The state dict inside a checkpoint: {"model": sd}, {"state_dict": sd}, {"module": sd}, or sd. */
static const vc_pk_value *select_state_dict(const vc_pk_value *root) {
    static const char *const keys[] = {"model", "state_dict", "module"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const vc_pk_value *v = vc_pk_dict_get(root, keys[i]);
        if (v && (v->kind == VC_PK_DICT || v->kind == VC_PK_OBJECT)) return v;
    }
    return root;
}

static void strip_common_prefix(vc_imp_set *s, const char *prefix) {
    size_t n = strlen(prefix);
    for (int i = 0; i < s->count; i++)
        if (strncmp(s->t[i].name, prefix, n) || !s->t[i].name[n]) return;
    for (int i = 0; i < s->count; i++) memmove(s->t[i].name, s->t[i].name + n, strlen(s->t[i].name + n) + 1);
}

static int tensors_from_pickle(const vc_pickle *p, const storage_source *src, vc_imp_set *s, vc_error *err) {
    const vc_pk_value *root = vc_pickle_root(p);
    if (root->kind != VC_PK_DICT && root->kind != VC_PK_OBJECT)
        return vc_fail(err, "%s: the pickled object is not a dict or module (kind %d)", src->label, (int)root->kind);
    flattener f = {s, 0, src, err, 4 * vc_pickle_value_count(p) + 64};
    char name[MAX_NAME + 8] = "";
    if (flatten(&f, select_state_dict(root), name, 0, 0)) return -1;
    if (!s->count) return vc_fail(err, "%s: no tensors found", src->label);
    strip_common_prefix(s, "module.");
    return check_unique(s, src->label, err);
}

/* ---- formats ------------------------------------------------------------------------------ */

static int read_zip(const void *data, size_t size, const char *label, vc_imp_set *s, vc_error *err) {
    vc_zip *z = vc_zip_open_mem(data, size, label, err);
    if (!z) return -1;
    const char *prefix = vc_zip_prefix(z);
    char name[300];
    snprintf(name, sizeof name, "%sdata.pkl", prefix);
    const vc_zip_entry *e = vc_zip_find(z, name);
    int rc = -1;
    if (!e) {
        vc_fail(err, "%s: a ZIP archive without '%s' (not a PyTorch checkpoint)", label, name);
        goto done;
    }
    snprintf(name, sizeof name, "%sconstants.pkl", prefix);
    snprintf(s->format, sizeof s->format, "%s", vc_zip_find(z, name) ? "torchscript" : "torch-zip");
    const void *pk;
    size_t pk_size;
    void *owned;
    if (vc_zip_read(z, e, &pk, &pk_size, &owned, err)) goto done;
    char plabel[600];
    snprintf(plabel, sizeof plabel, "%s:%s", label, e->name);
    vc_pickle *p = vc_pickle_load(pk, pk_size, plabel, err);
    if (p) {
        storage_source src = {.label = label, .zip = z, .zip_prefix = prefix};
        rc = tensors_from_pickle(p, &src, s, err);
        vc_pickle_free(p);
    }
    free(owned);
done:
    vc_zip_close(z);
    return rc;
}

/* Legacy torch.save: pickles for the magic number, protocol version and sys info, the object,
 * the list of storage keys, then per key: int64 element count + raw little-endian elements. */
static const uint8_t LEGACY_MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static int read_legacy(const uint8_t *data, size_t size, const char *label, vc_imp_set *s, vc_error *err) {
    size_t pos = 0, used;
    vc_pickle *head[3] = {NULL, NULL, NULL}, *obj = NULL, *keys = NULL;
    legacy_storage *table = NULL;
    int rc = -1;
    for (int i = 0; i < 3; i++) {
        if (!(head[i] = vc_pickle_load_prefix(data + pos, size - pos, label, &used, err))) goto done;
        pos += used;
    }
    const vc_pk_value *magic = vc_pickle_root(head[0]), *proto = vc_pickle_root(head[1]);
    if (magic->kind != VC_PK_BIGINT || magic->len != 10 || memcmp(magic->s, LEGACY_MAGIC, 10)) {
        vc_fail(err, "%s: not a PyTorch file (bad legacy magic number)", label);
        goto done;
    }
    if (proto->kind != VC_PK_INT || proto->i != 1001) {
        vc_fail(err, "%s: unsupported legacy protocol version", label);
        goto done;
    }
    const vc_pk_value *le = vc_pk_dict_get(vc_pickle_root(head[2]), "little_endian");
    if (!le || le->kind != VC_PK_BOOL || !le->i) {
        vc_fail(err, "%s: big-endian legacy files are not supported", label);
        goto done;
    }
    size_t obj_at = pos;
    if (!(obj = vc_pickle_load_prefix(data + pos, size - pos, label, &used, err))) goto done;
    pos += used;
    if (!(keys = vc_pickle_load_prefix(data + pos, size - pos, label, &used, err))) goto done;
    pos += used;
    const vc_pk_value *list = vc_pickle_root(keys);
    if (list->kind != VC_PK_LIST) {
        vc_fail(err, "%s: byte %zu: the storage key list is not a list", label, pos - used);
        goto done;
    }
    table = calloc(list->n ? list->n : 1, sizeof *table);
    if (!table) {
        vc_fail(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < list->n; i++) {
        const vc_pk_value *k = list->items[i], *st = NULL;
        if (k->kind != VC_PK_STR) {
            vc_fail(err, "%s: storage key %zu is not a string", label, i);
            goto done;
        }
        for (size_t j = 0; j < vc_pickle_value_count(obj) && !st; j++) {
            const vc_pk_value *v = vc_pickle_value_at(obj, j);
            if (v->kind == VC_PK_STORAGE && !strcmp(v->s, k->s)) st = v;
        }
        if (!st) {
            vc_fail(err, "%s: storage '%s' is listed but never used", label, k->s);
            goto done;
        }
        if (size - pos < 8) {
            vc_fail(err, "%s: byte %zu: file ends before storage '%s' (truncated)", label, pos, k->s);
            goto done;
        }
        uint64_t n = 0;
        for (int b = 7; b >= 0; b--) n = n << 8 | data[pos + (size_t)b];
        pos += 8;
        size_t esz = vc_dtype_size(st->dtype);
        if (n != (uint64_t)st->numel || n > (size - pos) / esz) {
            vc_fail(err, "%s: byte %zu: storage '%s' has %llu elements (expected %lld, %zu bytes left; truncated?)", label,
                    pos - 8, k->s, (unsigned long long)n, (long long)st->numel, size - pos);
            goto done;
        }
        table[i].key = k->s;
        table[i].data = data + pos;
        pos += (size_t)n * esz;
    }
    (void)obj_at;
    snprintf(s->format, sizeof s->format, "torch-legacy");
    storage_source src = {.label = label, .legacy = table, .n_legacy = list->n};
    rc = tensors_from_pickle(obj, &src, s, err);
done:
    free(table);
    for (int i = 0; i < 3; i++) vc_pickle_free(head[i]);
    vc_pickle_free(obj);
    vc_pickle_free(keys);
    return rc;
}

static int read_safetensors(const char *path, vc_imp_set *s, vc_error *err) {
    vc_safetensors *st = vc_st_open(path, err);
    if (!st) return -1;
    snprintf(s->format, sizeof s->format, "safetensors");
    const char *cfg = vc_st_meta(st, "config");
    if (cfg && !vc_config_from_json(cfg, &s->config, NULL)) s->has_config = 1;
    int cap = 0, rc = 0;
    for (int i = 0; i < vc_st_count(st) && !rc; i++) {
        const vc_st_tensor *src = vc_st_at(st, i);
        vc_imp_tensor *t = add_tensor(s, &cap, src->name, err);
        if (!t) {
            rc = -1;
            break;
        }
        if (src->ndim > VC_IMP_MAX_DIMS) {
            rc = vc_fail(err, "%s: tensor '%s' has %d dims", path, src->name, src->ndim);
            break;
        }
        t->src_dtype = src->dtype;
        t->ndim = src->ndim;
        t->numel = 1;
        for (int k = 0; k < src->ndim; k++) {
            t->shape[k] = src->shape[k];
            t->numel *= (size_t)src->shape[k];
        }
        if (!vc_dtype_is_float(src->dtype)) continue;
        if (!(t->data = malloc((t->numel ? t->numel : 1) * sizeof *t->data))) {
            rc = vc_fail(err, "%s: out of memory for '%s'", path, src->name);
            break;
        }
        vc_convert_to_f32(t->data, src->data, src->dtype, t->numel);
        count_conversion(s, src->dtype, t->numel);
    }
    vc_st_close(st);
    if (!rc) {
        strip_common_prefix(s, "module.");
        rc = check_unique(s, path, err);
    }
    return rc;
}

static int read_bytes(const uint8_t *d, size_t size, const char *label, vc_imp_set *s, vc_error *err) {
    if (size >= 4 && !memcmp(d, "PK\x03\x04", 4)) return read_zip(d, size, label, s, err);
    if (size >= 4 && !memcmp(d, "PK\x05\x06", 4)) return vc_fail(err, "%s: an empty ZIP archive", label);
    if (size >= 3 && d[0] == 0x80 && d[2] == 0x8a) return read_legacy(d, size, label, s, err);
    return vc_fail(err, "%s: unrecognised checkpoint format (expected a PyTorch .pth/.pt or safetensors file)", label);
}

int vc_imp_read_mem(const void *data, size_t size, const char *label, vc_imp_set *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    int rc = read_bytes(data, size, label ? label : "(memory)", out, err);
    if (!rc) rc = vc_imp_from_hf_clip(out, err);
    if (rc) vc_imp_set_free(out);
    return rc;
}

int vc_imp_read(const char *path, vc_imp_set *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vc_fail(err, "%s: cannot open", path);
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return vc_fail(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    uint8_t head[16] = {0};
    ssize_t got = pread(fd, head, sizeof head, 0);
    /* safetensors: 8-byte little-endian header length, then '{'. */
    if (got >= 9 && head[8] == '{') {
        close(fd);
        int rc = read_safetensors(path, out, err);
        if (!rc) rc = vc_imp_from_hf_clip(out, err);
        if (rc) vc_imp_set_free(out);
        return rc;
    }
    if (!size) {
        close(fd);
        return vc_fail(err, "%s: empty file", path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return vc_fail(err, "%s: cannot map %zu bytes", path, size);
    int rc = read_bytes(map, size, path, out, err);
    munmap(map, size);
    if (!rc) rc = vc_imp_from_hf_clip(out, err);
    if (rc) vc_imp_set_free(out);
    return rc;
}
