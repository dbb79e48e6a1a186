/* Shared by the whole-model gradient checks (grad_model.c, grad_align.c, grad_align_layers.c,
 * grad_mae.c, grad_umt.c): the step's loss as a function of the parameters, a model whose every
 * gradient path is live, and the check of every tensor. */
#ifndef VC_TESTS_MODEL_GRADCHECK_H
#define VC_TESTS_MODEL_GRADCHECK_H

#include <string.h>

#include "gradcheck.h"
#include "model/model.h"
#include "testutil.h"

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
 * gains, the alignment heads' LayerNorms), so every gradient path is live. Shared by the model,
 * MAE and UMT checks. */
static inline void perturb_params(vc_real *params, const vc_param_table *t, uint64_t seed) {
    for (int i = 0; i < t->count; i++) {
        const vc_param_info *pi = &t->info[i];
        if (strstr(pi->name, "temporal") || strstr(pi->name, "bias") || strstr(pi->name, "ln_") || strstr(pi->name, "norm") ||
            strstr(pi->name, ".ln."))
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

/* A model of config c with gradients on, weights from seed 42 (std 0.1), perturbed; NULL with
 * err set. */
static inline vc_model *live_model(const vc_config *c, vc_error *err) {
    vc_model *m = vc_model_new(c, err);
    if (m && vc_model_enable_grads(m, err)) vc_model_free(m), m = NULL;
    if (!m) return NULL;
    vc_model_init_random(m, 42, 0.1);
    perturb(m);
    return m;
}

/* Every tensor's gradient (ACCUMULATED by the caller's step with in.grad_scale) against finite
 * differences on `samples` elements; with the text tower frozen its tensors must have none. */
static inline void check_model_gradients(model_ctx *ctx, int train_text, int samples, int *vc_t_failed, char *vc_t_why,
                                         size_t vc_t_whylen) {
    vc_model *m = ctx->m;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (!train_text && pi->tower == VC_TOWER_TEXT) {
            for (size_t k = 0; k < pi->numel; k++) CHECK(m->grads[pi->offset + k] == 0, "%s has a gradient", pi->name);
            continue;
        }
        for (size_t k = 0; k < pi->numel; k++) m->grads[pi->offset + k] /= ctx->in.grad_scale;
        double num = 0, ana = 0;
        double e = vc_gradcheck(m->params + pi->offset, pi->numel, m->grads + pi->offset, model_loss, ctx, samples,
                                (uint64_t)i, &num, &ana);
        CHECK(e < 1e-5, "%s: error %g (numeric %.10g, analytic %.10g)", pi->name, e, num, ana);
        if (e > worst) worst = e, worst_name = pi->name;
    }
    printf("  worst relative gradient error %.3g (%s) over %d tensors\n", worst, worst_name, m->table.count);
}

/* Parameters and their gradients, laid out by a table (a model's, or a pretraining head's or
 * decoder's next to it). */
typedef struct {
    vc_real *params, *grads;
    const vc_param_table *table;
} param_set;

/* The pretraining checks (MAE, UMT): every video-tower tensor of each set against finite
 * differences of f on 10 elements, each within 1e-4 (the deepest paths, head or decoder then
 * back through the tower, carry gradients of ~1e-4 against an O(1) loss, where central
 * differences keep ~1e-12 of round-off; a wrong path errs by O(1)). The worst error and its
 * tensor go to *worst / *worst_name, the tensors checked to *checked (or NULL). VERBOSE=1 prints
 * each. */
static inline void check_vision_gradients(const param_set *sets, int n_sets, vc_loss_fn f, void *ctx, double *worst,
                                          const char **worst_name, int *checked, int *vc_t_failed, char *vc_t_why,
                                          size_t vc_t_whylen) {
    *worst = 0, *worst_name = "";
    if (checked) *checked = 0;
    for (int s = 0; s < n_sets; s++)
        for (int i = 0; i < sets[s].table->count; i++) {
            const vc_param_info *pi = &sets[s].table->info[i];
            if (pi->tower != VC_TOWER_VISION) continue;
            double num = 0, ana = 0;
            double e = vc_gradcheck(sets[s].params + pi->offset, pi->numel, sets[s].grads + pi->offset, f, ctx, 10,
                                    (uint64_t)i, &num, &ana);
            if (getenv("VERBOSE")) printf("    %-60s %.3g\n", pi->name, e);
            CHECK(e < 1e-4, "%s: error %g (numeric %.10g, analytic %.10g)", pi->name, e, num, ana);
            if (e > *worst) *worst = e, *worst_name = pi->name;
            if (checked) ++*checked;
        }
}

#endif
