#include "train/optimizer.h"

#include <math.h>
#include <stdio.h>
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
    free(opt->lr_scale);
    opt->m = opt->v = NULL;
    opt->lr_scale = NULL;
}

/* The layer id of a video-tower tensor (see vc_adamw_set_layer_decay). */
static int vision_layer_id(const char *name, int layers) {
    int block;
    if (sscanf(name, "vision_encoder.transformer.resblocks.%d.", &block) == 1) return block + 1;
    if (strstr(name, ".ln_post.") || !strcmp(name, "vision_encoder.proj")) return layers + 1;
    return 0;
}

int vc_adamw_set_layer_decay(vc_adamw *opt, const vc_param_table *table, int vision_layers, double decay,
                             vc_error *err) {
    if (!(decay > 0 && decay <= 1)) return vc_fail(err, "layer decay %g must be in (0, 1]", decay);
    free(opt->lr_scale);
    opt->lr_scale = NULL;
    if (decay == 1) return 0;
    opt->lr_scale = malloc((size_t)table->count * sizeof *opt->lr_scale);
    if (!opt->lr_scale) return vc_fail(err, "out of memory for layer-decay scales");
    for (int i = 0; i < table->count; i++) {
        const vc_param_info *pi = &table->info[i];
        opt->lr_scale[i] = pi->tower == VC_TOWER_VISION
                               ? pow(decay, vision_layers + 1 - vision_layer_id(pi->name, vision_layers))
                               : 1;
    }
    return 0;
}

double vc_adamw_update_ratio(const vc_adamw *opt, vc_tower tower) {
    return opt->weight_sq[tower] > 0 ? sqrt(opt->update_sq[tower] / opt->weight_sq[tower]) : 0;
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
    memset(opt->update_sq, 0, sizeof opt->update_sq);
    memset(opt->weight_sq, 0, sizeof opt->weight_sq);
    for (int i = 0; i < table->count; i++) {
        const vc_param_info *pi = &table->info[i];
        if (opt->p.frozen[pi->tower]) continue;
        const double plr = lr * opt->p.lr_mult[pi->tower] * (opt->lr_scale ? opt->lr_scale[i] : 1);
        const double decay = pi->decay ? 1 - plr * opt->p.weight_decay : 1;
        vc_real *p = params + pi->offset, *m = opt->m + pi->offset, *v = opt->v + pi->offset;
        const vc_real *g = grads + pi->offset;
        double usq = 0, wsq = 0;
        /* simd (and -fno-math-errno for sqrt): otherwise the loop stays scalar, as p, m, v and g
         * might alias, and the step costs several times its memory traffic. Element results are
         * the same (no contraction in ISO C mode); only the norms' summation order changes. */
#pragma omp parallel for simd schedule(static) reduction(+ : usq, wsq)
        for (size_t k = 0; k < pi->numel; k++) {
            double gk = g[k] * grad_scale;
            double mk = b1 * m[k] + (1 - b1) * gk;
            double vk = b2 * v[k] + (1 - b2) * gk * gk;
            m[k] = (vc_real)mk;
            v[k] = (vc_real)vk;
            double mhat = mk / bc1, denom = sqrt(vk / bc2) + eps;
            const vc_real old = p[k];
            p[k] = (vc_real)(old * decay - plr * mhat / denom);
            usq += ((double)p[k] - old) * ((double)p[k] - old);
            wsq += (double)p[k] * p[k];
        }
        opt->update_sq[pi->tower] += usq;
        opt->weight_sq[pi->tower] += wsq;
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
