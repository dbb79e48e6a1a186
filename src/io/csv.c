#include "io/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/strbuf.h"

typedef struct {
    vc_strbuf field;   /* the field being read */
    char **fields;     /* the record's fields so far */
    int n, cap;
} record;

typedef struct {
    const char *path;
    record r, header;  /* header: a copy of the first record, to name columns in messages */
    long start, line;  /* the line where the record starts, the line being read */
    long quote_line;   /* the line where the open quoted field began */
} reader;

static int end_field(record *r, vc_error *err) {
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        char **grown = realloc(r->fields, (size_t)cap * sizeof *grown);
        if (!grown) return vc_fail(err, "out of memory");
        r->fields = grown, r->cap = cap;
    }
    char *s = strdup(r->field.data ? r->field.data : "");
    if (!s) return vc_fail(err, "out of memory");
    r->fields[r->n++] = s;
    r->field.len = 0;
    if (r->field.data) r->field.data[0] = 0;
    return 0;
}

static void free_record(record *r) {
    for (int i = 0; i < r->n; i++) free(r->fields[i]);
    free(r->fields);
    vc_sb_free(&r->field);
    memset(r, 0, sizeof *r);
}

/* A syntax error in the field being read: "PATH:START: column 'NAME' (field K): what", with
 * the physical line too when the record spans several. */
static int fail_here(const reader *x, const char *what, vc_error *err) {
    const int k = x->r.n; /* the field being read, 0-based */
    char col[300], on[64] = "";
    if (k < x->header.n) snprintf(col, sizeof col, "column '%.200s' (field %d)", x->header.fields[k], k + 1);
    else snprintf(col, sizeof col, "field %d", k + 1);
    if (x->line != x->start) snprintf(on, sizeof on, " (on line %ld)", x->line);
    return vc_fail(err, "%s:%ld: %s: %s%s", x->path, x->start, col, what, on);
}

/* The record just read goes to fn; the first one is also kept as the header. */
static int deliver(reader *x, vc_csv_fn fn, void *ud, vc_error *err) {
    int rc = end_field(&x->r, err);
    if (!rc && !x->header.fields) {
        x->header.fields = calloc((size_t)x->r.n, sizeof *x->header.fields);
        if (!x->header.fields) return vc_fail(err, "out of memory");
        for (int i = 0; i < x->r.n; i++, x->header.n++)
            if (!(x->header.fields[i] = strdup(x->r.fields[i]))) return vc_fail(err, "out of memory");
    }
    if (!rc) rc = fn(x->r.fields, x->r.n, x->start, ud, err);
    for (int i = 0; i < x->r.n; i++) free(x->r.fields[i]);
    x->r.n = 0;
    return rc;
}

int vc_csv_foreach(const char *path, vc_csv_fn fn, void *ud, vc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vc_fail(err, "%s: %s", path, strerror(errno));
    reader x = {.path = path, .start = 1, .line = 1};
    int c, rc = 0, quoted = 0, was_quoted = 0, at_start = 1; /* at_start: nothing read in this record */
    unsigned char bom[3];
    size_t got = fread(bom, 1, 3, f);
    if (!(got == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)) rewind(f);
    while (!rc) {
        c = fgetc(f);
        if (c == 0) {
            rc = fail_here(&x, "a NUL byte (not a text file?)", err);
        } else if (quoted) {
            if (c == EOF) {
                char what[96];
                snprintf(what, sizeof what, "the quoted field opened on line %ld is never closed", x.quote_line);
                x.line = x.start; /* the file's end is no place to point at */
                rc = fail_here(&x, what, err);
            } else if (c == '"') {
                int next = fgetc(f);
                if (next == '"') rc = vc_sb_putc(&x.r.field, '"', err);
                else quoted = 0, ungetc(next, f);
            } else {
                if (c == '\n') x.line++;
                if (c == '\r') { /* a CR line end inside quotes counts as a line too; CRLF once */
                    int next = fgetc(f);
                    if (next != '\n') x.line++;
                    ungetc(next, f);
                }
                rc = vc_sb_putc(&x.r.field, (char)c, err);
            }
        } else if (c == '"' && x.r.field.len == 0 && !was_quoted) {
            quoted = was_quoted = 1, at_start = 0, x.quote_line = x.line;
        } else if (c == ',') {
            rc = end_field(&x.r, err), was_quoted = 0, at_start = 0;
        } else if (c == '\n' || c == '\r' || c == EOF) {
            if (c == '\r') {
                int next = fgetc(f);
                if (next != '\n') ungetc(next, f);
            }
            if (!at_start) rc = deliver(&x, fn, ud, err);
            was_quoted = 0, at_start = 1;
            if (c == EOF) break;
            x.start = ++x.line;
        } else if (was_quoted) {
            rc = fail_here(&x, "text after a closing quote (a quote inside a quoted field must be doubled)", err);
        } else {
            rc = vc_sb_putc(&x.r.field, (char)c, err), at_start = 0;
        }
    }
    free_record(&x.r);
    free_record(&x.header);
    fclose(f);
    return rc;
}
