/* The synthetic moving-shapes set (see synth.h): attribute names and captions, clip rendering,
 * and writing the clips (.npy) and annotation files. */
#include "video/synth.h"

#include "io/fs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "video/draw.h"

#ifdef _OPENMP
#include <omp.h>
#define MAX_THREADS() omp_get_max_threads()
#else
#define MAX_THREADS() 1
#endif

/* ---- attributes and captions ---------------------------------------------------------------- */

static const char *const colour_names[VC_SYNTH_COLOURS] = {"red", "green", "blue", "yellow"};
static const char *const shape_names[VC_SYNTH_SHAPES] = {"circle", "square", "triangle"};

/* Ways to say each motion: the label phrase, a present-tense verb (canonical captions), a
 * second -ing form and a "goes" form, so training captions vary in wording, not in meaning. */
typedef struct {
    const char *label, *present, *ing, *goes;
} motion_words;

static const motion_words motions[VC_SYNTH_MOTIONS] = {
    {"moving left", "moves to the left", "moving to the left", "goes left"},
    {"moving right", "moves to the right", "moving to the right", "goes right"},
    {"moving up", "moves up", "moving upwards", "goes up"},
    {"moving down", "moves down", "moving downwards", "goes down"},
    {"growing", "grows", "getting bigger", "gets bigger"},
    {"shrinking", "shrinks", "getting smaller", "gets smaller"},
};

enum { N_PHRASINGS = 6 };

static const char *const zeroshot_templates[] = {"a {}", "a video of a {}", "a clip of a {}"};

int vc_synth_num_combos(void) { return VC_SYNTH_COMBOS; }

int vc_synth_decompose(int combo, int *colour, int *shape, int *motion) {
    if (combo < 0 || combo >= VC_SYNTH_COMBOS) return -1;
    if (motion) *motion = combo % VC_SYNTH_MOTIONS;
    if (shape) *shape = combo / VC_SYNTH_MOTIONS % VC_SYNTH_SHAPES;
    if (colour) *colour = combo / (VC_SYNTH_MOTIONS * VC_SYNTH_SHAPES);
    return 0;
}

const char *vc_synth_colour_name(int c) { return c >= 0 && c < VC_SYNTH_COLOURS ? colour_names[c] : NULL; }
const char *vc_synth_shape_name(int s) { return s >= 0 && s < VC_SYNTH_SHAPES ? shape_names[s] : NULL; }
const char *vc_synth_motion_name(int m) { return m >= 0 && m < VC_SYNTH_MOTIONS ? motions[m].label : NULL; }

/* One held-out motion per colour/shape pair, motion = (colour + 4 * shape) mod 6: the 12 pairs
 * hold out each motion exactly twice, and never the same colour+motion or shape+motion pair
 * twice, so every attribute and every pair of attributes is still seen in training. */
int vc_synth_is_heldout(int combo) {
    int c, s, m;
    if (vc_synth_decompose(combo, &c, &s, &m)) return -1;
    return m == (c + 4 * s) % VC_SYNTH_MOTIONS;
}

/* Writes one phrasing of the combination; returns buf or NULL when out of range / too small. */
static const char *phrase(int combo, int phrasing, char *buf, size_t cap) {
    int c, s, m;
    if (!buf || vc_synth_decompose(combo, &c, &s, &m)) return NULL;
    const char *cn = colour_names[c], *sn = shape_names[s];
    const motion_words *w = &motions[m];
    int n;
    switch (phrasing) {
    case -1: n = snprintf(buf, cap, "%s %s %s", cn, sn, w->label); break; /* label */
    case 0: n = snprintf(buf, cap, "a %s %s %s", cn, sn, w->present); break; /* canonical */
    case 1: n = snprintf(buf, cap, "a %s %s %s", cn, sn, w->label); break;
    case 2: n = snprintf(buf, cap, "the %s %s %s", cn, sn, w->goes); break;
    case 3: n = snprintf(buf, cap, "%s %s, %s", cn, sn, w->label); break;
    case 4: n = snprintf(buf, cap, "a %s %s %s", cn, sn, w->ing); break;
    default: n = snprintf(buf, cap, "the %s %s %s", cn, sn, w->present); break;
    }
    return n >= 0 && (size_t)n < cap ? buf : NULL;
}

const char *vc_synth_label(int combo, char *buf, size_t cap) { return phrase(combo, -1, buf, cap); }
const char *vc_synth_caption(int combo, char *buf, size_t cap) { return phrase(combo, 0, buf, cap); }

vc_synth_params vc_synth_default_params(void) {
    return (vc_synth_params){.frames = 8, .size = 32, .n_train = 4000, .n_heldout_per_combo = 8,
                             .seed = 1, .threads = 0};
}

/* ---- random numbers: splitmix64, private so the data never changes with the library's RNG --- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t s;
} synth_rng;

static uint64_t rng_next(synth_rng *r) { return mix64(r->s += 0x9e3779b97f4a7c15ULL); }
static double rng_uniform(synth_rng *r, double lo, double hi) {
    return lo + (hi - lo) * (double)(rng_next(r) >> 11) * 0x1.0p-53;
}
/* Uniform integer in [0, n), n < 2^32 (multiply-shift: no modulo bias worth the name). */
static int rng_below(synth_rng *r, uint32_t n) { return (int)(((rng_next(r) >> 32) * n) >> 32); }

/* Seeds per split and per clip, so eval and held-out clips do not change with n_train. */
enum { SPLIT_TRAIN = 1, SPLIT_EVAL = 2, SPLIT_HELDOUT = 3 };
static uint64_t clip_seed(uint64_t seed, int split, int index) {
    return mix64(mix64(mix64(seed) ^ (0x243f6a8885a308d3ULL * (uint64_t)split)) + (uint64_t)index);
}
static uint64_t caption_seed(uint64_t clip) { return mix64(clip ^ 0x13198a2e03707344ULL); }

/* ---- rendering -------------------------------------------------------------------------------- */

/* Per-channel ranges of the shape colours. Background and noise stay at or below 120 in every
 * channel while each shape has a channel of at least 162, so the shape is never ambiguous. */
static const uint8_t colour_lo[VC_SYNTH_COLOURS][3] = {{190, 20, 20}, {20, 170, 20}, {20, 50, 190}, {190, 180, 10}};
static const uint8_t colour_hi[VC_SYNTH_COLOURS][3] = {{240, 70, 70}, {70, 225, 70}, {70, 100, 240}, {240, 225, 60}};

static int check_dims(int frames, int size, vc_error *err) {
    if (frames < 2 || frames > 64) return vc_fail(err, "synthetic clips: frames=%d is outside 2..64", frames);
    if (size < 16 || size > 512) return vc_fail(err, "synthetic clips: size=%d is outside 16..512", size);
    return 0;
}

int vc_synth_render_clip(int combo, uint64_t seed, int frames, int size, uint8_t *rgb, vc_error *err) {
    int c, s, m;
    if (vc_synth_decompose(combo, &c, &s, &m))
        return vc_fail(err, "synthetic clip: combination %d is outside 0..%d", combo, VC_SYNTH_COMBOS - 1);
    if (check_dims(frames, size, err)) return -1;
    if (!rgb) return vc_fail(err, "synthetic clip: no output buffer");
    synth_rng r = {seed};
    uint8_t fg[3], bg[3];
    for (int k = 0; k < 3; k++) fg[k] = (uint8_t)(colour_lo[c][k] + rng_below(&r, colour_hi[c][k] - colour_lo[c][k] + 1u));
    const int grey = 50 + rng_below(&r, 51);
    for (int k = 0; k < 3; k++) bg[k] = (uint8_t)(grey - 12 + rng_below(&r, 25));
    const int noise = 2 + rng_below(&r, 7); /* per-pixel noise amplitude, +-2..8 */

    /* Geometry in units of a 32-pixel frame, scaled to `size`. The ranges keep the whole shape
     * inside the frame on every frame, and a move covers 12..20 px, so the direction is clear.
     * Each clip is laid out as the "positive" motion (right, down, grow) at time index j, and the
     * opposite motion plays it backwards (j = T-1-t): the two differ only in frame order. */
    const double k = size / 32.0, S = size;
    const int is_move = m <= VC_MOTION_DOWN, horizontal = m <= VC_MOTION_RIGHT;
    const int reversed = m == VC_MOTION_LEFT || m == VC_MOTION_UP || m == VC_MOTION_SHRINK;
    double sz_a, sz_b, cx, cy, dist = 0;
    if (is_move) {
        /* A whole number of pixels, moved in whole-pixel steps: the shape is the same sprite on
         * every frame (no area flicker from point sampling), only translated. */
        sz_a = sz_b = k * rng_uniform(&r, 8, 12);
        dist = floor(k * rng_uniform(&r, 12, 20));
        const double h = 0.5 * sz_a, lo = rng_uniform(&r, h, S - h - dist), across = rng_uniform(&r, h, S - h);
        cx = horizontal ? lo : across;
        cy = horizontal ? across : lo;
    } else {
        /* At least 3 px when small, so the shape is visible even in 16-pixel frames. */
        sz_a = fmax(3.0, k * rng_uniform(&r, 4.5, 5.5));
        sz_b = k * rng_uniform(&r, 12.5, 13.5);
        cx = rng_uniform(&r, 0.5 * sz_b, S - 0.5 * sz_b);
        cy = rng_uniform(&r, 0.5 * sz_b, S - 0.5 * sz_b);
    }

    const size_t frame_bytes = (size_t)size * size * 3;
    for (int t = 0; t < frames; t++) {
        uint8_t *img = rgb + t * frame_bytes;
        for (size_t i = 0; i < frame_bytes; i += 3) img[i] = bg[0], img[i + 1] = bg[1], img[i + 2] = bg[2];
        const int j = reversed ? frames - 1 - t : t;
        const double f = (double)j / (frames - 1);
        const double shift = floor(dist * f + 0.5); /* 0 unless moving */
        vc_draw_shape(img, size, size, (vc_shape_kind)s, cx + (is_move && horizontal ? shift : 0),
                      cy + (is_move && !horizontal ? shift : 0), sz_a + f * (sz_b - sz_a), fg);
        for (size_t i = 0; i < frame_bytes; i++) {
            const int v = img[i] + rng_below(&r, 2u * noise + 1) - noise;
            img[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------------------------ */

/* mkdir -p, then the folder must be writable. */
static int make_dirs(const char *path, vc_error *err) {
    if (vc_mkdir_p(path, err)) return -1;
    if (access(path, W_OK)) return vc_fail(err, "output folder %s is not writable: %s", path, strerror(errno));
    return 0;
}

/* A file written under "<path>.tmp" and renamed into place by close_file, so readers never see
 * a half-written file under the final name. */
typedef struct {
    FILE *f;
    char path[4096], tmp[4200];
} out_file;

static int open_file(out_file *o, const char *dir, const char *name, vc_error *err) {
    if (snprintf(o->path, sizeof o->path, "%s/%s", dir, name) >= (int)sizeof o->path)
        return vc_fail(err, "path %s/%s is too long", dir, name);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", o->path);
    if (!(o->f = fopen(o->tmp, "wb"))) return vc_fail(err, "cannot write %s: %s", o->tmp, strerror(errno));
    return 0;
}

static int close_file(out_file *o, vc_error *err) {
    const int bad = ferror(o->f);
    if (fclose(o->f) || bad) {
        remove(o->tmp);
        return vc_fail(err, "error writing %s: %s", o->tmp, strerror(errno));
    }
    if (rename(o->tmp, o->path)) {
        const int e = errno;
        remove(o->tmp);
        return vc_fail(err, "cannot rename %s to %s: %s", o->tmp, o->path, strerror(e));
    }
    return 0;
}

static void abandon_file(out_file *o) {
    fclose(o->f);
    remove(o->tmp);
}

/* NumPy .npy v1.0: magic, version, little-endian header length, then a Python dict literal
 * padded with spaces and a newline so the data starts at a multiple of 64 bytes. */
static int write_npy_u8(const char *dir, const char *name, const uint8_t *data, int frames, int size,
                        vc_error *err) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d, 3), }",
                     frames, size, size);
    const int total = (10 + n + 1 + 63) / 64 * 64; /* magic+version+len (10), dict, '\n' */
    const int hlen = total - 10;
    char header[320];
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (char)(hlen & 0xff), header[9] = (char)(hlen >> 8);
    memcpy(header + 10, dict, (size_t)n);
    memset(header + 10 + n, ' ', (size_t)(hlen - n - 1));
    header[total - 1] = '\n';
    out_file o;
    if (open_file(&o, dir, name, err)) return -1;
    const size_t bytes = (size_t)frames * size * size * 3;
    if (fwrite(header, 1, (size_t)total, o.f) != (size_t)total || fwrite(data, 1, bytes, o.f) != bytes) {
        abandon_file(&o);
        return vc_fail(err, "error writing %s: %s", o.tmp, strerror(errno));
    }
    return close_file(&o, err);
}

/* JSON string body; the captions are plain ASCII, but escape anyway. */
static void put_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

/* The clips of one split, in file order. */
typedef struct {
    int split, first_file, n;
    int *combo;
} split_plan;

static int caption_for(const split_plan *sp, int i, uint64_t seed, char *buf, size_t cap) {
    if (sp->split != SPLIT_TRAIN) return vc_synth_caption(sp->combo[i], buf, cap) ? 0 : -1;
    synth_rng r = {caption_seed(clip_seed(seed, sp->split, i))};
    return phrase(sp->combo[i], rng_below(&r, N_PHRASINGS), buf, cap) ? 0 : -1;
}

static int write_jsonl(const char *dir, const char *name, const split_plan *sp, uint64_t seed, vc_error *err) {
    out_file o;
    if (open_file(&o, dir, name, err)) return -1;
    for (int i = 0; i < sp->n; i++) {
        char caption[128], label[128], video[32];
        if (caption_for(sp, i, seed, caption, sizeof caption) || !vc_synth_label(sp->combo[i], label, sizeof label)) {
            abandon_file(&o);
            return vc_fail(err, "%s: no caption for combination %d", o.path, sp->combo[i]);
        }
        snprintf(video, sizeof video, "clips/%06d.npy", sp->first_file + i);
        fputs("{\"video\": ", o.f);
        put_json_string(o.f, video);
        fputs(", \"caption\": ", o.f);
        put_json_string(o.f, caption);
        fputs(", \"label\": ", o.f);
        put_json_string(o.f, label);
        fprintf(o.f, ", \"combo\": %d}\n", sp->combo[i]);
    }
    return close_file(&o, err);
}

static int write_text_files(const char *dir, const vc_synth_params *p, vc_error *err) {
    out_file o;
    if (open_file(&o, dir, "classes.txt", err)) return -1;
    for (int c = 0; c < VC_SYNTH_COMBOS; c++) {
        char label[128];
        if (!vc_synth_label(c, label, sizeof label)) {
            abandon_file(&o);
            return vc_fail(err, "%s: no label for combination %d", o.path, c);
        }
        fprintf(o.f, "%s\n", label);
    }
    if (close_file(&o, err)) return -1;

    if (open_file(&o, dir, "templates.txt", err)) return -1;
    for (size_t i = 0; i < sizeof zeroshot_templates / sizeof *zeroshot_templates; i++)
        fprintf(o.f, "%s\n", zeroshot_templates[i]);
    if (close_file(&o, err)) return -1;

    if (open_file(&o, dir, "meta.json", err)) return -1;
    fprintf(o.f, "{\"version\": %d, \"frames\": %d, \"size\": %d, \"n_train\": %d, \"n_eval\": %d, "
                 "\"n_heldout_per_combo\": %d, \"n_heldout\": %d, \"seed\": %llu, \"heldout_combos\": [",
            VC_SYNTH_VERSION, p->frames, p->size, p->n_train, VC_SYNTH_COMBOS, p->n_heldout_per_combo,
            VC_SYNTH_HELDOUT * p->n_heldout_per_combo, (unsigned long long)p->seed);
    for (int c = 0, k = 0; c < VC_SYNTH_COMBOS; c++)
        if (vc_synth_is_heldout(c) == 1) fprintf(o.f, "%s%d", k++ ? ", " : "", c);
    fputs("], \"colours\": [", o.f);
    for (int i = 0; i < VC_SYNTH_COLOURS; i++) fprintf(o.f, "%s\"%s\"", i ? ", " : "", colour_names[i]);
    fputs("], \"shapes\": [", o.f);
    for (int i = 0; i < VC_SYNTH_SHAPES; i++) fprintf(o.f, "%s\"%s\"", i ? ", " : "", shape_names[i]);
    fputs("], \"motions\": [", o.f);
    for (int i = 0; i < VC_SYNTH_MOTIONS; i++) fprintf(o.f, "%s\"%s\"", i ? ", " : "", motions[i].label);
    fputs("]}\n", o.f);
    return close_file(&o, err);
}

/* Renders and writes every clip of the plans; clips are independent, so any thread count gives
 * the same files. On failure the others stop, and the lowest-numbered failing clip's message is kept. */
static int write_clips(const char *clips_dir, const vc_synth_params *p, const split_plan *plans, int n_plans,
                       vc_error *err) {
    int total = 0;
    for (int s = 0; s < n_plans; s++) total += plans[s].n;
    const size_t bytes = (size_t)p->frames * p->size * p->size * 3;
    int first_bad = total, failed = 0;
    const int threads = p->threads > 0 ? p->threads : 0;
#pragma omp parallel num_threads(threads > 0 ? threads : MAX_THREADS()) if (threads != 1)
    {
        uint8_t *buf = malloc(bytes);
        vc_error local;
#pragma omp for schedule(dynamic, 16)
        for (int g = 0; g < total; g++) {
            int bad;
#pragma omp atomic read
            bad = failed;
            if (bad) continue;
            int s = 0, i = g;
            while (i >= plans[s].n) i -= plans[s].n, s++;
            char name[32];
            snprintf(name, sizeof name, "%06d.npy", plans[s].first_file + i);
            int rc;
            if (!buf) rc = vc_fail(&local, "out of memory for a %zu-byte clip", bytes);
            else rc = vc_synth_render_clip(plans[s].combo[i], clip_seed(p->seed, plans[s].split, i), p->frames,
                                           p->size, buf, &local) ||
                      write_npy_u8(clips_dir, name, buf, p->frames, p->size, &local);
            if (rc) {
#pragma omp critical(vc_synth_error)
                {
                    if (g < first_bad) {
                        first_bad = g;
                        if (err) *err = local;
                    }
                }
#pragma omp atomic write
                failed = 1;
            }
        }
        free(buf);
    }
    return failed ? -1 : 0;
}

int vc_synth_generate(const char *out_dir, const vc_synth_params *p, vc_error *err) {
    if (!out_dir || !p) return vc_fail(err, "synthetic set: no output folder or parameters");
    if (check_dims(p->frames, p->size, err)) return -1;
    /* File names have six digits: keep the total below a million clips. */
    const int n_eval = VC_SYNTH_COMBOS, max_total = 999999;
    if (p->n_heldout_per_combo < 1 || p->n_heldout_per_combo > 10000)
        return vc_fail(err, "synthetic set: n_heldout_per_combo=%d is outside 1..10000", p->n_heldout_per_combo);
    const int n_heldout = VC_SYNTH_HELDOUT * p->n_heldout_per_combo;
    if (p->n_train < 1 || p->n_train > max_total - n_eval - n_heldout)
        return vc_fail(err, "synthetic set: n_train=%d is outside 1..%d", p->n_train, max_total - n_eval - n_heldout);
    if (p->threads < 0) return vc_fail(err, "synthetic set: threads=%d is negative", p->threads);

    int train_combos[VC_SYNTH_COMBOS], heldout_combos[VC_SYNTH_HELDOUT], n_tc = 0, n_hc = 0;
    for (int c = 0; c < VC_SYNTH_COMBOS; c++) {
        if (vc_synth_is_heldout(c)) heldout_combos[n_hc++] = c;
        else train_combos[n_tc++] = c;
    }
    split_plan plans[3] = {{SPLIT_TRAIN, 0, p->n_train, NULL},
                           {SPLIT_EVAL, p->n_train, n_eval, NULL},
                           {SPLIT_HELDOUT, p->n_train + n_eval, n_heldout, NULL}};
    int rc = -1;
    for (int s = 0; s < 3; s++)
        if (!(plans[s].combo = malloc(sizeof(int) * (size_t)plans[s].n))) {
            vc_fail(err, "synthetic set: out of memory planning %d clips", plans[s].n);
            goto done;
        }
    /* Training cycles through the 60 training combinations, so every one is equally common. */
    for (int i = 0; i < p->n_train; i++) plans[0].combo[i] = train_combos[i % n_tc];
    for (int i = 0; i < n_eval; i++) plans[1].combo[i] = i;
    for (int i = 0; i < n_heldout; i++) plans[2].combo[i] = heldout_combos[i / p->n_heldout_per_combo];

    char clips_dir[4096];
    if (snprintf(clips_dir, sizeof clips_dir, "%s/clips", out_dir) >= (int)sizeof clips_dir) {
        vc_fail(err, "output folder path '%s' is too long", out_dir);
        goto done;
    }
    if (make_dirs(clips_dir, err) || write_clips(clips_dir, p, plans, 3, err) ||
        write_jsonl(out_dir, "train.jsonl", &plans[0], p->seed, err) ||
        write_jsonl(out_dir, "eval.jsonl", &plans[1], p->seed, err) ||
        write_jsonl(out_dir, "heldout.jsonl", &plans[2], p->seed, err) || write_text_files(out_dir, p, err)) {
        vc_fail_ctx(err, "writing the synthetic set to %s", out_dir);
        goto done;
    }
    rc = 0;
done:
    for (int s = 0; s < 3; s++) free(plans[s].combo);
    return rc;
}
