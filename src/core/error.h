/* Error reporting for the whole library.
 * Every fallible function takes a `vc_error *` and returns 0 on success, -1 on failure,
 * after writing a message that names the file, tensor or field at fault. No function in
 * the library prints to stderr or exits; the CLI decides what to do with the message. */
#ifndef VC_CORE_ERROR_H
#define VC_CORE_ERROR_H

#include <stddef.h>

typedef struct vc_error {
    char msg[1024];
} vc_error;

/* Format a message into err (if non-NULL) and return -1, so callers can write
 *   if (bad) return vc_fail(err, "%s: tensor '%s' has shape ...", path, name);  */
int vc_fail(vc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend context ("while loading X: ") to an existing message; returns -1. */
int vc_fail_ctx(vc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
