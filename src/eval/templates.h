/* Prompt templates for zero-shot classification: "{}" stands for the class name. */
#ifndef VC_EVAL_TEMPLATES_H
#define VC_EVAL_TEMPLATES_H

#include "core/error.h"

/* ViCLIP's 16 action-recognition templates (the ones its Kinetics zero-shot evaluation uses). */
#define VC_VICLIP_N_TEMPLATES 16
extern const char *const vc_viclip_action_templates[VC_VICLIP_N_TEMPLATES];

/* tmpl with its "{}" replaced by name (a template without "{}" is used as is); malloc'd. */
char *vc_fill_template(const char *tmpl, const char *name);

/* Inputs that would be accepted but mean nothing are refused, with the entry at fault:
 * a class name that is empty or only whitespace, a class listed twice (its scores split between
 * the two), a template without exactly one "{}" (every class would get the same prompt, or a
 * literal "{}"). The checks return 0, or -1 with *bad (may be NULL) = the first bad entry. */
int vc_check_class_names(const char *const *names, int n, int *bad, vc_error *err);
int vc_check_templates(const char *const *templates, int n, int *bad, vc_error *err);
/* Class names or templates, one per line of path ("-": standard input), checked as above; the
 * error names the file and line. */
int vc_read_class_names(const char *path, char ***names, int *n, vc_error *err);
int vc_read_templates(const char *path, char ***templates, int *n, vc_error *err);

#endif
