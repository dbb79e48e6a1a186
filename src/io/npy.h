/* NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian numeric arrays in C order.
 * Reading checks the header strictly and the data size exactly; Fortran order (where it changes
 * the layout), big-endian data and structured/object dtypes are refused with a clear error.
 * Supported descr strings: '<f4' '<f8' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1'. */
#ifndef VC_IO_NPY_H
#define VC_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/dtype.h"

#define VC_NPY_MAX_DIMS 8

typedef struct {
    vc_dtype dtype;
    int ndim; /* 0 for a scalar array (one element) */
    int64_t shape[VC_NPY_MAX_DIMS];
    void *data; /* malloc'ed, nbytes long (never NULL after a successful read) */
    size_t nbytes;
} vc_npy;

/* Reads the whole array. On failure *out is zeroed (vc_npy_free is still safe). */
int vc_npy_read(const char *path, vc_npy *out, vc_error *err);
void vc_npy_free(vc_npy *a);
/* dtype, ndim and shape only (data stays NULL), with the same checks of the header and size. */
int vc_npy_read_header(const char *path, vc_npy *out, vc_error *err);
/* Writes data (C order, prod(shape) elements of dtype) atomically. BF16 has no NumPy type. */
int vc_npy_write(const char *path, vc_dtype dtype, int ndim, const int64_t *shape, const void *data, vc_error *err);

#endif
