/* viclip eval moments: moment retrieval on ActivityNet Captions ground truth: each video is
 * indexed in windows (kept in --index, updated incrementally, if given), each sentence ranks
 * the moments of its own video, R@1/R@5 at IoU 0.5 and 0.7 and mIoU are printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/moment_eval.h"
#include "io/activitynet.h"
#include "model/model_io.h"
#include "search/build.h"

static void moment_failure(const char *path, const char *msg, void *user) {
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
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
    };
    int rc = args_parse("usage: viclip eval moments --model FILE --annotations val_1.json --video-root DIR [--pattern '{id}.mp4']",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 3, NULL);
    if (rc || !model || !ann || !(window > 0) || !(stride > 0) || !(margin >= 0)) {
        if (!rc) cli_error("eval moments", "--model and --annotations are required; --window, --stride > 0; --merge-margin >= 0");
        return rc > 0 ? 0 : 2;
    }
    vc_error err;
    vc_index_build_opts o = vc_index_build_default_opts();
    if (vc_index_build_parse_preprocess(sampling, interp, &o, &err)) return cli_error("eval moments", err.msg), 2;
    cli_set_threads(threads);
    vc_moment_truth t;
    if (vc_activitynet_load(ann, root, pattern, &t, &err)) return cli_error("eval moments", err.msg), 1;
    vc_model *m = cli_load_model(model, NULL, "eval moments");
    vc_tokenizer *tok = m ? cli_load_tokenizer(vocab) : NULL;
    vc_search_index x = {0};
    vc_loader_item *items = calloc((size_t)t.n_videos + 1, sizeof *items);
    rc = m && tok && items ? 0 : 1;
    for (int v = 0; !rc && v < t.n_videos; v++) items[v] = (vc_loader_item){t.paths[v], -1, -1};
    o.window = window, o.stride = stride, o.workers = workers, o.on_failure = moment_failure;
    vc_index_build_stats st;
    if (!rc && index && vc_index_exists(index)) {
        if (vc_index_load_checked(index, m, &o, &x, &err)) rc = 1, cli_error("eval moments", err.msg);
    } else if (!rc && vc_index_init(&x, m, &o, &err)) {
        rc = 1, cli_error("eval moments", err.msg);
    }
    if (!rc && vc_index_update(m, &x, items, t.n_videos, &o, &st, &err)) rc = 1, cli_error("eval moments", err.msg);
    if (!rc && index && vc_index_save(index, &x, &err)) rc = 1, cli_error("eval moments", err.msg);
    vc_moment_eval r;
    if (!rc && vc_eval_moments(m, tok, &t, &x, margin, !raw, &r, &err)) rc = 1, cli_error("eval moments", err.msg);
    if (!rc && json) {
        printf("{\"r1_iou0.5\":%.4f,\"r1_iou0.7\":%.4f,\"r5_iou0.5\":%.4f,\"r5_iou0.7\":%.4f,\"miou\":%.4f,\"n_queries\":%d,"
               "\"n_skipped\":%d,\"n_videos\":%d,\"n_windows\":%d,\"window\":%g,\"stride\":%g}\n",
               r.r1_iou5, r.r1_iou7, r.r5_iou5, r.r5_iou7, r.miou, r.n_queries, r.n_skipped, x.n_files, x.n, x.window, x.stride);
    } else if (!rc) {
        printf("moment retrieval, %d sentences in %d videos (%d windows of %g s every %g s)%s\n", r.n_queries, x.n_files, x.n,
               x.window, x.stride, r.n_skipped ? "" : "");
        printf("  R@1 IoU>=0.5 %6.2f%%   R@1 IoU>=0.7 %6.2f%%\n", 100 * r.r1_iou5, 100 * r.r1_iou7);
        printf("  R@5 IoU>=0.5 %6.2f%%   R@5 IoU>=0.7 %6.2f%%   mIoU %.2f%%\n", 100 * r.r5_iou5, 100 * r.r5_iou7, 100 * r.miou);
        if (r.n_skipped) printf("  %d sentences left out: their videos could not be read (see the warnings)\n", r.n_skipped);
    }
    free(items);
    vc_index_free(&x);
    vc_tokenizer_free(tok);
    vc_model_free(m);
    vc_moment_truth_free(&t);
    return rc;
}
