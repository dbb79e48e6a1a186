#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/classify_head.h"
#include "eval/evaluate.h"
#include "io/annotations.h"
#include "model/model_io.h"

void cli_print_eval_json(const vc_eval_result *r, FILE *f) {
    const char *sep = "";
    fprintf(f, "{");
    if (r->has_retrieval) {
        fprintf(f,
                "\"t2v_r1\":%.4f,\"t2v_r5\":%.4f,\"t2v_r10\":%.4f,\"t2v_median_rank\":%.1f,"
                "\"v2t_r1\":%.4f,\"v2t_r5\":%.4f,\"v2t_r10\":%.4f,\"v2t_median_rank\":%.1f,\"n_clips\":%d,\"n_videos\":%d",
                r->t2v.r1, r->t2v.r5, r->t2v.r10, r->t2v.median_rank, r->v2t.r1, r->v2t.r5, r->v2t.r10,
                r->v2t.median_rank, r->n_clips, r->n_videos);
        sep = ",";
    }
    if (r->has_zeroshot)
        fprintf(f, "%s\"zeroshot_top1\":%.4f,\"zeroshot_top5\":%.4f,\"n_classes\":%d,\"n_templates\":%d,\"n_zeroshot_clips\":%d",
                sep, r->zeroshot.top1, r->zeroshot.top5, r->n_classes, r->n_templates, r->n_zeroshot_clips), sep = ",";
    fprintf(f, "%s\"n_skipped\":%d}\n", sep, r->n_skipped);
}

static void eval_warning(const char *msg, void *user) {
    const cli_progress *bar = user;
    fprintf(stderr, "%sviclip eval: warning: %s\n", bar->tty ? "\n" : "", msg);
}

/* eval classify of a fine-tuned model: its own head and classes, averaged over test views. */
static int classify_with_head(const char *model, const char *annotations, const char *labels, int clips, int crops,
                              int workers, int json, cli_progress *bar) {
    vc_error err;
    vc_classifier c;
    if (vc_classifier_load(&c, model, &err)) {
        cli_error("eval classify", err.msg);
        return 1;
    }
    int rc = 0;
    if (labels) { /* a class list given with a head must be the head's */
        char **names = NULL;
        int n = 0;
        rc = vc_read_lines(labels, &names, &n, &err);
        if (!rc && n != c.n_classes) rc = vc_fail(&err, "%s lists %d classes but the head of %s has %d", labels, n, model, c.n_classes);
        for (int i = 0; !rc && i < n; i++)
            if (strcmp(names[i], c.classes[i]))
                rc = vc_fail(&err, "%s: class %d is '%s' but the head of %s has '%s' there", labels, i + 1, names[i], model, c.classes[i]);
        if (names) vc_free_lines(names, n);
    }
    vc_head_eval_params hp = vc_head_eval_default_params();
    hp.annotations = annotations, hp.clips = clips, hp.crops = crops, hp.workers = workers;
    hp.on_warning = eval_warning, hp.on_progress = cli_progress_update, hp.user = bar;
    vc_classify_metrics r;
    int skipped = 0;
    if (!rc) rc = vc_eval_classifier(&c, &hp, &r, &skipped, &err);
    const int C = c.n_classes;
    vc_classifier_free(&c);
    if (rc) {
        cli_error("eval classify", err.msg);
        return 1;
    }
    if (json)
        printf("{\"head_top1\":%.4f,\"head_top5\":%.4f,\"n_classes\":%d,\"n_clips\":%d,\"test_clips\":%d,"
               "\"test_crops\":%d,\"n_skipped\":%d}\n", r.top1, r.top5, C, r.n, clips, crops, skipped);
    else
        printf("head         top-1 %5.1f  top-5 %5.1f  (%d clips, %d classes, %d x %d views%s)\n", 100 * r.top1,
               100 * r.top5, r.n, C, clips, crops, skipped ? ", unreadable clips left out" : "");
    return 0;
}

int cmd_eval(int argc, char **argv) {
    vc_eval_params p = vc_eval_default_params();
    const char *model = NULL, *vocab = NULL, *what = "eval", *sampling = "middle", *interp = "bicubic", *format = "auto";
    int threads = 0, json = 0, raw = 0, test_clips = 1, test_crops = 1;
    /* viclip eval retrieval|classify ...: one task; plain viclip eval: both when labels are given */
    int first = 2;
    if (argc > 2 && !strcmp(argv[2], "moments")) return cmd_eval_moments(argc, argv);
    if (argc > 2 && !strcmp(argv[2], "retrieval")) p.tasks = VC_EVAL_RETRIEVAL, first = 3, what = "eval retrieval";
    else if (argc > 2 && !strcmp(argv[2], "classify")) p.tasks = VC_EVAL_CLASSIFY, first = 3, what = "eval classify";
    const char *precision = NULL;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file (.safetensors)"},
        {'a', "annotations", ARG_STR, &p.annotations, "FILE", "clips + captions (JSONL or CSV); for classify, clips with a 'label' (or the class as caption)"},
        {'l', "labels", ARG_STR, &p.labels, "FILE", "class names, one per line (-: standard input): enables zero-shot classification"},
        {0, "zeroshot-annotations", ARG_STR, &p.zeroshot_annotations, "FILE", "clips to classify when they differ from --annotations"},
        {0, "templates", ARG_STR, &p.templates, "FILE", "prompt templates with one {} each, one per line (default: ViCLIP's 16 action templates)"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise captions and prompts as written (default: ViCLIP's caption cleaning)"},
        CLI_ANNOTATION_SPECS(format, p.annotation),
        CLI_CLIP_SPECS(sampling, interp),
        {'j', "workers", ARG_INT, &p.workers, "N", "video decoding threads"},
        {0, "shuffle-frames", ARG_FLAG, &p.shuffle_frames, NULL, "shuffle each clip's frames (no-temporal baseline)"},
        {0, "single-frame", ARG_FLAG, &p.single_frame, NULL, "repeat each clip's middle frame (no temporal information)"},
        {0, "seed", ARG_U64, &p.seed, "N", "seed of the frame shuffle"},
        {0, "test-clips", ARG_INT, &test_clips, "K", "fine-tuned head: temporal views per clip, scores averaged"},
        {0, "test-crops", ARG_INT, &test_crops, "N", "fine-tuned head: spatial crops per view, 1 (whole frame) or 3"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
        {0, "precision", ARG_STR, &precision, "P", CLI_PRECISION_HELP},
    };
    int rc = args_parse("usage: viclip eval [retrieval|classify] --model FILE --annotations FILE [--labels FILE] [options]\n\n"
                        "  viclip eval retrieval --model M --annotations A       R@1/5/10 and median rank, both ways\n"
                        "  viclip eval classify --model M --annotations A --labels L   zero-shot top-1 and top-5\n"
                        "  viclip eval moments --model M --annotations val_1.json --video-root DIR   R@1 at IoU 0.5/0.7 (ActivityNet Captions)\n"
                        "  viclip eval classify --model FINETUNED --annotations A [--test-clips K --test-crops 3]\n"
                        "                                                        the fine-tuned head's top-1 and top-5\n"
                        "  viclip eval --model M --annotations A [--labels L]    both", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, first, NULL);
    if (rc) return rc > 0 ? 0 : 2;
    if (cli_parse_clip_flags(what, sampling, interp, &p.clip) || cli_parse_annotation_format(what, format, &p.annotation)) return 2;
    p.clean_captions = !raw;
    if (!model || (!p.annotations && !p.zeroshot_annotations)) {
        cli_error(what, "--model and --annotations are required");
        return 2;
    }
    if (p.tasks == VC_EVAL_CLASSIFY) {
        vc_error herr;
        const int head = vc_classifier_file_has_head(model, &herr);
        if (head < 0) {
            cli_error(what, herr.msg);
            return 1;
        }
        if (head) {
            cli_set_threads(threads);
            cli_progress bar = cli_progress_begin("classifying");
            return classify_with_head(model, p.zeroshot_annotations ? p.zeroshot_annotations : p.annotations, p.labels,
                                      test_clips, test_crops, p.workers, json, &bar);
        }
    }
    if (p.tasks == VC_EVAL_CLASSIFY && !p.labels) {
        cli_error(what, "--labels is required");
        return 2;
    }
    if (!p.annotations) p.annotations = p.zeroshot_annotations;
    cli_set_threads(threads);
    vc_error err;
    vc_model *m = cli_load_model(model, precision, what);
    if (!m) return 1;
    vc_tokenizer *tok = cli_load_tokenizer(vocab);
    if (!tok) {
        vc_model_free(m);
        return 1;
    }
    vc_eval_result r;
    cli_progress bar = cli_progress_begin("encoding");
    p.on_warning = eval_warning;
    p.on_progress = cli_progress_update;
    p.user = &bar;
    rc = vc_evaluate(m, tok, &p, &r, &err);
    vc_tokenizer_free(tok);
    vc_model_free(m);
    if (rc) {
        cli_error(what, err.msg);
        return 1;
    }
    if (json) {
        cli_print_eval_json(&r, stdout);
        return 0;
    }
    if (r.n_skipped) printf("skipped %d unreadable clips (see the warnings)\n", r.n_skipped);
    const char *baseline = p.shuffle_frames ? ", frames shuffled" : p.single_frame ? ", middle frame only" : "";
    if (r.has_retrieval) {
        printf("clips %d (%d videos)%s\n", r.n_clips, r.n_videos, baseline);
        printf("text->video  R@1 %5.1f  R@5 %5.1f  R@10 %5.1f  median rank %.1f\n", 100 * r.t2v.r1,
               100 * r.t2v.r5, 100 * r.t2v.r10, r.t2v.median_rank);
        printf("video->text  R@1 %5.1f  R@5 %5.1f  R@10 %5.1f  median rank %.1f\n", 100 * r.v2t.r1,
               100 * r.v2t.r5, 100 * r.v2t.r10, r.v2t.median_rank);
    }
    if (r.has_zeroshot)
        printf("zero-shot    top-1 %5.1f  top-5 %5.1f  (%d clips, %d classes, %d templates)\n",
               100 * r.zeroshot.top1, 100 * r.zeroshot.top5, r.n_zeroshot_clips, r.n_classes, r.n_templates);
    return 0;
}
