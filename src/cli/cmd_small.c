/* The small commands: synth, tokenize, info. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

int cmd_synth(int argc, char **argv) {
    struct viclip_synth_params p = viclip_synth_default_params();
    int threads = 0;
    const arg_spec specs[] = {
        {0, "n-train", ARG_INT, &p.n_train, "N", "training clips"},
        {0, "n-heldout", ARG_INT, &p.n_heldout_per_combo, "N", "zero-shot clips per held-out combination"},
        {0, "frames", ARG_INT, &p.frames, "N", "frames per clip"},
        {0, "size", ARG_INT, &p.size, "N", "frame width and height in pixels"},
        {0, "seed", ARG_U64, &p.seed, "N", "generator seed"},
        CLI_THREADS_SPEC(threads),
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
    viclip_error err;
    rc = viclip_synth_generate(pos.items[0], &p, &err);
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
        CLI_VOCAB_SPEC(vocab),
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
    viclip_error err;
    viclip_tokenizer *tok = viclip_tokenizer_load(vocab, &err);
    if (!tok) cli_error("tokenizer", err.msg);
    int32_t *ids = malloc((size_t)context * sizeof *ids);
    rc = tok && ids ? 0 : 1;
    for (int i = 0; i < pos.n && !rc; i++) {
        if (viclip_tokenizer_encode(tok, pos.items[i], context, ids, &err) < 0) {
            cli_error("tokenize", err.msg);
            rc = 1;
            break;
        }
        for (int k = 0; k < context; k++) printf(k ? " %d" : "%d", ids[k]);
        printf("\n");
    }
    free(ids);
    viclip_tokenizer_free(tok);
    arg_str_list_free(&pos);
    return rc;
}

/* The CPU, its features and the kernels this process selected from them. */
static int print_system(void) {
    struct viclip_system_info si;
    viclip_error err;
    if (viclip_system_info(&si, &err)) {
        cli_error("info", err.msg);
        return 1;
    }
    printf("cpu:        %s\n", si.cpu);
    printf("kernels:    %s%s\n", si.isa, si.isa_capped ? " (capped by VICLIP_ISA)" : "");
    printf("gemm:       %s\n", si.gemm);
    printf("attention:  %s\n", si.attention);
    printf("precision:  default %s (bf16 %s)\n", si.default_precision,
           si.has_bf16 ? "runs as bf16 x bf16 -> fp32" : "unavailable here: runs as fp32");
    printf("threads:    %d (OMP_NUM_THREADS)\n", si.threads);
    char features[256], gpu[256];
    viclip_build_features(features, sizeof features);
    printf("built with: %s\n", features);
    const int usable = viclip_cuda_usable(gpu, sizeof gpu);
    printf("cuda:       %s%s\n", usable ? "" : "unavailable: ", gpu);
    char nccl[1200];
    const int have_nccl = viclip_nccl_usable(nccl, sizeof nccl);
    printf("nccl:       %s%s\n", have_nccl ? "" : "unavailable: ", nccl);
    return 0;
}

int cmd_info(int argc, char **argv) {
    arg_str_list pos = {0};
    int sys = 0;
    const arg_spec specs[] = {
        {0, "system", ARG_FLAG, &sys, NULL,
         "print the CPU, its features and the kernels selected, the build's features, the GPU and the NCCL "
         "found (no FILE)"},
    };
    int rc = args_parse("usage: viclip info FILE | viclip info --system\n\nA viclip .safetensors file: its metadata, tensors, dtypes and whether every value is\nfinite (exit status 1 when a NaN or Inf is found). Any other checkpoint\n"
                        "`viclip convert` reads (.pth, .pt, -hf safetensors, OpenCLIP): what it imports as.\n"
                        "--system: the CPU and the kernels viclip picked from its features (VICLIP_ISA=avx2 etc. caps them),\n"
                        "the GPU, and the NCCL library multi-GPU training loads (VICLIP_NCCL=PATH chooses it).",
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
    viclip_error err;
    char *report = NULL;
    int problems = 0;
    if (viclip_describe_file(pos.items[0], &report, &problems, &err)) {
        cli_error("info", err.msg);
        rc = 1;
    } else {
        fputs(report, stdout);
        rc = problems ? 1 : 0;
    }
    viclip_free_string(report);
    arg_str_list_free(&pos);
    return rc;
}
