/* viclip classify: zero-shot classification of videos against class names, with similarities
 * averaged over prompt templates (ViCLIP's 16 action templates unless --templates). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "eval/templates.h"
#include "io/annotations.h"
#include "model/model_io.h"
#include "video/loader.h"

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
    const char *precision = NULL;
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
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
        {0, "precision", ARG_STR, &precision, "P", CLI_PRECISION_HELP},
    };
    arg_str_list videos = {0};
    int rc = args_parse("usage: viclip classify --model FILE --labels FILE [options] VIDEO...", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &videos);
    vc_clip_opts clip = vc_clip_default_opts();
    if (!rc && (!model || !labels_path || !videos.n || top_k < 1 || logit_scale < 0))
        cli_error("classify", "--model, --labels, --top-k >= 1, --logit-scale >= 0 and at least one video are required"), rc = -1;
    if (!rc && cli_parse_clip_flags("classify", sampling, interp, &clip)) rc = -1;
    if (rc) {
        arg_str_list_free(&videos);
        return rc > 0 ? 0 : 2;
    }
    cli_set_threads(threads);
    vc_error err;
    char **labels = NULL, **templates = NULL;
    int C = 0, nt = 0;
    vc_model *m = NULL;
    vc_tokenizer *tok = NULL;
    static const char *const AS_WRITTEN[] = {"{}"}; /* --templates -: each label is its own prompt */
    const int as_written = templates_path && !strcmp(templates_path, "-");
    rc = vc_read_class_names(labels_path, &labels, &C, &err) ||
         (templates_path && !as_written && vc_read_templates(templates_path, &templates, &nt, &err));
    if (rc) cli_error("classify", err.msg);
    if (!rc && !(m = cli_load_model(model, precision, "classify"))) rc = 1;
    if (!rc && !(tok = cli_load_tokenizer(vocab))) rc = 1;
    if (as_written) nt = 1;
    else if (!templates) nt = VC_VICLIP_N_TEMPLATES;
    const int E = m ? m->cfg.embed_dim : 0, n = videos.n, k = top_k < C ? top_k : C;
    float *text = NULL, *emb = NULL, *scores = NULL, *prob = NULL;
    unsigned char *ok = NULL;
    vc_loader_item *items = NULL;
    int *best = NULL, n_ok = 0;
    if (!rc) {
        text = malloc((size_t)C * nt * E * sizeof *text), emb = malloc((size_t)n * E * sizeof *emb);
        scores = malloc((size_t)n * C * sizeof *scores), prob = malloc((size_t)C * sizeof *prob);
        ok = malloc((size_t)n), items = malloc((size_t)n * sizeof *items), best = malloc((size_t)C * sizeof *best);
        if (!text || !emb || !scores || !prob || !ok || !items || !best) rc = 1, cli_error("classify", "out of memory");
    }
    if (!rc && vc_encode_class_prompts(m, tok, (const char *const *)labels, C, as_written ? AS_WRITTEN : (const char *const *)templates, nt, !raw, text, &err))
        rc = 1, cli_error("classify", err.msg);
    for (int i = 0; !rc && i < n; i++) items[i] = (vc_loader_item){videos.items[i], -1, -1};
    if (!rc) rc = cli_encode_videos("classify", m, items, n, workers, &clip, emb, ok, &n_ok);
    if (!rc) {
        vc_zeroshot_scores(emb, n, text, C, nt, E, scores);
        if (json) printf("{\"n_classes\":%d,\"n_templates\":%d,\"results\":[", C, nt);
        for (int i = 0, first = 1; i < n; i++) {
            if (!ok[i]) continue;
            const float *s = scores + (size_t)i * C;
            vc_softmax_scaled(s, C, logit_scale > 0 ? logit_scale : 1.0 / m->p.temp[0], prob); /* as the model scores a video */
            cli_top_k(s, C, k, best);
            print_result(videos.items[i], labels, s, prob, best, k, json, first);
            first = 0;
        }
        if (json) {
            printf("],\"failed\":[");
            for (int i = 0, first = 1; i < n; i++)
                if (!ok[i]) printf(first ? "" : ","), cli_json_string(stdout, videos.items[i]), first = 0;
            printf("]}\n");
        }
    }
    free(text), free(emb), free(scores), free(prob), free(ok), free(items), free(best);
    vc_free_lines(labels, C);
    if (templates) vc_free_lines(templates, nt);
    vc_tokenizer_free(tok);
    vc_model_free(m);
    arg_str_list_free(&videos);
    return rc;
}
