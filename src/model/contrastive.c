#include "model/contrastive.h"

#include <math.h>
#include <string.h>

#include "kernels/gemm.h"

size_t vc_contrastive_scratch_elems(int B, int Bt, int E) {
    return 2 * (size_t)B * E + 3 * (size_t)B * Bt + 3 * (size_t)B;
}

void vc_l2_normalize_rows(vc_real *x, int N, int E) {
    for (int n = 0; n < N; n++) {
        vc_real *r = x + (size_t)n * E;
        double s = 0;
        for (int i = 0; i < E; i++) s += (double)r[i] * r[i];
        double inv = 1.0 / fmax(sqrt(s), 1e-12);
        for (int i = 0; i < E; i++) r[i] = (vc_real)(r[i] * inv);
    }
}

double vc_contrastive_loss(const vc_real *v, const vc_real *t, const int32_t *ids, int B, int E,
                           vc_real temp, vc_real *dv, vc_real *dt, vc_real *dtemp,
                           vc_real *scratch) {
    vc_real *vn = scratch, *tn = vn + (size_t)B * E;
    vc_real *S = tn + (size_t)B * E;            /* [B, B] logits */
    vc_real *Pr = S + (size_t)B * B;            /* row softmax (video -> text) */
    vc_real *Pc = Pr + (size_t)B * B;           /* column softmax (text -> video), stored [i, j] */
    vc_real *vnorm = Pc + (size_t)B * B, *tnorm = vnorm + B, *group = tnorm + B;
    for (int i = 0; i < B; i++) {
        double sv = 0, st = 0;
        for (int k = 0; k < E; k++) {
            sv += (double)v[(size_t)i * E + k] * v[(size_t)i * E + k];
            st += (double)t[(size_t)i * E + k] * t[(size_t)i * E + k];
        }
        vnorm[i] = (vc_real)fmax(sqrt(sv), 1e-12);
        tnorm[i] = (vc_real)fmax(sqrt(st), 1e-12);
        for (int k = 0; k < E; k++) {
            vn[(size_t)i * E + k] = v[(size_t)i * E + k] / vnorm[i];
            tn[(size_t)i * E + k] = t[(size_t)i * E + k] / tnorm[i];
        }
    }
    vc_gemm(0, 1, B, B, E, (vc_real)(1.0 / temp), vn, E, tn, E, 0, S, B);

    /* targets: T[i][j] = [ids_i == ids_j] / |group(i)| (identity without ids) */
#define SAME(i, j) (ids ? ids[i] == ids[j] : (i) == (j))
    double loss = 0;
    for (int i = 0; i < B; i++) { /* video -> text: softmax over row i */
        const vc_real *row = S + (size_t)i * B;
        double mx = row[0];
        for (int j = 1; j < B; j++) mx = fmax(mx, row[j]);
        double z = 0;
        for (int j = 0; j < B; j++) z += exp(row[j] - mx);
        double lz = mx + log(z);
        int cnt = 0;
        double acc = 0;
        for (int j = 0; j < B; j++) {
            Pr[(size_t)i * B + j] = (vc_real)exp(row[j] - lz);
            if (SAME(i, j)) {
                cnt++;
                acc += row[j] - lz;
            }
        }
        loss -= acc / cnt / B / 2;
    }
    for (int j = 0; j < B; j++) { /* text -> video: softmax over column j */
        double mx = S[j];
        for (int i = 1; i < B; i++) mx = fmax(mx, S[(size_t)i * B + j]);
        double z = 0;
        for (int i = 0; i < B; i++) z += exp(S[(size_t)i * B + j] - mx);
        double lz = mx + log(z);
        int cnt = 0;
        double acc = 0;
        for (int i = 0; i < B; i++) {
            Pc[(size_t)i * B + j] = (vc_real)exp(S[(size_t)i * B + j] - lz);
            if (SAME(i, j)) {
                cnt++;
                acc += S[(size_t)i * B + j] - lz;
            }
        }
        loss -= acc / cnt / B / 2;
    }
    if (!dv && !dt && !dtemp) return loss;

    /* dL/dS[i,j] = ((Pr - T)[i,j] + (Pc - T^T)[i,j]) / (2B); reuse Pr for it. */
    for (int i = 0; i < B; i++) {
        int cnt = 0;
        for (int j = 0; j < B; j++) cnt += SAME(i, j);
        group[i] = (vc_real)cnt;
    }
    double dtmp = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            /* row i's targets spread over group(i), column j's over group(j) */
            double tr = SAME(i, j) ? 1.0 / group[i] : 0, tc = SAME(i, j) ? 1.0 / group[j] : 0;
            double g = ((Pr[(size_t)i * B + j] - tr) + (Pc[(size_t)i * B + j] - tc)) / (2.0 * B);
            Pr[(size_t)i * B + j] = (vc_real)g;
            dtmp += g * -S[(size_t)i * B + j] / temp;
        }
#undef SAME
    if (dtemp) *dtemp = (vc_real)dtmp;
    const vc_real *dS = Pr;
    const vc_real inv_t = (vc_real)(1.0 / temp);
    for (int side = 0; side < 2; side++) {
        vc_real *out = side ? dt : dv;
        if (!out) continue;
        const vc_real *xn = side ? tn : vn, *other = side ? vn : tn;
        const vc_real *nrm = side ? tnorm : vnorm;
        /* d(xn) = dS @ other / temp (rows of video) or dS^T @ other / temp (rows of text) */
        vc_real *dxn = out; /* [B, E] computed in place, then projected */
        vc_gemm(side, 0, B, E, B, inv_t, dS, B, other, E, 0, dxn, E);
        for (int i = 0; i < B; i++) {
            vc_real *d = dxn + (size_t)i * E;
            const vc_real *x = xn + (size_t)i * E;
            double dot = 0;
            for (int k = 0; k < E; k++) dot += (double)d[k] * x[k];
            for (int k = 0; k < E; k++) d[k] = (vc_real)((d[k] - x[k] * dot) / nrm[i]);
        }
    }
    return loss;
}
