/* What a training run leaves behind: the per-step log, checkpoints, the final model and the
 * loss plot. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/svg_plot.h"
#include "model/model_io.h"
#include "train/checkpoint.h"
#include "train/train_state.h"

int vc_train_log_step(vc_train_state *s, const vc_train_progress *pr, vc_error *err) {
    if (s->rank) return 0; /* rank 0 writes the files */
    /* each alignment term unweighted, when the loss is more than the global term */
    char terms[1024] = "";
    const vc_workspace *w = &s->model->train;
    if (s->align.frame > 0 || s->align.n_layers) {
        size_t n = (size_t)snprintf(terms, sizeof terms, ",\"loss_global\":%.9g", w->loss_global);
        if (s->align.frame > 0) n += (size_t)snprintf(terms + n, sizeof terms - n, ",\"loss_frame\":%.9g", w->loss_frame);
        for (int i = 0; i < s->align.n_layers && n < sizeof terms; i++)
            n += (size_t)snprintf(terms + n, sizeof terms - n, ",\"loss_layer_%d\":%.9g", s->align.layers[i], w->la.loss[i]);
    }
    char line[2048];
    snprintf(line, sizeof line,
             "{\"step\":%" PRId64 ",\"loss\":%.9g,\"lr\":%.6g,\"grad_norm\":%.6g,\"temp\":%.6g,"
             "\"masked\":%d,\"samples_per_s\":%.2f,\"elapsed_s\":%.2f,\"data_wait_s\":%.2f,"
             "\"update_ratio_vision\":%.6g,\"update_ratio_text\":%.6g,\"lr_mult_vision\":%.6g,\"lr_mult_text\":%.6g%s}",
             pr->step, pr->loss, pr->lr, pr->grad_norm, pr->temp, pr->masked, pr->samples_per_s, pr->elapsed_s,
             pr->data_wait_s, vc_adamw_update_ratio(&s->opt, VC_TOWER_VISION), vc_adamw_update_ratio(&s->opt, VC_TOWER_TEXT),
             s->opt.p.lr_mult[VC_TOWER_VISION], s->opt.p.lr_mult[VC_TOWER_TEXT], terms);
    return vc_jsonl_log_write(&s->log, line, err);
}

/* A model about to be written must be finite (the save checks that) and still give a finite loss
 * after its last update: finite weights can already overflow the forward, and the step that
 * would notice never runs when this is the last one. One forward of the step's last micro-batch. */
static int check_diverged(vc_train_state *s, int64_t step, const char *what, vc_error *err) {
    double loss;
    /* on a training device its own step computes it (the gradients it leaves are recomputed by
     * the next step; masks and drop-path are functions of (seed, step), so nothing else moves) */
    if (s->model->device ? vc_device_forward_backward(s->model->device, s->model, &s->micro[s->A - 1], &loss, err)
                         : vc_model_loss(s->model, &s->micro[s->A - 1], &loss, err))
        return -1;
    if (isfinite(loss)) return 0;
    return vc_fail(err, "after step %" PRId64 " the model gives a loss of %g: training diverged (lower the learning "
                        "rate or clip gradients); not writing %s, the last checkpoint is kept", step, loss, what);
}

int vc_train_pull(vc_train_state *s, vc_error *err) {
    return s->model->device ? vc_device_train_pull(s->model->device, s->model, &s->opt, 0, err) : 0;
}

int vc_train_checkpoint(vc_train_state *s, int64_t step, vc_error *err) {
    if (s->rank) return 0;
    if (vc_train_pull(s, err)) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", s->p->out_dir);
    if (check_diverged(s, step, path, err)) return -1;
    return vc_checkpoint_save(path, s->model, &s->opt, step, s->seed, s->args, err);
}

static int write_loss_plot(const char *log_path, const char *svg_path, vc_error *err) {
    FILE *f = fopen(log_path, "r");
    if (!f) return vc_fail(err, "%s: %s", log_path, strerror(errno));
    size_t cap = 1024, n = 0;
    double *xs = malloc(cap * sizeof *xs), *ys = malloc(cap * sizeof *ys);
    char line[1024];
    while (xs && ys && fgets(line, sizeof line, f)) {
        double st, l;
        if (sscanf(line, "{\"step\":%lf,\"loss\":%lf", &st, &l) != 2) continue;
        if (n == cap) {
            cap *= 2;
            double *nx = realloc(xs, cap * sizeof *xs), *ny = realloc(ys, cap * sizeof *ys);
            if (nx) xs = nx;
            if (ny) ys = ny;
            if (!nx || !ny) break;
        }
        xs[n] = st, ys[n] = l, n++;
    }
    fclose(f);
    int rc = 0;
    double *smooth = malloc((n ? n : 1) * sizeof *smooth);
    if (!xs || !ys || !smooth) {
        rc = vc_fail(err, "out of memory plotting %s", log_path);
    } else {
        /* centred moving average over ~1/20 of the run (no lag, unlike an EMA) */
        const size_t half = n / 40;
        for (size_t i = 0; i < n; i++) {
            size_t lo = i > half ? i - half : 0, hi = i + half < n ? i + half : n - 1;
            double sum = 0;
            for (size_t k = lo; k <= hi; k++) sum += ys[k];
            smooth[i] = sum / (double)(hi - lo + 1);
        }
        const char *names[2] = {"loss", "smoothed"};
        const double *X[2] = {xs, xs}, *Y[2] = {ys, smooth};
        int lens[2] = {(int)n, (int)n};
        rc = vc_svg_plot_lines(svg_path, "ViCLIP training loss", "step", "contrastive loss", 2,
                               names, X, Y, lens, err);
    }
    free(xs), free(ys), free(smooth);
    return rc;
}

/* The towers' balance over the run: log10 of each tower's update/weight ratio and of its
 * learning-rate multiplier (one axis for quantities four decades apart). */
static int write_balance_plot(const char *log_path, const char *svg_path, vc_error *err) {
    static const char *const keys[4] = {"\"update_ratio_vision\":", "\"update_ratio_text\":",
                                        "\"lr_mult_vision\":", "\"lr_mult_text\":"};
    FILE *f = fopen(log_path, "r");
    if (!f) return vc_fail(err, "%s: %s", log_path, strerror(errno));
    size_t cap = 1024, n = 0;
    double *xs = malloc(cap * sizeof *xs), *ys = malloc(4 * cap * sizeof *ys);
    char line[1024];
    while (xs && ys && fgets(line, sizeof line, f)) {
        double st;
        if (sscanf(line, "{\"step\":%lf", &st) != 1) continue;
        if (n == cap) {
            double *nx = realloc(xs, 2 * cap * sizeof *xs), *ny = realloc(ys, 8 * cap * sizeof *ys);
            if (nx) xs = nx;
            if (ny) ys = ny;
            if (!nx || !ny) break;
            cap *= 2;
        }
        xs[n] = st;
        for (int k = 0; k < 4; k++) {
            const char *at = strstr(line, keys[k]);
            const double v = at ? strtod(at + strlen(keys[k]), NULL) : 0;
            ys[4 * n + k] = v > 0 ? log10(v) : NAN; /* a held tower (0) leaves a gap */
        }
        n++;
    }
    fclose(f);
    int rc = 0;
    double *series = malloc(4 * (n ? n : 1) * sizeof *series);
    if (!xs || !ys || !series) {
        rc = vc_fail(err, "out of memory plotting %s", log_path);
    } else {
        for (int k = 0; k < 4; k++)
            for (size_t i = 0; i < n; i++) series[k * n + i] = ys[4 * i + k];
        const char *names[4] = {"update/weight, video", "update/weight, text", "lr multiplier, video", "lr multiplier, text"};
        const double *X[4] = {xs, xs, xs, xs}, *Y[4] = {series, series + n, series + 2 * n, series + 3 * n};
        int lens[4] = {(int)n, (int)n, (int)n, (int)n};
        rc = vc_svg_plot_lines(svg_path, "Balance of the towers", "step", "log10", 4, names, X, Y, lens, err);
    }
    free(xs), free(ys), free(series);
    return rc;
}

int vc_train_finish(vc_train_state *s, int reached_end, vc_error *err) {
    if (s->rank) return 0;
    char path[4096], svg[4096];
    if (reached_end) {
        if (vc_train_pull(s, err)) return -1;
        snprintf(path, sizeof path, "%s/model.safetensors", s->p->out_dir);
        /* resumed from its last checkpoint, the run loaded no batch to check with: that
         * checkpoint's model was checked when it was written */
        if ((s->start < s->p->steps && check_diverged(s, s->p->steps, path, err)) ||
            vc_model_save(s->model, path, VC_DT_REAL, err))
            return -1;
    }
    snprintf(path, sizeof path, "%s/train_log.jsonl", s->p->out_dir);
    snprintf(svg, sizeof svg, "%s/loss.svg", s->p->out_dir);
    if (write_loss_plot(path, svg, err)) return -1;
    if (s->p->freeze_text) return 0;
    snprintf(svg, sizeof svg, "%s/balance.svg", s->p->out_dir);
    return write_balance_plot(path, svg, err);
}
