/* Opening any checkpoint a user brings as a ready model, in one call: viclip's own model files
 * and training checkpoints (safetensors with the "config" metadata) are read directly; every
 * other format model/import.h knows (the official ViCLIP .pth and -hf safetensors, OpenAI .pt,
 * OpenCLIP, Hugging Face CLIPModel) is imported in memory, which costs the import each time:
 * `viclip convert` writes the result once. */
#ifndef VC_MODEL_MODEL_OPEN_H
#define VC_MODEL_MODEL_OPEN_H

#include "model/import.h"

typedef struct vc_model_source {
    int imported;            /* 1: converted in memory (rep is filled); 0: a viclip model file */
    vc_import_report rep;
} vc_model_source;

/* o: import options for foreign formats (NULL: defaults; its ignore_prefixes are replaced by
 * the training checkpoint's "optimizer." state). src may be NULL. */
vc_model *vc_model_open(const char *path, const vc_import_opts *o, vc_model_source *src, vc_error *err);

/* One line for the user after an import: "PATH: imported FORMAT KIND checkpoint in memory ...". */
void vc_model_source_describe(const char *path, const vc_model_source *src, char *buf, size_t cap);

#endif
