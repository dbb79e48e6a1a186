/* viclip encode: text or video embeddings as .npy. Video embeddings come with the list of
 * inputs in row order, which together make a search index (viclip search --index). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/evaluate.h"
#include "io/annotations.h"
#include "io/atomic_file.h"
#include "io/fs.h"
#include "io/npy.h"
#include "io/strbuf.h"
#include "model/model_io.h"
#include "video/loader.h"

void cli_index_paths(const char *out, char *emb, char *list, char *meta, size_t cap) {
    size_t len = strlen(out);
    if (len > 4 && !strcmp(out + len - 4, ".npy")) {
        snprintf(emb, cap, "%s", out);
        snprintf(list, cap, "%.*s.txt", (int)(len - 4), out);
        snprintf(meta, cap, "%.*s.json", (int)(len - 4), out);
    } else {
        snprintf(emb, cap, "%s/embeddings.npy", out);
        snprintf(list, cap, "%s/inputs.txt", out);
        snprintf(meta, cap, "%s/index.json", out);
    }
}

uint64_t cli_model_checksum(const vc_model *m) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the parameter bytes */
    const unsigned char *b = (const unsigned char *)m->params;
    for (size_t i = 0; i < m->table.total * sizeof *m->params; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

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

static int compare_items(const void *a, const void *b) {
    const vc_loader_item *x = *(const vc_loader_item *const *)a, *y = *(const vc_loader_item *const *)b;
    int c = strcmp(x->path, y->path);
    if (!c) c = (x->start > y->start) - (x->start < y->start);
    if (!c) c = (x->end > y->end) - (x->end < y->end);
    return c ? c : (x > y) - (x < y); /* equal clips: the earlier line first */
}

/* The video inputs: --video paths, then the distinct (video, start, end) of --list annotations
 * (several captions of one clip: it is encoded once), in file order. */
static int collect_videos(const arg_str_list *videos, const char *list, vc_annotation_set *ann, vc_loader_item **items,
                          int *n) {
    vc_error err;
    memset(ann, 0, sizeof *ann);
    if (list && vc_annotations_load(list, ann, &err)) {
        cli_error("encode", err.msg);
        return 1;
    }
    vc_loader_item *from_list = malloc(((size_t)ann->n + 1) * sizeof *from_list);
    const vc_loader_item **order = malloc(((size_t)ann->n + 1) * sizeof *order);
    unsigned char *repeat = calloc((size_t)ann->n + 1, 1);
    *items = malloc(((size_t)videos->n + ann->n + 1) * sizeof **items);
    int rc = from_list && order && repeat && *items ? 0 : (cli_error("encode", "out of memory"), 1);
    for (int i = 0; !rc && i < ann->n; i++) {
        from_list[i] = (vc_loader_item){ann->items[i].video, ann->items[i].start, ann->items[i].end};
        order[i] = &from_list[i];
    }
    if (!rc) qsort(order, (size_t)ann->n, sizeof *order, compare_items);
    for (int i = 1; !rc && i < ann->n; i++)
        if (!strcmp(order[i]->path, order[i - 1]->path) && order[i]->start == order[i - 1]->start &&
            order[i]->end == order[i - 1]->end)
            repeat[order[i] - from_list] = 1;
    *n = 0;
    for (int i = 0; !rc && i < videos->n; i++) (*items)[(*n)++] = (vc_loader_item){videos->items[i], -1, -1};
    for (int i = 0; !rc && i < ann->n; i++)
        if (!repeat[i]) (*items)[(*n)++] = from_list[i];
    free(from_list), free(order), free(repeat);
    return rc;
}

static int write_index(const char *out, const vc_model *m, const vc_loader_item *items, int n, const float *emb,
                       const unsigned char *ok, int n_ok, char *emb_path, char *list_path, size_t cap) {
    vc_error err;
    const int E = m->cfg.embed_dim;
    char meta_path[4096], config[1024];
    cli_index_paths(out, emb_path, list_path, meta_path, cap < sizeof meta_path ? cap : sizeof meta_path);
    size_t len = strlen(out);
    if (!(len > 4 && !strcmp(out + len - 4, ".npy")) && vc_mkdir_p(out, &err)) return cli_error("encode", err.msg), 1;
    float *rows = malloc(((size_t)n_ok ? n_ok : 1) * E * sizeof *rows);
    vc_strbuf list = {0};
    int rc = rows ? 0 : vc_fail(&err, "out of memory");
    for (int i = 0, k = 0; i < n && !rc; i++) {
        if (!ok[i]) continue;
        memcpy(rows + (size_t)k++ * E, emb + (size_t)i * E, E * sizeof *rows);
        rc = items[i].start >= 0 || items[i].end >= 0
                 ? vc_sb_appendf(&list, &err, "%s\t%g\t%g\n", items[i].path, items[i].start, items[i].end)
                 : vc_sb_appendf(&list, &err, "%s\n", items[i].path);
    }
    int64_t shape[2] = {n_ok, E};
    if (!rc) rc = vc_npy_write(emb_path, VC_DT_F32, 2, shape, rows, &err);
    if (!rc) rc = vc_atomic_write_file(list_path, list.data ? list.data : "", list.len, &err);
    /* which model made the index: search refuses another one (same width, other weights) */
    vc_strbuf meta = {0};
    vc_config_to_json(&m->cfg, config, sizeof config);
    if (!rc) rc = vc_sb_appendf(&meta, &err, "{\"config\":%s,\"param_checksum\":\"%016llx\",\"n\":%d}\n", config,
                                (unsigned long long)cli_model_checksum(m), n_ok);
    if (!rc) rc = vc_atomic_write_file(meta_path, meta.data, meta.len, &err);
    vc_sb_free(&meta);
    if (rc) cli_error("encode", err.msg);
    free(rows);
    vc_sb_free(&list);
    return rc ? 1 : 0;
}

static int encode_videos(vc_model *m, const arg_str_list *videos, const char *list, int workers, int json,
                         const char *out) {
    vc_annotation_set ann;
    vc_loader_item *items = NULL;
    int n = 0, n_ok = 0, rc = collect_videos(videos, list, &ann, &items, &n);
    const int E = m->cfg.embed_dim;
    float *emb = rc ? NULL : malloc(((size_t)n ? n : 1) * E * sizeof *emb);
    unsigned char *ok = rc ? NULL : malloc((size_t)n + 1);
    if (!rc && (!emb || !ok)) rc = 1, cli_error("encode", "out of memory");
    if (!rc && n == 0) rc = 1, cli_error("encode", "no videos to encode");
    if (!rc) rc = cli_encode_videos("encode", m, items, n, workers, emb, ok, &n_ok);
    char emb_path[4096], list_path[4096];
    if (!rc) rc = write_index(out, m, items, n, emb, ok, n_ok, emb_path, list_path, sizeof emb_path);
    if (!rc && json) {
        printf("{\"embeddings\":");
        cli_json_string(stdout, emb_path);
        printf(",\"inputs\":");
        cli_json_string(stdout, list_path);
        printf(",\"n_encoded\":%d,\"n_failed\":%d,\"dim\":%d,\"failed\":[", n_ok, n - n_ok, E);
        for (int i = 0, first = 1; i < n; i++)
            if (!ok[i]) printf(first ? "" : ","), cli_json_string(stdout, items[i].path), first = 0;
        printf("]}\n");
    } else if (!rc) {
        printf("encoded %d of %d videos -> %s (list: %s)%s\n", n_ok, n, emb_path, list_path,
               n_ok < n ? "; the others could not be read (see the warnings)" : "");
    }
    free(emb), free(ok), free(items);
    vc_annotations_free(&ann);
    return rc;
}

int cmd_encode(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *vocab = NULL, *video_tensor = NULL, *list = NULL;
    int normalize = 0, threads = 0, workers = 2, json = 0, raw = 0;
    arg_str_list texts = {0}, videos = {0};
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file"},
        {0, "text", ARG_STR_LIST, &texts, "TEXT", "a text to embed (repeatable)"},
        {0, "video", ARG_STR_LIST, &videos, "FILE", "a video, image or frame folder to embed (repeatable; L2-normalised)"},
        {'l', "list", ARG_STR, &list, "FILE", "embed every clip of these annotations (JSONL or CSV; each clip once)"},
        {0, "video-tensor", ARG_STR, &video_tensor, "X.npy", "a preprocessed float32 clip [T,3,H,W] or [N,T,3,H,W]"},
        {'o', "out", ARG_STR, &out, "PATH", "X.npy (videos: + X.txt, the inputs in row order) or, for videos, a folder (embeddings.npy + inputs.txt)"},
        {0, "normalize", ARG_FLAG, &normalize, NULL, "L2-normalise text / tensor rows (video files always are)"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise texts as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads"},
        {0, "json", ARG_FLAG, &json, NULL, "print a JSON summary (videos)"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
    };
    int rc = args_parse("usage: viclip encode --model FILE (--text TEXT... | --video FILE... | --list ANN | --video-tensor X.npy) --out PATH",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    const int sources = (texts.n > 0) + (videos.n > 0 || list) + (video_tensor != NULL);
    if (rc || !model || !out || sources != 1) {
        if (!rc) cli_error("encode", "--model, --out and one of --text, --video/--list or --video-tensor are required");
        arg_str_list_free(&texts), arg_str_list_free(&videos);
        return rc > 0 ? 0 : 2;
    }
    cli_set_threads(threads);
    vc_model *m = cli_load_model(model, "encode");
    if (!m) rc = 1;
    else if (video_tensor) rc = encode_video_tensor(m, video_tensor, normalize, out);
    else if (texts.n) rc = encode_texts(m, &texts, vocab, normalize, raw, out);
    else rc = encode_videos(m, &videos, list, workers, json, out);
    vc_model_free(m);
    arg_str_list_free(&texts), arg_str_list_free(&videos);
    return rc;
}
