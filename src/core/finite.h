/* Finiteness checks for what enters and leaves the model: weights on load, clips given as
 * float arrays, embeddings, the training loss and gradient norm. One pass over the data, never
 * on activations (a NaN there shows up in the outputs that are checked). */
#ifndef VC_CORE_FINITE_H
#define VC_CORE_FINITE_H

#include <stddef.h>

#include "core/error.h"
#include "core/real.h"

/* Non-finite values in x[0..n): how many are NaN and how many +-Inf, and the first one's index. */
typedef struct vc_nonfinite {
    size_t nan, inf;
    size_t first; /* valid when nan + inf > 0 */
} vc_nonfinite;

vc_nonfinite vc_count_nonfinite_f32(const float *x, size_t n);
vc_nonfinite vc_count_nonfinite_f64(const double *x, size_t n);
vc_nonfinite vc_count_nonfinite_real(const vc_real *x, size_t n);

/* 0 when every value is finite; else -1 with "WHAT has N NaN and M Inf values (first at
 * element K)" in err, `what` naming the tensor or file. */
int vc_check_finite_f32(const float *x, size_t n, const char *what, vc_error *err);
int vc_check_finite_real(const vc_real *x, size_t n, const char *what, vc_error *err);

/* The same message for a count already made. */
int vc_fail_nonfinite(vc_error *err, const char *what, vc_nonfinite c);

#endif
