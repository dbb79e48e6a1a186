#include "train/trainer.h"

#include <string.h>

#include "core/clock.h"
#include "dist/collectives.h"
#include "train/train_state.h"

vc_train_params vc_train_default_params(void) {
    vc_train_params p = {0};
    p.cfg = vc_config_preset(VC_PRESET_DEMO);
    p.batch_size = 32;
    p.accum_freq = 1;
    p.steps = 1000;
    p.warmup = 100;
    p.lr = 5e-4;
    p.min_lr = 1e-6;
    p.weight_decay = 0.2;
    p.grad_clip_norm = 0;
    p.beta1 = 0.9;
    p.beta2 = 0.98;
    p.eps = 1e-6;
    p.mask_ratio = 0.9;
    p.unmasked_steps = 0;
    p.drop_path = 0;
    p.lr_mult_vision = 1;
    p.lr_mult_text = 1;
    p.balance_target = 1; /* equal relative update sizes; 0 is read as 1 too */
    p.temp_init = 0.01;
    p.temp_min = 0.01;
    p.seed = 0;
    p.progress_every = 10;
    p.workers = 0;
    p.prefetch = 2;
    p.sampling = VC_SAMPLE_RAND;
    p.augment = 1;
    p.clean_captions = 1;
    p.local_loss = 1;
    p.align_global = 1;
    p.align_frame = 0;
    return p;
}

/* The run's plan for on_start: the workspace of the masked and of the unmasked steps it has. */
static void report_start(const vc_train_state *s, int64_t end) {
    const vc_train_params *p = s->p;
    if (!p->on_start || s->rank || p->device != VC_DEVICE_CPU) return; /* a device plans its own memory */
    const vc_model *m = s->model;
    const int64_t first_unmasked = p->mask_ratio > 0 ? p->steps - p->unmasked_steps : 0;
    const int drop = p->drop_path > 0;
    vc_train_start st = {.first_step = s->start, .steps = p->steps, .parameters = m->table.total, .batch = s->B,
                         .kept_tokens = s->K_masked, .all_tokens = s->N_tok, .grad_checkpointing = m->grad_checkpointing};
    if (s->start < first_unmasked)
        st.masked_bytes = vc_model_training_bytes(m, s->B, s->B, s->K_masked, !p->freeze_text, drop, &s->align);
    if (end > first_unmasked)
        st.unmasked_bytes = vc_model_training_bytes(m, s->B, s->B, s->N_tok, !p->freeze_text, drop, &s->align);
    p->on_start(&st, p->user);
}

int vc_train(const vc_train_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err) {
    if (summary) memset(summary, 0, sizeof *summary);
    vc_train_state s;
    int rc = -1;
    if (vc_train_state_open(&s, p, tok, err)) goto done;
    const int64_t end = p->stop_after > 0 && p->stop_after < p->steps ? p->stop_after : p->steps;
    report_start(&s, end);
    const double t0 = vc_now_s();
    int stopped = 0;
    for (int64_t step = s.start; step < end; step++) {
        const double lr = vc_cosine_lr(step, p->warmup, p->steps, p->lr, p->min_lr);
        const int masked = p->mask_ratio > 0 && step < p->steps - p->unmasked_steps;
        double loss;
        if (vc_train_load_batch(&s, step, masked, err) || vc_train_forward_backward(&s, &loss, err)) goto done;
        double norm;
        if (vc_train_grad_norm(&s, step, &norm, err) || vc_train_check_finite(&s, step, loss, norm, lr, err) ||
            vc_train_update(&s, step, lr, norm, err))
            goto done;
        const double elapsed = vc_now_s() - t0;
        const int64_t done_steps = step + 1 - s.start;
        /* a stop request (the caller's signal handler) is honoured between steps, with a checkpoint;
         * data-parallel ranks agree on it, so all of them stop after the same step */
        int stop = p->stop_requested && *p->stop_requested;
        if (p->dist && p->dist->size > 1) {
            int32_t any = stop;
            if (vc_dist_allreduce_sum(p->dist, &any, 1, VC_DIST_I32, "stop request", err)) goto done;
            stop = any > 0;
        }
        if (summary)
            *summary = (vc_train_summary){s.start, step + 1, s.data.n, s.n_skipped, elapsed, s.data_wait_s, loss, stop,
                                          s.ranks, p->dist ? p->dist->comm_s : 0, p->dist ? p->dist->comm_busy_s : 0};
        const vc_train_progress pr = {.step = step + 1, .steps = p->steps, .loss = loss, .lr = lr,
                                      .grad_norm = norm, .temp = s.model->p.temp[0],
                                      .samples_per_s = done_steps * (double)s.B * s.A * s.ranks / elapsed,
                                      .elapsed_s = elapsed,
                                      .eta_s = elapsed / done_steps * (double)(p->steps - step - 1),
                                      .masked = masked, .data_wait_s = s.data_wait_s};
        if (vc_train_log_step(&s, &pr, err)) goto done;
        if (p->on_progress && s.rank == 0 && (pr.step % (p->progress_every > 0 ? p->progress_every : 1) == 0 || pr.step == end))
            p->on_progress(&pr, p->user);
        if (((p->save_every > 0 && pr.step % p->save_every == 0) || pr.step == end || stop) &&
            vc_train_checkpoint(&s, pr.step, err))
            goto done;
        if (stop) {
            stopped = 1;
            break;
        }
    }
    rc = vc_train_finish(&s, end == p->steps && !stopped, err);
done:
    vc_train_state_free(&s);
    return rc;
}
