#include "model/classifier.h"

#include <math.h>
#include <string.h>

#include "kernels/gemm.h"

void vc_head_forward(const vc_real *w, const vc_real *b, const vc_real *emb, int B, int E, int C, vc_real *x,
                     vc_real *logits) {
    const double root = sqrt((double)E);
    for (int i = 0; i < B; i++) {
        const vc_real *v = emb + (size_t)i * E;
        double s = 0;
        for (int k = 0; k < E; k++) s += (double)v[k] * v[k];
        const double scale = root / fmax(sqrt(s), 1e-12); /* F.normalize's eps */
        for (int k = 0; k < E; k++) x[(size_t)i * E + k] = (vc_real)(v[k] * scale);
    }
    vc_gemm(0, 1, B, C, E, 1, x, E, w, E, 0, logits, C);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) logits[(size_t)i * C + c] += b[c];
}

void vc_head_backward(const vc_real *w, const vc_real *emb, const vc_real *x, const vc_real *dlogits, int B, int E,
                      int C, vc_real *dw, vc_real *db, vc_real *demb) {
    vc_gemm(1, 0, C, E, B, 1, dlogits, C, x, E, 1, dw, E);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) db[c] += dlogits[(size_t)i * C + c];
    if (!demb) return;
    vc_gemm(0, 0, B, E, C, 1, dlogits, C, w, E, 0, demb, E); /* d loss / d x */
    /* x = sqrt(E) u, u = v/|v|: dv = sqrt(E) (du - u (u . du)) / |v|, with du = dx */
    const double root = sqrt((double)E);
    for (int i = 0; i < B; i++) {
        const vc_real *v = emb + (size_t)i * E, *xi = x + (size_t)i * E;
        vc_real *d = demb + (size_t)i * E;
        double s = 0, dot = 0;
        for (int k = 0; k < E; k++) s += (double)v[k] * v[k], dot += (double)xi[k] * d[k];
        const double n = fmax(sqrt(s), 1e-12);
        dot /= root; /* u . dx */
        for (int k = 0; k < E; k++) d[k] = (vc_real)(root * (d[k] - xi[k] / root * dot) / n);
    }
}

double vc_soft_cross_entropy(const vc_real *logits, const vc_real *targets, int B, int C, vc_real *dlogits) {
    double total = 0;
    for (int i = 0; i < B; i++) {
        const vc_real *z = logits + (size_t)i * C, *t = targets + (size_t)i * C;
        double mx = z[0];
        for (int c = 1; c < C; c++) mx = fmax(mx, z[c]);
        double se = 0;
        for (int c = 0; c < C; c++) se += exp(z[c] - mx);
        const double lse = mx + log(se);
        for (int c = 0; c < C; c++) {
            total -= t[c] * (z[c] - lse);
            if (dlogits) dlogits[(size_t)i * C + c] = (vc_real)((exp(z[c] - lse) - t[c]) / B);
        }
    }
    return total / B;
}

void vc_soft_targets(const int32_t *y, const int32_t *y2, double lam, int B, int C, double smoothing,
                     vc_real *targets) {
    const double off = smoothing / C, on = 1 - smoothing + off;
    for (int i = 0; i < B; i++) {
        vc_real *t = targets + (size_t)i * C;
        for (int c = 0; c < C; c++) t[c] = (vc_real)off;
        if (!y2) {
            t[y[i]] = (vc_real)on;
            continue;
        }
        t[y[i]] += (vc_real)(lam * (on - off));
        t[y2[i]] += (vc_real)((1 - lam) * (on - off));
    }
}

void vc_mixup_rows(vc_real *x, int B, size_t n, double lam, const int32_t *y, int32_t *y2, vc_real *scratch) {
    memcpy(scratch, x, (size_t)B * n * sizeof *x);
    for (int i = 0; i < B; i++) {
        const vc_real *a = scratch + (size_t)i * n, *b = scratch + (size_t)(B - 1 - i) * n;
        vc_real *o = x + (size_t)i * n;
        for (size_t k = 0; k < n; k++) o[k] = (vc_real)(lam * a[k] + (1 - lam) * b[k]);
        y2[i] = y[B - 1 - i];
    }
}

/* Gamma(a, 1) by Marsaglia and Tsang; a < 1 boosted with U^(1/a). */
static double gamma_sample(double a, double (*uniform)(void *), double (*normal)(void *), void *rng) {
    if (a < 1) {
        double u = uniform(rng);
        return gamma_sample(a + 1, uniform, normal, rng) * pow(u > 0 ? u : 1e-300, 1 / a);
    }
    const double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double z = normal(rng), v = 1 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        double u = uniform(rng);
        if (u > 0 && log(u) < 0.5 * z * z + d - d * v + d * log(v)) return d * v;
    }
}

double vc_beta_sample(double alpha, double (*uniform)(void *), double (*normal)(void *), void *rng) {
    double a = gamma_sample(alpha, uniform, normal, rng), b = gamma_sample(alpha, uniform, normal, rng);
    return a + b > 0 ? a / (a + b) : 0.5;
}
