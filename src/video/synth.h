/* The embedded synthetic video-caption set: one coloured shape moving on a plain, slightly noisy
 * background. Captions name a colour, a shape and a motion; left/right, up/down and
 * grows/shrinks are time reversals of each other, so only a model that uses frame order can
 * tell them apart (with the frames shuffled, each pair looks the same).
 *
 * Combination index: combo = (colour * VC_SYNTH_SHAPES + shape) * VC_SYNTH_MOTIONS + motion,
 * with colours {red, green, blue, yellow}, shapes {circle, square, triangle} and motions
 * {moving left, moving right, moving up, moving down, growing, shrinking}. 12 of the 72
 * combinations are held out of training (one motion for each colour/shape pair, each motion held
 * out twice), for zero-shot evaluation of unseen attribute compositions.
 *
 * vc_synth_generate writes to OUT:
 *   clips/NNNNNN.npy  uint8 [T, S, S, 3] (frame, row, column, RGB), one per clip
 *   train.jsonl       n_train clips of the 60 training combinations, varied caption phrasings
 *   eval.jsonl        one clip per combination (72), canonical captions: retrieval split
 *   heldout.jsonl     n_heldout_per_combo clips per held-out combination: zero-shot split
 *   classes.txt       the 72 label phrases, line i = combo i ("red circle moving left")
 *   templates.txt     zero-shot prompt templates with "{}"
 *   meta.json         frames, size, counts, held-out combos, seed, version
 * Every jsonl line is {"video": "clips/000123.npy", "caption": ..., "label": ..., "combo": N}.
 * The output depends only on the parameters other than `threads`. */
#ifndef VC_VIDEO_SYNTH_H
#define VC_VIDEO_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum {
    VC_SYNTH_COLOURS = 4,
    VC_SYNTH_SHAPES = 3,
    VC_SYNTH_MOTIONS = 6,
    VC_SYNTH_COMBOS = VC_SYNTH_COLOURS * VC_SYNTH_SHAPES * VC_SYNTH_MOTIONS,
    VC_SYNTH_HELDOUT = 12,
    VC_SYNTH_VERSION = 1,
};

typedef enum vc_synth_motion {
    VC_MOTION_LEFT = 0,
    VC_MOTION_RIGHT = 1,
    VC_MOTION_UP = 2,
    VC_MOTION_DOWN = 3,
    VC_MOTION_GROW = 4,
    VC_MOTION_SHRINK = 5,
} vc_synth_motion;

typedef struct vc_synth_params {
    int frames;              /* T, 2..64 (default 8) */
    int size;                /* S, 16..512 (default 32) */
    int n_train;             /* training clips (default 4000) */
    int n_heldout_per_combo; /* zero-shot clips per held-out combination, >= 1 (default 8) */
    uint64_t seed;           /* default 1 */
    int threads;             /* 0: OpenMP default; has no effect on the output */
} vc_synth_params;

vc_synth_params vc_synth_default_params(void);

/* Writes the whole set into out_dir (created, with parents, if missing). Existing files of the
 * same names are replaced; each file is written to a temporary name and renamed into place. */
int vc_synth_generate(const char *out_dir, const vc_synth_params *p, vc_error *err);

/* Renders one clip into rgb[frames * size * size * 3]; everything random about the clip
 * (position, size, distance, colour shade, background tint, noise) is a function of clip_seed. */
int vc_synth_render_clip(int combo, uint64_t clip_seed, int frames, int size, uint8_t *rgb,
                         vc_error *err);

int vc_synth_num_combos(void);
/* Splits a combination index into its attributes; -1 if combo is out of range. */
int vc_synth_decompose(int combo, int *colour, int *shape, int *motion);
/* Attribute names: "red", "circle", "moving left" (NULL when out of range). */
const char *vc_synth_colour_name(int colour);
const char *vc_synth_shape_name(int shape);
const char *vc_synth_motion_name(int motion);
/* Label phrase ("red circle moving left", "blue square growing") into buf; returns buf, or
 * NULL if combo is out of range or cap is too small. */
const char *vc_synth_label(int combo, char *buf, size_t cap);
/* Canonical caption ("a red circle moves to the left", "a blue square grows"), as in eval.jsonl;
 * returns buf, or NULL if combo is out of range or cap is too small. */
const char *vc_synth_caption(int combo, char *buf, size_t cap);
/* 1 if the combination never appears in training, 0 if it does, -1 if out of range. */
int vc_synth_is_heldout(int combo);

#endif
