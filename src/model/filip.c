#include "model/filip.h"

#include <string.h>

#include "model/contrastive.h"

size_t vc_filip_scratch_elems(int B, int Tv, int Lt, int E) {
    return (size_t)B * (Tv + Lt) * (E + 1) + 4 * (size_t)B * B;
}

static double dot(const vc_real *a, const vc_real *b, int E) {
    double s = 0;
    for (int k = 0; k < E; k++) s += (double)a[k] * b[k];
    return s;
}

/* One direction of s(i, j): mean over the valid rows of `a` of the max over the valid rows of
 * `b` of the cosine. With g != NULL, adds weight * d(that mean) / d(a) into g (only `a`'s side:
 * each side's gradient is gathered by its own pass, so passes can run in parallel). */
static double max_mean(const vc_real *a, const unsigned char *am, int Na, const vc_real *b,
                       const unsigned char *bm, int Nb, int E, double weight, vc_real *g) {
    int count = 0;
    for (int x = 0; x < Na; x++) count += am[x] != 0;
    double sum = 0;
    for (int x = 0; x < Na; x++) {
        if (!am[x]) continue;
        int best = -1;
        double mx = 0;
        for (int y = 0; y < Nb; y++) {
            if (!bm[y]) continue;
            const double c = dot(a + (size_t)x * E, b + (size_t)y * E, E);
            if (best < 0 || c > mx) mx = c, best = y;
        }
        sum += mx;
        if (g)
            for (int k = 0; k < E; k++) g[(size_t)x * E + k] += (vc_real)(weight / count * b[(size_t)best * E + k]);
    }
    return sum / count;
}

/* The other direction seen from `a`: adds weight * d/d(a) of mean_{valid y of b} max_{valid x
 * of a} cos(b_y, a_x), which reaches only the maximising row of `a` for each y. */
static void max_mean_as_target(const vc_real *a, const unsigned char *am, int Na, const vc_real *b,
                               const unsigned char *bm, int Nb, int E, double weight, vc_real *g) {
    int count = 0;
    for (int y = 0; y < Nb; y++) count += bm[y] != 0;
    for (int y = 0; y < Nb; y++) {
        if (!bm[y]) continue;
        int best = -1;
        double mx = 0;
        for (int x = 0; x < Na; x++) {
            if (!am[x]) continue;
            const double c = dot(b + (size_t)y * E, a + (size_t)x * E, E);
            if (best < 0 || c > mx) mx = c, best = x;
        }
        for (int k = 0; k < E; k++) g[(size_t)best * E + k] += (vc_real)(weight / count * b[(size_t)y * E + k]);
    }
}

/* d loss / d (one side's raw rows) [B, N, E], overwritten: both directions of every pair's
 * similarity, weighted by ½ d loss / d s (dsim [clip, caption]; `text` says which index is ours),
 * then back through the L2 norm. */
static void side_gradient(vc_real *d, const vc_real *own, const unsigned char *om, int N, const vc_real *norm,
                          const vc_real *other, const unsigned char *xm, int Nx, const vc_real *dsim, int B, int E,
                          int text) {
    memset(d, 0, (size_t)B * N * E * sizeof *d);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            const vc_real *a = own + (size_t)i * N * E, *b = other + (size_t)j * Nx * E;
            const unsigned char *am = om + (size_t)i * N, *bm = xm + (size_t)j * Nx;
            const double w = 0.5 * dsim[text ? (size_t)j * B + i : (size_t)i * B + j];
            max_mean(a, am, N, b, bm, Nx, E, w, d + (size_t)i * N * E);
            max_mean_as_target(a, am, N, b, bm, Nx, E, w, d + (size_t)i * N * E);
        }
    vc_l2norm_backward(d, d, own, norm, B * N, E);
}

double vc_filip_loss(const vc_real *v, const unsigned char *vmask, int Tv, const vc_real *t,
                     const unsigned char *tmask, int Lt, const int32_t *ids, int B, int E, vc_real temp,
                     vc_real *dv, vc_real *dt, vc_real *dtemp, vc_real *scratch) {
    const size_t nv = (size_t)B * Tv, nt = (size_t)B * Lt;
    vc_real *vn = scratch, *tn = vn + nv * E, *vnorm = tn + nt * E, *tnorm = vnorm + nv;
    vc_real *Svt = tnorm + nt, *Stv = Svt + (size_t)B * B, *Pvt = Stv + (size_t)B * B, *Ptv = Pvt + (size_t)B * B;
    vc_l2norm_forward(vn, vnorm, v, (int)nv, E);
    vc_l2norm_forward(tn, tnorm, t, (int)nt, E);
    const double inv_t = 1.0 / temp;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            const vc_real *vi = vn + (size_t)i * Tv * E, *tj = tn + (size_t)j * Lt * E;
            const unsigned char *mi = vmask + (size_t)i * Tv, *mj = tmask + (size_t)j * Lt;
            const double s = 0.5 * (max_mean(vi, mi, Tv, tj, mj, Lt, E, 0, NULL) +
                                    max_mean(tj, mj, Lt, vi, mi, Tv, E, 0, NULL));
            Svt[(size_t)i * B + j] = (vc_real)(s * inv_t);
            Stv[(size_t)j * B + i] = (vc_real)(s * inv_t);
        }
    const double loss = (vc_infonce_rows_forward(Pvt, Svt, B, B, ids, ids, 0) +
                         vc_infonce_rows_forward(Ptv, Stv, B, B, ids, ids, 0)) / (2.0 * B);
    if (!dv && !dt && !dtemp) return loss;
    vc_infonce_rows_backward(Pvt, Pvt, B, B, ids, ids, 0, 1.0 / (2.0 * B)); /* now dSvt */
    vc_infonce_rows_backward(Ptv, Ptv, B, B, ids, ids, 0, 1.0 / (2.0 * B)); /* now dStv */
    double dtmp = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            /* d loss / d s(i, j) = (dSvt + dStvᵀ) / temp, kept in Pvt */
            const double d = Pvt[(size_t)i * B + j] + Ptv[(size_t)j * B + i];
            dtmp -= d * Svt[(size_t)i * B + j] * inv_t;
            Pvt[(size_t)i * B + j] = (vc_real)(d * inv_t);
        }
    if (dtemp) *dtemp = (vc_real)dtmp;
    /* Each side's pass writes only its own rows: parallel and deterministic. */
    if (dv) side_gradient(dv, vn, vmask, Tv, vnorm, tn, tmask, Lt, Pvt, B, E, 0);
    if (dt) side_gradient(dt, tn, tmask, Lt, tnorm, vn, vmask, Tv, Pvt, B, E, 1);
    return loss;
}
