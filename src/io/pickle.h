/* A small, safe pickle reader for exactly what torch.save / torch.jit.save write.
 *
 * It is a pickle VM that builds plain values and never runs anything: the only globals it
 * accepts are the ones PyTorch checkpoints use, each interpreted by fixed code here:
 *   collections.OrderedDict                       -> a dict
 *   torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter[_with_state]
 *                                                 -> a tensor (storage, offset, size, stride)
 *   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage
 *                                                 -> a storage dtype (inside persistent ids)
 *   torch.jit._pickle.build_{int,double,bool,tensor}list, restore_type_tag -> their argument
 *   __torch__.*  (TorchScript classes)             -> an opaque object whose BUILD state
 *                                                    (a dict of attributes) is kept
 *   any other global (e.g. the config object ViCLIP's training saves next to the weights, an
 *   EasyDict; numpy scalars; argparse.Namespace) -> an opaque name: REDUCE / NEWOBJ on it give
 *                                                    an opaque object (its class name, the items
 *                                                    SETITEMS/APPENDS add, its BUILD state), so
 *                                                    the file loads and nothing is ever called
 * Persistent ids must be storage ids ('storage', dtype, key, location, numel[, None]).
 * Any other opcode is refused with an error naming it and its byte offset.
 * Opcodes: protocols 0-5 minus the text-mode and object-building ones that torch never writes.
 * All values live in the vc_pickle object and are freed with it; values may be shared (memo)
 * and may form cycles, so walk them with a depth limit. */
#ifndef VC_IO_PICKLE_H
#define VC_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/dtype.h"

#define VC_PK_MAX_DIMS 8

typedef enum {
    VC_PK_NONE,
    VC_PK_BOOL,
    VC_PK_INT,     /* i */
    VC_PK_BIGINT,  /* an integer wider than 64 bits: s/len hold its little-endian bytes */
    VC_PK_FLOAT,   /* f */
    VC_PK_STR,     /* s, len (bytes; not validated as UTF-8) */
    VC_PK_BYTES,   /* s, len */
    VC_PK_TUPLE,   /* items[n] */
    VC_PK_LIST,    /* items[n] */
    VC_PK_DICT,    /* items[2k] key, items[2k+1] value, in insertion order (duplicates kept) */
    VC_PK_GLOBAL,  /* s = "module.name"; opaque = 1 if it is not one of the known ones */
    VC_PK_STORAGE, /* s = key, dtype, numel */
    VC_PK_TENSOR,  /* storage, offset, ndim, shape, stride */
    VC_PK_OBJECT,  /* s = class name, attrs = its BUILD state or NULL; opaque objects may also hold
                    * items (dict pairs or list items) added by SETITEMS / APPENDS */
} vc_pk_kind;

typedef struct vc_pk_value vc_pk_value;
struct vc_pk_value {
    vc_pk_kind kind;
    int64_t i;
    double f;
    char *s;
    size_t len;
    vc_pk_value **items;
    size_t n, cap;
    vc_pk_value *attrs;
    int opaque;    /* GLOBAL / OBJECT: an unknown class, recorded and never called */
    /* storage */
    vc_dtype dtype;
    int64_t numel;
    /* tensor */
    vc_pk_value *storage;
    int64_t offset;
    int ndim;
    int64_t shape[VC_PK_MAX_DIMS], stride[VC_PK_MAX_DIMS];
};

typedef struct vc_pickle vc_pickle;

/* Runs the pickle in data[0..size). `label` (copied) names it in messages. */
vc_pickle *vc_pickle_load(const void *data, size_t size, const char *label, vc_error *err);
/* Like vc_pickle_load, but stops at the first STOP and reports the bytes consumed (the legacy
 * torch.save format is several pickles back to back). */
vc_pickle *vc_pickle_load_prefix(const void *data, size_t size, const char *label, size_t *consumed,
                                 vc_error *err);
void vc_pickle_free(vc_pickle *p);
const vc_pk_value *vc_pickle_root(const vc_pickle *p);
/* Every value the run created, in creation order (e.g. to find all storages). */
size_t vc_pickle_value_count(const vc_pickle *p);
const vc_pk_value *vc_pickle_value_at(const vc_pickle *p, size_t i);

/* Dict lookup by string key (the last matching entry wins, as in Python); NULL if absent. */
const vc_pk_value *vc_pk_dict_get(const vc_pk_value *dict, const char *key);
/* 1 if v is a string equal to s. */
int vc_pk_is_str(const vc_pk_value *v, const char *s);

#endif
