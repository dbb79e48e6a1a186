/* Writes one synthetic clip (viclip_synth_render: the demo's moving shapes) as raw RGB24
 * frames on stdout, for bench/moments.sh to splice into a long video at a known time.
 *   build/plant_clip COMBO SEED [FRAMES] [SIZE]   (combo: see src/video/synth.h) */
#include <stdio.h>
#include <stdlib.h>

#include "viclip.h"

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: plant_clip COMBO SEED [FRAMES] [SIZE]\n"), 2;
    const int combo = atoi(argv[1]), T = argc > 3 ? atoi(argv[3]) : 8, S = argc > 4 ? atoi(argv[4]) : 32;
    uint8_t *rgb = malloc((size_t)T * S * S * 3);
    viclip_error err;
    char caption[128];
    if (!rgb || viclip_synth_render(combo, strtoull(argv[2], NULL, 10), T, S, rgb, caption, sizeof caption, &err))
        return fprintf(stderr, "plant_clip: %s\n", rgb ? err.msg : "out of memory"), 1;
    fwrite(rgb, 1, (size_t)T * S * S * 3, stdout);
    fprintf(stderr, "%s\n", caption);
    free(rgb);
    return 0;
}
