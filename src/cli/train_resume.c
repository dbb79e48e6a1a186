#include "cli/train_resume.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's errors, formatted here (every message names the flag at fault). */
static int fail(viclip_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(viclip_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const arg_spec *find_spec(const cli_flags *f, const char *long_name) {
    for (int i = 0; i < f->n_specs; i++)
        if (!strcmp(f->specs[i].long_name, long_name)) return &f->specs[i];
    return NULL;
}

/* Whether argv names the option, walking argv exactly as args_parse does. */
int cli_flag_given(const cli_flags *f, const char *long_name) {
    for (int i = f->first; i < f->argc; i++) {
        const char *a = f->argv[i];
        if (!strcmp(a, "--")) return 0;
        if (a[0] != '-' || !a[1]) continue;
        const arg_spec *s = NULL;
        const int has_value = a[1] == '-' && strchr(a, '=');
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int k = 0; k < f->n_specs && !s; k++)
                if (strlen(f->specs[k].long_name) == len && !strncmp(f->specs[k].long_name, name, len)) s = &f->specs[k];
        } else if (!a[2]) {
            for (int k = 0; k < f->n_specs && !s; k++)
                if (f->specs[k].short_name == a[1]) s = &f->specs[k];
        }
        if (!s) continue;
        if (!strcmp(s->long_name, long_name)) return 1;
        if (s->kind != ARG_FLAG && !has_value) i++; /* its value */
    }
    return 0;
}

/* The architecture flags and the config field each overrides. */
static const struct {
    const char *flag, *field;
    size_t offset;
} ARCH[] = {
    {"image-size", "image_size", offsetof(struct viclip_config, image_size)},
    {"patch-size", "patch_size", offsetof(struct viclip_config, patch_size)},
    {"frames", "num_frames", offsetof(struct viclip_config, num_frames)},
    {"vision-width", "vision_width", offsetof(struct viclip_config, vision_width)},
    {"vision-layers", "vision_layers", offsetof(struct viclip_config, vision_layers)},
    {"vision-heads", "vision_heads", offsetof(struct viclip_config, vision_heads)},
    {"text-width", "text_width", offsetof(struct viclip_config, text_width)},
    {"text-layers", "text_layers", offsetof(struct viclip_config, text_layers)},
    {"text-heads", "text_heads", offsetof(struct viclip_config, text_heads)},
    {"context-length", "context_length", offsetof(struct viclip_config, context_length)},
    {"embed-dim", "embed_dim", offsetof(struct viclip_config, embed_dim)},
    {NULL, "vocab_size", offsetof(struct viclip_config, vocab_size)}, /* no flag; --model-config sets it */
};
#define N_ARCH (sizeof ARCH / sizeof ARCH[0])

static int cfg_int(const struct viclip_config *c, size_t offset) { return *(const int *)((const char *)c + offset); }

/* Settings a resumed run takes from the checkpoint's train_args (the key), because changing
 * them changes what the remaining steps compute; `invert` for a flag that turns the setting off. */
static const struct {
    const char *flag, *key;
    int invert, streaming_only, per_rank; /* per_rank: the checkpoint holds the global value (x ranks) */
} FIXED[] = {
    {"batch-size", "batch_size", 0, 0, 1},   {"accum-freq", "accum_freq", 0, 0, 0},   {"mask-ratio", "mask_ratio", 0, 0, 0},
    {"unmasked-steps", "unmasked_steps", 0, 0, 0}, {"drop-path", "drop_path", 0, 0, 0}, {"temp-min", "temp_min", 0, 0, 0},
    {"beta1", "beta1", 0, 0, 0},             {"beta2", "beta2", 0, 0, 0},             {"eps", "eps", 0, 0, 0},
    {"positives", "positives", 0, 0, 0},     {"raw-captions", "clean_captions", 1, 0, 0},
    {"freeze-text", "freeze_text", 0, 0, 0}, {"lock-text", "freeze_text", 0, 0, 0},
    {"sampling", "sampling", 0, 1, 0},       {"no-augment", "augment", 1, 1, 0},
    {"align", "align", 0, 0, 0},          {"align-weights", "align_weights", 0, 0, 0},
};
#define N_FIXED (sizeof FIXED / sizeof FIXED[0])

/* Settings a resumed run may change; left out, they are the checkpoint's too, so that resuming
 * with no flags continues the schedule the run was started with (not the defaults'). */
static const struct {
    const char *flag, *key;
} ADJUSTABLE[] = {
    {"steps", "steps"}, {"warmup", "warmup"}, {"lr", "lr"}, {"min-lr", "min_lr"}, {"wd", "wd"},
    {"grad-clip-norm", "grad_clip_norm"}, {"lr-mult-vision", "lr_mult_vision"}, {"lr-mult-text", "lr_mult_text"},
};
#define N_ADJUSTABLE (sizeof ADJUSTABLE / sizeof ADJUSTABLE[0])

static int same_double(double a, double b) { return fabs(a - b) <= 1e-5 * fmax(fabs(a), fabs(b)); }

/* Compares a given flag with the checkpoint's value (unless it may_change), or sets the flag's
 * target to it when the flag is left out. */
static int reconcile_fixed(const cli_flags *f, const arg_spec *s, const struct viclip_value *v, int invert, int per_rank,
                           int may_change, const char *path, viclip_error *err) {
    const int given = cli_flag_given(f, s->long_name);
    char have[64] = "", want[64] = "";
    int differ = 0;
    switch (s->kind) {
    case ARG_FLAG: {
        const int ck = (v->number != 0) != invert; /* the flag's state in the checkpoint's run */
        if (!given) *(int *)s->target = ck;
        differ = given && !ck;
        snprintf(want, sizeof want, "not given");
        break;
    }
    case ARG_INT:
    case ARG_I64: {
        if (!v->is_int64) return fail(err, "%s: train_args '%s' is not an integer", path, s->long_name);
        int64_t x = v->int64;
        const int ranks = f->ranks > 1 ? f->ranks : 1;
        if (per_rank && x % ranks)
            return fail(err, "the checkpoint %s was trained with a global --%s of %" PRId64 ", which %d ranks cannot share "
                             "evenly", path, s->long_name, x, ranks);
        if (per_rank) x /= ranks; /* the same global batch, shared by this run's ranks */
        if (!given) {
            if (s->kind == ARG_INT) *(int *)s->target = (int)x;
            else *(int64_t *)s->target = x;
        }
        const int64_t cur = s->kind == ARG_INT ? *(int *)s->target : *(int64_t *)s->target;
        differ = cur != x;
        snprintf(have, sizeof have, "%" PRId64, cur), snprintf(want, sizeof want, "%" PRId64, x);
        break;
    }
    case ARG_DOUBLE:
        if (v->kind != VICLIP_VALUE_NUMBER) return fail(err, "%s: train_args '%s' is not a number", path, s->long_name);
        if (!given) *(double *)s->target = v->number;
        differ = !same_double(*(double *)s->target, v->number);
        snprintf(have, sizeof have, "%g", *(double *)s->target), snprintf(want, sizeof want, "%.17g", v->number);
        break;
    case ARG_STR: {
        const char *x = v->kind == VICLIP_VALUE_STRING ? v->string : NULL;
        if (!x) return fail(err, "%s: train_args '%s' is not a string", path, s->long_name);
        if (!given) *(const char **)s->target = x; /* lives as long as the caller's open checkpoint */
        differ = strcmp(*(const char **)s->target, x) != 0;
        snprintf(have, sizeof have, "%s", *(const char **)s->target), snprintf(want, sizeof want, "%s", x);
        break;
    }
    default: return 0;
    }
    if (differ && !may_change)
        return fail(err, "--%s%s%s contradicts the checkpoint %s, trained with %s%s: a resumed run keeps it (leave the flag out)",
                    s->long_name, have[0] ? " " : "", have, path, s->kind == ARG_FLAG ? "the flag " : "", want);
    return 0;
}

int cli_train_reconcile(const cli_flags *f, const char *path, int resume, viclip_checkpoint **out, viclip_error *err) {
    *out = NULL;
    /* settings of a random initialisation would be ignored: refused; --init and --resume exclude each other */
    static const char *const NEW_RUN_ONLY[] = {"temp-init", "temporal-init-std", "init"};
    for (int i = 0; i < (resume ? 3 : 2); i++)
        if (cli_flag_given(f, NEW_RUN_ONLY[i]))
            return i == 2 ? fail(err, "--init and --resume exclude each other (a checkpoint holds its model)")
                          : fail(err, "--%s applies to a new random initialisation, not to --%s %s", NEW_RUN_ONLY[i],
                                 resume ? "resume" : "init", path);
    viclip_checkpoint *ck = viclip_checkpoint_open(path, err);
    if (!ck) return -1;
    struct viclip_config cfg;
    int rc = viclip_checkpoint_config(ck, &cfg, err);
    const char *what = resume ? "checkpoint" : "model";
    /* the architecture is the file's: a flag may repeat it, never change it */
    for (size_t k = 0; !rc && k < N_ARCH; k++) {
        const arg_spec *s = ARCH[k].flag ? find_spec(f, ARCH[k].flag) : NULL;
        const int v = s ? *(const int *)s->target : 0;
        if (s && cli_flag_given(f, s->long_name) && v != cfg_int(&cfg, ARCH[k].offset))
            rc = fail(err, "--%s %d contradicts the %s %s, whose %s is %d: the architecture is the file's (leave the flag out)",
                      ARCH[k].flag, v, what, path, ARCH[k].field, cfg_int(&cfg, ARCH[k].offset));
    }
    const arg_spec *mc = find_spec(f, "model-config");
    if (!rc && mc && cli_flag_given(f, "model-config")) {
        struct viclip_config preset;
        rc = viclip_config_preset(*(const char **)mc->target, &preset, err);
        for (size_t k = 0; !rc && k < N_ARCH; k++)
            if (cfg_int(&preset, ARCH[k].offset) != cfg_int(&cfg, ARCH[k].offset) && !(ARCH[k].flag && cli_flag_given(f, ARCH[k].flag)))
                rc = fail(err, "--model-config %s contradicts the %s %s, whose %s is %d, not %d (leave the flag out)",
                          *(const char **)mc->target, what, path, ARCH[k].field, cfg_int(&cfg, ARCH[k].offset),
                          cfg_int(&preset, ARCH[k].offset));
    }
    if (!rc && resume) {
        const char *seed = viclip_checkpoint_meta(ck, "seed");
        const arg_spec *ss = find_spec(f, "seed");
        if (seed && ss && cli_flag_given(f, "seed") && strtoull(seed, NULL, 10) != *(uint64_t *)ss->target)
            rc = fail(err, "--seed %" PRIu64 " contradicts the checkpoint %s, trained with seed %s: a resumed run keeps it "
                           "(leave the flag out)", *(uint64_t *)ss->target, path, seed);
        const int has_args = rc ? 0 : viclip_checkpoint_has_train_args(ck, err);
        if (has_args < 0) rc = -1;
        const struct viclip_value workers = has_args > 0 ? viclip_checkpoint_train_arg(ck, "workers") : (struct viclip_value){0};
        const int streamed = workers.kind == VICLIP_VALUE_ABSENT || workers.number > 0;
        const arg_spec *ws = find_spec(f, "workers");
        if (!rc && workers.kind != VICLIP_VALUE_ABSENT && ws) { /* preloaded and streamed clips differ; the worker count does not matter */
            if (!cli_flag_given(f, "workers")) *(int *)ws->target = streamed ? *(int *)ws->target : 0;
            else if ((*(int *)ws->target > 0) != streamed)
                rc = fail(err, "--workers %d contradicts the checkpoint %s, trained on %s clips (--workers %s): a resumed run "
                               "keeps it", *(int *)ws->target, path, streamed ? "streamed" : "preloaded", streamed ? "N > 0" : "0");
        }
        for (size_t k = 0; !rc && has_args > 0 && k < N_FIXED; k++) {
            const struct viclip_value v = viclip_checkpoint_train_arg(ck, FIXED[k].key);
            const arg_spec *s = find_spec(f, FIXED[k].flag);
            if (v.kind == VICLIP_VALUE_ABSENT || !s || (FIXED[k].streaming_only && !streamed)) continue; /* older checkpoints lack some keys */
            rc = reconcile_fixed(f, s, &v, FIXED[k].invert, FIXED[k].per_rank, 0, path, err);
        }
        for (size_t k = 0; !rc && has_args > 0 && k < N_ADJUSTABLE; k++) {
            const struct viclip_value v = viclip_checkpoint_train_arg(ck, ADJUSTABLE[k].key);
            const arg_spec *s = find_spec(f, ADJUSTABLE[k].flag);
            if (v.kind != VICLIP_VALUE_ABSENT && s) rc = reconcile_fixed(f, s, &v, 0, 0, 1, path, err);
        }
    }
    if (rc) viclip_checkpoint_close(ck);
    else *out = ck;
    return rc;
}
