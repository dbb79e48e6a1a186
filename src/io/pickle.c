#include "io/pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vc_pickle {
    char *label;
    vc_pk_value **all; /* every value allocated, freed together */
    size_t n_all, cap_all;
    vc_pk_value *root;
};

/* The VM state of one run. */
typedef struct {
    vc_pickle *p;
    const uint8_t *d;
    size_t size, pos, op_at; /* op_at: offset of the opcode being executed (for messages) */
    vc_pk_value **stack;
    size_t sp, cap;
    size_t *marks;
    size_t n_marks, cap_marks;
    vc_pk_value **memo;
    size_t memo_cap, memo_len; /* memo_len: entries defined (MEMOIZE's next index) */
    vc_error *err;
} vm;

static int fail(vm *m, const char *fmt, const char *detail) {
    char what[800];
    snprintf(what, sizeof what, fmt, detail ? detail : "");
    return vc_fail(m->err, "%s: pickle byte %zu: %s", m->p->label, m->op_at, what);
}

static vc_pk_value *new_value(vm *m, vc_pk_kind kind) {
    vc_pickle *p = m->p;
    if (p->n_all == p->cap_all) {
        size_t cap = p->cap_all ? 2 * p->cap_all : 64;
        vc_pk_value **n = realloc(p->all, cap * sizeof *n);
        if (!n) return NULL;
        p->all = n;
        p->cap_all = cap;
    }
    vc_pk_value *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->kind = kind;
    p->all[p->n_all++] = v;
    return v;
}

static int push(vm *m, vc_pk_value *v) {
    if (!v) return fail(m, "out of memory%s", NULL);
    if (m->sp == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        vc_pk_value **n = realloc(m->stack, cap * sizeof *n);
        if (!n) return fail(m, "out of memory%s", NULL);
        m->stack = n;
        m->cap = cap;
    }
    m->stack[m->sp++] = v;
    return 0;
}

static vc_pk_value *pop(vm *m) {
    size_t floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
    if (m->sp <= floor) {
        fail(m, "stack underflow%s", NULL);
        return NULL;
    }
    return m->stack[--m->sp];
}

static vc_pk_value *top(vm *m) {
    size_t floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
    if (m->sp <= floor) {
        fail(m, "stack underflow%s", NULL);
        return NULL;
    }
    return m->stack[m->sp - 1];
}

/* Pops back to the last mark; the popped items are stack[*from .. sp_before). */
static int pop_mark(vm *m, size_t *from) {
    if (!m->n_marks) return fail(m, "no MARK on the stack%s", NULL);
    *from = m->marks[--m->n_marks];
    return 0;
}

static int append_item(vm *m, vc_pk_value *c, vc_pk_value *item) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        vc_pk_value **n = realloc(c->items, cap * sizeof *n);
        if (!n) return fail(m, "out of memory%s", NULL);
        c->items = n;
        c->cap = cap;
    }
    c->items[c->n++] = item;
    return 0;
}

static int need(vm *m, size_t n) {
    if (n > m->size - m->pos) return fail(m, "truncated pickle (operand runs past the end)%s", NULL);
    return 0;
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int push_string(vm *m, vc_pk_kind kind, uint64_t n) {
    if (n > m->size - m->pos) return fail(m, "string length runs past the end of the pickle%s", NULL);
    vc_pk_value *v = new_value(m, kind);
    if (!v || !(v->s = malloc((size_t)n + 1))) return fail(m, "out of memory%s", NULL);
    memcpy(v->s, m->d + m->pos, (size_t)n);
    v->s[n] = 0;
    v->len = (size_t)n;
    m->pos += (size_t)n;
    return push(m, v);
}

static int push_int(vm *m, int64_t i) {
    vc_pk_value *v = new_value(m, VC_PK_INT);
    if (v) v->i = i;
    return push(m, v);
}

static int memo_put(vm *m, uint64_t idx) {
    vc_pk_value *v = top(m);
    if (!v) return -1;
    /* Indices are sequential in practice; bounding them by the input size bounds the memo. */
    if (idx > m->size + 16) return fail(m, "memo index out of range%s", NULL);
    if (idx >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        vc_pk_value **n = realloc(m->memo, cap * sizeof *n);
        if (!n) return fail(m, "out of memory%s", NULL);
        memset(n + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *n);
        m->memo = n;
        m->memo_cap = cap;
    }
    if (!m->memo[idx]) m->memo_len++;
    m->memo[idx] = v;
    return 0;
}

static int memo_get(vm *m, uint64_t idx) {
    if (idx >= m->memo_cap || !m->memo[idx]) return fail(m, "memo entry not defined%s", NULL);
    return push(m, m->memo[idx]);
}

/* ---- globals ---------------------------------------------------------------------------- */

static const struct { const char *name; vc_dtype dtype; } STORAGES[] = {
    {"torch.FloatStorage", VC_DT_F32}, {"torch.HalfStorage", VC_DT_F16}, {"torch.BFloat16Storage", VC_DT_BF16},
    {"torch.DoubleStorage", VC_DT_F64}, {"torch.LongStorage", VC_DT_I64}, {"torch.IntStorage", VC_DT_I32},
    {"torch.ShortStorage", VC_DT_I16}, {"torch.CharStorage", VC_DT_I8}, {"torch.ByteStorage", VC_DT_U8},
    {"torch.BoolStorage", VC_DT_BOOL},
};

static const char *const CALLABLES[] = {
    "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.restore_type_tag",
};

static int storage_dtype(const char *name, vc_dtype *dt) {
    for (size_t i = 0; i < sizeof STORAGES / sizeof STORAGES[0]; i++)
        if (!strcmp(name, STORAGES[i].name)) {
            *dt = STORAGES[i].dtype;
            return 0;
        }
    return -1;
}

static int is_torchscript_class(const char *name) { return !strncmp(name, "__torch__.", 10); }

static int push_global(vm *m, const char *module, size_t mlen, const char *name, size_t nlen) {
    char full[512];
    if (mlen + nlen + 2 > sizeof full) return fail(m, "global name too long%s", NULL);
    memcpy(full, module, mlen);
    full[mlen] = '.';
    memcpy(full + mlen + 1, name, nlen);
    full[mlen + 1 + nlen] = 0;
    if (strlen(full) != mlen + 1 + nlen) return fail(m, "global name contains a NUL byte%s", NULL);
    /* Any other global (a config object, numpy scalars, argparse.Namespace ... next to the
     * weights) becomes an opaque name: calling or instantiating it gives an opaque object that
     * records its class and never runs anything. */
    int known = is_torchscript_class(full);
    vc_dtype dt;
    if (!storage_dtype(full, &dt)) known = 1;
    for (size_t i = 0; i < sizeof CALLABLES / sizeof CALLABLES[0]; i++)
        if (!strcmp(full, CALLABLES[i])) known = 1;
    vc_pk_value *v = new_value(m, VC_PK_GLOBAL);
    if (!v || !(v->s = strdup(full))) return fail(m, "out of memory%s", NULL);
    v->len = strlen(full);
    v->opaque = !known;
    return push(m, v);
}

static int op_global(vm *m) {
    /* "module\nname\n" */
    const char *start = (const char *)m->d + m->pos;
    size_t left = m->size - m->pos;
    const char *nl1 = memchr(start, '\n', left);
    if (!nl1) return fail(m, "GLOBAL operand without a newline%s", NULL);
    const char *nl2 = memchr(nl1 + 1, '\n', left - (size_t)(nl1 + 1 - start));
    if (!nl2) return fail(m, "GLOBAL operand without a second newline%s", NULL);
    m->pos += (size_t)(nl2 + 1 - start);
    return push_global(m, start, (size_t)(nl1 - start), nl1 + 1, (size_t)(nl2 - nl1 - 1));
}

static int op_stack_global(vm *m) {
    vc_pk_value *name = pop(m);
    vc_pk_value *module = name ? pop(m) : NULL;
    if (!module) return -1;
    if (name->kind != VC_PK_STR || module->kind != VC_PK_STR) return fail(m, "STACK_GLOBAL needs two strings%s", NULL);
    return push_global(m, module->s, module->len, name->s, name->len);
}

/* ---- persistent ids and tensors ----------------------------------------------------------- */

/* ('storage', StorageType, key, location, numel) or the legacy 6-tuple with view_metadata None. */
static int op_binpersid(vm *m) {
    vc_pk_value *pid = pop(m);
    if (!pid) return -1;
    if (pid->kind != VC_PK_TUPLE || (pid->n != 5 && pid->n != 6) || !vc_pk_is_str(pid->items[0], "storage"))
        return fail(m, "persistent id is not a ('storage', type, key, location, numel) tuple%s", NULL);
    vc_pk_value *type = pid->items[1], *key = pid->items[2], *loc = pid->items[3], *numel = pid->items[4];
    vc_dtype dt;
    if (type->kind != VC_PK_GLOBAL || storage_dtype(type->s, &dt))
        return fail(m, "persistent id names an unknown storage type%s", NULL);
    if (key->kind != VC_PK_STR || loc->kind != VC_PK_STR || numel->kind != VC_PK_INT || numel->i < 0)
        return fail(m, "persistent id has a bad key, location or size%s", NULL);
    if (pid->n == 6 && pid->items[5]->kind != VC_PK_NONE)
        return fail(m, "storage views (legacy view_metadata) are not supported%s", NULL);
    if (key->len == 0 || strlen(key->s) != key->len) return fail(m, "storage key is empty or contains NUL%s", NULL);
    vc_pk_value *s = new_value(m, VC_PK_STORAGE);
    if (!s || !(s->s = strdup(key->s))) return fail(m, "out of memory%s", NULL);
    s->len = key->len;
    s->dtype = dt;
    s->numel = numel->i;
    return push(m, s);
}

static int int_tuple(const vc_pk_value *t, int64_t *out, int *n) {
    if (t->kind != VC_PK_TUPLE || t->n > VC_PK_MAX_DIMS) return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != VC_PK_INT || t->items[i]->i < 0) return -1;
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return 0;
}

static vc_pk_value *rebuild_tensor(vm *m, const vc_pk_value *args) {
    if (args->n < 4) {
        fail(m, "_rebuild_tensor needs (storage, offset, size, stride, ...)%s", NULL);
        return NULL;
    }
    vc_pk_value *st = args->items[0], *off = args->items[1];
    int nd = 0, ns = 0;
    vc_pk_value *t = new_value(m, VC_PK_TENSOR);
    if (!t) {
        fail(m, "out of memory%s", NULL);
        return NULL;
    }
    if (st->kind != VC_PK_STORAGE || off->kind != VC_PK_INT || off->i < 0 || int_tuple(args->items[2], t->shape, &nd) ||
        int_tuple(args->items[3], t->stride, &ns) || nd != ns) {
        fail(m, "tensor has a bad storage, offset, size or stride (at most 8 dims, non-negative ints)%s", NULL);
        return NULL;
    }
    /* Largest element index touched must lie inside the storage (overflow-checked). */
    uint64_t last = (uint64_t)off->i, numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t span, nn;
        if (__builtin_mul_overflow(numel, (uint64_t)t->shape[i], &nn)) goto too_big;
        numel = nn;
        if (t->shape[i] == 0) continue;
        if (__builtin_mul_overflow((uint64_t)(t->shape[i] - 1), (uint64_t)t->stride[i], &span) ||
            __builtin_add_overflow(last, span, &last))
            goto too_big;
    }
    if (numel && last >= (uint64_t)st->numel) {
        char d[128];
        snprintf(d, sizeof d, "tensor reaches element %llu of storage '%s' which has %lld",
                 (unsigned long long)last, st->s, (long long)st->numel);
        fail(m, "%s", d);
        return NULL;
    }
    t->storage = st;
    t->offset = off->i;
    t->ndim = nd;
    return t;
too_big:
    fail(m, "tensor size/stride overflow%s", NULL);
    return NULL;
}

/* An instance of an opaque global, or of a TorchScript class: a named object, nothing run. */
static int push_object(vm *m, const vc_pk_value *cls) {
    vc_pk_value *o = new_value(m, VC_PK_OBJECT);
    if (!o || !(o->s = strdup(cls->s))) return fail(m, "out of memory%s", NULL);
    o->len = strlen(o->s);
    o->opaque = cls->opaque;
    return push(m, o);
}

static int op_reduce(vm *m) {
    vc_pk_value *args = pop(m);
    vc_pk_value *fn = args ? pop(m) : NULL;
    if (!fn) return -1;
    if (fn->kind != VC_PK_GLOBAL || args->kind != VC_PK_TUPLE) return fail(m, "REDUCE needs a global and a tuple%s", NULL);
    if (fn->opaque) return push_object(m, fn);
    const char *f = fn->s;
    if (!strcmp(f, "collections.OrderedDict")) {
        if (args->n) return fail(m, "OrderedDict with arguments is not supported%s", NULL);
        return push(m, new_value(m, VC_PK_DICT));
    }
    if (!strcmp(f, "torch._utils._rebuild_tensor_v2") || !strcmp(f, "torch._utils._rebuild_tensor")) {
        vc_pk_value *t = rebuild_tensor(m, args);
        return t ? push(m, t) : -1;
    }
    if (!strncmp(f, "torch._utils._rebuild_parameter", 31)) {
        if (args->n < 1 || args->items[0]->kind != VC_PK_TENSOR) return fail(m, "%s needs a tensor", f);
        return push(m, args->items[0]);
    }
    if (!strncmp(f, "torch.jit._pickle.", 18)) {
        if (args->n < 1) return fail(m, "%s needs an argument", f);
        return push(m, args->items[0]);
    }
    return fail(m, "'%s' cannot be called", f);
}

static int op_newobj(vm *m, int with_kwargs) {
    vc_pk_value *kwargs = with_kwargs ? pop(m) : NULL;
    vc_pk_value *args = !with_kwargs || kwargs ? pop(m) : NULL;
    vc_pk_value *cls = args ? pop(m) : NULL;
    if (!cls) return -1;
    if (cls->kind == VC_PK_GLOBAL && cls->opaque) return push_object(m, cls);
    if (cls->kind != VC_PK_GLOBAL || !is_torchscript_class(cls->s) || args->kind != VC_PK_TUPLE || args->n || with_kwargs)
        return fail(m, "NEWOBJ is only supported for TorchScript classes without arguments and for opaque classes%s", NULL);
    return push_object(m, cls);
}

static int op_build(vm *m) {
    vc_pk_value *state = pop(m);
    vc_pk_value *obj = state ? top(m) : NULL;
    if (!obj) return -1;
    /* OrderedDict's state is its __dict__ (state_dict()'s _metadata); a TorchScript object's
     * state is its attribute dict. Both are kept aside, never merged into the items. */
    if (obj->kind == VC_PK_OBJECT || obj->kind == VC_PK_DICT) {
        obj->attrs = state;
        return 0;
    }
    if (obj->kind == VC_PK_TENSOR) return 0; /* _rebuild_parameter_with_state extras: ignored */
    return fail(m, "BUILD on a value that is not an object or dict%s", NULL);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int collect(vm *m, vc_pk_kind kind, size_t from) {
    vc_pk_value *t = new_value(m, kind);
    if (!t) return fail(m, "out of memory%s", NULL);
    size_t n = m->sp - from;
    if (n) {
        t->items = malloc(n * sizeof *t->items);
        if (!t->items) return fail(m, "out of memory%s", NULL);
        memcpy(t->items, m->stack + from, n * sizeof *t->items);
        t->n = t->cap = n;
    }
    m->sp = from;
    return push(m, t);
}

/* The container sits right below `from` and must not lie under an enclosing mark. */
static int container_ok(const vm *m, size_t from) {
    return from > 0 && (!m->n_marks || from - 1 >= m->marks[m->n_marks - 1]);
}

static int set_items(vm *m, size_t from) {
    if (!container_ok(m, from) || (m->sp - from) % 2) return fail(m, "SETITEMS needs a dict and key/value pairs%s", NULL);
    vc_pk_value *d = m->stack[from - 1];
    if (d->kind != VC_PK_DICT && !(d->kind == VC_PK_OBJECT && d->opaque))
        return fail(m, "SETITEM(S) on a value that is not a dict%s", NULL);
    for (size_t i = from; i < m->sp; i++)
        if (append_item(m, d, m->stack[i])) return -1;
    m->sp = from;
    return 0;
}

static int append_items(vm *m, size_t from) {
    if (!container_ok(m, from)) return fail(m, "APPENDS without a list%s", NULL);
    vc_pk_value *l = m->stack[from - 1];
    if (l->kind != VC_PK_LIST && !(l->kind == VC_PK_OBJECT && l->opaque))
        return fail(m, "APPEND(S) on a value that is not a list%s", NULL);
    for (size_t i = from; i < m->sp; i++)
        if (append_item(m, l, m->stack[i])) return -1;
    m->sp = from;
    return 0;
}

static int step(vm *m, int *stop) {
    m->op_at = m->pos;
    uint8_t op = m->d[m->pos++];
    size_t from = 0;
    vc_pk_value *v;
    switch (op) {
    case 0x80: /* PROTO */
        if (need(m, 1)) return -1;
        if (m->d[m->pos] > 5) return fail(m, "unsupported pickle protocol%s", NULL);
        m->pos++;
        return 0;
    case 0x95: /* FRAME: a length prefix only */
        if (need(m, 8)) return -1;
        m->pos += 8;
        return 0;
    case '.': /* STOP */
        *stop = 1;
        return 0;
    case '(': /* MARK */
        if (m->n_marks == m->cap_marks) {
            size_t cap = m->cap_marks ? 2 * m->cap_marks : 16;
            size_t *n = realloc(m->marks, cap * sizeof *n);
            if (!n) return fail(m, "out of memory%s", NULL);
            m->marks = n;
            m->cap_marks = cap;
        }
        m->marks[m->n_marks++] = m->sp;
        return 0;
    case '}': return push(m, new_value(m, VC_PK_DICT));
    case ']': return push(m, new_value(m, VC_PK_LIST));
    case ')': return push(m, new_value(m, VC_PK_TUPLE));
    case 't': return pop_mark(m, &from) ? -1 : collect(m, VC_PK_TUPLE, from);
    case 'l': return pop_mark(m, &from) ? -1 : collect(m, VC_PK_LIST, from);
    case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
        size_t n = (size_t)(op - 0x84), floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
        if (m->sp < floor + n) return fail(m, "stack underflow%s", NULL);
        return collect(m, VC_PK_TUPLE, m->sp - n);
    }
    case 'q': if (need(m, 1)) return -1; m->pos += 1; return memo_put(m, le(m->d + m->pos - 1, 1));
    case 'r': if (need(m, 4)) return -1; m->pos += 4; return memo_put(m, le(m->d + m->pos - 4, 4));
    case 0x94: return memo_put(m, m->memo_len); /* MEMOIZE: memo[len(memo)] = top */
    case 'h': if (need(m, 1)) return -1; m->pos += 1; return memo_get(m, le(m->d + m->pos - 1, 1));
    case 'j': if (need(m, 4)) return -1; m->pos += 4; return memo_get(m, le(m->d + m->pos - 4, 4));
    case 'J': if (need(m, 4)) return -1; m->pos += 4; return push_int(m, (int32_t)(uint32_t)le(m->d + m->pos - 4, 4));
    case 'K': if (need(m, 1)) return -1; m->pos += 1; return push_int(m, m->d[m->pos - 1]);
    case 'M': if (need(m, 2)) return -1; m->pos += 2; return push_int(m, (int64_t)le(m->d + m->pos - 2, 2));
    case 0x8a: case 0x8b: { /* LONG1, LONG4: little-endian two's complement */
        int w = op == 0x8a ? 1 : 4;
        if (need(m, (size_t)w)) return -1;
        uint64_t n = le(m->d + m->pos, w);
        m->pos += (size_t)w;
        if (n > m->size - m->pos) return fail(m, "LONG length runs past the end%s", NULL);
        if (n > 8) return push_string(m, VC_PK_BIGINT, n);
        uint64_t u = n ? le(m->d + m->pos, (int)n) : 0;
        if (n && n < 8 && (m->d[m->pos + n - 1] & 0x80)) u |= ~0ull << (8 * n); /* sign-extend */
        m->pos += (size_t)n;
        return push_int(m, (int64_t)u);
    }
    case 'X': if (need(m, 4)) return -1; m->pos += 4; return push_string(m, VC_PK_STR, le(m->d + m->pos - 4, 4));
    case 0x8c: if (need(m, 1)) return -1; m->pos += 1; return push_string(m, VC_PK_STR, m->d[m->pos - 1]);
    case 0x8d: if (need(m, 8)) return -1; m->pos += 8; return push_string(m, VC_PK_STR, le(m->d + m->pos - 8, 8));
    case 'T': if (need(m, 4)) return -1; m->pos += 4; return push_string(m, VC_PK_STR, le(m->d + m->pos - 4, 4));
    case 'U': if (need(m, 1)) return -1; m->pos += 1; return push_string(m, VC_PK_STR, m->d[m->pos - 1]);
    case 'B': if (need(m, 4)) return -1; m->pos += 4; return push_string(m, VC_PK_BYTES, le(m->d + m->pos - 4, 4));
    case 'C': if (need(m, 1)) return -1; m->pos += 1; return push_string(m, VC_PK_BYTES, m->d[m->pos - 1]);
    case 0x8e: if (need(m, 8)) return -1; m->pos += 8; return push_string(m, VC_PK_BYTES, le(m->d + m->pos - 8, 8));
    case 'G': { /* BINFLOAT: big-endian double */
        if (need(m, 8)) return -1;
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = u << 8 | m->d[m->pos + (size_t)i];
        m->pos += 8;
        v = new_value(m, VC_PK_FLOAT);
        if (v) memcpy(&v->f, &u, sizeof u);
        return push(m, v);
    }
    case 0x88: case 0x89:
        v = new_value(m, VC_PK_BOOL);
        if (v) v->i = op == 0x88;
        return push(m, v);
    case 'N': return push(m, new_value(m, VC_PK_NONE));
    case 'c': return op_global(m);
    case 0x93: return op_stack_global(m);
    case 'R': return op_reduce(m);
    case 0x81: return op_newobj(m, 0);
    case 0x92: return op_newobj(m, 1); /* NEWOBJ_EX */
    case 'b': return op_build(m);
    case 'Q': return op_binpersid(m);
    case 's':
        if (m->sp < 3 || (m->n_marks && m->sp < m->marks[m->n_marks - 1] + 3)) return fail(m, "stack underflow%s", NULL);
        return set_items(m, m->sp - 2);
    case 'u': return pop_mark(m, &from) ? -1 : set_items(m, from);
    case 'a':
        if (m->sp < 2 || (m->n_marks && m->sp < m->marks[m->n_marks - 1] + 2)) return fail(m, "stack underflow%s", NULL);
        return append_items(m, m->sp - 1);
    case 'e': return pop_mark(m, &from) ? -1 : append_items(m, from);
    case '0': return pop(m) ? 0 : -1;
    case '1': if (pop_mark(m, &from)) return -1; m->sp = from; return 0;
    case '2': v = top(m); return v ? push(m, v) : -1;
    default: {
        char d[64];
        snprintf(d, sizeof d, "0x%02x%s%c%s", op, op >= 32 && op < 127 ? " ('" : "", op >= 32 && op < 127 ? op : ' ',
                 op >= 32 && op < 127 ? "')" : "");
        return fail(m, "unknown or unsupported pickle opcode %s", d);
    }
    }
}

static vc_pickle *run(const void *data, size_t size, const char *label, size_t *consumed, vc_error *err) {
    vc_pickle *p = calloc(1, sizeof *p);
    if (!p || !(p->label = strdup(label ? label : "(pickle)"))) {
        free(p);
        vc_fail(err, "out of memory reading a pickle");
        return NULL;
    }
    vm m = {.p = p, .d = data, .size = size, .err = err};
    int stop = 0, rc = 0;
    while (!rc && !stop) {
        if (m.pos >= m.size) {
            m.op_at = m.pos;
            rc = fail(&m, "pickle ended without STOP (truncated)%s", NULL);
            break;
        }
        rc = step(&m, &stop);
    }
    if (!rc) {
        if (m.sp != 1 || m.n_marks) rc = fail(&m, "STOP with a malformed stack%s", NULL);
        else p->root = m.stack[0];
    }
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (rc) {
        vc_pickle_free(p);
        return NULL;
    }
    if (consumed) *consumed = m.pos;
    return p;
}

vc_pickle *vc_pickle_load(const void *data, size_t size, const char *label, vc_error *err) {
    size_t used = 0;
    vc_pickle *p = run(data, size, label, &used, err);
    if (p && used != size) {
        vc_fail(err, "%s: %zu trailing bytes after the pickle's STOP at byte %zu", p->label, size - used, used - 1);
        vc_pickle_free(p);
        return NULL;
    }
    return p;
}

vc_pickle *vc_pickle_load_prefix(const void *data, size_t size, const char *label, size_t *consumed, vc_error *err) {
    return run(data, size, label, consumed, err);
}

void vc_pickle_free(vc_pickle *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_all; i++) {
        free(p->all[i]->s);
        free(p->all[i]->items);
        free(p->all[i]);
    }
    free(p->all);
    free(p->label);
    free(p);
}

const vc_pk_value *vc_pickle_root(const vc_pickle *p) { return p->root; }
size_t vc_pickle_value_count(const vc_pickle *p) { return p->n_all; }
const vc_pk_value *vc_pickle_value_at(const vc_pickle *p, size_t i) { return i < p->n_all ? p->all[i] : NULL; }

int vc_pk_is_str(const vc_pk_value *v, const char *s) {
    return v && v->kind == VC_PK_STR && v->len == strlen(s) && !memcmp(v->s, s, v->len);
}

const vc_pk_value *vc_pk_dict_get(const vc_pk_value *dict, const char *key) {
    if (!dict || dict->kind != VC_PK_DICT) return NULL;
    for (size_t i = dict->n / 2; i-- > 0;)
        if (vc_pk_is_str(dict->items[2 * i], key)) return dict->items[2 * i + 1];
    return NULL;
}
