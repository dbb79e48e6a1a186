/* The search index: one L2-normalised embedding per window of video, with its file, start and
 * end, and what made it (model checksum and config, preprocessing, window and stride).
 * Format version 2 (documented in src/search/README.md): three files side by side,
 *   DIR/embeddings.npy, DIR/windows.npy, DIR/index.json      (--out DIR)
 *   X.npy,              X.windows.npy,   X.json              (--out X.npy)
 * embeddings.npy is float16 (or float32) [N, E]; windows.npy float64 [N, 2] (start, end in
 * seconds); index.json holds the metadata and the files, each with path, size, mtime and the
 * row range [first, first + count) of its windows (rows are grouped by file, in file order).
 * Paths are JSON strings, so any byte but invalid UTF-8 survives (a newline is "\n"); names
 * that are not UTF-8 are refused when writing. */
#ifndef VC_SEARCH_INDEX_H
#define VC_SEARCH_INDEX_H

#include <stdint.h>

#include "core/error.h"
#include "io/dtype.h"
#include "video/sampling.h"
#include "video/transform.h"

#define VC_INDEX_VERSION 2      /* float16 / float32 rows */
#define VC_INDEX_VERSION_I8 3   /* version 2 + int8 rows with a scale per row (DIR/scales.npy) */

typedef struct vc_index_file {
    char *path;
    int64_t size, mtime_ns; /* as stat reported when it was encoded: unchanged files are skipped */
    double duration;        /* seconds (0 if unknown) */
    int first, count;       /* its rows */
} vc_index_file;

typedef struct vc_search_index {
    int dim, n;              /* E, rows */
    vc_dtype dtype;          /* VC_DT_F16, VC_DT_F32 or VC_DT_I8 */
    void *rows;              /* [n, dim] */
    float *scale;            /* [n] int8 rows only: row i = scale[i] * rows[i] (max |x| / 127) */
    double *start, *end;     /* [n] seconds; a whole-video row has 0 and the duration */
    int *file;               /* [n] index into files */
    vc_index_file *files;
    int n_files;
    char *config_json;       /* the model's config as JSON */
    char checksum[17];       /* 16 hex digits of the model's parameter checksum */
    int frames, size;        /* preprocessing: frames per window, resolution */
    vc_sampling sampling;    /* how each window's frames were picked (index.json "sampling") */
    vc_interp interp;        /* how frames were resized (index.json "resize") */
    double window, stride;   /* seconds; 0: whole videos or annotated clips */
} vc_search_index;

/* Where the three files of an index at `out` live (see above); each buffer holds cap bytes. */
void vc_index_paths(const char *out, char *emb, char *windows, char *meta, size_t cap);

/* Where the per-row scales of an int8 index at out live: DIR/scales.npy or X.scales.npy. */
void vc_index_scales_path(const char *out, char *scales, size_t cap);

/* "fp16", "fp32" or "int8" (--index-dtype) -> VC_DT_F16 / F32 / I8; an unknown name is an error. */
int vc_index_dtype_parse(const char *name, vc_dtype *dtype, vc_error *err);
const char *vc_index_dtype_name(vc_dtype dtype); /* "fp16", "fp32", "int8" */

/* 1 if an index (its index.json) exists at out. */
int vc_index_exists(const char *out);

int vc_index_load(const char *out, vc_search_index *x, vc_error *err);
/* Writes all three files, each atomically; creates DIR when out is a folder. */
int vc_index_save(const char *out, const vc_search_index *x, vc_error *err);
void vc_index_free(vc_search_index *x);

/* Fails naming `where` when a request for sampling / interp (each -1: not asked, take the
 * index's) differs from what the index was encoded with: one index holds one preprocessing, so
 * its windows stay comparable. */
int vc_index_check_preprocess(const vc_search_index *x, int sampling, int interp, const char *where, vc_error *err);

/* Row i as float32 (dim values). */
void vc_index_row(const vc_search_index *x, int i, float *out);

/* Appends one file's rows (emb [count, dim] float32, normalised) to the index. */
int vc_index_append(vc_search_index *x, const char *path, int64_t size, int64_t mtime_ns, double duration,
                    const float *emb, const double *start, const double *end, int count, vc_error *err);

/* The index without the files for which drop[f] is nonzero (rows and file ids renumbered). */
void vc_index_drop_files(vc_search_index *x, const unsigned char *drop);

/* The file of x with this path, or -1. */
int vc_index_find_file(const vc_search_index *x, const char *path);

#endif
