#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

/* One JSON object with the evaluation metrics (fractions in [0, 1]). */
static void print_eval_json(const struct viclip_eval_result *r, FILE *f) {
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
                sep, r->zeroshot_top1, r->zeroshot_top5, r->n_classes, r->n_templates, r->n_zeroshot_clips), sep = ",";
    fprintf(f, "%s\"n_skipped\":%d}\n", sep, r->n_skipped);
}

static void eval_warning(const char *msg, void *user) {
    const cli_progress *bar = user;
    fprintf(stderr, "%sviclip eval: warning: %s\n", bar->tty ? "\n" : "", msg);
}

/* eval classify of a fine-tuned model: its own head and classes, averaged over test views. */
static int classify_with_head(const char *model, const char *annotations, const char *labels, int clips, int crops,
                              int workers, int json, cli_progress *bar) {
    viclip_error err;
    struct viclip_head_eval_params hp = viclip_head_eval_default_params();
    hp.annotations = annotations, hp.labels = labels, hp.clips = clips, hp.crops = crops, hp.workers = workers;
    hp.on_warning = eval_warning, hp.on_progress = cli_progress_update, hp.user = bar;
    struct viclip_head_metrics r;
    if (viclip_evaluate_head(model, &hp, &r, &err)) {
        cli_error("eval classify", err.msg);
        return 1;
    }
    if (json)
        printf("{\"head_top1\":%.4f,\"head_top5\":%.4f,\"n_classes\":%d,\"n_clips\":%d,\"test_clips\":%d,"
               "\"test_crops\":%d,\"n_skipped\":%d}\n", r.top1, r.top5, r.n_classes, r.n_clips, clips, crops, r.n_skipped);
    else
        printf("head         top-1 %5.1f  top-5 %5.1f  (%d clips, %d classes, %d x %d views%s)\n", 100 * r.top1,
               100 * r.top5, r.n_clips, r.n_classes, clips, crops, r.n_skipped ? ", unreadable clips left out" : "");
    return 0;
}

int cmd_eval(int argc, char **argv) {
    struct viclip_eval_params p = viclip_eval_default_params();
    const char *model = NULL, *vocab = NULL, *what = "eval", *sampling = "middle", *interp = "bicubic";
    int threads = 0, json = 0, raw = 0, test_clips = 1, test_crops = 1;
    /* viclip eval retrieval|classify ...: one task; plain viclip eval: both when labels are given */
    int first = 2;
    if (argc > 2 && !strcmp(argv[2], "moments")) return cmd_eval_moments(argc, argv);
    if (argc > 2 && !strcmp(argv[2], "retrieval")) p.classify = 0, first = 3, what = "eval retrieval";
    else if (argc > 2 && !strcmp(argv[2], "classify")) p.retrieval = 0, first = 3, what = "eval classify";
    const char *precision = NULL, *device = NULL;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file (.safetensors)"},
        {'a', "annotations", ARG_STR, &p.annotations, "FILE", "clips + captions (JSONL or CSV); for classify, clips with a 'label' (or the class as caption)"},
        {'l', "labels", ARG_STR, &p.labels, "FILE", "class names, one per line (-: standard input): enables zero-shot classification"},
        {0, "zeroshot-annotations", ARG_STR, &p.zeroshot_annotations, "FILE", "clips to classify when they differ from --annotations"},
        {0, "templates", ARG_STR, &p.templates, "FILE", "prompt templates with one {} each, one per line (default: ViCLIP's 16 action templates)"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise captions and prompts as written (default: ViCLIP's caption cleaning)"},
        CLI_ANNOTATION_SPECS(p.format, p),
        CLI_CLIP_SPECS(sampling, interp),
        {'j', "workers", ARG_INT, &p.video.workers, "N", "video decoding threads"},
        {0, "shuffle-frames", ARG_FLAG, &p.shuffle_frames, NULL, "shuffle each clip's frames (no-temporal baseline)"},
        {0, "single-frame", ARG_FLAG, &p.single_frame, NULL, "repeat each clip's middle frame (no temporal information)"},
        {0, "seed", ARG_U64, &p.seed, "N", "seed of the frame shuffle"},
        {0, "test-clips", ARG_INT, &test_clips, "K", "fine-tuned head: temporal views per clip, scores averaged"},
        {0, "test-crops", ARG_INT, &test_crops, "N", "fine-tuned head: spatial crops per view, 1 (whole frame) or 3"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        CLI_MODEL_RUN_SPECS(vocab, threads, precision, device),
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
    if (cli_video_flags(what, sampling, interp, &p.video)) return 2;
    {
        viclip_error ferr; /* the annotation format's name, checked before anything is read */
        if (viclip_annotation_format_valid(p.format, &ferr)) return cli_error(what, ferr.msg), 2;
    }
    if (!model || (!p.annotations && !p.zeroshot_annotations)) {
        cli_error(what, "--model and --annotations are required");
        return 2;
    }
    if (!p.retrieval) {
        viclip_error herr;
        const int head = viclip_file_has_head(model, &herr);
        if (head < 0) {
            cli_error(what, herr.msg);
            return 1;
        }
        if (head) {
            cli_set_threads(threads);
            cli_progress bar = cli_progress_begin("classifying");
            return classify_with_head(model, p.zeroshot_annotations ? p.zeroshot_annotations : p.annotations, p.labels,
                                      test_clips, test_crops, p.video.workers, json, &bar);
        }
    }
    if (!p.retrieval && !p.labels) {
        cli_error(what, "--labels is required");
        return 2;
    }
    if (!p.annotations) p.annotations = p.zeroshot_annotations;
    cli_set_threads(threads);
    viclip_error err;
    viclip_context *m = cli_open_model(model, precision, device, vocab, !raw, what);
    if (!m) return 1;
    struct viclip_eval_result r;
    cli_progress bar = cli_progress_begin("encoding");
    p.on_warning = eval_warning;
    p.on_progress = cli_progress_update;
    p.user = &bar;
    rc = viclip_evaluate(m, &p, &r, &err);
    viclip_free(m);
    if (rc) {
        cli_error(what, err.msg);
        return 1;
    }
    if (json) {
        print_eval_json(&r, stdout);
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
               100 * r.zeroshot_top1, 100 * r.zeroshot_top5, r.n_zeroshot_clips, r.n_classes, r.n_templates);
    return 0;
}
