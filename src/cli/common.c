/* Helpers over the internals for the commands not yet ported to the public API. */
#include <stdio.h>
#include <string.h>

#include "model/model_io.h"
#include "model/model_open.h"
#include "video/clip.h"
#include "io/annotations.h"

#include "cli/commands.h"

int cli_precision(const char *name, vc_precision *p, const char *what) {
    if (!name) {
        *p = vc_default_precision();
        return 0;
    }
    if (vc_precision_from_name(name, p)) {
        char msg[256];
        snprintf(msg, sizeof msg, "--precision %s: expected fp32 or bf16", name);
        cli_error(what, msg);
        return -1;
    }
    return 0;
}

vc_model *cli_load_model(const char *path, const char *precision, const char *what) {
    vc_precision prec;
    if (cli_precision(precision, &prec, what)) return NULL;
    vc_error err;
    vc_model_source src;
    vc_model *m = vc_model_open(path, NULL, &src, &err); /* any checkpoint format, training checkpoints too */
    if (!m) cli_error(what, err.msg);
    if (m) vc_model_set_precision(m, prec);
    if (m && src.imported) {
        char line[1024];
        vc_model_source_describe(path, &src, line, sizeof line);
        fprintf(stderr, "viclip %s: %s\n", what, line);
    }
    return m;
}

vc_tokenizer *cli_load_tokenizer(const char *path) {
    vc_error err;
    char found[4096];
    if (!path) {
        if (vc_tokenizer_find_vocab(found, sizeof found, &err)) {
            cli_error("tokenizer", err.msg);
            return NULL;
        }
        path = found;
    }
    vc_tokenizer *t = vc_tokenizer_load(path, &err);
    if (!t) cli_error("tokenizer", err.msg);
    return t;
}

int cli_parse_clip_flags(const char *what, const char *sampling, const char *interp, vc_clip_opts *o) {
    vc_error err;
    if (vc_sampling_parse(sampling, &o->sampling, &err) || vc_interp_parse(interp, &o->interp, &err)) {
        cli_error(what, err.msg);
        return 2;
    }
    return 0;
}

int cli_parse_annotation_format(const char *what, const char *format, vc_annotation_opts *o) {
    vc_error err;
    if (vc_annotation_format_parse(format, &o->format, &err)) {
        cli_error(what, err.msg);
        return 2;
    }
    return 0;
}

