/* viclip.h: the public C API of libviclip, ViCLIP video-text embeddings (InternVideo/InternVid).
 *
 * Usage
 * -----
 *   #include <viclip.h>
 *
 *   viclip_error err;
 *   struct viclip_context_params cp = viclip_context_default_params();
 *   viclip_context *ctx = viclip_init_from_file("ViCLIP-B_InternVid-FLT-10M.pth", cp, &err);
 *   if (!ctx) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *
 *   int dim = viclip_embed_dim(ctx);
 *   float *video = malloc(dim * sizeof *video), *text = malloc(dim * sizeof *text);
 *   struct viclip_video_params vp = viclip_video_default_params();   // the official evaluation
 *   const char *texts[] = {"a dog running in the snow"};
 *   if (viclip_encode_video_file(ctx, "clip.mp4", &vp, video, &err) ||
 *       viclip_encode_texts(ctx, texts, 1, text, &err)) { fprintf(stderr, "%s\n", err.msg); ... }
 *   printf("similarity %.4f\n", viclip_similarity(video, text, dim));
 *   viclip_free(ctx);
 *
 * Build: cc app.c $(pkg-config --cflags --libs viclip)     (or --static for libviclip.a)
 *
 * Conventions
 * -----------
 * - Every name starts with viclip_ / VICLIP_. Handles are opaque; parameter structs come from
 *   their viclip_*_default_params() function, so new fields keep old code working.
 * - A function that can fail returns 0 (or a handle) on success and -1 (or NULL) on failure,
 *   after writing a message into *err (which may be NULL) that names the file, field or
 *   argument at fault. The library never prints, never exits and keeps no global state
 *   (viclip_set_threads changes the process's OpenMP / OpenBLAS thread counts).
 * - Embeddings are float32 rows of viclip_embed_dim() values, L2-normalised, so the cosine
 *   similarity of two of them is their dot product.
 * - A context may be used by one thread at a time; use one context per thread for more.
 * - Any checkpoint loads: viclip model files and training checkpoints, the official ViCLIP
 *   .pth and -hf safetensors, and image CLIPs (OpenAI .pt, OpenCLIP, Hugging Face CLIPModel),
 *   which are inflated to a video model as ViCLIP initialises from CLIP. Foreign formats are
 *   converted in memory at each load (viclip_model_description says so); viclip_save writes
 *   the converted model once.
 */
#ifndef VICLIP_H
#define VICLIP_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(VICLIP_SHARED)
#  ifdef VICLIP_BUILD
#    define VICLIP_API __declspec(dllexport)
#  else
#    define VICLIP_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define VICLIP_API __attribute__((visibility("default")))
#else
#  define VICLIP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define VICLIP_VERSION "0.1.0"

typedef struct viclip_context viclip_context;  /* a model, its tokenizer and working memory */

typedef struct viclip_error {
    char msg[1024];
} viclip_error;

/* Frame sampling: which T frames of a video make a clip. */
enum viclip_sampling {
    VICLIP_SAMPLING_MIDDLE = 0, /* middle frame of T equal segments: the official evaluation */
    VICLIP_SAMPLING_RAND = 1,   /* one random frame per segment: the official training */
    VICLIP_SAMPLING_DEMO = 2,   /* frames 0, n/T, 2n/T, ...: the official demo */
};

/* Resizing frames to the model's square input (whole frame, aspect ratio not kept). */
enum viclip_interp {
    VICLIP_INTERP_BICUBIC = 0,  /* the official evaluation */
    VICLIP_INTERP_BILINEAR = 1, /* the official demo (cv2.resize) */
};

/* ---- context --------------------------------------------------------------------------- */

struct viclip_context_params {
    const char *vocab_path;  /* CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz); NULL: the
                                one installed with viclip, or $VICLIP_VOCAB */
    int clean_captions;      /* 1: ViCLIP's caption cleaning before tokenising (default);
                                0: texts as written (the official demo) */
    int frames;              /* importing a foreign checkpoint: frames per clip (0: its own, 8
                                for an image CLIP) */
    int image_size;          /* importing: input size (0: the checkpoint's) */
};

VICLIP_API struct viclip_context_params viclip_context_default_params(void);

/* Loads a checkpoint of any supported format (see Conventions). */
VICLIP_API viclip_context *viclip_init_from_file(const char *path, struct viclip_context_params params,
                                                 viclip_error *err);
/* A model with random weights (training from scratch, benchmarks): config "tiny", "demo",
 * "b16" or "l14". */
VICLIP_API viclip_context *viclip_init_random(const char *config, uint64_t seed, struct viclip_context_params params,
                                              viclip_error *err);
VICLIP_API void viclip_free(viclip_context *ctx);

/* Writes the model as a viclip model file (safetensors, float32, official tensor names). */
VICLIP_API int viclip_save(const viclip_context *ctx, const char *path, viclip_error *err);

VICLIP_API int viclip_embed_dim(const viclip_context *ctx);
VICLIP_API int viclip_n_frames(const viclip_context *ctx);      /* T of a clip */
VICLIP_API int viclip_image_size(const viclip_context *ctx);    /* S of a clip */
VICLIP_API int viclip_context_length(const viclip_context *ctx); /* token ids per text */
VICLIP_API float viclip_temperature(const viclip_context *ctx); /* softmax(sim / temp) */
/* The model as JSON ({"image_size":224,...}), and one line on where it came from. */
VICLIP_API const char *viclip_model_config_json(const viclip_context *ctx);
VICLIP_API const char *viclip_model_description(const viclip_context *ctx);

/* Threads of the numeric kernels for the whole process (<= 0: all cores). */
VICLIP_API void viclip_set_threads(int n);
VICLIP_API const char *viclip_version(void);

/* ---- video ----------------------------------------------------------------------------- */

struct viclip_video_params {
    enum viclip_sampling sampling;
    enum viclip_interp interp;
    double start_s, end_s;  /* the segment of a video file to use; < 0: from the start / to the end */
    int augment;            /* 1: RandomResizedCrop + flip, drawn from (seed, key) as in training */
    uint64_t seed, key;     /* random draws (rand sampling, augment): the same pair, the same clip */
    int decode_threads;     /* threads of one video decoder (default 1) */
    int workers;            /* videos decoded in parallel by viclip_encode_video_files (default 2) */
};

VICLIP_API struct viclip_video_params viclip_video_default_params(void);

/* A clip as the model takes it: float32 [T, 3, S, S], ImageNet-normalised. path: any video
 * FFmpeg reads, an image, a folder of frames, or a NumPy .npy (uint8 [n, S, S, 3] frames or a
 * float32 [T, 3, S, S] clip). p NULL: defaults. */
VICLIP_API int viclip_load_clip(const viclip_context *ctx, const char *path, const struct viclip_video_params *p,
                                float *clip, viclip_error *err);
/* The same for any T (frames) and S (size), without a model: clip [frames, 3, size, size]. */
VICLIP_API int viclip_load_clip_sized(const char *path, int frames, int size, const struct viclip_video_params *p,
                                      float *clip, viclip_error *err);
/* Embeddings [n, dim] of n clips [n, T, 3, S, S]. */
VICLIP_API int viclip_encode_clips(viclip_context *ctx, const float *clips, int n, float *out, viclip_error *err);
/* viclip_load_clip + viclip_encode_clips for one video: out [dim]. */
VICLIP_API int viclip_encode_video_file(viclip_context *ctx, const char *path, const struct viclip_video_params *p,
                                        float *out, viclip_error *err);
/* Many videos, decoded ahead on p->workers threads while the model runs: out [n, dim];
 * ok[i] = 0 (and a zero row) for a video that cannot be read, which is not an error;
 * *n_ok (may be NULL) counts the others. */
VICLIP_API int viclip_encode_video_files(viclip_context *ctx, const char *const *paths, int n,
                                         const struct viclip_video_params *p, float *out, unsigned char *ok, int *n_ok,
                                         viclip_error *err);

/* ---- text ------------------------------------------------------------------------------ */

/* ids [viclip_context_length()]: start token, BPE ids, end token, zeros; *n_tokens (may be
 * NULL) gets the length before truncation to the context. */
VICLIP_API int viclip_tokenize(const viclip_context *ctx, const char *text, int32_t *ids, int *n_tokens,
                               viclip_error *err);
/* Embeddings [n, dim] of n UTF-8 texts. */
VICLIP_API int viclip_encode_texts(viclip_context *ctx, const char *const *texts, int n, float *out, viclip_error *err);
/* Embeddings [n, dim] of token ids [n, viclip_context_length()]. */
VICLIP_API int viclip_encode_tokens(viclip_context *ctx, const int32_t *ids, int n, float *out, viclip_error *err);

/* ---- similarity and zero-shot classification ------------------------------------------ */

/* Dot product of two rows (the cosine similarity of normalised embeddings). */
VICLIP_API float viclip_similarity(const float *a, const float *b, int dim);

/* Zero-shot classification of n videos (embeddings [n, dim]) against n_labels class names:
 * each label is put into every template ("{}" stands for the label; templates NULL: ViCLIP's
 * 16 action templates; {"{}"} with n_templates 1: the labels as written, as the demo does),
 * the prompt embeddings are averaged per class, and
 *   sims[i, c] = video_i . mean_k(prompt_{c,k})   and   probs[i, :] = softmax(logit_scale * sims[i, :])
 * (logit_scale <= 0: 1 / viclip_temperature(); the official demo uses 100). probs or sims may
 * be NULL. */
VICLIP_API int viclip_classify(viclip_context *ctx, const float *videos, int n, const char *const *labels, int n_labels,
                               const char *const *templates, int n_templates, float logit_scale, float *probs,
                               float *sims, viclip_error *err);

/* ---- training -------------------------------------------------------------------------- */

struct viclip_train_params {
    float lr;            /* AdamW learning rate (default 1e-5) */
    float weight_decay;  /* on matrices only (default 0.2, as ViCLIP) */
    float mask_ratio;    /* fraction of patch tokens dropped, FLIP-style (default 0.9) */
    int train_text;      /* 0: the text tower is frozen (default 1; the first step fixes it) */
    uint64_t seed;       /* masks are drawn from (seed, step) */
};

VICLIP_API struct viclip_train_params viclip_train_default_params(void);

/* One optimisation step of the symmetric InfoNCE loss on a batch of clips [batch, T, 3, S, S]
 * and their captions' token ids [batch, viclip_context_length()]; *loss (may be NULL) is the
 * loss before the step. The optimizer state lives in the context from the first call. */
VICLIP_API int viclip_train_step(viclip_context *ctx, const float *clips, const int32_t *ids, int batch,
                                 const struct viclip_train_params *p, double *loss, viclip_error *err);

#ifdef __cplusplus
}
#endif

#endif
