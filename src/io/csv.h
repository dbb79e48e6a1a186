/* CSV records (RFC 4180): fields separated by commas; a field in double quotes may hold commas,
 * line breaks and doubled quotes ("" is one "); CRLF, LF or CR line ends; a UTF-8 byte-order
 * mark at the start is skipped; blank lines are skipped. A quote inside an unquoted field is
 * kept as text (as Python's csv module does); text after a closing quote is an error.
 * The first record is taken as the header: syntax errors in later records name the column by
 * its header name. Every error reads "PATH:LINE: ..." with the line where the record starts. */
#ifndef VC_IO_CSV_H
#define VC_IO_CSV_H

#include "core/error.h"

/* Called once per record, the header included: fields[0..n) (NUL-terminated, valid during the
 * call) and the line number where the record starts. A non-zero return stops the walk and is
 * returned. */
typedef int (*vc_csv_fn)(char **fields, int n, long lineno, void *ud, vc_error *err);

int vc_csv_foreach(const char *path, vc_csv_fn fn, void *ud, vc_error *err);

#endif
