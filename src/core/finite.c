#include "core/finite.h"

#include <stdint.h>
#include <string.h>

/* The exponent test on the bits vectorises (isfinite on floats does not always), so the
 * common all-finite case is one fast pass; only a failing array is scanned again to count. */
#define ALL_FINITE(name, T, U, EXP)                          \
    static int name(const T *x, size_t n) {                  \
        U bad = 0;                                           \
        for (size_t i = 0; i < n; i++) {                     \
            U u;                                             \
            memcpy(&u, &x[i], sizeof u);                     \
            bad |= (u & (EXP)) == (EXP);                     \
        }                                                    \
        return !bad;                                         \
    }
ALL_FINITE(all_finite_f32, float, uint32_t, 0x7f800000u)
ALL_FINITE(all_finite_f64, double, uint64_t, 0x7ff0000000000000ull)

#define COUNT_NONFINITE(x, n)                                  \
    vc_nonfinite c = {0, 0, 0};                                \
    for (size_t i = 0; i < (n); i++) {                         \
        if ((x)[i] - (x)[i] == 0) continue; /* finite */       \
        if (c.nan + c.inf == 0) c.first = i;                   \
        if ((x)[i] != (x)[i]) c.nan++;                         \
        else c.inf++;                                          \
    }                                                          \
    return c;

vc_nonfinite vc_count_nonfinite_f32(const float *x, size_t n) {
    if (all_finite_f32(x, n)) return (vc_nonfinite){0, 0, 0};
    COUNT_NONFINITE(x, n)
}

vc_nonfinite vc_count_nonfinite_f64(const double *x, size_t n) {
    if (all_finite_f64(x, n)) return (vc_nonfinite){0, 0, 0};
    COUNT_NONFINITE(x, n)
}

vc_nonfinite vc_count_nonfinite_real(const vc_real *x, size_t n) {
#ifdef VC_DOUBLE
    return vc_count_nonfinite_f64(x, n);
#else
    return vc_count_nonfinite_f32(x, n);
#endif
}

int vc_fail_nonfinite(vc_error *err, const char *what, vc_nonfinite c) {
    return vc_fail(err, "%s has %zu NaN and %zu Inf values (first at element %zu)", what, c.nan, c.inf, c.first);
}

int vc_check_finite_f32(const float *x, size_t n, const char *what, vc_error *err) {
    if (all_finite_f32(x, n)) return 0;
    return vc_fail_nonfinite(err, what, vc_count_nonfinite_f32(x, n));
}

int vc_check_finite_real(const vc_real *x, size_t n, const char *what, vc_error *err) {
#ifdef VC_DOUBLE
    if (all_finite_f64(x, n)) return 0;
    return vc_fail_nonfinite(err, what, vc_count_nonfinite_f64(x, n));
#else
    return vc_check_finite_f32(x, n, what, err);
#endif
}
