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
            /* d loss / d s(i, j), kept in Pvt; s/temp sits in both logit matrices */
            const double d = Pvt[(size_t)i * B + j] + Ptv[(size_t)j * B + i];
            dtmp -= d * Svt[(size_t)i * B + j] * inv_t;
            Pvt[(size_t)i * B + j] = (vc_real)(d * inv_t);
        }
    if (dtemp) *dtemp = (vc_real)dtmp;
    /* Each pass writes only its own clip's (caption's) rows: parallel and deterministic. */
    if (dv) {
        memset(dv, 0, nv * E * sizeof *dv);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++) {
                const vc_real *vi = vn + (size_t)i * Tv * E, *tj = tn + (size_t)j * Lt * E;
                const unsigned char *mi = vmask + (size_t)i * Tv, *mj = tmask + (size_t)j * Lt;
                const double w = 0.5 * Pvt[(size_t)i * B + j];
                max_mean(vi, mi, Tv, tj, mj, Lt, E, w, dv + (size_t)i * Tv * E);
                max_mean_as_target(vi, mi, Tv, tj, mj, Lt, E, w, dv + (size_t)i * Tv * E);
            }
        vc_l2norm_backward(dv, dv, vn, vnorm, (int)nv, E);
    }
    if (dt) {
        memset(dt, 0, nt * E * sizeof *dt);
#pragma omp parallel for schedule(static)
        for (int j = 0; j < B; j++)
            for (int i = 0; i < B; i++) {
                const vc_real *vi = vn + (size_t)i * Tv * E, *tj = tn + (size_t)j * Lt * E;
                const unsigned char *mi = vmask + (size_t)i * Tv, *mj = tmask + (size_t)j * Lt;
                const double w = 0.5 * Pvt[(size_t)i * B + j];
                max_mean(tj, mj, Lt, vi, mi, Tv, E, w, dt + (size_t)j * Lt * E);
                max_mean_as_target(tj, mj, Lt, vi, mi, Tv, E, w, dt + (size_t)j * Lt * E);
            }
        vc_l2norm_backward(dt, dt, tn, tnorm, (int)nt, E);
    }
    return loss;
}
