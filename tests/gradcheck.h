/* Finite-difference gradient checking for the double-precision build (tests/grad_*.c).
 * Central differences with eps 1e-6 in double are accurate to ~1e-9 relative for smooth
 * functions, so analytic gradients are held to 1e-6. */
#ifndef VC_GRADCHECK_H
#define VC_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/real.h"
#include "core/rng.h"
#include "model/config.h"

typedef double (*vc_loss_fn)(void *ctx);

/* Compares analytic[i] with num = (f(x+eps e_i) - f(x-eps e_i)) / 2eps on up to `samples`
 * indices (all when n <= samples). Returns the worst error normalised by max(1e-3 * scale,
 * |num|), where scale is the largest |analytic| of the tensor (absolute error for tiny
 * entries). The roundoff of f itself reaches num as ~|f| 1e-16 / eps, so a check of small
 * entries against a large loss wants an eps above vc_gradcheck's 1e-6 (the truncation error
 * grows only as eps^2). */
static inline double vc_gradcheck_eps(vc_real *x, size_t n, const vc_real *analytic, vc_loss_fn f,
                                      void *ctx, int samples, uint64_t seed, double eps,
                                      double *worst_num, double *worst_ana) {
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)analytic[i]));
    vc_rng r = vc_rng_at(seed, 99, n, 0);
    double worst = 0;
    size_t count = n <= (size_t)samples ? n : (size_t)samples;
    for (size_t s = 0; s < count; s++) {
        size_t i = n <= (size_t)samples ? s : (size_t)vc_rng_below(&r, n);
        vc_real orig = x[i];
        x[i] = orig + eps;
        double fp = f(ctx);
        x[i] = orig - eps;
        double fm = f(ctx);
        x[i] = orig;
        double num = (fp - fm) / (2 * eps);
        double err = fabs(num - analytic[i]) / fmax(fmax(1e-3 * scale, fabs(num)), 1e-10);
        if (err > worst) {
            worst = err;
            if (worst_num) *worst_num = num;
            if (worst_ana) *worst_ana = analytic[i];
        }
    }
    return worst;
}

/* vc_gradcheck_eps with eps 1e-6. */
static inline double vc_gradcheck(vc_real *x, size_t n, const vc_real *analytic, vc_loss_fn f,
                                  void *ctx, int samples, uint64_t seed, double *worst_num,
                                  double *worst_ana) {
    return vc_gradcheck_eps(x, n, analytic, f, ctx, samples, seed, 1e-6, worst_num, worst_ana);
}

static inline void vc_fill_random(vc_real *x, size_t n, double std, uint64_t seed) {
    vc_rng r = vc_rng_at(seed, 77, n, 1);
    for (size_t i = 0; i < n; i++) x[i] = (vc_real)(std * vc_rng_normal(&r));
}

/* Clips [B, T, 3, S, S] for config c filled with N(0, 1) from seed (free() them); NULL when out
 * of memory. */
static inline vc_real *vc_test_random_video(const vc_config *c, int B, uint64_t seed) {
    const size_t n = (size_t)B * c->num_frames * 3 * c->image_size * c->image_size;
    vc_real *video = malloc(n * sizeof *video);
    if (video) vc_fill_random(video, n, 1, seed);
    return video;
}

#endif
