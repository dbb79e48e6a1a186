/* Evaluation of a model on an annotated clip set: text->video and video->text retrieval and,
 * when the clips carry labels, zero-shot classification from class-name prompts. */
#ifndef VC_EVAL_EVALUATE_H
#define VC_EVAL_EVALUATE_H

#include <stdint.h>

#include "eval/metrics.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "io/annotations.h"
#include "video/clip.h"

enum { VC_EVAL_RETRIEVAL = 1, VC_EVAL_CLASSIFY = 2 };

typedef struct vc_eval_params {
    int tasks;                   /* VC_EVAL_RETRIEVAL | VC_EVAL_CLASSIFY (classify needs labels) */
    const char *annotations;     /* JSONL/CSV with video + caption (+ label) */
    const char *labels;          /* class names, one per line (NULL: no classification) */
    const char *zeroshot_annotations; /* clips to classify (NULL: the retrieval annotations) */
    const char *templates;       /* prompt templates with "{}" (NULL: ViCLIP's 16 action templates) */
    int clean_captions;          /* ViCLIP's caption cleaning of captions and prompts (default 1) */
    int workers;                 /* decoding threads (default 2) */
    int shuffle_frames;          /* destroy temporal order (tests whether order is used) */
    int single_frame;            /* the middle frame repeated: no temporal information at all */
    uint64_t seed;               /* for the shuffle */
    vc_annotation_opts annotation; /* format, video root, file-name pattern of the annotation files */
    vc_clip_opts clip;           /* frame sampling and resize (default: evaluation, 'middle', bicubic) */
    void (*on_warning)(const char *msg, void *user); /* clips left out because they cannot be read */
    void (*on_progress)(int done, int total, void *user); /* clips encoded */
    void *user;
} vc_eval_params;

typedef struct vc_eval_result {
    int has_retrieval;
    vc_retrieval_metrics t2v, v2t;
    int n_clips, n_videos;
    int n_skipped;               /* unreadable clips left out (both annotation files) */
    int has_zeroshot;
    vc_classify_metrics zeroshot;
    int n_classes, n_templates, n_zeroshot_clips;
} vc_eval_result;

vc_eval_params vc_eval_default_params(void);
int vc_evaluate(vc_model *m, const vc_tokenizer *tok, const vc_eval_params *p, vc_eval_result *out,
                vc_error *err);

/* ids [n, ctx]: each text tokenised (after ViCLIP's caption cleaning if clean). */
int vc_tokenize_texts(const vc_tokenizer *tok, const char *const *texts, int n, int ctx, int clean, int32_t *ids,
                      vc_error *err);

/* Encodes texts (tokenised with the model's context, after ViCLIP's caption cleaning if clean)
 * into normalised embeddings [n, E]. */
int vc_encode_texts_normalized(vc_model *m, const vc_tokenizer *tok, const char *const *texts, int n, int clean,
                               vc_real *out, vc_error *err);

/* Normalised prompt embeddings [C * nt, E] (class-major) of every class filled into every
 * template (templates NULL: ViCLIP's 16 action templates, nt ignored). */
int vc_encode_class_prompts(vc_model *m, const vc_tokenizer *tok, const char *const *classes, int C,
                            const char *const *templates, int nt, int clean, vc_real *out, vc_error *err);

#endif
