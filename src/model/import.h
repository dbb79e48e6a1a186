/* Importing the checkpoints users bring, as ViCLIP models.
 *
 * Reading (import.c): any of these files becomes a flat list of named float32 tensors
 *   - torch.save zip archives (.pth/.pt since PyTorch 1.6): "<name>/data.pkl" + "<name>/data/<key>";
 *   - legacy torch.save files (_use_new_zipfile_serialization=False): magic, protocol and
 *     sys-info pickles, the object pickle, the storage-key list, then each storage's bytes;
 *   - TorchScript archives (OpenAI CLIP's .pt): same zip layout; modules become attribute trees;
 *   - safetensors (viclip's own files, the "-hf" ViCLIP files, OpenCLIP's, Hugging Face
 *     transformers CLIPModel's, renamed to the OpenAI layout by import_hf.c).
 * The pickles run in the safe VM of io/pickle.h. When the top level is a dict holding
 * "model", "state_dict" or "module", that entry is the state dict (the official ViCLIP .pth is
 * {"model": state_dict}); a "module." prefix shared by every name (DataParallel) is removed.
 * F16/BF16/F64 tensors are converted to float32 (counted in converted_half / converted_f64).
 *
 * Mapping (import_map.c): ViCLIP names ("vision_encoder.*", "text_encoder.*", "temp") load
 * as they are; OpenAI/OpenCLIP image CLIP names ("visual.*", "transformer.*", ...) are
 * inflated the way ViCLIP initialises from CLIP:
 *   visual.conv1.weight [W,3,p,p]      -> vision_encoder.conv1.weight [W,3,1,p,p]
 *   (none)                             -> vision_encoder.temporal_positional_embedding = zeros [1,T,W]
 *   positional_embedding [77,Wt]       -> text_encoder.positional_embedding, first `context` rows (32)
 *   logit_scale                        -> dropped;  temp = 0.01
 * The config comes from the tensor shapes (widths, layer counts, patch size from conv1, image
 * size from the positional-embedding rows, frames from the temporal embedding, vocabulary,
 * context, embed_dim from proj); heads from the file's config metadata if present, else
 * width/64 as in CLIP, unless given. Resizing:
 *   frames: VC_TEMPORAL_OFFICIAL (default) follows InternVideo's load_temp_embed_with_mismatch
 *     with add_zero=False: more frames -> linear interpolation (F.interpolate mode='linear',
 *     align_corners=False), fewer -> the first T rows; VC_TEMPORAL_INTERPOLATE always interpolates.
 *   image size: the spatial grid of the position embedding is resized with torch's bicubic
 *     (align_corners=False, A=-0.75), the class row kept, as ViCLIP's load_state_dict does.
 * Any tensor left over that is not a known non-parameter (CLIP's logit_scale, input_resolution,
 * context_length, vocab_size, *.attn_mask; names under opts.ignore_prefixes) is an error that
 * names it; so are missing tensors, wrong shapes and NaN or Inf values in a parameter. */
#ifndef VC_MODEL_IMPORT_H
#define VC_MODEL_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "io/dtype.h"
#include "model/model.h"

#define VC_IMP_MAX_DIMS 8

typedef struct {
    char *name;
    vc_dtype src_dtype;   /* dtype in the file */
    int ndim;
    int64_t shape[VC_IMP_MAX_DIMS];
    size_t numel;
    float *data;          /* float32, C order; NULL for integer/bool tensors */
} vc_imp_tensor;

typedef struct {
    vc_imp_tensor *t;
    int count;
    char format[32];      /* "torch-zip", "torch-legacy", "torchscript", "safetensors" */
    int has_config;       /* safetensors "config" metadata (viclip's own files) */
    vc_config config;
    size_t converted_half; /* elements converted from F16/BF16 */
    size_t converted_f64;
} vc_imp_set;

/* Reads every tensor of a checkpoint file (format detected from its first bytes). */
int vc_imp_read(const char *path, vc_imp_set *out, vc_error *err);
/* Same, from bytes in memory (tests, fuzzing); `label` names it in messages. */
int vc_imp_read_mem(const void *data, size_t size, const char *label, vc_imp_set *out, vc_error *err);
void vc_imp_set_free(vc_imp_set *s);
const vc_imp_tensor *vc_imp_find(const vc_imp_set *s, const char *name);
/* A Hugging Face transformers CLIPModel checkpoint is renamed in place to the OpenAI layout
 * (q/k/v packed, projections transposed; see import_hf.c); any other set is left as it is.
 * vc_imp_read and vc_imp_read_mem call it. */
int vc_imp_from_hf_clip(vc_imp_set *s, vc_error *err);

typedef enum { VC_TEMPORAL_OFFICIAL = 0, VC_TEMPORAL_INTERPOLATE = 1 } vc_temporal_resize;

typedef struct {
    int frames;           /* 0: the checkpoint's (ViCLIP) or 8 (image CLIP) */
    int image_size;       /* 0: the checkpoint's */
    int context;          /* 0: the checkpoint's (ViCLIP) or 32 (image CLIP) */
    int vision_heads;     /* 0: config metadata, else width/64 */
    int text_heads;
    vc_temporal_resize temporal;
    const char *const *ignore_prefixes; /* NULL-terminated; tensors to skip silently */
} vc_import_opts;

typedef struct vc_import_report {
    char kind[16];        /* "viclip" or "clip" */
    char format[32];
    int src_frames;       /* 0 for an image CLIP */
    int src_image_size, src_context;
    size_t converted_half, converted_f64;
    int ignored;          /* tensors skipped (known non-parameters, ignore_prefixes) */
    char notes[1024];     /* one line per change made: inflation, resizing, truncation */
} vc_import_report;

/* The config a checkpoint maps to (options applied). rep may be NULL. */
int vc_import_infer_config(const vc_imp_set *s, const vc_import_opts *o, vc_config *cfg,
                           vc_import_report *rep, vc_error *err);
/* Builds the model. o may be NULL (all defaults); rep may be NULL. */
vc_model *vc_import_model(const vc_imp_set *s, const vc_import_opts *o, vc_import_report *rep,
                          vc_error *err);
/* vc_imp_read + vc_import_model. */
vc_model *vc_import_file(const char *path, const vc_import_opts *o, vc_import_report *rep, vc_error *err);

/* Resizing (import_resize.c), exposed for tests. Row-major inputs, float32 arithmetic as torch.
 * Linear along rows: src [n_in, C] -> dst [n_out, C] (F.interpolate 'linear', align_corners=False,
 * over the row axis). */
void vc_resize_linear_rows(const float *src, int n_in, int C, float *dst, int n_out);
/* Temporal embedding [T_in, W] -> [T_out, W] by `mode` (see above). */
void vc_resize_temporal(const float *src, int T_in, int W, float *dst, int T_out, vc_temporal_resize mode);
/* Spatial position embedding [1 + g_in^2, W] -> [1 + g_out^2, W] (bicubic over the grid). */
void vc_resize_pos_embed(const float *src, int g_in, int W, float *dst, int g_out);

/* WiSE-FT weight averaging: every parameter of a becomes (1-alpha)*a + alpha*b, except the
 * temporal position embedding (keep_a_temporal) and temp (keep_a_temp), which keep a's values.
 * The configs must be equal. */
int vc_merge_models(vc_model *a, const vc_model *b, double alpha, int keep_a_temporal, int keep_a_temp,
                    vc_error *err);

#endif
