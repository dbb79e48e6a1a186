/* Element types of tensors in files (safetensors, .npy) and conversions between the float ones.
 * Checkpoints arrive as F32, F16, BF16 or F64; the model runs in float32 (or float64 in the
 * gradient-check build), so loading converts, and saving may narrow to F16/BF16. */
#ifndef VC_IO_DTYPE_H
#define VC_IO_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum { VC_DT_F32, VC_DT_F16, VC_DT_BF16, VC_DT_F64, VC_DT_I64, VC_DT_I32, VC_DT_I16, VC_DT_I8, VC_DT_U8, VC_DT_BOOL } vc_dtype;
/* The dtype of vc_real: training checkpoints keep the model's own precision (F64 in the
 * double-precision build). */
#ifdef VC_DOUBLE
#define VC_DT_REAL VC_DT_F64
#else
#define VC_DT_REAL VC_DT_F32
#endif

#define VC_DT_COUNT 10

/* Bytes per element; 0 for a value outside the enum. */
size_t vc_dtype_size(vc_dtype dt);
/* The safetensors spelling ("F32", "BF16", "U8", "BOOL", ...); "?" for a value outside the enum. */
const char *vc_dtype_name(vc_dtype dt);
/* Parses a safetensors dtype name (case-sensitive, as the format defines). 0 on success, -1 if unknown. */
int vc_dtype_from_name(const char *name, vc_dtype *out);
/* 1 for F32, F16, BF16, F64. */
int vc_dtype_is_float(vc_dtype dt);

/* The bits of a float32 and back (memcpy: no aliasing or union tricks), for the conversions
 * below and for tests that build exact bit patterns. */
static inline uint32_t vc_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float vc_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Scalar conversions. Narrowing rounds to nearest, ties to even; overflow gives +-Inf;
 * Inf stays Inf and NaN stays NaN (quieted, sign and top payload bits kept). */
float vc_f16_to_f32(uint16_t h);
uint16_t vc_f32_to_f16(float f);
float vc_bf16_to_f32(uint16_t b);
uint16_t vc_f32_to_bf16(float f);

/* Buffer conversions of n elements. `src`/`dst` of the stored dtype need no alignment (they
 * may point into a memory-mapped file at any offset). Return 0, or -1 if the dtype is not a
 * float dtype (nothing written then). */
int vc_convert_to_f32(float *dst, const void *src, vc_dtype src_dtype, size_t n);
int vc_convert_to_f64(double *dst, const void *src, vc_dtype src_dtype, size_t n);
/* float32 -> F32, F16, BF16 or F64. */
int vc_convert_from_f32(void *dst, vc_dtype dst_dtype, const float *src, size_t n);

#endif
