/* Encode a video and a text with libviclip and print their cosine similarity.
 *   cc similarity.c $(pkg-config --cflags --libs viclip) -o similarity
 *   ./similarity MODEL VIDEO "a dog running in the snow" [--demo]
 * MODEL is any checkpoint (the official .pth, a viclip .safetensors, an image CLIP, ...);
 * --demo samples and resizes frames as the official demo does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <viclip.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL VIDEO TEXT [--demo]\n", argv[0]);
        return 2;
    }
    viclip_error err;
    viclip_context *ctx = viclip_init_from_file(argv[1], viclip_context_default_params(), &err);
    if (!ctx) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    struct viclip_video_params vp = viclip_video_default_params();
    if (argc > 4 && !strcmp(argv[4], "--demo")) vp.sampling = VICLIP_SAMPLING_DEMO, vp.interp = VICLIP_INTERP_BILINEAR;
    const int dim = viclip_embed_dim(ctx);
    float *video = malloc(dim * sizeof *video), *text = malloc(dim * sizeof *text);
    const char *texts[] = {argv[3]};
    int rc = !video || !text || viclip_encode_video_file(ctx, argv[2], &vp, video, &err) ||
             viclip_encode_texts(ctx, texts, 1, text, &err);
    if (rc) fprintf(stderr, "error: %s\n", video && text ? err.msg : "out of memory");
    else printf("similarity %.6f\n", viclip_similarity(video, text, dim));
    free(video), free(text);
    viclip_free(ctx);
    return rc;
}
