/* Prompt templates for zero-shot classification: "{}" stands for the class name. */
#ifndef VC_EVAL_TEMPLATES_H
#define VC_EVAL_TEMPLATES_H

#include "core/error.h"

/* ViCLIP's 16 action-recognition templates (the ones its Kinetics zero-shot evaluation uses). */
#define VC_VICLIP_N_TEMPLATES 16
extern const char *const vc_viclip_action_templates[VC_VICLIP_N_TEMPLATES];

/* tmpl with its first "{}" replaced by name (a template without "{}" is used as is); malloc'd. */
char *vc_fill_template(const char *tmpl, const char *name);

#endif
