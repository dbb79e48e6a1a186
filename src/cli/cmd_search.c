/* viclip search: the videos of an index (viclip encode's embeddings + input list, or a folder
 * of videos encoded on the spot) that best match text queries. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/evaluate.h"
#include "io/annotations.h"
#include "io/json.h"
#include "io/npy.h"
#include "kernels/gemm.h"
#include "model/model_io.h"
#include "video/loader.h"

typedef struct {
    float *emb;    /* [n, E], normalised */
    char **names;  /* [n] */
    int n;
} video_index;

static void index_free(video_index *x) {
    if (x->names) vc_free_lines(x->names, x->n);
    free(x->emb);
}

/* An index made by another model ranks by meaningless similarities: refuse it. Indexes without
 * the .json (made by hand) are taken as they are. */
static int check_index_model(const char *meta_path, const vc_model *m, vc_error *err) {
    size_t n = 0;
    FILE *f = fopen(meta_path, "rb");
    if (!f) return 0;
    char buf[4096];
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    vc_json *j = vc_json_parse(buf, n, err);
    if (!j) return vc_fail_ctx(err, "%s", meta_path);
    const char *sum = vc_json_string(vc_json_get(j, "param_checksum"));
    char mine[32];
    snprintf(mine, sizeof mine, "%016llx", (unsigned long long)cli_model_checksum(m));
    int rc = sum && strcmp(sum, mine)
                 ? vc_fail(err, "%s: the index was made by another model (parameter checksum %s, this model's %s): "
                                "re-encode the videos with this model", meta_path, sum, mine)
                 : 0;
    vc_json_free(j);
    return rc;
}

static int load_index_files(const char *emb_path, const char *list_path, int E, video_index *x, vc_error *err) {
    vc_npy a;
    if (vc_npy_read(emb_path, &a, err)) return -1;
    int n_lines = 0, rc = 0;
    if (a.dtype != VC_DT_F32 || a.ndim != 2 || a.shape[1] != E)
        rc = vc_fail(err, "%s: expected float32 [N, %d] embeddings of this model", emb_path, E);
    if (!rc) rc = vc_read_lines(list_path, &x->names, &n_lines, err);
    if (!rc && n_lines != a.shape[0])
        rc = vc_fail(err, "%s lists %d inputs but %s has %lld rows", list_path, n_lines, emb_path, (long long)a.shape[0]);
    x->n = n_lines;
    if (!rc) {
        x->emb = (float *)a.data, a.data = NULL;
        vc_l2_normalize_rows(x->emb, x->n, E);
    }
    vc_npy_free(&a);
    return rc;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file of dir (sorted), encoded now. */
static int index_folder(vc_model *m, const char *dir, int workers, video_index *x) {
    DIR *d = opendir(dir);
    if (!d) return fprintf(stderr, "viclip search: error: %s: cannot open the folder\n", dir), 1;
    int cap = 64, rc = 0;
    x->names = malloc((size_t)cap * sizeof *x->names);
    for (struct dirent *e; x->names && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) || !S_ISREG(sb.st_mode)) continue;
        if (x->n == cap) {
            char **grown = realloc(x->names, (size_t)(cap *= 2) * sizeof *grown);
            if (!grown) break;
            x->names = grown;
        }
        if (!(x->names[x->n] = strdup(path))) break;
        x->n++;
    }
    closedir(d);
    if (!x->names) return cli_error("search", "out of memory"), 1;
    if (!x->n) return fprintf(stderr, "viclip search: error: %s has no files\n", dir), 1;
    qsort(x->names, (size_t)x->n, sizeof *x->names, by_name);
    const int E = m->cfg.embed_dim;
    vc_loader_item *items = malloc((size_t)x->n * sizeof *items);
    unsigned char *ok = malloc((size_t)x->n);
    x->emb = malloc((size_t)x->n * E * sizeof *x->emb);
    int n_ok = 0;
    if (!items || !ok || !x->emb) rc = 1, cli_error("search", "out of memory");
    for (int i = 0; !rc && i < x->n; i++) items[i] = (vc_loader_item){x->names[i], -1, -1};
    if (!rc) rc = cli_encode_videos("search", m, items, x->n, workers, x->emb, ok, &n_ok);
    int kept = 0; /* unreadable files drop out of the index */
    for (int i = 0; !rc && i < x->n; i++) {
        if (!ok[i]) {
            free(x->names[i]);
            continue;
        }
        memmove(x->emb + (size_t)kept * E, x->emb + (size_t)i * E, E * sizeof *x->emb);
        x->names[kept++] = x->names[i];
    }
    if (!rc) x->n = kept;
    free(items), free(ok);
    return rc;
}

/* The k best of scores[0..n) (k <= n), best first. */
void cli_top_k(const float *scores, int n, int k, int *best) {
    for (int j = 0; j < k; j++) {
        int arg = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int q = 0; q < j && !taken; q++) taken = best[q] == i;
            if (!taken && (arg < 0 || scores[i] > scores[arg])) arg = i;
        }
        best[j] = arg;
    }
}

int cmd_search(int argc, char **argv) {
    const char *model = NULL, *index = NULL, *vocab = NULL;
    int top_k = 10, json = 0, raw = 0, workers = 2, threads = 0;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file"},
        {'i', "index", ARG_STR, &index, "PATH", "viclip encode output (X.npy + X.txt, or a folder with embeddings.npy + inputs.txt), or a folder of videos"},
        {'k', "top-k", ARG_INT, &top_k, "N", "results per query"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise queries as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads (folder of videos)"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
    };
    arg_str_list queries = {0};
    int rc = args_parse("usage: viclip search --model FILE --index PATH [options] QUERY...", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &queries);
    if (rc || !model || !index || !queries.n || top_k < 1) {
        if (!rc) cli_error("search", "--model, --index, --top-k >= 1 and at least one query are required");
        arg_str_list_free(&queries);
        return rc > 0 ? 0 : 2;
    }
    cli_set_threads(threads);
    vc_error err;
    video_index x = {0};
    vc_model *m = cli_load_model(model, "search");
    vc_tokenizer *tok = m ? cli_load_tokenizer(vocab) : NULL;
    rc = m && tok ? 0 : 1;
    const int E = m ? m->cfg.embed_dim : 0;
    if (!rc) {
        char emb_path[4096], list_path[4096], meta_path[4096];
        struct stat sb;
        cli_index_paths(index, emb_path, list_path, meta_path, sizeof emb_path);
        if (!stat(index, &sb) && S_ISDIR(sb.st_mode) && stat(emb_path, &sb)) rc = index_folder(m, index, workers, &x);
        else if (check_index_model(meta_path, m, &err) || load_index_files(emb_path, list_path, E, &x, &err))
            rc = 1, cli_error("search", err.msg);
    }
    const int nq = queries.n, k = top_k < x.n ? top_k : x.n;
    float *q = rc ? NULL : malloc((size_t)nq * E * sizeof *q), *sim = rc ? NULL : malloc((size_t)nq * x.n * sizeof *sim);
    int *best = rc ? NULL : malloc((size_t)(k ? k : 1) * sizeof *best);
    if (!rc && (!q || !sim || !best)) rc = 1, cli_error("search", "out of memory");
    if (!rc && vc_encode_texts_normalized(m, tok, (const char *const *)queries.items, nq, !raw, q, &err))
        rc = 1, cli_error("search", err.msg);
    if (!rc) vc_gemm(0, 1, nq, x.n, E, 1, q, E, x.emb, E, 0, sim, x.n);
    if (!rc && json) printf("{\"n_videos\":%d,\"queries\":[", x.n);
    for (int j = 0; !rc && j < nq; j++) {
        cli_top_k(sim + (size_t)j * x.n, x.n, k, best);
        if (json) {
            printf("%s{\"query\":", j ? "," : "");
            cli_json_string(stdout, queries.items[j]);
            printf(",\"results\":[");
            for (int r = 0; r < k; r++) {
                printf("%s{\"rank\":%d,\"score\":%.6f,\"input\":", r ? "," : "", r + 1, sim[(size_t)j * x.n + best[r]]);
                cli_json_string(stdout, x.names[best[r]]);
                printf("}");
            }
            printf("]}");
        } else {
            printf("%s\n", queries.items[j]);
            for (int r = 0; r < k; r++) printf("  %2d. %.4f  %s\n", r + 1, sim[(size_t)j * x.n + best[r]], x.names[best[r]]);
        }
    }
    if (!rc && json) printf("]}\n");
    free(q), free(sim), free(best);
    index_free(&x);
    vc_tokenizer_free(tok);
    vc_model_free(m);
    arg_str_list_free(&queries);
    return rc;
}
