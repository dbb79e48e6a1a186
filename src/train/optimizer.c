#include "train/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vc_adamw_params vc_adamw_default_params(void) {
    /* ViCLIP / CLIP settings: betas (0.9, 0.98), wd 0.2 on matrices only, temperature floor 0.01 */
    vc_adamw_params p = {.beta1 = 0.9, .beta2 = 0.98, .eps = 1e-6, .weight_decay = 0.2,
                         .lr_mult = {1, 1, 1}, .frozen = {0, 0, 0}, .temp_min = 0.01};
    return p;
}

int vc_adamw_init(vc_adamw *opt, const vc_param_table *table, const vc_adamw_params *p, vc_error *err) {
    memset(opt, 0, sizeof *opt);
    opt->p = *p;
    opt->total = table->total;
    opt->m = calloc(table->total, sizeof(vc_real));
    opt->v = calloc(table->total, sizeof(vc_real));
    if (!opt->m || !opt->v) {
        vc_adamw_free(opt);
        return vc_fail(err, "out of memory allocating optimizer state for %zu parameters", table->total);
    }
    return 0;
}

void vc_adamw_free(vc_adamw *opt) {
    free(opt->m);
    free(opt->v);
    opt->m = opt->v = NULL;
}

double vc_grad_norm(const vc_adamw *opt, const vc_param_table *table, const vc_real *grads) {
    double s = 0;
    for (int i = 0; i < table->count; i++) {
        const vc_param_info *pi = &table->info[i];
        if (opt->p.frozen[pi->tower]) continue;
        const vc_real *g = grads + pi->offset;
        double part = 0;
#pragma omp parallel for reduction(+ : part) schedule(static)
        for (size_t k = 0; k < pi->numel; k++) part += (double)g[k] * g[k];
        s += part;
    }
    return sqrt(s);
}

void vc_adamw_step(vc_adamw *opt, const vc_param_table *table, vc_real *params,
                   const vc_real *grads, double lr, double grad_scale, vc_real *temp) {
    opt->t++;
    const double b1 = opt->p.beta1, b2 = opt->p.beta2, eps = opt->p.eps;
    const double bc1 = 1 - pow(b1, (double)opt->t), bc2 = 1 - pow(b2, (double)opt->t);
    for (int i = 0; i < table->count; i++) {
        const vc_param_info *pi = &table->info[i];
        if (opt->p.frozen[pi->tower]) continue;
        const double plr = lr * opt->p.lr_mult[pi->tower];
        const double decay = pi->decay ? 1 - plr * opt->p.weight_decay : 1;
        vc_real *p = params + pi->offset, *m = opt->m + pi->offset, *v = opt->v + pi->offset;
        const vc_real *g = grads + pi->offset;
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < pi->numel; k++) {
            double gk = g[k] * grad_scale;
            double mk = b1 * m[k] + (1 - b1) * gk;
            double vk = b2 * v[k] + (1 - b2) * gk * gk;
            m[k] = (vc_real)mk;
            v[k] = (vc_real)vk;
            double mhat = mk / bc1, denom = sqrt(vk / bc2) + eps;
            p[k] = (vc_real)(p[k] * decay - plr * mhat / denom);
        }
    }
    if (temp && *temp < opt->p.temp_min) *temp = (vc_real)opt->p.temp_min;
}

double vc_cosine_lr(int64_t step, int64_t warmup, int64_t total, double base, double min_lr) {
    if (warmup > 0 && step < warmup) return base * (double)(step + 1) / (double)warmup;
    if (total <= warmup) return base;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    if (progress > 1) progress = 1;
    return min_lr + (base - min_lr) * 0.5 * (1 + cos(M_PI * progress));
}
