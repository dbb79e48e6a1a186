/* The model a training run starts from: a random init, one whole model file (--init), or each
 * tower from its own source (--init-vision FILE, --init-text FILE|random), e.g. an MAE- or
 * UMT-pretrained video tower next to a CLIP text tower, or next to a random one. */
#ifndef VC_TRAIN_START_MODEL_H
#define VC_TRAIN_START_MODEL_H

#include <stdint.h>

#include "model/model.h"

typedef struct vc_start_model {
    const char *init_model;   /* whole model file (viclip safetensors); excludes the two below */
    const char *init_vision;  /* video tower from this file (any format `viclip convert` reads) */
    const char *init_text;    /* text tower from this file, or "random" / NULL for a random one */
    vc_config cfg;            /* the architecture of every randomly initialised tower */
    uint64_t seed;
    double temp_init;
    double temporal_init_std; /* > 0: redraw the temporal embedding of a random video tower */
} vc_start_model;

/* 1 when the text tower is named "random" (or not given). */
int vc_start_text_is_random(const vc_start_model *s);

/* Builds the starting model. With per-tower sources the config takes the video fields
 * (image/patch size, frames, vision width/layers/heads) from the vision file, the text fields
 * (context, vocabulary, text width/layers/heads) from the text file, the rest from s->cfg;
 * both files must agree on embed_dim. A tower without a file is drawn from s->seed exactly as
 * in a fully random init of that config, so "--init-text random" equals the text tower of a
 * from-scratch run with the same seed. The temperature is s->temp_init unless the whole model
 * comes from one file. *new_towers (may be NULL) gets a bit per randomly initialised tower
 * (1 << VC_TOWER_VISION, 1 << VC_TOWER_TEXT): all of them for a random init, none for --init. */
vc_model *vc_start_model_build(const vc_start_model *s, int *new_towers, vc_error *err);

#endif
