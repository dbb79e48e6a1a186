/* viclip encode: text or video embeddings as .npy; videos go into a search index (src/search):
 * whole videos, annotated clips, or windows of long videos, updated in place on later runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/finite.h"
#include "eval/evaluate.h"
#include "io/annotations.h"
#include "io/atomic_file.h"
#include "io/fs.h"
#include "io/npy.h"
#include "io/strbuf.h"
#include "model/model_io.h"
#include "search/build.h"
#include "search/index.h"
#include "video/loader.h"

/* --video-tensor: a preprocessed float32 clip [T,3,H,W] or batch [N,T,3,H,W] -> [N, E]. */
static int encode_video_tensor(vc_model *m, const char *path, int normalize, const char *out) {
    vc_error err;
    vc_npy a;
    const vc_config *c = &m->cfg;
    int rc = vc_npy_read(path, &a, &err);
    int lead = a.ndim - 4;
    if (!rc && (a.dtype != VC_DT_F32 || (a.ndim != 4 && a.ndim != 5)))
        rc = vc_fail(&err, "%s: expected float32 [T,3,H,W] or [N,T,3,H,W], got %s with %d dims", path,
                     vc_dtype_name(a.dtype), a.ndim);
    if (!rc && (a.shape[lead] != c->num_frames || a.shape[lead + 1] != 3 || a.shape[lead + 2] != c->image_size ||
                a.shape[lead + 3] != c->image_size))
        rc = vc_fail(&err, "%s: clip shape [%lld,%lld,%lld,%lld] does not match the model's [%d,3,%d,%d]", path,
                     (long long)a.shape[lead], (long long)a.shape[lead + 1], (long long)a.shape[lead + 2],
                     (long long)a.shape[lead + 3], c->num_frames, c->image_size, c->image_size);
    int N = !rc && lead ? (int)a.shape[0] : 1;
    if (!rc && (N < 1 || a.shape[0] > 1000000)) rc = vc_fail(&err, "%s: %lld clips", path, (long long)a.shape[0]);
    if (!rc) rc = vc_check_finite_f32(a.data, a.nbytes / sizeof(float), path, &err);
    float *emb = rc ? NULL : malloc((size_t)N * c->embed_dim * sizeof *emb);
    if (!rc && !emb) rc = vc_fail(&err, "out of memory");
    if (!rc) rc = vc_model_encode_video(m, a.data, N, emb, &err);
    if (!rc && normalize) vc_l2_normalize_rows(emb, N, c->embed_dim);
    int64_t shape[2] = {N, c->embed_dim};
    if (!rc) rc = vc_npy_write(out, VC_DT_F32, 2, shape, emb, &err);
    if (rc) cli_error("encode", err.msg);
    free(emb);
    vc_npy_free(&a);
    return rc ? 1 : 0;
}

static int encode_texts(vc_model *m, const arg_str_list *texts, const char *vocab, int normalize, int raw,
                        const char *out) {
    vc_tokenizer *tok = cli_load_tokenizer(vocab);
    const int n = texts->n, ctx = m->cfg.context_length, E = m->cfg.embed_dim;
    float *emb = malloc((size_t)n * E * sizeof *emb);
    int32_t *ids = malloc((size_t)n * ctx * sizeof *ids);
    vc_error err;
    if (!tok) return free(emb), free(ids), 1;
    int rc = emb && ids ? 0 : vc_fail(&err, "out of memory");
    if (!rc) rc = vc_tokenize_texts(tok, (const char *const *)texts->items, n, ctx, !raw, ids, &err);
    if (!rc) rc = vc_model_encode_text(m, ids, n, emb, &err);
    if (!rc && normalize) vc_l2_normalize_rows(emb, n, E);
    int64_t shape[2] = {n, E};
    if (!rc) rc = vc_npy_write(out, VC_DT_F32, 2, shape, emb, &err);
    if (rc) cli_error("encode", err.msg);
    free(emb), free(ids);
    vc_tokenizer_free(tok);
    return rc ? 1 : 0;
}

/* The video inputs: --video paths (whole videos, or windows), then the clips of --list
 * annotations (the library encodes each distinct clip once). */
static int collect_videos(const arg_str_list *videos, const char *list, const vc_annotation_opts *ao,
                          vc_annotation_set *ann, vc_loader_item **items, int *n) {
    vc_error err;
    memset(ann, 0, sizeof *ann);
    if (list && vc_annotations_load_opts(list, ao, ann, &err)) {
        cli_error("encode", err.msg);
        return 1;
    }
    *items = malloc(((size_t)videos->n + ann->n + 1) * sizeof **items);
    if (!*items) return cli_error("encode", "out of memory"), 1;
    *n = 0;
    for (int i = 0; i < videos->n; i++) (*items)[(*n)++] = (vc_loader_item){videos->items[i], -1, -1};
    for (int i = 0; i < ann->n; i++) (*items)[(*n)++] = (vc_loader_item){ann->items[i].video, ann->items[i].start, ann->items[i].end};
    return 0;
}

static void build_failure(const char *path, const char *msg, void *user) {
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
    int f32, fresh, workers, json;
    vc_annotation_opts annotation; /* how --list is read */
    int sampling, interp;          /* -1: the index's (see vc_index_build_opts) */
} index_request;

static int encode_videos(vc_model *m, const arg_str_list *videos, const char *list, const index_request *q,
                         const char *out) {
    vc_annotation_set ann;
    vc_loader_item *items = NULL;
    vc_error err;
    vc_search_index x = {0};
    vc_index_build_stats st;
    cli_progress bar = cli_progress_begin("encoding");
    vc_index_build_opts o = vc_index_build_default_opts();
    o.window = q->window, o.stride = q->stride, o.dtype = q->f32 ? VC_DT_F32 : VC_DT_F16;
    o.sampling = q->sampling, o.interp = q->interp;
    if (q->long_video > 0) o.long_video_s = q->long_video;
    o.workers = q->workers > 0 ? q->workers : 2;
    o.on_failure = build_failure, o.on_progress = build_progress, o.user = &bar;
    int n = 0, rc = collect_videos(videos, list, &q->annotation, &ann, &items, &n);
    if (!rc && n == 0) rc = 1, cli_error("encode", "no videos to encode");
    int existing = !rc && !q->fresh && vc_index_exists(out);
    if (!rc && existing) {
        if (vc_index_load_checked(out, m, &o, &x, &err) ||
            (q->f32 && x.dtype != VC_DT_F32 && vc_fail(&err, "%s: the index stores float16; --f32 needs a new index (--fresh)", out)))
            rc = 1, cli_error("encode", err.msg);
    } else if (!rc && vc_index_init(&x, m, &o, &err)) {
        rc = 1, cli_error("encode", err.msg);
    }
    if (!rc && vc_index_update(m, &x, items, n, &o, &st, &err)) rc = 1, cli_error("encode", err.msg);
    if (!rc && st.n_encoded + st.n_kept == 0) rc = 1, cli_error("encode", "none of the videos could be read");
    if (!rc && vc_index_save(out, &x, &err)) rc = 1, cli_error("encode", err.msg);
    char emb_path[4096], win_path[4096], meta_path[4096];
    vc_index_paths(out, emb_path, win_path, meta_path, sizeof emb_path);
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
               st.n_inputs, st.n_encoded, st.n_failed, st.n_kept, st.n_removed, x.n_files, x.n, st.n_windows_new, x.window,
               x.stride, x.dim, x.dtype == VC_DT_F16 ? "F16" : "F32", vc_sampling_name(x.sampling), vc_interp_name(x.interp), st.encode_s, st.encode_cpu_s, rate);
    } else if (!rc) {
        printf("encoded %d of %d videos -> %s (%d files, %d windows", st.n_encoded + st.n_kept, st.n_inputs, meta_path,
               x.n_files, x.n);
        if (st.n_kept || st.n_removed) printf("; %d unchanged kept, %d removed", st.n_kept, st.n_removed);
        printf(")%s\n", st.n_failed ? "; the others could not be read (see the warnings)" : "");
        if (st.n_windows_new)
            printf("%d new windows in %.1f s (%.2f windows/s; %.1f CPU s)\n", st.n_windows_new, st.encode_s, rate,
                   st.encode_cpu_s);
    }
    vc_index_free(&x);
    free(items);
    vc_annotations_free(&ann);
    return rc;
}

/* Every file encode reads (model, list, tensor, vocabulary, videos) against every file it
 * writes (for videos, the index: its embeddings, windows and metadata files). */
static int prepare_outputs(const char *out, const char *model, const char *list, const char *tensor, const char *vocab,
                           const arg_str_list *videos, int index) {
    char emb[4096], names[4096], meta[4096];
    vc_index_paths(out, emb, names, meta, sizeof emb);
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
    const char *model = NULL, *out = NULL, *vocab = NULL, *video_tensor = NULL, *list = NULL, *format = "auto";
    const char *sampling = NULL, *interp = NULL;
    vc_annotation_opts ao = {0};
    int normalize = 0, threads = 0, workers = 2, json = 0, raw = 0, f32 = 0, fresh = 0;
    double window = 0, stride = 0, long_video = 60;
    arg_str_list texts = {0}, videos = {0};
    const char *precision = NULL;
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
        {0, "f32", ARG_FLAG, &f32, NULL, "store float32 embeddings (default float16: half the size, same ranking to 1e-3)"},
        {0, "fresh", ARG_FLAG, &fresh, NULL, "write a new index even if one exists at --out (default: update it)"},
        {0, "normalize", ARG_FLAG, &normalize, NULL, "L2-normalise text / tensor rows (video files always are)"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise texts as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads"},
        CLI_ANNOTATION_SPECS(format, ao),
        CLI_CLIP_SPECS(sampling, interp),
        {0, "json", ARG_FLAG, &json, NULL, "print a JSON summary (videos)"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
        {0, "precision", ARG_STR, &precision, "P", CLI_PRECISION_HELP},
    };
    int rc = args_parse("usage: viclip encode --model FILE (--text TEXT... | --video FILE... | --list ANN | --video-tensor X.npy) --out PATH",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    const int sources = (texts.n > 0) + (videos.n > 0 || list) + (video_tensor != NULL);
    if (window > 0 && !(stride > 0)) stride = window / 2;
    if (!rc && (window < 0 || stride < 0 || (stride > 0 && !(window > 0)) || long_video < 0)) {
        cli_error("encode", "--window and --stride must be > 0 (--stride needs --window), --long-video >= 0");
        rc = -1;
    }
    if (!rc && cli_parse_annotation_format("encode", format, &ao)) rc = -1;
    vc_index_build_opts pre = vc_index_build_default_opts();
    vc_error perr;
    if (!rc && vc_index_build_parse_preprocess(sampling, interp, &pre, &perr)) cli_error("encode", perr.msg), rc = -1;
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
    vc_model *m = cli_load_model(model, precision, "encode");
    if (!m) rc = 1;
    else if (video_tensor) rc = encode_video_tensor(m, video_tensor, normalize, out);
    else if (texts.n) rc = encode_texts(m, &texts, vocab, normalize, raw, out);
    else {
        index_request q = {window, stride, long_video, f32, fresh, workers, json, ao, pre.sampling, pre.interp};
        rc = encode_videos(m, &videos, list, &q, out);
    }
    vc_model_free(m);
    arg_str_list_free(&texts), arg_str_list_free(&videos);
    return rc;
}
