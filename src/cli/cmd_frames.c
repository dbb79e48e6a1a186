/* viclip frames: one clip exactly as the model would see it (decode, sample, resize, normalise). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

/* "a,b,c" -> three floats; NULL leaves v unchanged. */
static int parse_triple(const char *s, float v[3], const char *what) {
    if (!s) return 0;
    float t[3];
    char tail;
    if (sscanf(s, "%f,%f,%f%c", &t[0], &t[1], &t[2], &tail) != 3) {
        fprintf(stderr, "viclip frames: error: --%s takes three comma-separated numbers, got '%s'\n", what, s);
        return -1;
    }
    memcpy(v, t, sizeof t);
    return 0;
}

int cmd_frames(int argc, char **argv) {
    int frames = 8, size = 224, augment = 0, u8 = 0, lenient = 0, threads = 1;
    uint64_t seed = 0, key = 0;
    double start = -1, end = -1, timeout = 120;
    const char *out = NULL, *sampling = "middle", *interp = "bicubic", *mean = NULL, *std = NULL;
    const arg_spec specs[] = {
        {'f', "frames", ARG_INT, &frames, "N", "frames per clip (T)"},
        {'s', "size", ARG_INT, &size, "N", "output width and height (S)"},
        {0, "sampling", ARG_STR, &sampling, "MODE", "frame sampling: middle (evaluation), rand (training), demo (the official demo)"},
        {0, "seed", ARG_U64, &seed, "N", "seed for rand sampling and --augment"},
        {0, "key", ARG_U64, &key, "N", "which draw of the seed (e.g. step * clips + clip)"},
        {0, "start", ARG_DOUBLE, &start, "SEC", "clip start in seconds (< 0: the first frame)"},
        {0, "end", ARG_DOUBLE, &end, "SEC", "clip end in seconds, exclusive (< 0: the last frame)"},
        {0, "interp", ARG_STR, &interp, "NAME", "resize: bicubic or bilinear"},
        {0, "augment", ARG_FLAG, &augment, NULL, "training augmentation: RandomResizedCrop(0.5-1, 3/4-4/3) + horizontal flip"},
        {0, "mean", ARG_STR, &mean, "R,G,B", "normalisation mean on [0,1] pixels (default: ImageNet 0.485,0.456,0.406)"},
        {0, "std", ARG_STR, &std, "R,G,B", "normalisation std (default: ImageNet 0.229,0.224,0.225)"},
        {0, "u8", ARG_FLAG, &u8, NULL, "write the resized uint8 frames [T, S, S, 3] instead"},
        {0, "lenient", ARG_FLAG, &lenient, NULL, "skip broken packets instead of failing on decoding errors"},
        {0, "timeout", ARG_DOUBLE, &timeout, "SEC", "give up on the video after this long (0: never)"},
        {'t', "threads", ARG_INT, &threads, "N", "decoder threads"},
        {'o', "out", ARG_STR, &out, "FILE", "output .npy: float32 [T, 3, S, S] (normalised)"},
    };
    arg_str_list pos = {0};
    int rc = args_parse("usage: viclip frames VIDEO --out X.npy [options]\n\n"
                        "Decodes VIDEO (any FFmpeg-readable video, an image, a folder of frame images or a\n"
                        ".npy clip), picks T frames as ViCLIP does, resizes them to S x S and normalises:\n"
                        "the exact tensor the model is fed.",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &pos);
    if (rc) {
        arg_str_list_free(&pos);
        return rc > 0 ? 0 : 2;
    }
    viclip_error err;
    struct viclip_frames_params fp = viclip_frames_default_params();
    struct viclip_video_params *o = &fp.video;
    rc = 2;
    if (pos.n != 1 || !out) cli_error("frames", "give one VIDEO and --out FILE");
    else if (frames < 1 || frames > 4096 || size < 1 || size > 8192) cli_error("frames", "--frames must be in 1..4096 and --size in 1..8192");
    else if (viclip_sampling_from_name(sampling, &o->sampling, &err) || viclip_interp_from_name(interp, &o->interp, &err)) cli_error("frames", err.msg);
    else if (parse_triple(mean, fp.mean, "mean") || parse_triple(std, fp.std, "std")) {
    } else if (!(fp.std[0] > 0 && fp.std[1] > 0 && fp.std[2] > 0)) cli_error("frames", "--std values must be positive");
    else if (cli_prepare_outputs("frames", &out, 1, (const char *const *)pos.items, 1)) {
    } else rc = 0;
    if (rc) {
        arg_str_list_free(&pos);
        return rc;
    }
    fp.frames = frames, fp.size = size;
    o->seed = seed, o->key = key, o->start_s = start, o->end_s = end, o->augment = augment;
    o->decode_threads = threads > 0 ? threads : 1, fp.timeout_s = timeout, fp.strict = !lenient;
    const char *path = pos.items[0];
    const size_t n = (size_t)frames * size * size * 3;
    int *idx = malloc((size_t)frames * sizeof *idx);
    uint8_t *raw = malloc(n);
    float *norm = u8 ? NULL : malloc(n * sizeof *norm);
    struct viclip_video_file_info info;
    rc = 1;
    if (!idx || !raw || (!u8 && !norm)) {
        cli_error("frames", "out of memory");
    } else if (viclip_decode_frames(path, &fp, raw, norm, idx, &info, &err)) {
        cli_error("frames", err.msg);
    } else {
        int64_t shape_f[4] = {frames, 3, size, size}, shape_u[4] = {frames, size, size, 3};
        if (u8 ? viclip_npy_write(out, VICLIP_U8, 4, shape_u, raw, &err) : viclip_npy_write(out, VICLIP_F32, 4, shape_f, norm, &err)) {
            cli_error("frames", err.msg);
        } else {
            if (!info.is_npy)
                printf("%s: %s (%s), %dx%d%s, %d frames (%s)\n", path, info.codec, info.container, info.width,
                       info.height, info.rotation ? " after rotation" : "", info.frames,
                       info.counted ? "counted by decoding" : "container count");
            printf("frames (%s):", viclip_sampling_name(o->sampling));
            for (int t = 0; t < frames; t++) printf(" %d", idx[t]);
            printf("\nwrote %s: %s [%d, %s%d, %d%s]\n", out, u8 ? "uint8" : "float32", frames, u8 ? "" : "3, ", size,
                   size, u8 ? ", 3" : "");
            rc = 0;
        }
    }
    free(idx), free(raw), free(norm);
    arg_str_list_free(&pos);
    return rc;
}
