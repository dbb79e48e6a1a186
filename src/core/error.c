#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vc_fail(vc_error *err, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int vc_fail_ctx(vc_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* The combined message is cut to the buffer; the start (the context) matters most. */
    size_t n = strlen(prefix);
    memcpy(err->msg, prefix, n);
    size_t room = sizeof err->msg - n - 1;
    if (room > 2) {
        memcpy(err->msg + n, ": ", 2);
        size_t m = strnlen(old, room - 2);
        memcpy(err->msg + n + 2, old, m);
        err->msg[n + 2 + m] = 0;
    } else {
        err->msg[n] = 0;
    }
    return -1;
}
