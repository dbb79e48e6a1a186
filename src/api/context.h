/* What a viclip_context holds, shared by the files of src/api (never installed). */
#ifndef VC_API_CONTEXT_H
#define VC_API_CONTEXT_H

#include "viclip.h"

#include "core/error.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "train/optimizer.h"
#include "video/clip.h"

struct viclip_context {
    vc_model *model;
    vc_tokenizer *tok;
    struct viclip_context_params params;
    char config_json[1024];
    char description[1200];
    vc_adamw opt;      /* from the first viclip_train_step */
    int has_opt;
    int device_trains; /* the device holds the current parameters and moments (viclip_train_step on it) */
    uint64_t step;
    int imported;      /* converted from a foreign checkpoint at load */
};

/* Copies an internal error into the caller's (which may be NULL). */
void vc_api_pass_error(const vc_error *from, viclip_error *to);
/* Formats fmt with one string argument into err; returns -1. */
int vc_api_fail(viclip_error *err, const char *fmt, const char *arg);

/* The clip options of video params (p NULL: the defaults); -1 naming a bad enum value. */
int vc_api_clip_opts(const struct viclip_video_params *p, vc_clip_opts *o, viclip_error *err);
/* After training steps on the device: its parameters (and, with opt, the moments) copied back
 * to the host model; nothing to do otherwise. */
int vc_api_device_pull(const viclip_context *ctx, vc_adamw *opt, vc_error *e);

/* 0, or -1 with a message when the context was made without a vocabulary. */
int vc_api_need_tokenizer(const viclip_context *ctx, viclip_error *err);

#endif
