/* convert: any checkpoint users bring (.pth/.pt/safetensors, ViCLIP or image CLIP) -> a viclip
 * model file; merge: WiSE-FT weight averaging of two models. See model/import.h for the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static int parse_dtype(const char *s, enum viclip_dtype *dt) {
    if (!strcmp(s, "f32") || !strcmp(s, "F32")) *dt = VICLIP_F32;
    else if (!strcmp(s, "f16") || !strcmp(s, "F16")) *dt = VICLIP_F16;
    else if (!strcmp(s, "bf16") || !strcmp(s, "BF16")) *dt = VICLIP_BF16;
    else return -1;
    return 0;
}

static int parse_temporal(const char *s, enum viclip_temporal_resize *mode) {
    if (!strcmp(s, "official")) *mode = VICLIP_TEMPORAL_OFFICIAL;
    else if (!strcmp(s, "interpolate")) *mode = VICLIP_TEMPORAL_INTERPOLATE;
    else return -1;
    return 0;
}

/* The library's report, then its error if the run failed. */
static int finish(const char *what, int failed, char *report, const viclip_error *err) {
    if (report) fputs(report, stdout);
    viclip_free_string(report);
    if (failed) cli_error(what, err->msg);
    return failed ? 1 : 0;
}

int cmd_convert(int argc, char **argv) {
    const char *dtype_s = "f32", *temporal_s = "official";
    int dry = 0;
    struct viclip_convert_params o = viclip_convert_default_params();
    const arg_spec specs[] = {
        {0, "dtype", ARG_STR, &dtype_s, "f32|f16|bf16", "dtype of the written tensors"},
        {0, "frames", ARG_INT, &o.frames, "T", "frames of the model (default: the checkpoint's; 8 for an image CLIP)"},
        {0, "image-size", ARG_INT, &o.image_size, "S", "input size; the spatial position embedding is resized bicubically"},
        {0, "context", ARG_INT, &o.context, "N", "text context (default: the checkpoint's; 32 for an image CLIP)"},
        {0, "vision-heads", ARG_INT, &o.vision_heads, "H", "attention heads of the video tower (default: width/64)"},
        {0, "text-heads", ARG_INT, &o.text_heads, "H", "attention heads of the text tower (default: width/64)"},
        {0, "temporal", ARG_STR, &temporal_s, "official|interpolate",
         "resizing the temporal embedding: official = interpolate when adding frames, keep the first T when removing"},
        {'n', "dry-run", ARG_FLAG, &dry, NULL, "print what the checkpoint maps to; write nothing (OUT not needed)"},
    };
    arg_str_list pos = {0};
    int rc = args_parse("usage: viclip convert IN OUT.safetensors [options]\n\n"
                        "IN: a PyTorch .pth/.pt (torch.save zip or legacy format, TorchScript) or safetensors file\n"
                        "holding a ViCLIP (official names, e.g. the released {'model': state_dict} .pth) or an\n"
                        "OpenAI/OpenCLIP image CLIP, which is inflated to a video model (conv1 -> [W,3,1,p,p],\n"
                        "zero temporal embedding, text positions cut to the context, temp = 0.01).",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &pos);
    if (rc) {
        arg_str_list_free(&pos);
        return rc > 0 ? 0 : 2;
    }
    if (pos.n != (dry ? 1 : 2) || parse_dtype(dtype_s, &o.dtype) || parse_temporal(temporal_s, &o.temporal)) {
        cli_error("convert", pos.n != (dry ? 1 : 2) ? "give IN and OUT (or IN with --dry-run)"
                                                     : "--dtype must be f32, f16 or bf16 and --temporal official or interpolate");
        arg_str_list_free(&pos);
        return 2;
    }
    if (!dry && cli_prepare_outputs("convert", (const char *const *)pos.items + 1, 1, (const char *const *)pos.items, 1)) {
        arg_str_list_free(&pos);
        return 2;
    }
    viclip_error err;
    char *report = NULL;
    const int failed = viclip_convert(pos.items[0], dry ? NULL : pos.items[1], &o, &report, &err) != 0;
    rc = finish("convert", failed, report, &err);
    arg_str_list_free(&pos);
    return rc;
}

int cmd_merge(int argc, char **argv) {
    double alpha = 0.5;
    const char *out = NULL, *dtype_s = "f32";
    struct viclip_convert_params oa = viclip_convert_default_params();
    const arg_spec specs[] = {
        {'a', "alpha", ARG_DOUBLE, &alpha, "X", "weight of B: every tensor becomes (1-alpha)*A + alpha*B"},
        {'o', "out", ARG_STR, &out, "FILE", "output model file (.safetensors)"},
        {0, "dtype", ARG_STR, &dtype_s, "f32|f16|bf16", "dtype of the written tensors"},
        {0, "vision-heads", ARG_INT, &oa.vision_heads, "H", "attention heads of the video tower (default: width/64)"},
        {0, "text-heads", ARG_INT, &oa.text_heads, "H", "attention heads of the text tower (default: width/64)"},
    };
    arg_str_list pos = {0};
    int rc = args_parse("usage: viclip merge A B --alpha X -o OUT.safetensors\n\n"
                        "WiSE-FT: A is the (fine-tuned) ViCLIP model, B another ViCLIP or an image CLIP, in any\n"
                        "format `viclip convert` reads. B is imported with A's frames, image size and context.\n"
                        "The temporal position embedding is A's when B has none (an image CLIP) or B's number of\n"
                        "frames differs from A's; temp is A's when B is an image CLIP; every other tensor is\n"
                        "(1-alpha)*A + alpha*B (computed in double, stored as float32).",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &pos);
    if (rc) {
        arg_str_list_free(&pos);
        return rc > 0 ? 0 : 2;
    }
    if (pos.n != 2 || !out || parse_dtype(dtype_s, &oa.dtype) || !(alpha >= 0 && alpha <= 1)) {
        cli_error("merge", "give A and B, -o OUT, --alpha in [0, 1] and --dtype f32, f16 or bf16");
        arg_str_list_free(&pos);
        return 2;
    }
    if (cli_prepare_outputs("merge", &out, 1, (const char *const *)pos.items, 2)) {
        arg_str_list_free(&pos);
        return 2;
    }
    viclip_error err;
    char *summary = NULL;
    const int failed = viclip_merge(pos.items[0], pos.items[1], alpha, out, &oa, &summary, &err) != 0;
    rc = finish("merge", failed, summary, &err);
    arg_str_list_free(&pos);
    return rc;
}
