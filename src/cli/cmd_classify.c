/* viclip classify: zero-shot classification of videos against class names, with similarities
 * averaged over prompt templates (ViCLIP's 16 action templates unless --templates). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static void print_result(const char *video, char **labels, const float *score, const float *prob, const int *best, int k,
                         int json, int first) {
    if (!json) {
        printf("%s\n", video);
        for (int r = 0; r < k; r++) printf("  %2d. %6.2f%%  %-30s (similarity %.4f)\n", r + 1, 100 * prob[best[r]], labels[best[r]], score[best[r]]);
        return;
    }
    printf("%s{\"video\":", first ? "" : ",");
    cli_json_string(stdout, video);
    printf(",\"top\":[");
    for (int r = 0; r < k; r++) {
        printf("%s{\"label\":", r ? "," : "");
        cli_json_string(stdout, labels[best[r]]);
        printf(",\"prob\":%.6f,\"similarity\":%.6f}", prob[best[r]], score[best[r]]);
    }
    printf("]}");
}

int cmd_classify(int argc, char **argv) {
    const char *model = NULL, *labels_path = NULL, *templates_path = NULL, *vocab = NULL;
    const char *sampling = "middle", *interp = "bicubic";
    double logit_scale = 0;
    int top_k = 5, json = 0, raw = 0, workers = 2, threads = 0;
    const char *precision = NULL, *device = NULL;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file"},
        {'l', "labels", ARG_STR, &labels_path, "FILE", "class names, one per line (-: standard input)"},
        {0, "templates", ARG_STR, &templates_path, "FILE", "prompt templates with one {} each, one per line (default: ViCLIP's 16 action templates; '-': the labels as written, as the official demo)"},
        {'k', "top-k", ARG_INT, &top_k, "N", "classes shown per video"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise prompts as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads"},
        CLI_CLIP_SPECS(sampling, interp),
        {0, "logit-scale", ARG_DOUBLE, &logit_scale, "X", "probabilities = softmax(X * similarity) (default: 1/temp of the model; the demo uses 100)"},
        CLI_MODEL_RUN_SPECS(vocab, threads, precision, device),
    };
    arg_str_list videos = {0};
    int rc = args_parse("usage: viclip classify --model FILE --labels FILE [options] VIDEO...", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &videos);
    struct viclip_video_params clip = viclip_video_default_params();
    clip.workers = workers;
    if (!rc && (!model || !labels_path || !videos.n || top_k < 1 || logit_scale < 0))
        cli_error("classify", "--model, --labels, --top-k >= 1, --logit-scale >= 0 and at least one video are required"), rc = -1;
    if (!rc && cli_video_flags("classify", sampling, interp, &clip)) rc = -1;
    if (rc) {
        arg_str_list_free(&videos);
        return rc > 0 ? 0 : 2;
    }
    cli_set_threads(threads);
    viclip_error err;
    char **labels = NULL, **templates = NULL;
    int C = 0, nt = 0;
    viclip_context *m = NULL;
    static const char *const AS_WRITTEN[] = {"{}"}; /* --templates -: each label is its own prompt */
    const int as_written = templates_path && !strcmp(templates_path, "-");
    rc = viclip_read_class_names(labels_path, &labels, &C, &err) ||
         (templates_path && !as_written && viclip_read_templates(templates_path, &templates, &nt, &err));
    if (rc) cli_error("classify", err.msg);
    if (!rc && !(m = cli_open_model(model, precision, device, vocab, !raw, "classify"))) rc = 1;
    if (as_written) nt = 1;
    else if (!templates) nt = VICLIP_N_ACTION_TEMPLATES;
    const int E = m ? viclip_embed_dim(m) : 0, n = videos.n, k = top_k < C ? top_k : C;
    float *emb = NULL, *scores = NULL, *prob = NULL;
    unsigned char *ok = NULL;
    int *best = NULL, n_ok = 0;
    if (!rc) {
        emb = malloc((size_t)n * E * sizeof *emb);
        scores = malloc((size_t)n * C * sizeof *scores), prob = malloc((size_t)n * C * sizeof *prob);
        ok = malloc((size_t)n), best = malloc((size_t)C * sizeof *best);
        if (!emb || !scores || !prob || !ok || !best) rc = 1, cli_error("classify", "out of memory");
    }
    if (!rc) rc = cli_encode_video_files("classify", m, (const char *const *)videos.items, n, &clip, emb, ok, &n_ok);
    /* as the model scores a video: softmax(similarity / temp) unless --logit-scale */
    if (!rc && viclip_classify(m, emb, n, (const char *const *)labels, C,
                               as_written ? AS_WRITTEN : (const char *const *)templates, nt, (float)logit_scale, prob, scores, &err))
        rc = 1, cli_error("classify", err.msg);
    if (!rc) {
        if (json) printf("{\"n_classes\":%d,\"n_templates\":%d,\"results\":[", C, nt);
        for (int i = 0, first = 1; i < n; i++) {
            if (!ok[i]) continue;
            const float *s = scores + (size_t)i * C;
            cli_top_k(s, C, k, best);
            print_result(videos.items[i], labels, s, prob + (size_t)i * C, best, k, json, first);
            first = 0;
        }
        if (json) {
            printf("],\"failed\":[");
            for (int i = 0, first = 1; i < n; i++)
                if (!ok[i]) printf(first ? "" : ","), cli_json_string(stdout, videos.items[i]), first = 0;
            printf("]}\n");
        }
    }
    free(emb), free(scores), free(prob), free(ok), free(best);
    viclip_free_strings(labels, C);
    if (templates) viclip_free_strings(templates, nt);
    viclip_free(m);
    arg_str_list_free(&videos);
    return rc;
}
