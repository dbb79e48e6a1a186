/* viclip eval moments: moment retrieval on ActivityNet Captions ground truth: each video is
 * indexed in windows (kept in --index, updated incrementally, if given), each sentence ranks
 * the moments of its own video, R@1/R@5 at IoU 0.5 and 0.7 and mIoU are printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static void moment_failure(const char *msg, void *user) {
    fprintf(stderr, "viclip eval moments: warning: skipping %s\n", msg);
}

int cmd_eval_moments(int argc, char **argv) {
    const char *model = NULL, *ann = NULL, *root = NULL, *pattern = "{id}.mp4", *index = NULL, *vocab = NULL;
    const char *sampling = NULL, *interp = NULL;
    double window = 8, stride = 4, margin = 0.02;
    int threads = 0, workers = 2, json = 0, raw = 0;
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file"},
        {'a', "annotations", ARG_STR, &ann, "FILE", "ActivityNet Captions JSON (train.json, val_1.json, val_2.json) as published"},
        {0, "video-root", ARG_STR, &root, "DIR", "folder of the videos"},
        {0, "pattern", ARG_STR, &pattern, "PAT", "video file name: {id} is the key (v_XXXXXXXXXXX), {yid} the key without v_"},
        {0, "window", ARG_DOUBLE, &window, "SEC", "window length of the moment index"},
        {0, "stride", ARG_DOUBLE, &stride, "SEC", "seconds between window starts"},
        {0, "merge-margin", ARG_DOUBLE, &margin, "D", "neighbouring windows within D of a moment's best score join it"},
        {0, "index", ARG_STR, &index, "PATH", "keep the moment index here (reused and updated on later runs)"},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object"},
        {0, "raw-captions", ARG_FLAG, &raw, NULL, "tokenise sentences as written (default: ViCLIP's caption cleaning)"},
        {'j', "workers", ARG_INT, &workers, "N", "video decoding threads"},
        CLI_CLIP_SPECS(sampling, interp),
        CLI_VOCAB_SPEC(vocab),
        CLI_THREADS_SPEC(threads),
    };
    int rc = args_parse("usage: viclip eval moments --model FILE --annotations val_1.json --video-root DIR [--pattern '{id}.mp4']",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 3, NULL);
    if (rc || !model || !ann || !(window > 0) || !(stride > 0) || !(margin >= 0)) {
        if (!rc) cli_error("eval moments", "--model and --annotations are required; --window, --stride > 0; --merge-margin >= 0");
        return rc > 0 ? 0 : 2;
    }
    viclip_error err;
    if (viclip_preprocess_valid(sampling, interp, &err)) return cli_error("eval moments", err.msg), 2;
    cli_set_threads(threads);
    viclip_context *m = cli_open_model(model, NULL, NULL, vocab, !raw, "eval moments");
    if (!m) return 1;
    struct viclip_moment_eval_params p = viclip_moment_eval_default_params();
    p.annotations = ann, p.video_root = root, p.pattern = pattern, p.index_path = index;
    p.window = window, p.stride = stride, p.merge_margin = margin, p.workers = workers, p.on_skip = moment_failure;
    p.sampling = sampling, p.interp = interp;
    struct viclip_moment_metrics r;
    rc = 0;
    if (viclip_eval_moments(m, &p, &r, &err)) rc = 1, cli_error("eval moments", err.msg);
    if (!rc && json) {
        printf("{\"r1_iou0.5\":%.4f,\"r1_iou0.7\":%.4f,\"r5_iou0.5\":%.4f,\"r5_iou0.7\":%.4f,\"miou\":%.4f,\"n_queries\":%d,"
               "\"n_skipped\":%d,\"n_videos\":%d,\"n_windows\":%d,\"window\":%g,\"stride\":%g}\n",
               r.r1_iou5, r.r1_iou7, r.r5_iou5, r.r5_iou7, r.miou, r.n_queries, r.n_skipped, r.n_videos, r.n_windows,
               r.window, r.stride);
    } else if (!rc) {
        printf("moment retrieval, %d sentences in %d videos (%d windows of %g s every %g s)\n", r.n_queries, r.n_videos,
               r.n_windows, r.window, r.stride);
        printf("  R@1 IoU>=0.5 %6.2f%%   R@1 IoU>=0.7 %6.2f%%\n", 100 * r.r1_iou5, 100 * r.r1_iou7);
        printf("  R@5 IoU>=0.5 %6.2f%%   R@5 IoU>=0.7 %6.2f%%   mIoU %.2f%%\n", 100 * r.r5_iou5, 100 * r.r5_iou7, 100 * r.miou);
        if (r.n_skipped) printf("  %d sentences left out: their videos could not be read (see the warnings)\n", r.n_skipped);
    }
    viclip_free(m);
    return rc;
}
