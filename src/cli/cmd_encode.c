/* viclip encode: text or video embeddings as .npy; videos go into a search index (src/search):
 * whole videos, annotated clips, or windows of long videos, updated in place on later runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static int write_rows(const char *out, const float *emb, int n, int dim, viclip_error *err) {
    const int64_t shape[2] = {n, dim};
    return viclip_npy_write(out, VICLIP_F32, 2, shape, emb, err);
}

/* --video-tensor: a preprocessed float32 clip [T,3,H,W] or batch [N,T,3,H,W] -> [N, E]. */
static int encode_video_tensor(viclip_context *m, const char *path, int normalize, const char *out) {
    viclip_error err;
    float *emb = NULL;
    int n = 0;
    const int rc = viclip_encode_tensor_file(m, path, normalize, &emb, &n, &err) || write_rows(out, emb, n, viclip_embed_dim(m), &err);
    if (rc) cli_error("encode", err.msg);
    free(emb);
    return rc ? 1 : 0;
}

static int encode_texts(viclip_context *m, const arg_str_list *texts, int normalize, const char *out) {
    const int n = texts->n, E = viclip_embed_dim(m);
    float *emb = malloc((size_t)n * E * sizeof *emb);
    viclip_error err;
    int rc = emb ? 0 : (snprintf(err.msg, sizeof err.msg, "out of memory"), 1);
    if (!rc) rc = viclip_encode_texts_ex(m, (const char *const *)texts->items, n, normalize, emb, &err) ||
                  write_rows(out, emb, n, E, &err);
    if (rc) cli_error("encode", err.msg);
    free(emb);
    return rc ? 1 : 0;
}

/* How --list is read. */
typedef struct list_format {
    const char *format, *video_root, *video_pattern;
} list_format;

/* The video inputs: --video paths (whole videos, or windows), then the clips of --list
 * annotations (the library encodes each distinct clip once). */
static int collect_videos(const arg_str_list *videos, const char *list, const list_format *lf, viclip_annotations **ann,
                          struct viclip_index_input **items, int *n) {
    viclip_error err;
    *ann = NULL;
    if (list && !(*ann = viclip_annotations_load(list, lf->format, lf->video_root, lf->video_pattern, &err))) {
        cli_error("encode", err.msg);
        return 1;
    }
    const int n_ann = *ann ? viclip_annotations_count(*ann) : 0;
    *items = malloc(((size_t)videos->n + n_ann + 1) * sizeof **items);
    if (!*items) return cli_error("encode", "out of memory"), 1;
    *n = 0;
    for (int i = 0; i < videos->n; i++) (*items)[(*n)++] = (struct viclip_index_input){videos->items[i], -1, -1};
    for (int i = 0; i < n_ann; i++) (*items)[(*n)++] = viclip_annotations_clip(*ann, i);
    return 0;
}

static void build_failure(const char *msg, void *user) {
    cli_progress *bar = user;
    if (bar->tty) fprintf(stderr, "\n");
    fprintf(stderr, "viclip encode: warning: skipping %s\n", msg); /* msg names the file */
}

static void build_progress(const char *what, int done, int total, void *user) {
    cli_progress *bar = user;
    bar->what = what;
    cli_progress_update(done, total, bar);
}

typedef struct index_request {
    double window, stride, long_video;
    int dtype, fresh, workers, json;  /* dtype: an enum viclip_dtype, or -1: the index's (a new one: F16) */
    list_format annotation;           /* how --list is read */
    const char *sampling, *interp;    /* NULL: the index's (see viclip_index_params) */
} index_request;

static int encode_videos(viclip_context *m, const arg_str_list *videos, const char *list, const index_request *q,
                         const char *out) {
    viclip_annotations *ann = NULL;
    struct viclip_index_input *items = NULL;
    viclip_error err;
    viclip_index *x = NULL;
    struct viclip_index_stats st = {0};
    cli_progress bar = cli_progress_begin("encoding");
    struct viclip_index_params o = viclip_index_default_params();
    o.window = q->window, o.stride = q->stride, o.dtype = q->dtype >= 0 ? (enum viclip_dtype)q->dtype : VICLIP_F16;
    o.sampling = q->sampling, o.interp = q->interp;
    if (q->long_video > 0) o.long_video_s = q->long_video;
    o.workers = q->workers > 0 ? q->workers : 2;
    o.on_skip = build_failure, o.on_progress = build_progress, o.user = &bar;
    int n = 0, rc = collect_videos(videos, list, &q->annotation, &ann, &items, &n);
    if (!rc && n == 0) rc = 1, cli_error("encode", "no videos to encode");
    int existing = !rc && !q->fresh && viclip_index_exists(out);
    if (!rc && existing) {
        if (!(x = viclip_index_open_checked(out, m, &o, &err)) ||
            (q->dtype >= 0 && viclip_index_dtype(x) != (enum viclip_dtype)q->dtype &&
             snprintf(err.msg, sizeof err.msg, "%s: the index stores %s rows; --index-dtype %s needs a new index (--fresh)",
                      out, viclip_index_dtype_name(viclip_index_dtype(x)), viclip_index_dtype_name((enum viclip_dtype)q->dtype))))
            rc = 1, cli_error("encode", err.msg);
    } else if (!rc && !(x = viclip_index_create(m, &o, &err))) {
        rc = 1, cli_error("encode", err.msg);
    }
    if (!rc && viclip_index_update(m, x, items, n, &o, &st, &err)) rc = 1, cli_error("encode", err.msg);
    if (!rc && st.n_encoded + st.n_kept == 0) rc = 1, cli_error("encode", "none of the videos could be read");
    if (!rc && viclip_index_save(x, out, &err)) rc = 1, cli_error("encode", err.msg);
    char emb_path[4096], win_path[4096], meta_path[4096];
    viclip_index_paths(out, emb_path, win_path, meta_path, sizeof emb_path);
    const double rate = st.encode_s > 0 ? st.n_windows_new / st.encode_s : 0;
    if (!rc && st.n_approx)
        fprintf(stderr, "viclip encode: warning: %d windows took frames by the nominal frame rate where the timestamps "
                        "differ (variable frame rate)\n", st.n_approx);
    if (!rc && q->json) {
        printf("{\"index\":");
        cli_json_string(stdout, meta_path);
        printf(",\"embeddings\":");
        cli_json_string(stdout, emb_path);
        printf(",\"n_inputs\":%d,\"n_encoded\":%d,\"n_failed\":%d,\"n_kept\":%d,\"n_removed\":%d,\"n_files\":%d,"
               "\"n_windows\":%d,\"n_windows_new\":%d,\"window\":%g,\"stride\":%g,\"dim\":%d,\"dtype\":\"%s\","
               "\"sampling\":\"%s\",\"interp\":\"%s\","
               "\"encode_s\":%.3f,\"encode_cpu_s\":%.3f,\"windows_per_s\":%.3f}\n",
               st.n_inputs, st.n_encoded, st.n_failed, st.n_kept, st.n_removed, viclip_index_n_files(x),
               viclip_index_n_windows(x), st.n_windows_new, viclip_index_window(x), viclip_index_stride(x),
               viclip_index_dim(x), viclip_dtype_name(viclip_index_dtype(x)),
               viclip_sampling_name(viclip_index_sampling(x)), viclip_interp_name(viclip_index_interp(x)), st.encode_s,
               st.encode_cpu_s, rate);
    } else if (!rc) {
        printf("encoded %d of %d videos -> %s (%d files, %d windows", st.n_encoded + st.n_kept, st.n_inputs, meta_path,
               viclip_index_n_files(x), viclip_index_n_windows(x));
        if (st.n_kept || st.n_removed) printf("; %d unchanged kept, %d removed", st.n_kept, st.n_removed);
        printf(")%s\n", st.n_failed ? "; the others could not be read (see the warnings)" : "");
        if (st.n_windows_new)
            printf("%d new windows in %.1f s (%.2f windows/s; %.1f CPU s)\n", st.n_windows_new, st.encode_s, rate,
                   st.encode_cpu_s);
    }
    viclip_index_free(x);
    free(items);
    viclip_annotations_free(ann);
    return rc;
}

/* Every file encode reads (model, list, tensor, vocabulary, videos) against every file it
 * writes (for videos, the index: its embeddings, windows and metadata files). */
static int prepare_outputs(const char *out, const char *model, const char *list, const char *tensor, const char *vocab,
                           const arg_str_list *videos, int index) {
    char emb[4096], names[4096], meta[4096];
    viclip_index_paths(out, emb, names, meta, sizeof emb);
    const char *outs[] = {index ? emb : out, names, meta};
    const int n_in = 4 + videos->n;
    const char **ins = malloc((size_t)n_in * sizeof *ins);
    if (!ins) return cli_error("encode", "out of memory"), 1;
    ins[0] = model, ins[1] = list, ins[2] = tensor, ins[3] = vocab;
    for (int i = 0; i < videos->n; i++) ins[4 + i] = videos->items[i];
    const int rc = cli_prepare_outputs("encode", outs, index ? 3 : 1, ins, n_in);
    free(ins);
    return rc;
}

int cmd_encode(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *vocab = NULL, *video_tensor = NULL, *list = NULL;
    const char *sampling = NULL, *interp = NULL, *index_dtype = NULL;
    list_format ao = {"auto", NULL, NULL};
    int normalize = 0, threads = 0, workers = 2, json = 0, raw = 0, f32 = 0, fresh = 0;
    double window = 0, stride = 0, long_video = 60;
    arg_str_list texts = {0}, videos = {0};
    const char *precision = NULL, *device = NULL;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file"},
        {0, "text", ARG_STR_LIST, &texts, "TEXT", "a text to embed (repeatable)"},
        {0, "video", ARG_STR_LIST, &videos, "FILE", "a video, image or frame folder to embed (repeatable; L2-normalised)"},
        {'l', "list", ARG_STR, &list, "FILE", "embed every clip of these annotations (JSONL or CSV; each clip once)"},
        {0, "video-tensor", ARG_STR, &video_tensor, "X.npy", "a preprocessed float32 clip [T,3,H,W] or [N,T,3,H,W]"},
        {'o', "out", ARG_STR, &out, "PATH", "X.npy, or for videos an index: a folder (embeddings.npy, windows.npy, index.json) or X.npy (+ X.windows.npy, X.json); an existing index is updated"},
        {0, "window", ARG_DOUBLE, &window, "SEC", "index every video as windows of SEC seconds (default: only videos longer than --long-video, 8 s)"},
        {0, "stride", ARG_DOUBLE, &stride, "SEC", "seconds between window starts (default: half the window; 4 s)"},
        {0, "long-video", ARG_DOUBLE, &long_video, "SEC", "videos longer than this get windows when --window is not given"},
        {0, "index-dtype", ARG_STR, &index_dtype, "fp16|int8|fp32",
         "index rows: fp16 (default, 1.55 GB per 10^6 windows at E = 768), int8 (a scale per row: 0.79 GB, scores within ~1e-3) or fp32"},
        {0, "f32", ARG_FLAG, &f32, NULL, "the same as --index-dtype fp32"},
        {0, "fresh", ARG_FLAG, &fresh, NULL, "write a new index even if one exists at --out (default: update it)"},
        {0, "normalize", ARG_FLAG, &normalize, NULL, "L2-normalise text / tensor rows (video files always are)"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise texts as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads"},
        CLI_ANNOTATION_SPECS(ao.format, ao),
        CLI_CLIP_SPECS(sampling, interp),
        {0, "json", ARG_FLAG, &json, NULL, "print a JSON summary (videos)"},
        CLI_MODEL_RUN_SPECS(vocab, threads, precision, device),
    };
    int rc = args_parse("usage: viclip encode --model FILE (--text TEXT... | --video FILE... | --list ANN | --video-tensor X.npy) --out PATH",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    const int sources = (texts.n > 0) + (videos.n > 0 || list) + (video_tensor != NULL);
    if (window > 0 && !(stride > 0)) stride = window / 2;
    if (!rc && (window < 0 || stride < 0 || (stride > 0 && !(window > 0)) || long_video < 0)) {
        cli_error("encode", "--window and --stride must be > 0 (--stride needs --window), --long-video >= 0");
        rc = -1;
    }
    viclip_error perr;
    if (!rc && viclip_annotation_format_valid(ao.format, &perr)) cli_error("encode", perr.msg), rc = -1;
    if (!rc && viclip_preprocess_valid(sampling, interp, &perr)) cli_error("encode", perr.msg), rc = -1;
    enum viclip_dtype dtype = f32 ? VICLIP_F32 : VICLIP_F16;
    if (!rc && index_dtype && viclip_index_dtype_from_name(index_dtype, &dtype, &perr)) cli_error("encode", perr.msg), rc = -1;
    if (!rc && f32 && dtype != VICLIP_F32) cli_error("encode", "--f32 contradicts --index-dtype"), rc = -1;
    if (rc || !model || !out || sources != 1) {
        if (!rc) cli_error("encode", "--model, --out and one of --text, --video/--list or --video-tensor are required");
        arg_str_list_free(&texts), arg_str_list_free(&videos);
        return rc > 0 ? 0 : 2;
    }
    if (prepare_outputs(out, model, list, video_tensor, vocab, &videos, videos.n > 0 || list)) {
        arg_str_list_free(&texts), arg_str_list_free(&videos);
        return 2;
    }
    cli_set_threads(threads);
    /* a tokenizer only for texts: video paths need no vocabulary */
    viclip_context *m = cli_open_model(model, precision, device, texts.n ? vocab : "", !raw, "encode");
    if (!m) rc = 1;
    else if (video_tensor) rc = encode_video_tensor(m, video_tensor, normalize, out);
    else if (texts.n) rc = encode_texts(m, &texts, normalize, out);
    else {
        index_request q = {window, stride, long_video, index_dtype || f32 ? (int)dtype : -1, fresh, workers, json, ao, sampling, interp};
        rc = encode_videos(m, &videos, list, &q, out);
    }
    viclip_free(m);
    arg_str_list_free(&texts), arg_str_list_free(&videos);
    return rc;
}
