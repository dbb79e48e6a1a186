/* safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON header {"name": {"dtype", "shape", "data_offsets"}, ...,
 * "__metadata__": {string: string}}, then the raw little-endian tensor data.
 *
 * The reader maps the file read-only and validates everything before handing out a tensor:
 * header length against the file size, strict JSON, each entry's fields, offsets inside the
 * data section, no two tensors overlapping, byte length == prod(shape) * dtype size (overflow
 * checked), unique names, string-only metadata. Tensor data pointers point into the mapping
 * (valid until vc_st_close) and need not be aligned; use the read/convert helpers.
 *
 * The writer produces files that Python's `safetensors` loads: header keys in insertion order
 * ("__metadata__" first), header padded with spaces to a multiple of 8 bytes, data contiguous
 * with wider dtypes first so every tensor stays aligned to its element size. */
#ifndef VC_IO_SAFETENSORS_H
#define VC_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/dtype.h"

#define VC_ST_MAX_DIMS 8
/* Larger headers are refused as corrupt (the reference implementation's limit). */
#define VC_ST_MAX_HEADER 100000000ull

typedef struct {
    const char *name;
    vc_dtype dtype;
    int ndim;
    int64_t shape[VC_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} vc_st_tensor;

typedef struct vc_safetensors vc_safetensors;

vc_safetensors *vc_st_open(const char *path, vc_error *err);
void vc_st_close(vc_safetensors *st);
int vc_st_count(const vc_safetensors *st);
/* Tensors in header order; NULL if i is out of range. */
const vc_st_tensor *vc_st_at(const vc_safetensors *st, int i);
const vc_st_tensor *vc_st_find(const vc_safetensors *st, const char *name);
/* A "__metadata__" value, or NULL if absent. */
const char *vc_st_meta(const vc_safetensors *st, const char *key);
const char *vc_st_path(const vc_safetensors *st);

/* Copy tensor `name` into dst, converting from any float dtype (F32/F16/BF16/F64). The tensor
 * must have exactly the expected shape (ndim dims); errors read
 *   "PATH: tensor 'x' has shape [768,512], expected [768,256]" or "PATH: missing tensor 'x'". */
int vc_st_read_f32(const vc_safetensors *st, const char *name, float *dst, int ndim, const int64_t *shape, vc_error *err);
int vc_st_read_f64(const vc_safetensors *st, const char *name, double *dst, int ndim, const int64_t *shape, vc_error *err);
/* Integer tensors (token ids): I32, or I64/I16/I8/U8 whose values fit in int32. */
int vc_st_read_i32(const vc_safetensors *st, const char *name, int32_t *dst, int ndim, const int64_t *shape, vc_error *err);

typedef struct vc_st_writer vc_st_writer;

vc_st_writer *vc_st_writer_new(void); /* NULL if out of memory */
void vc_st_writer_free(vc_st_writer *w);
/* Queues a tensor. The name is copied; data is borrowed until vc_st_writer_write. Duplicate
 * names, "__metadata__", invalid UTF-8, bad shapes are refused. */
int vc_st_writer_add(vc_st_writer *w, const char *name, vc_dtype dtype, int ndim, const int64_t *shape,
                     const void *data, vc_error *err);
/* Adds a "__metadata__" entry (both strings copied; duplicate keys refused). */
int vc_st_writer_meta(vc_st_writer *w, const char *key, const char *value, vc_error *err);
/* Writes everything queued to path atomically (see io/atomic_file.h). The writer can be freed
 * or written again afterwards. */
int vc_st_writer_write(const vc_st_writer *w, const char *path, vc_error *err);

#endif
