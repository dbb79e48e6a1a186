#include "model/contrastive.h"

#include <math.h>
#include <string.h>

#include "kernels/gemm.h"

void vc_l2norm_forward(vc_real *xn, vc_real *norm, const vc_real *x, int N, int E) {
    for (int n = 0; n < N; n++) {
        const vc_real *r = x + (size_t)n * E;
        double s = 0;
        for (int i = 0; i < E; i++) s += (double)r[i] * r[i];
        norm[n] = (vc_real)fmax(sqrt(s), 1e-12);
        for (int i = 0; i < E; i++) xn[(size_t)n * E + i] = r[i] / norm[n];
    }
}

void vc_l2norm_backward(vc_real *dx, const vc_real *dxn, const vc_real *xn, const vc_real *norm, int N, int E) {
    for (int n = 0; n < N; n++) {
        const vc_real *d = dxn + (size_t)n * E, *x = xn + (size_t)n * E;
        double dot = 0;
        for (int k = 0; k < E; k++) dot += (double)d[k] * x[k];
        for (int k = 0; k < E; k++) dx[(size_t)n * E + k] = (vc_real)((d[k] - x[k] * dot) / norm[n]);
    }
}

void vc_l2_normalize_rows(vc_real *x, int N, int E) {
    for (int n = 0; n < N; n++) {
        vc_real norm;
        vc_l2norm_forward(x + (size_t)n * E, &norm, x + (size_t)n * E, 1, E);
    }
}

void vc_logits_forward(vc_real *S, const vc_real *a, const vc_real *b, int R, int N, int E, vc_real temp) {
    vc_gemm(0, 1, R, N, E, (vc_real)(1.0 / temp), a, E, b, E, 0, S, N);
}

double vc_logits_backward(vc_real *da, vc_real *db, const vc_real *dS, const vc_real *S, const vc_real *a,
                          const vc_real *b, int R, int N, int E, vc_real temp) {
    const vc_real inv_t = (vc_real)(1.0 / temp);
    if (da) vc_gemm(0, 0, R, E, N, inv_t, dS, N, b, E, 1, da, E);   /* [R,N]@[N,E] */
    if (db) vc_gemm(1, 0, N, E, R, inv_t, dS, N, a, E, 1, db, E);   /* [N,R]@[R,E] */
    double dtemp = 0;
    for (size_t k = 0; k < (size_t)R * N; k++) dtemp -= (double)dS[k] * S[k];
    return dtemp / temp;
}

static inline int positive(const int32_t *row_ids, const int32_t *col_ids, int row_offset, int r, int j) {
    return row_ids ? row_ids[r] == col_ids[j] : j == r + row_offset;
}

double vc_infonce_rows_forward(vc_real *P, const vc_real *S, int R, int N, const int32_t *row_ids,
                               const int32_t *col_ids, int row_offset) {
    double loss = 0;
    for (int r = 0; r < R; r++) {
        const vc_real *row = S + (size_t)r * N;
        double mx = row[0];
        for (int j = 1; j < N; j++) mx = fmax(mx, row[j]);
        double z = 0;
        for (int j = 0; j < N; j++) z += exp(row[j] - mx);
        const double lz = mx + log(z);
        int cnt = 0;
        double acc = 0;
        for (int j = 0; j < N; j++) {
            P[(size_t)r * N + j] = (vc_real)exp(row[j] - lz);
            if (positive(row_ids, col_ids, row_offset, r, j)) cnt++, acc += row[j] - lz;
        }
        loss -= acc / cnt;
    }
    return loss;
}

void vc_infonce_rows_backward(vc_real *dS, const vc_real *P, int R, int N, const int32_t *row_ids,
                              const int32_t *col_ids, int row_offset, double weight) {
    for (int r = 0; r < R; r++) {
        int cnt = 0;
        for (int j = 0; j < N; j++) cnt += positive(row_ids, col_ids, row_offset, r, j);
        for (int j = 0; j < N; j++) {
            const double target = positive(row_ids, col_ids, row_offset, r, j) ? 1.0 / cnt : 0;
            dS[(size_t)r * N + j] = (vc_real)(weight * (P[(size_t)r * N + j] - target));
        }
    }
}

size_t vc_contrastive_scratch_elems(int B, int Bt, int E) {
    return ((size_t)B + Bt) * E + 4 * (size_t)B * Bt + (size_t)B + Bt;
}

double vc_contrastive_loss(const vc_real *v, const vc_real *t, const int32_t *ids, int B, int E,
                           vc_real temp, vc_real *dv, vc_real *dt, vc_real *dtemp,
                           vc_real *scratch) {
    vc_real *vn = scratch, *tn = vn + (size_t)B * E;
    vc_real *Svt = tn + (size_t)B * E, *Stv = Svt + (size_t)B * B;  /* video->text, text->video */
    vc_real *Pvt = Stv + (size_t)B * B, *Ptv = Pvt + (size_t)B * B;
    vc_real *vnorm = Ptv + (size_t)B * B, *tnorm = vnorm + B;
    vc_l2norm_forward(vn, vnorm, v, B, E);
    vc_l2norm_forward(tn, tnorm, t, B, E);
    vc_logits_forward(Svt, vn, tn, B, B, E, temp);
    vc_logits_forward(Stv, tn, vn, B, B, E, temp);
    /* each direction is the mean over its B rows, and the two directions are averaged */
    const double loss = (vc_infonce_rows_forward(Pvt, Svt, B, B, ids, ids, 0) +
                         vc_infonce_rows_forward(Ptv, Stv, B, B, ids, ids, 0)) / (2.0 * B);
    if (!dv && !dt && !dtemp) return loss;

    vc_infonce_rows_backward(Pvt, Pvt, B, B, ids, ids, 0, 1.0 / (2.0 * B));  /* now dSvt */
    vc_infonce_rows_backward(Ptv, Ptv, B, B, ids, ids, 0, 1.0 / (2.0 * B));  /* now dStv */
    if (dv) memset(dv, 0, (size_t)B * E * sizeof *dv);
    if (dt) memset(dt, 0, (size_t)B * E * sizeof *dt);
    /* gradients w.r.t. the normalised embeddings first (held in dv/dt), then through the norm */
    double dtmp = vc_logits_backward(dv, dt, Pvt, Svt, vn, tn, B, B, E, temp);
    dtmp += vc_logits_backward(dt, dv, Ptv, Stv, tn, vn, B, B, E, temp);
    if (dtemp) *dtemp = (vc_real)dtmp;
    if (dv) vc_l2norm_backward(dv, dv, vn, vnorm, B, E);
    if (dt) vc_l2norm_backward(dt, dt, tn, tnorm, B, E);
    return loss;
}
