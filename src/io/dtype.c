#include "io/dtype.h"

#include <string.h>

/* Files store little-endian values and this code copies them as they lie. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "viclip file I/O assumes a little-endian host"
#endif

static const struct {
    const char *name;
    size_t size;
} DTYPES[VC_DT_COUNT] = {
    [VC_DT_F32] = {"F32", 4}, [VC_DT_F16] = {"F16", 2}, [VC_DT_BF16] = {"BF16", 2},
    [VC_DT_F64] = {"F64", 8}, [VC_DT_I64] = {"I64", 8}, [VC_DT_I32] = {"I32", 4},
    [VC_DT_I16] = {"I16", 2}, [VC_DT_I8] = {"I8", 1},   [VC_DT_U8] = {"U8", 1},
    [VC_DT_BOOL] = {"BOOL", 1},
};

static int valid(vc_dtype dt) { return (unsigned)dt < VC_DT_COUNT; }

size_t vc_dtype_size(vc_dtype dt) { return valid(dt) ? DTYPES[dt].size : 0; }

const char *vc_dtype_name(vc_dtype dt) { return valid(dt) ? DTYPES[dt].name : "?"; }

int vc_dtype_from_name(const char *name, vc_dtype *out) {
    for (int i = 0; name && i < VC_DT_COUNT; i++)
        if (!strcmp(name, DTYPES[i].name)) {
            *out = (vc_dtype)i;
            return 0;
        }
    return -1;
}

int vc_dtype_is_float(vc_dtype dt) {
    return dt == VC_DT_F32 || dt == VC_DT_F16 || dt == VC_DT_BF16 || dt == VC_DT_F64;
}

float vc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) return vc_f32_from_bits(sign | 0x7f800000 | (mant << 13)); /* Inf / NaN */
    if (exp != 0) return vc_f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
    /* Zero or subnormal: mant * 2^-24 is exact in float32. */
    float v = (float)mant * (1.0f / 16777216.0f);
    return sign ? -v : v;
}

uint16_t vc_f32_to_f16(float f) {
    uint32_t x = vc_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) /* NaN: keep the top payload bits, force quiet so it cannot become Inf */
        return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    if (ax >= 0x477ff000) /* >= 65520 (halfway past the largest half, 65504) rounds to Inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax >= 0x38800000) { /* normal half (>= 2^-14): drop 13 mantissa bits, ties to even */
        ax += 0xfff + ((ax >> 13) & 1);
        return (uint16_t)(sign | ((ax - (112u << 23)) >> 13));
    }
    /* Subnormal half: the result counts units of 2^-24. A carry out of the top makes the
     * smallest normal, which is the right encoding. */
    uint32_t e = ax >> 23;
    uint32_t shift = 126 - e; /* >= 14 here */
    if (shift > 24) return sign; /* below half of the smallest subnormal (or a float subnormal) */
    uint32_t mant = (ax & 0x7fffff) | 0x800000;
    uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return (uint16_t)(sign | q);
}

float vc_bf16_to_f32(uint16_t b) { return vc_f32_from_bits((uint32_t)b << 16); }

uint16_t vc_f32_to_bf16(float f) {
    uint32_t x = vc_f32_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1); /* ties to even; overflow carries into Inf correctly */
    return (uint16_t)(x >> 16);
}

static uint16_t load_u16(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* One element of a float dtype as double (exact: every f16/bf16/f32 value is a double). */
static double load_float(const unsigned char *p, vc_dtype dt) {
    switch (dt) {
    case VC_DT_F32: {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    case VC_DT_F16: return vc_f16_to_f32(load_u16(p));
    case VC_DT_BF16: return vc_bf16_to_f32(load_u16(p));
    default: {
        double d;
        memcpy(&d, p, 8);
        return d;
    }
    }
}

int vc_convert_to_f32(float *dst, const void *src, vc_dtype src_dtype, size_t n) {
    if (!vc_dtype_is_float(src_dtype)) return -1;
    const unsigned char *p = src;
    size_t esz = vc_dtype_size(src_dtype);
    if (src_dtype == VC_DT_F32) {
        if (n) memmove(dst, src, n * 4);
        return 0;
    }
    for (size_t i = 0; i < n; i++) dst[i] = (float)load_float(p + i * esz, src_dtype);
    return 0;
}

int vc_convert_to_f64(double *dst, const void *src, vc_dtype src_dtype, size_t n) {
    if (!vc_dtype_is_float(src_dtype)) return -1;
    const unsigned char *p = src;
    size_t esz = vc_dtype_size(src_dtype);
    if (src_dtype == VC_DT_F64) {
        if (n) memmove(dst, src, n * 8);
        return 0;
    }
    for (size_t i = 0; i < n; i++) dst[i] = load_float(p + i * esz, src_dtype);
    return 0;
}

int vc_convert_from_f32(void *dst, vc_dtype dst_dtype, const float *src, size_t n) {
    unsigned char *p = dst;
    switch (dst_dtype) {
    case VC_DT_F32:
        if (n) memmove(dst, src, n * 4);
        return 0;
    case VC_DT_F16:
    case VC_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = dst_dtype == VC_DT_F16 ? vc_f32_to_f16(src[i]) : vc_f32_to_bf16(src[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        return 0;
    case VC_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d = src[i];
            memcpy(p + 8 * i, &d, 8);
        }
        return 0;
    default: return -1;
    }
}
