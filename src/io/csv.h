/* CSV records (RFC 4180): fields separated by commas, quoted fields may hold commas, doubled
 * quotes and line breaks; CRLF or LF line ends; a UTF-8 byte-order mark at the start is skipped.
 * Blank lines are skipped. */
#ifndef VC_IO_CSV_H
#define VC_IO_CSV_H

#include "core/error.h"

/* Called once per record: fields[0..n) (NUL-terminated, valid during the call) and the line
 * number where the record starts. A non-zero return stops the walk and is returned. */
typedef int (*vc_csv_fn)(char **fields, int n, long lineno, void *ud, vc_error *err);

int vc_csv_foreach(const char *path, vc_csv_fn fn, void *ud, vc_error *err);

#endif
