/* The small commands: synth, tokenize, info. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/cpu.h"
#include "kernels/gemm.h"
#include "core/finite.h"
#include "model/import.h"
#include "model/model_io.h"
#include "video/synth.h"

int cmd_synth(int argc, char **argv) {
    vc_synth_params p = vc_synth_default_params();
    int threads = 0;
    const arg_spec specs[] = {
        {0, "n-train", ARG_INT, &p.n_train, "N", "training clips"},
        {0, "n-heldout", ARG_INT, &p.n_heldout_per_combo, "N", "zero-shot clips per held-out combination"},
        {0, "frames", ARG_INT, &p.frames, "N", "frames per clip"},
        {0, "size", ARG_INT, &p.size, "N", "frame width and height in pixels"},
        {0, "seed", ARG_U64, &p.seed, "N", "generator seed"},
        {'t', "threads", ARG_INT, &threads, "N", "threads (default: all cores)"},
    };
    arg_str_list pos = {0};
    int rc = args_parse("usage: viclip synth OUT_DIR [options]\n\nWrites clips/*.npy (uint8 [T,S,S,3]), train.jsonl, eval.jsonl, heldout.jsonl,\n"
                        "classes.txt, templates.txt and meta.json.",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, &pos);
    if (rc) {
        arg_str_list_free(&pos);
        return rc > 0 ? 0 : 2;
    }
    if (pos.n != 1) {
        cli_error("synth", "give exactly one output folder");
        arg_str_list_free(&pos);
        return 2;
    }
    cli_set_threads(threads);
    p.threads = threads;
    vc_error err;
    rc = vc_synth_generate(pos.items[0], &p, &err);
    if (rc) cli_error("synth", err.msg);
    else printf("wrote the synthetic set to %s\n", pos.items[0]);
    arg_str_list_free(&pos);
    return rc ? 1 : 0;
}

int cmd_tokenize(int argc, char **argv) {
    int context = 32;
    const char *vocab = NULL;
    const arg_spec specs[] = {
        {'c', "context", ARG_INT, &context, "N", "context length (ids are padded with 0 to it)"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary"},
    };
    arg_str_list pos = {0};
    int rc = args_parse("usage: viclip tokenize [--context N] TEXT...", specs, 2, argc, argv, 2, &pos);
    if (rc) {
        arg_str_list_free(&pos);
        return rc > 0 ? 0 : 2;
    }
    if (context < 2 || context > 65536) {
        cli_error("tokenize", "--context must be in [2, 65536]");
        arg_str_list_free(&pos);
        return 2;
    }
    vc_tokenizer *tok = cli_load_tokenizer(vocab);
    int32_t *ids = malloc((size_t)context * sizeof *ids);
    rc = tok && ids ? 0 : 1;
    for (int i = 0; i < pos.n && !rc; i++) {
        vc_error err;
        if (vc_tokenize(tok, pos.items[i], context, ids, &err) < 0) {
            cli_error("tokenize", err.msg);
            rc = 1;
            break;
        }
        for (int k = 0; k < context; k++) printf(k ? " %d" : "%d", ids[k]);
        printf("\n");
    }
    free(ids);
    vc_tokenizer_free(tok);
    arg_str_list_free(&pos);
    return rc;
}

/* The CPU, its features and the kernels this process selected from them. */
static int print_system(void) {
    char cpu[512], gemm[256];
    vc_error err;
    vc_isa isa;
    if (vc_cpu_select_isa(&isa, &err)) {
        cli_error("info", err.msg);
        return 1;
    }
    vc_cpu_describe(cpu, sizeof cpu);
    vc_gemm_describe(gemm, sizeof gemm);
    printf("cpu:        %s\n", cpu);
    printf("kernels:    %s%s\n", vc_isa_name(isa), getenv("VICLIP_ISA") ? " (capped by VICLIP_ISA)" : "");
    printf("gemm:       %s\n", gemm);
    printf("precision:  default %s (bf16 %s)\n", vc_precision_name(vc_default_precision()),
           vc_gemm_has_bf16() ? "runs as bf16 x bf16 -> fp32" : "unavailable here: runs as fp32");
    printf("threads:    %d (OMP_NUM_THREADS)\n", omp_get_max_threads());
    return 0;
}

/* The "finite:" line of info: every float tensor (parameters and optimizer moments) scanned
 * for NaN and Inf. Returns 1 when one is found. */
static int print_finiteness(const vc_safetensors *st) {
    size_t bad_tensors = 0, nan = 0, inf = 0;
    char first[512] = "";
    double *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < vc_st_count(st); i++) {
        const vc_st_tensor *t = vc_st_at(st, i);
        if (!vc_dtype_is_float(t->dtype)) continue;
        const size_t n = t->nbytes / vc_dtype_size(t->dtype);
        if (n > cap) {
            double *nb = realloc(buf, n * sizeof *buf);
            if (!nb) {
                printf("finite:     not checked (out of memory)\n");
                free(buf);
                return 1;
            }
            buf = nb, cap = n;
        }
        vc_convert_to_f64(buf, t->data, t->dtype, n); /* exact for every float dtype */
        const vc_nonfinite c = vc_count_nonfinite_f64(buf, n);
        if (c.nan + c.inf == 0) continue;
        if (!bad_tensors++)
            snprintf(first, sizeof first, "tensor '%s' has %zu NaN and %zu Inf values (first at element %zu)", t->name,
                     c.nan, c.inf, c.first);
        nan += c.nan, inf += c.inf;
    }
    free(buf);
    if (!bad_tensors) {
        printf("finite:     yes (no NaN or Inf)\n");
        return 0;
    }
    printf("finite:     NO: %zu NaN and %zu Inf values in %zu tensors; %s\n", nan, inf, bad_tensors, first);
    return 1;
}

int cmd_info(int argc, char **argv) {
    arg_str_list pos = {0};
    int sys = 0;
    const arg_spec specs[] = {
        {0, "system", ARG_FLAG, &sys, NULL, "print the CPU, its features and the kernels selected (no FILE)"},
    };
    int rc = args_parse("usage: viclip info FILE | viclip info --system\n\nA viclip .safetensors file: its metadata, tensors, dtypes and whether every value is\nfinite (exit status 1 when a NaN or Inf is found). Any other checkpoint\n"
                        "`viclip convert` reads (.pth, .pt, -hf safetensors, OpenCLIP): what it imports as.\n"
                        "--system: the CPU and the kernels viclip picked from its features (VICLIP_ISA=avx2 etc. caps them).",
                        specs, 1, argc, argv, 2, &pos);
    if (!rc && sys && pos.n == 0) {
        arg_str_list_free(&pos);
        return print_system();
    }
    if (rc || pos.n != 1) {
        if (!rc) cli_error("info", "give exactly one file");
        arg_str_list_free(&pos);
        return rc > 0 ? 0 : 2;
    }
    vc_error err;
    vc_safetensors *st = vc_st_open(pos.items[0], &err);
    const int st_failed = !st;
    if (st && !vc_st_meta(st, "config")) { /* a safetensors file without our config: an -hf or OpenCLIP one */
        vc_st_close(st);
        st = NULL;
    }
    if (!st) {
        size_t len = strlen(pos.items[0]);
        const int is_st = len > 12 && !strcmp(pos.items[0] + len - 12, ".safetensors");
        vc_error imp_err;
        vc_import_report rep;
        vc_model *m = vc_import_file(pos.items[0], NULL, &rep, &imp_err);
        if (m) cli_print_import_report(pos.items[0], m, &rep);
        else cli_error("info", is_st && st_failed ? err.msg : imp_err.msg);
        vc_model_free(m);
        arg_str_list_free(&pos);
        return m ? 0 : 1;
    }
    size_t counts[16] = {0}, total = 0;
    for (int i = 0; i < vc_st_count(st); i++) {
        const vc_st_tensor *t = vc_st_at(st, i);
        size_t n = 1;
        for (int k = 0; k < t->ndim; k++) n *= (size_t)t->shape[k];
        if ((int)t->dtype < 16) counts[t->dtype] += n;
        total += n;
    }
    const char *cfg = vc_st_meta(st, "config"), *fmt = vc_st_meta(st, "format"), *step = vc_st_meta(st, "step");
    printf("file:       %s\n", pos.items[0]);
    printf("format:     %s\n", fmt ? fmt : "(none)");
    printf("config:     %s\n", cfg ? cfg : "(none)");
    if (step) printf("step:       %s\n", step);
    printf("tensors:    %d\n", vc_st_count(st));
    printf("elements:   %zu (%.2f M)\n", total, total / 1e6);
    for (int d = 0; d < 16; d++)
        if (counts[d]) printf("  %-8s  %zu elements\n", vc_dtype_name((vc_dtype)d), counts[d]);
    if (print_finiteness(st)) rc = 1;
    vc_model *m = cfg ? vc_model_from_safetensors(st, (const char *const[]){"optimizer.", NULL}, &err) : NULL;
    if (m) {
        size_t vis = 0, txt = 0;
        for (int i = 0; i < m->table.count; i++)
            *(m->table.info[i].tower == VC_TOWER_VISION ? &vis : &txt) += m->table.info[i].numel;
        printf("parameters: %zu (video tower %.2f M, text tower + temperature %.2f M)\n", m->table.total, vis / 1e6, txt / 1e6);
        vc_model_free(m);
    } else if (cfg) {
        printf("not loadable as a model: %s\n", err.msg);
        rc = 1;
    }
    vc_st_close(st);
    arg_str_list_free(&pos);
    return rc;
}
