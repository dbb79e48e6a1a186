/* viclip search: the moments of an index (viclip encode's, src/search) or of a folder of videos
 * encoded on the spot that best match text queries: file, start-end, score, with neighbouring
 * windows that match merged into one moment. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void folder_failure(const char *msg, void *user) {
    fprintf(stderr, "viclip search: warning: skipping %s\n", msg);
}

/* Every regular file of dir (sorted), encoded now into an index in memory. */
static int index_folder(viclip_context *m, const char *dir, const struct viclip_index_params *how, viclip_index **x) {
    DIR *d = opendir(dir);
    if (!d) return fprintf(stderr, "viclip search: error: %s: cannot open the folder\n", dir), 1;
    int cap = 64, n = 0, rc = 0;
    char **names = malloc((size_t)cap * sizeof *names);
    for (struct dirent *e; names && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) || !S_ISREG(sb.st_mode)) continue;
        if (n == cap) {
            char **grown = realloc(names, (size_t)(cap *= 2) * sizeof *grown);
            if (!grown) break;
            names = grown;
        }
        if (!(names[n] = strdup(path))) break;
        n++;
    }
    closedir(d);
    if (!names) return cli_error("search", "out of memory"), 1;
    if (!n) rc = 1, fprintf(stderr, "viclip search: error: %s has no files\n", dir);
    qsort(names, (size_t)n, sizeof *names, by_name);
    struct viclip_index_input *items = malloc(((size_t)n + 1) * sizeof *items);
    if (!rc && !items) rc = 1, cli_error("search", "out of memory");
    for (int i = 0; !rc && i < n; i++) items[i] = (struct viclip_index_input){names[i], -1, -1};
    struct viclip_index_params o = *how;
    o.on_skip = folder_failure, o.dtype = VICLIP_F32;
    viclip_error err;
    if (!rc && (!(*x = viclip_index_create(m, &o, &err)) || viclip_index_update(m, *x, items, n, &o, NULL, &err)))
        rc = 1, cli_error("search", err.msg);
    if (!rc && viclip_index_n_windows(*x) == 0) rc = 1, cli_error("search", "none of the videos could be read");
    for (int i = 0; i < n; i++) free(names[i]);
    free(names), free(items);
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

/* A path as text output shows it: control characters (a newline in a file name) escaped. */
static void print_path(const char *p) {
    for (; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) printf("\\x%02x", (unsigned char)*p);
        else putchar(*p);
    }
}

int cmd_search(int argc, char **argv) {
    const char *model = NULL, *index = NULL, *vocab = NULL;
    int top_k = 10, json = 0, raw = 0, workers = 2, threads = 0;
    double margin = 0.02;
    const char *precision = NULL, *sampling = NULL, *interp = NULL, *device = NULL;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file"},
        {'i', "index", ARG_STR, &index, "PATH", "viclip encode's index (a folder or X.npy), or a folder of videos"},
        {'k', "top-k", ARG_INT, &top_k, "N", "moments per query"},
        {0, "merge-margin", ARG_DOUBLE, &margin, "D", "a window next to a moment joins it when it scores within D of the moment's best"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise queries as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads (folder of videos)"},
        CLI_CLIP_SPECS(sampling, interp),
        CLI_MODEL_RUN_SPECS(vocab, threads, precision, device),
    };
    arg_str_list queries = {0};
    int rc = args_parse("usage: viclip search --model FILE --index PATH [options] QUERY...", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &queries);
    if (rc || !model || !index || !queries.n || top_k < 1 || top_k > 10000 || !(margin >= 0)) {
        if (!rc) cli_error("search", "--model, --index, 1 <= --top-k <= 10000, --merge-margin >= 0 and at least one query are required");
        arg_str_list_free(&queries);
        return rc > 0 ? 0 : 2;
    }
    viclip_error err;
    struct viclip_index_params how = viclip_index_default_params();
    how.workers = workers, how.sampling = sampling, how.interp = interp;
    if (viclip_preprocess_valid(sampling, interp, &err)) {
        cli_error("search", err.msg);
        arg_str_list_free(&queries);
        return 2;
    }
    cli_set_threads(threads);
    viclip_index *x = NULL;
    viclip_context *m = cli_open_model(model, precision, device, vocab, !raw, "search");
    rc = m ? 0 : 1;
    if (!rc) {
        struct stat sb;
        if (!stat(index, &sb) && S_ISDIR(sb.st_mode) && !viclip_index_exists(index)) rc = index_folder(m, index, &how, &x);
        else if (!(x = viclip_index_open_checked(index, m, &how, &err))) rc = 1, cli_error("search", err.msg);
    }
    const int nq = queries.n, E = m ? viclip_embed_dim(m) : 0;
    float *q = rc ? NULL : malloc((size_t)nq * E * sizeof *q);
    struct viclip_moment *mom = rc ? NULL : malloc((size_t)nq * top_k * sizeof *mom);
    int *n_mom = rc ? NULL : malloc((size_t)nq * sizeof *n_mom);
    if (!rc && (!q || !mom || !n_mom)) rc = 1, cli_error("search", "out of memory");
    if (!rc && viclip_encode_texts(m, (const char *const *)queries.items, nq, q, &err)) rc = 1, cli_error("search", err.msg);
    if (!rc && viclip_index_search(x, q, nq, top_k, margin, mom, n_mom, &err)) rc = 1, cli_error("search", err.msg);
    if (!rc && json) {
        /* built whole before printing: an error leaves no half-written JSON */
        size_t len = 0, cap = 256;
        char *out = malloc(cap);
        int w = out ? snprintf(out, cap, "{\"n_videos\":%d,\"n_windows\":%d,\"queries\":[", viclip_index_n_files(x),
                               viclip_index_n_windows(x)) : -1;
        rc = out && w > 0 ? 0 : 1;
        if (!rc) len = (size_t)w;
        for (int j = 0; !rc && j <= nq; j++) {
            char *one = j < nq ? viclip_moments_json(x, queries.items[j], mom + (size_t)j * top_k, n_mom[j], &err) : NULL;
            const char *piece = j < nq ? one : "]}\n";
            if (!piece) {
                rc = 1;
                break;
            }
            const size_t need = len + strlen(piece) + 2;
            if (need > cap) {
                char *grown = realloc(out, cap = need * 2);
                if (!grown) rc = 1, snprintf(err.msg, sizeof err.msg, "out of memory");
                else out = grown;
            }
            if (!rc) len += (size_t)sprintf(out + len, "%s%s", j && j < nq ? "," : "", piece);
            viclip_free_string(one);
        }
        if (rc) cli_error("search", err.msg);
        else fwrite(out, 1, len, stdout);
        free(out);
    } else {
        for (int j = 0; !rc && j < nq; j++) {
            printf("%s\n", queries.items[j]);
            for (int r = 0; r < n_mom[j]; r++) {
                const struct viclip_moment *v = &mom[(size_t)j * top_k + r];
                printf("  %2d. %.4f  ", r + 1, v->score);
                print_path(viclip_index_file_path(x, v->file));
                printf("  %.1f-%.1f s\n", v->start_s, v->end_s);
            }
        }
    }
    free(q), free(mom), free(n_mom);
    viclip_index_free(x);
    viclip_free(m);
    arg_str_list_free(&queries);
    return rc;
}
