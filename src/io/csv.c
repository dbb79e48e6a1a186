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

static void clear_record(record *r) {
    for (int i = 0; i < r->n; i++) free(r->fields[i]);
    r->n = 0;
}

int vc_csv_foreach(const char *path, vc_csv_fn fn, void *ud, vc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vc_fail(err, "%s: %s", path, strerror(errno));
    record r = {0};
    long line = 1, start = 1;
    int c, rc = 0, quoted = 0, was_quoted = 0, at_start = 1; /* at_start: nothing read in this record */
    unsigned char bom[3];
    size_t got = fread(bom, 1, 3, f);
    if (!(got == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)) rewind(f);
    while (!rc) {
        c = fgetc(f);
        if (quoted) {
            if (c == EOF) {
                rc = vc_fail(err, "%s:%ld: a quoted field is never closed", path, start);
            } else if (c == '"') {
                int next = fgetc(f);
                if (next == '"') rc = vc_sb_putc(&r.field, '"', err);
                else quoted = 0, ungetc(next, f);
            } else {
                if (c == '\n') line++;
                rc = vc_sb_putc(&r.field, (char)c, err);
            }
            continue;
        }
        if (c == '"' && r.field.len == 0 && !was_quoted) {
            quoted = was_quoted = 1, at_start = 0;
        } else if (c == ',') {
            rc = end_field(&r, err), was_quoted = 0, at_start = 0;
        } else if (c == '\n' || c == '\r' || c == EOF) {
            if (c == '\r') {
                int next = fgetc(f);
                if (next != '\n') ungetc(next, f);
            }
            if (!at_start) {
                rc = end_field(&r, err);
                if (!rc) rc = fn(r.fields, r.n, start, ud, err);
                clear_record(&r);
            }
            was_quoted = 0, at_start = 1;
            if (c == EOF) break;
            start = ++line;
        } else if (was_quoted) {
            rc = vc_fail(err, "%s:%ld: text after a closing quote (a quote inside a field must be doubled)", path, line);
        } else {
            rc = vc_sb_putc(&r.field, (char)c, err), at_start = 0;
        }
    }
    clear_record(&r);
    free(r.fields);
    vc_sb_free(&r.field);
    fclose(f);
    return rc;
}
