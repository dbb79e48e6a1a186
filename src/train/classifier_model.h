/* A fine-tuned classifier: the ViCLIP model (its video tower fine-tuned, the text tower kept
 * so the file still serves retrieval) plus a linear head over N classes (model/classifier.h).
 * One safetensors file: the model's tensors, "head.weight" [N, E], "head.bias" [N], and the
 * class names as a JSON array in the "classes" metadata entry, so a file says what it
 * predicts. The head starts from the class prompts' text embeddings (zero-shot) or at random. */
#ifndef VC_TRAIN_CLASSIFIER_MODEL_H
#define VC_TRAIN_CLASSIFIER_MODEL_H

#include "model/model.h"
#include "text/tokenizer.h"

typedef struct vc_classifier {
    vc_model *model;
    int n_classes;
    char **classes;      /* [n_classes] */
    vc_real *head;       /* weight [n_classes, E] then bias [n_classes]: one buffer for the optimizer */
    vc_real *w, *b;      /* views into head */
} vc_classifier;

/* Takes ownership of model; copies the class names. The head is zero. */
int vc_classifier_init(vc_classifier *c, vc_model *model, const char *const *classes, int n, vc_error *err);
void vc_classifier_free(vc_classifier *c);
size_t vc_classifier_head_elems(const vc_classifier *c);

/* Zero-shot head: w_c = mean over templates of the normalised prompt embeddings of class c,
 * divided by temp * sqrt(E), b = 0 (templates NULL: ViCLIP's 16 action templates). */
int vc_classifier_init_zeroshot(vc_classifier *c, const vc_tokenizer *tok, const char *const *templates, int nt,
                                int clean, vc_error *err);
/* Random head: w ~ N(0, std^2) drawn from seed, b = 0. */
void vc_classifier_init_random(vc_classifier *c, uint64_t seed, double std);

/* 1 if the file holds a classification head ("head.weight"), 0 if not, -1 on error. */
int vc_classifier_file_has_head(const char *path, vc_error *err);
int vc_classifier_save(const vc_classifier *c, const char *path, vc_error *err);
int vc_classifier_load(vc_classifier *c, const char *path, vc_error *err);

/* The class indices of an annotated set's clips: a clip's class is its "label", or its caption
 * when it has none; a class not in c->classes is an error "FILE:LINE: class 'x' ...". */
struct vc_annotation_set;
int vc_classifier_label_ids(const vc_classifier *c, const struct vc_annotation_set *ann, int32_t *y, vc_error *err);

#endif
