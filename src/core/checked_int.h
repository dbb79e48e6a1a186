/* Checked integers. Every integer the program reads as text (a command-line flag, a model
 * config field, a checkpoint's step) goes through one of these, with the range the value must
 * lie in, so a value out of range is an error that names it as written, never a number that
 * silently wrapped (2^32 + 128 read as 128) or saturated. */
#ifndef VC_CORE_CHECKED_INT_H
#define VC_CORE_CHECKED_INT_H

#include <stdint.h>

#include "core/error.h"

/* All of text as a decimal integer ("-" allowed, no spaces, no "+") in [lo, hi]; `what` names
 * it in the error ("--steps", "config field 'vision_width'"). */
int vc_parse_i64(const char *text, int64_t lo, int64_t hi, int64_t *out, const char *what, vc_error *err);
/* The same for unsigned values in [0, hi]. */
int vc_parse_u64(const char *text, uint64_t hi, uint64_t *out, const char *what, vc_error *err);
/* v in [lo, hi], or the same error as the parsers give. */
int vc_check_i64(int64_t v, int64_t lo, int64_t hi, const char *what, vc_error *err);

#endif
