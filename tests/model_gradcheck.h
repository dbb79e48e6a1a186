/* Shared by the whole-model gradient checks (grad_model.c, grad_align.c, grad_mae.c, grad_umt.c): the step's loss as a
 * function of the parameters, and a model whose every gradient path is live. */
#ifndef VC_TESTS_MODEL_GRADCHECK_H
#define VC_TESTS_MODEL_GRADCHECK_H

#include <string.h>

#include "gradcheck.h"
#include "model/model.h"

typedef struct {
    vc_model *m;
    vc_step_inputs in;
} model_ctx;

static inline double model_loss(void *p) {
    model_ctx *c = p;
    double loss = 0;
    vc_error err;
    if (vc_model_loss(c->m, &c->in, &loss, &err)) return NAN;
    return loss;
}

/* Randomises everything the default init leaves at 0 or 1 (temporal embeddings, biases, norm
 * gains), so every gradient path is live. Shared by the model, MAE and UMT checks. */
static inline void perturb_params(vc_real *params, const vc_param_table *t, uint64_t seed) {
    for (int i = 0; i < t->count; i++) {
        const vc_param_info *pi = &t->info[i];
        if (strstr(pi->name, "temporal") || strstr(pi->name, "bias") || strstr(pi->name, "ln_") || strstr(pi->name, "norm"))
            for (size_t k = 0; k < pi->numel; k++) {
                vc_rng r = vc_rng_at(seed, 6, (uint64_t)i, k);
                params[pi->offset + k] += (vc_real)(0.2 * vc_rng_normal(&r));
            }
    }
}

static inline void perturb(vc_model *m) {
    perturb_params(m->params, &m->table, 5);
    m->p.temp[0] = 0.1;
}

#endif
