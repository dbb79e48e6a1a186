/* convert: any checkpoint users bring (.pth/.pt/safetensors, ViCLIP or image CLIP) -> a viclip
 * model file; merge: WiSE-FT weight averaging of two models. See model/import.h for the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "model/import.h"
#include "model/model_io.h"

static int parse_dtype(const char *s, vc_dtype *dt) {
    if (!strcmp(s, "f32") || !strcmp(s, "F32")) *dt = VC_DT_F32;
    else if (!strcmp(s, "f16") || !strcmp(s, "F16")) *dt = VC_DT_F16;
    else if (!strcmp(s, "bf16") || !strcmp(s, "BF16")) *dt = VC_DT_BF16;
    else return -1;
    return 0;
}

static int parse_temporal(const char *s, vc_temporal_resize *mode) {
    if (!strcmp(s, "official")) *mode = VC_TEMPORAL_OFFICIAL;
    else if (!strcmp(s, "interpolate")) *mode = VC_TEMPORAL_INTERPOLATE;
    else return -1;
    return 0;
}

void cli_print_import_report(const char *path, const vc_model *m, const vc_import_report *rep) {
    char cfg[1024];
    vc_config_to_json(&m->cfg, cfg, sizeof cfg);
    printf("input:      %s (%s, %s checkpoint)\n", path, rep->format, rep->kind);
    printf("config:     %s\n", cfg);
    printf("parameters: %zu\n", m->table.total);
    if (rep->converted_half || rep->converted_f64)
        printf("dtype:      converted to float32 on load (%zu F16/BF16, %zu F64 elements)\n", rep->converted_half,
               rep->converted_f64);
    else
        printf("dtype:      float32 in the file\n");
    if (rep->ignored) printf("ignored:    %d non-parameter tensors\n", rep->ignored);
    const char *p = rep->notes;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        if (n && strncmp(p, "converted to float32", 20)) printf("  - %.*s\n", n, p);
        p += n + (nl ? 1 : 0);
    }
}

int cmd_convert(int argc, char **argv) {
    const char *dtype_s = "f32", *temporal_s = "official";
    int dry = 0;
    vc_import_opts o = {0};
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
    vc_dtype dt;
    if (pos.n != (dry ? 1 : 2) || parse_dtype(dtype_s, &dt) || parse_temporal(temporal_s, &o.temporal)) {
        cli_error("convert", pos.n != (dry ? 1 : 2) ? "give IN and OUT (or IN with --dry-run)"
                                                     : "--dtype must be f32, f16 or bf16 and --temporal official or interpolate");
        arg_str_list_free(&pos);
        return 2;
    }
    if (!dry && cli_prepare_outputs("convert", (const char *const *)pos.items + 1, 1, (const char *const *)pos.items, 1)) {
        arg_str_list_free(&pos);
        return 2;
    }
    vc_error err;
    vc_import_report rep;
    vc_model *m = vc_import_file(pos.items[0], &o, &rep, &err);
    rc = 0;
    if (!m) {
        cli_error("convert", err.msg);
        rc = 1;
    } else {
        cli_print_import_report(pos.items[0], m, &rep);
        if (!dry) {
            if (vc_model_save(m, pos.items[1], dt, &err)) {
                cli_error("convert", err.msg);
                rc = 1;
            } else {
                printf("wrote %s (%s)\n", pos.items[1], vc_dtype_name(dt));
            }
        }
    }
    vc_model_free(m);
    arg_str_list_free(&pos);
    return rc;
}

int cmd_merge(int argc, char **argv) {
    double alpha = 0.5;
    const char *out = NULL, *dtype_s = "f32";
    vc_import_opts oa = {0};
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
    vc_dtype dt;
    if (pos.n != 2 || !out || parse_dtype(dtype_s, &dt) || !(alpha >= 0 && alpha <= 1)) {
        cli_error("merge", "give A and B, -o OUT, --alpha in [0, 1] and --dtype f32, f16 or bf16");
        arg_str_list_free(&pos);
        return 2;
    }
    if (cli_prepare_outputs("merge", &out, 1, (const char *const *)pos.items, 2)) {
        arg_str_list_free(&pos);
        return 2;
    }
    vc_error err;
    vc_import_report ra, rb;
    vc_model *a = vc_import_file(pos.items[0], &oa, &ra, &err), *b = NULL;
    if (a && strcmp(ra.kind, "viclip")) {
        vc_fail(&err, "%s: A must be a ViCLIP model (it is an image CLIP)", pos.items[0]);
        vc_model_free(a);
        a = NULL;
    }
    if (a) {
        vc_import_opts ob = oa;
        ob.frames = a->cfg.num_frames, ob.image_size = a->cfg.image_size, ob.context = a->cfg.context_length;
        ob.vision_heads = a->cfg.vision_heads, ob.text_heads = a->cfg.text_heads;
        b = vc_import_file(pos.items[1], &ob, &rb, &err);
    }
    rc = 1;
    if (a && b) {
        int b_clip = !strcmp(rb.kind, "clip");
        int keep_temporal = b_clip || rb.src_frames != a->cfg.num_frames;
        if (!vc_merge_models(a, b, alpha, keep_temporal, b_clip, &err) && !vc_model_save(a, out, dt, &err)) {
            printf("merged %s (1-alpha) and %s (alpha = %g, %s)%s%s -> %s\n", pos.items[0], pos.items[1], alpha, rb.kind,
                   keep_temporal ? "; temporal embedding from A" : "", b_clip ? "; temp from A" : "", out);
            rc = 0;
        }
    }
    if (rc) cli_error("merge", err.msg);
    vc_model_free(a), vc_model_free(b);
    arg_str_list_free(&pos);
    return rc;
}
