/* Helpers over the library's internals for the commands not yet ported to the public API
 * (tests/test_public_api.c lists them). A ported command includes only cli/cli.h. */
#ifndef VC_CLI_COMMANDS_H
#define VC_CLI_COMMANDS_H

#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "kernels/gemm.h"
#include "text/tokenizer.h"

struct vc_model;

vc_tokenizer *cli_load_tokenizer(const char *path_or_null); /* prints the error */
/* A model file (its optimizer state, if a checkpoint, skipped); prints the error as `what`. */
struct vc_model *cli_load_model(const char *path, const char *precision, const char *what);
/* --precision NAME (NULL: the default for this CPU) -> *p; prints the error and returns -1. */
int cli_precision(const char *name, vc_precision *p, const char *what);

struct vc_clip_opts;
struct vc_annotation_opts;
/* Fill o from the flag values; print the error and return 2 when a name is unknown. */
int cli_parse_clip_flags(const char *what, const char *sampling, const char *interp, struct vc_clip_opts *o);
int cli_parse_annotation_format(const char *what, const char *format, struct vc_annotation_opts *o);

#endif
