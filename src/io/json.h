/* A small, strict JSON (RFC 8259) parser for configs, annotation lines and safetensors headers.
 * Strict means: UTF-8 input only (invalid sequences are errors), no comments, no trailing
 * commas, no NaN/Infinity, no leading zeros, no duplicate object keys, no lone surrogates,
 * no data after the value, nesting at most VC_JSON_MAX_DEPTH deep. Errors say where
 * ("line 3, column 14") and what was expected.
 * The parse result is one tree owned by the root; every pointer obtained from it (child
 * values, strings) lives until vc_json_free(root). */
#ifndef VC_IO_JSON_H
#define VC_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VC_JSON_MAX_DEPTH 128

typedef struct vc_json vc_json;

typedef enum vc_json_type { VC_JSON_NULL, VC_JSON_BOOL, VC_JSON_NUMBER, VC_JSON_STRING, VC_JSON_ARRAY, VC_JSON_OBJECT } vc_json_kind;

/* Parses text[0..len) (need not be NUL-terminated). NULL on error. */
vc_json *vc_json_parse(const char *text, size_t len, vc_error *err);
/* Frees a tree returned by vc_json_parse (only the root; NULL is fine). */
void vc_json_free(vc_json *root);

/* Accessors. They accept NULL and values of the wrong type, returning a neutral answer
 * (VC_JSON_NULL, NULL, 0), so lookups can be chained and checked once. */
vc_json_kind vc_json_type(const vc_json *v);
const char *vc_json_type_name(vc_json_kind t); /* "null", "boolean", "number", ... */
const vc_json *vc_json_get(const vc_json *obj, const char *key); /* NULL if missing / not an object */
size_t vc_json_len(const vc_json *v);                               /* array items, object members, string bytes */
const vc_json *vc_json_at(const vc_json *arr, size_t i);
const char *vc_json_key_at(const vc_json *obj, size_t i);           /* members in document order */
size_t vc_json_key_len_at(const vc_json *obj, size_t i);
const vc_json *vc_json_value_at(const vc_json *obj, size_t i);
double vc_json_number(const vc_json *v);
int vc_json_bool(const vc_json *v);
const char *vc_json_string(const vc_json *v); /* NUL-terminated UTF-8; may contain NUL (see _len) */
size_t vc_json_string_len(const vc_json *v);
/* Exact integer value of a number: 0 if v is a number with an integral value that fits int64
 * (written as an integer, or like 2.0 / 1e3 when exact), else -1. */
int vc_json_as_int64(const vc_json *v, int64_t *out);

/* Typed member getters for reading configs; errors name the field ("field 'depth' ...").
 * vc_json_get_int: the member must be an integral number that fits a long;
 * vc_json_get_int_in: one in [lo, hi] (the error quotes the value as written).
 * vc_json_get_str: returns the string inside the tree (NULL and err set on failure); strings
 * with embedded NUL bytes are refused since the caller would see them cut short. */
int vc_json_get_int(const vc_json *obj, const char *key, long *out, vc_error *err);
int vc_json_get_int_in(const vc_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, vc_error *err);
int vc_json_get_double(const vc_json *obj, const char *key, double *out, vc_error *err);
int vc_json_get_bool(const vc_json *obj, const char *key, int *out, vc_error *err);
const char *vc_json_get_str(const vc_json *obj, const char *key, vc_error *err);

/* Calls fn for every non-blank line of a JSON Lines file, with lineno counted from 1. Accepts a
 * UTF-8 byte order mark at the start, CRLF line ends and a last line without a newline. A parse
 * error reads "PATH:LINE: column C: ..."; fn reports its own errors through err (returning
 * non-zero stops the walk). Returns 0, or -1 with err set. */
typedef int (*vc_jsonl_fn)(const vc_json *line_obj, long lineno, void *ud, vc_error *err);
int vc_jsonl_foreach(const char *path, vc_jsonl_fn fn, void *ud, vc_error *err);

#endif
