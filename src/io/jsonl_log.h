/* An append-only JSONL log of steps (train_log.jsonl: one JSON object per optimizer step). Each
 * line goes to the file in a single write(2), so a process killed at any moment leaves only
 * whole lines. Reopened to continue from a step, the log is cut back to it first (lines with a
 * later "step", and any line that does not parse, are dropped; the file is replaced
 * atomically), so a resumed run never repeats a step. */
#ifndef VC_IO_JSONL_LOG_H
#define VC_IO_JSONL_LOG_H

#include <stdint.h>

#include "core/error.h"

typedef struct vc_jsonl_log {
    int fd;            /* -1 when closed */
    char path[4096];
} vc_jsonl_log;

/* Opens path for appending. keep_through_step 0: a new run, the file starts empty; > 0: lines
 * with "step" <= keep_through_step are kept, the rest dropped. */
int vc_jsonl_log_open(vc_jsonl_log *log, const char *path, int64_t keep_through_step, vc_error *err);
/* Appends one line (no newline in `line`; it is added). */
int vc_jsonl_log_write(vc_jsonl_log *log, const char *line, vc_error *err);
void vc_jsonl_log_close(vc_jsonl_log *log);

#endif
