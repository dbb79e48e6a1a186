#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/evaluate.h"
#include "model/model_io.h"

void cli_print_eval_json(const vc_eval_result *r, FILE *f) {
    fprintf(f,
            "{\"t2v_r1\":%.4f,\"t2v_r5\":%.4f,\"t2v_r10\":%.4f,\"t2v_median_rank\":%.1f,"
            "\"v2t_r1\":%.4f,\"v2t_r5\":%.4f,\"v2t_r10\":%.4f,\"v2t_median_rank\":%.1f,\"n_clips\":%d",
            r->t2v.r1, r->t2v.r5, r->t2v.r10, r->t2v.median_rank, r->v2t.r1, r->v2t.r5, r->v2t.r10,
            r->v2t.median_rank, r->n_clips);
    if (r->has_zeroshot)
        fprintf(f, ",\"zeroshot_top1\":%.4f,\"zeroshot_top5\":%.4f,\"n_classes\":%d,\"n_zeroshot_clips\":%d",
                r->zeroshot.top1, r->zeroshot.top5, r->n_classes, r->n_zeroshot_clips);
    fprintf(f, ",\"n_skipped\":%d}\n", r->n_skipped);
}

int cmd_eval(int argc, char **argv) {
    vc_eval_params p = vc_eval_default_params();
    const char *model = NULL, *vocab = NULL;
    int threads = 0, json = 0;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file (.safetensors)"},
        {'a', "annotations", ARG_STR, &p.annotations, "FILE", "clips + captions (JSONL) for retrieval"},
        {'l', "labels", ARG_STR, &p.labels, "FILE", "class names, one per line: enables zero-shot classification"},
        {0, "zeroshot-annotations", ARG_STR, &p.zeroshot_annotations, "FILE", "clips with a 'label' to classify (default: --annotations)"},
        {0, "templates", ARG_STR, &p.templates, "FILE", "prompt templates with {} (default: the class name alone)"},
        {0, "shuffle-frames", ARG_FLAG, &p.shuffle_frames, NULL, "shuffle each clip's frames (no-temporal baseline)"},
        {0, "single-frame", ARG_FLAG, &p.single_frame, NULL, "repeat each clip's middle frame (no temporal information)"},
        {0, "seed", ARG_U64, &p.seed, "N", "seed of the frame shuffle"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
    };
    int rc = args_parse("usage: viclip eval --model FILE --annotations FILE [--labels FILE] [options]", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    if (rc) return rc > 0 ? 0 : 2;
    if (!model || !p.annotations) {
        cli_error("eval", "--model and --annotations are required");
        return 2;
    }
    cli_set_threads(threads);
    vc_error err;
    vc_model *m = vc_model_load(model, (const char *const[]){"optimizer.", NULL}, &err);
    if (!m) {
        cli_error("eval", err.msg);
        return 1;
    }
    vc_tokenizer *tok = cli_load_tokenizer(vocab);
    if (!tok) {
        vc_model_free(m);
        return 1;
    }
    vc_eval_result r;
    p.on_warning = cli_print_warning;
    p.user = "eval";
    rc = vc_evaluate(m, tok, &p, &r, &err);
    vc_tokenizer_free(tok);
    vc_model_free(m);
    if (rc) {
        cli_error("eval", err.msg);
        return 1;
    }
    if (json) {
        cli_print_eval_json(&r, stdout);
        return 0;
    }
    if (r.n_skipped) printf("skipped %d unreadable clips (see the warnings)\n", r.n_skipped);
    printf("clips %d (%d videos)%s\n", r.n_clips, r.n_videos, p.shuffle_frames ? ", frames shuffled" : p.single_frame ? ", middle frame only" : "");
    printf("text->video  R@1 %5.1f  R@5 %5.1f  R@10 %5.1f  median rank %.1f\n", 100 * r.t2v.r1,
           100 * r.t2v.r5, 100 * r.t2v.r10, r.t2v.median_rank);
    printf("video->text  R@1 %5.1f  R@5 %5.1f  R@10 %5.1f  median rank %.1f\n", 100 * r.v2t.r1,
           100 * r.v2t.r5, 100 * r.v2t.r10, r.v2t.median_rank);
    if (r.has_zeroshot)
        printf("zero-shot    top-1 %5.1f  top-5 %5.1f  (%d clips, %d classes, %d templates)\n",
               100 * r.zeroshot.top1, 100 * r.zeroshot.top5, r.n_zeroshot_clips, r.n_classes, r.n_templates);
    return 0;
}
