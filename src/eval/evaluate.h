/* Evaluation of a model on an annotated clip set: text->video and video->text retrieval and,
 * when the clips carry labels, zero-shot classification from class-name prompts. */
#ifndef VC_EVAL_EVALUATE_H
#define VC_EVAL_EVALUATE_H

#include <stdint.h>

#include "eval/metrics.h"
#include "model/model.h"
#include "text/tokenizer.h"

typedef struct vc_eval_params {
    const char *annotations;     /* JSONL with video + caption (+ label) */
    const char *labels;          /* class names, one per line (NULL: no classification) */
    const char *zeroshot_annotations; /* clips to classify (NULL: the retrieval annotations) */
    const char *templates;       /* prompt templates with "{}" (NULL: the class name alone) */
    int shuffle_frames;          /* destroy temporal order (tests whether order is used) */
    int single_frame;            /* the middle frame repeated: no temporal information at all */
    uint64_t seed;               /* for the shuffle */
    void (*on_warning)(const char *msg, void *user); /* clips left out because they cannot be read */
    void *user;
} vc_eval_params;

typedef struct vc_eval_result {
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

/* Encodes texts (tokenised with the model's context) into normalised embeddings [n, E]. */
int vc_encode_texts_normalized(vc_model *m, const vc_tokenizer *tok, const char *const *texts, int n,
                               vc_real *out, vc_error *err);

#endif
