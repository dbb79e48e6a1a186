/* viclip: train, evaluate and run ViCLIP video-text models. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} COMMANDS[] = {
    {"demo", cmd_demo, "generate the synthetic set, train a small ViCLIP, evaluate, print a table"},
    {"synth", cmd_synth, "write the synthetic moving-shapes video-caption set"},
    {"train", cmd_train, "train (from scratch, from a model file, or resume a checkpoint)"},
    {"pretrain", cmd_pretrain, "vision-first pretraining of the video tower (MAE or Unmasked Teacher)"},
    {"finetune", cmd_finetune, "fine-tune a classifier (video tower + linear head) or a linear probe"},
    {"eval", cmd_eval, "retrieval R@1/5/10 both ways and zero-shot classification"},
    {"encode", cmd_encode, "text or video embeddings as .npy (videos: a search index)"},
    {"classify", cmd_classify, "zero-shot classification of videos against class names"},
    {"search", cmd_search, "the moments of an index that best match text queries"},
    {"serve", cmd_serve, "an HTTP API and web page to search an index (127.0.0.1 by default)"},
    {"tokenize", cmd_tokenize, "CLIP BPE token ids of texts"},
    {"info", cmd_info, "config, parameter count and dtypes of a model file"},
    {"convert", cmd_convert, "import a .pth/.pt/safetensors ViCLIP or image CLIP as a viclip model file"},
    {"merge", cmd_merge, "WiSE-FT: (1-alpha)*A + alpha*B of two models"},
    {"frames", cmd_frames, "decode a video into the exact preprocessed clip tensor (.npy)"},
};

static void usage(void) {
    printf("usage: viclip COMMAND [options]   (viclip COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        printf("  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].fn(argc, argv);
    fprintf(stderr, "viclip: unknown command '%s'\n", argv[1]);
    usage();
    return 2;
}
