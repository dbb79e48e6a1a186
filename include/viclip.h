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
 * Contents, in order: context; video; text; similarity and zero-shot classification; one
 * training step; utilities; system, precision and device; model files (describe, convert, merge);
 * synthetic data; the bare tokenizer; frames; many videos with progress; moment indexes,
 * search, annotations, the HTTP server and moment evaluation; architectures; a model file's
 * metadata; data-parallel processes; training runs (train, pretrain, finetune); evaluation.
 * The `viclip` command (src/cli) is built on this header alone and shows each group in use.
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

#include <signal.h>
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
                                one installed with viclip, or $VICLIP_VOCAB; "": none (video
                                only: the text functions fail) */
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
/* viclip_encode_texts with the choice to leave the rows as the model makes them (normalize 0). */
VICLIP_API int viclip_encode_texts_ex(viclip_context *ctx, const char *const *texts, int n, int normalize, float *out,
                                      viclip_error *err);
/* Embeddings of the preprocessed clips in a NumPy file (float32 [T,3,S,S] or [N,T,3,S,S]):
 * *out (malloc'ed, free()) [*n, dim], L2-normalised when normalize. */
VICLIP_API int viclip_encode_tensor_file(viclip_context *ctx, const char *npy_path, int normalize, float **out, int *n,
                                         viclip_error *err);
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
#define VICLIP_N_ACTION_TEMPLATES 16 /* the templates viclip_classify uses when given none */
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
    int grad_checkpointing; /* 1: recompute each block's activations in the backward (less memory, the same step) */
};

VICLIP_API struct viclip_train_params viclip_train_default_params(void);

/* One optimisation step of the symmetric InfoNCE loss on a batch of clips [batch, T, 3, S, S]
 * and their captions' token ids [batch, viclip_context_length()]; *loss (may be NULL) is the
 * loss before the step. The optimizer state lives in the context from the first call. */
VICLIP_API int viclip_train_step(viclip_context *ctx, const float *clips, const int32_t *ids, int batch,
                                 const struct viclip_train_params *p, double *loss, viclip_error *err);
/* Bytes of the activations viclip_train_step plans for `batch` clips under p (masking, text
 * tower, grad_checkpointing); 0 for a batch below 1 or a mask_ratio outside [0, 1). */
VICLIP_API size_t viclip_train_activation_bytes(viclip_context *ctx, int batch, const struct viclip_train_params *p);

/* ---- utilities ------------------------------------------------------------------------- */

/* Strings the library allocates (reports, JSON, lists) are freed with these. */
VICLIP_API void viclip_free_string(char *s);
VICLIP_API void viclip_free_strings(char **list, int n);

/* enum viclip_sampling / viclip_interp from their names ("middle", "rand", "demo";
 * "bicubic", "bilinear") and back. */
VICLIP_API int viclip_sampling_from_name(const char *name, enum viclip_sampling *out, viclip_error *err);
VICLIP_API int viclip_interp_from_name(const char *name, enum viclip_interp *out, viclip_error *err);
VICLIP_API const char *viclip_sampling_name(enum viclip_sampling s);
VICLIP_API const char *viclip_interp_name(enum viclip_interp i);

/* Decimal integers, range-checked: lo..hi, and 0..hi unsigned; the error names `what` (e.g. a
 * flag) and the value. */
VICLIP_API int viclip_parse_i64(const char *text, int64_t lo, int64_t hi, int64_t *out, const char *what,
                                viclip_error *err);
VICLIP_API int viclip_parse_u64(const char *text, uint64_t hi, uint64_t *out, const char *what, viclip_error *err);

/* s as a JSON string literal ("..." with escapes); NULL when s is not valid UTF-8. */
VICLIP_API char *viclip_json_quote(const char *s);

/* Before a program writes files: fails (naming both) when an output is one of the inputs (the
 * same file by any path), and removes stale temporary files of the outputs. */
VICLIP_API int viclip_prepare_outputs(const char *const *outputs, int n_out, const char *const *inputs, int n_in,
                                      viclip_error *err);

/* Lines of a text file ("-": standard input), blank lines and '#' comments left out:
 * class names, or prompt templates (each must hold one "{}"). Free with viclip_free_strings. */
VICLIP_API int viclip_read_class_names(const char *path, char ***names, int *n, viclip_error *err);
VICLIP_API int viclip_read_templates(const char *path, char ***templates, int *n, viclip_error *err);

/* Whether the names of an index's preprocessing are known (--sampling, --interp; NULL: not
 * given); the error names the flag. */
VICLIP_API int viclip_preprocess_valid(const char *sampling, const char *interp, viclip_error *err);

/* Whether name is an annotation format: auto, viclip, internvid, msrvtt, kinetics or webvid. */
VICLIP_API int viclip_annotation_format_valid(const char *name, viclip_error *err);

/* Creates a folder and its parents (existing ones are fine). */
VICLIP_API int viclip_make_dirs(const char *path, viclip_error *err);

/* Writes a NumPy .npy file atomically. */
enum viclip_dtype { VICLIP_F32 = 0, VICLIP_F16 = 1, VICLIP_BF16 = 2, VICLIP_U8 = 3, VICLIP_I8 = 4 };
/* The safetensors spelling of a dtype: "F32", "F16", "BF16", "U8", "I8" ("?" for another value). */
VICLIP_API const char *viclip_dtype_name(enum viclip_dtype dtype);
VICLIP_API int viclip_npy_write(const char *path, enum viclip_dtype dtype, int ndim, const int64_t *shape,
                                const void *data, viclip_error *err);

/* ---- system and precision ------------------------------------------------------------- */

struct viclip_system_info {
    char cpu[512];         /* model name and the features viclip uses */
    char isa[32];          /* the kernels selected (avx512, avx2, ...) */
    int isa_capped;        /* 1: $VICLIP_ISA capped the selection */
    char gemm[256];        /* the matrix-product backend */
    char default_precision[8]; /* "fp32" or "bf16": the fastest accurate one here */
    int has_bf16;          /* bf16 products run as bf16 x bf16 -> fp32 (else as fp32) */
    int threads;           /* OpenMP threads of this process */
    char attention[160];   /* the attention kernels selected, fp32 and bf16 */
};
VICLIP_API int viclip_system_info(struct viclip_system_info *out, viclip_error *err);

/* Whether name is a precision ("fp32", "bf16"). */
VICLIP_API int viclip_precision_valid(const char *name);
/* The precision of the context's matrix products: "fp32", "bf16" or NULL (this CPU's default,
 * which viclip_init_* do not apply: a new context computes in fp32). */
VICLIP_API int viclip_set_precision(viclip_context *ctx, const char *name, viclip_error *err);
/* 1 when the context's model was converted from a foreign checkpoint at load. */
VICLIP_API int viclip_model_imported(const viclip_context *ctx);

/* Where the context's towers run for inference (the viclip_encode_* functions, classification,
 * evaluation, indexes and search): "cpu" (NULL; the default: the reference code) or "cuda" (a
 * copy of the parameters on the GPU; needs a build with nvcc and a GPU, and the error says which
 * is missing). viclip_train_step then computes there too, the device keeping the parameters and
 * the optimizer's moments (viclip_save, viclip_set_device and viclip_device_sync copy them back). */
VICLIP_API int viclip_set_device(viclip_context *ctx, const char *name, viclip_error *err);
/* 0 when name is a device ("cpu", "cuda"; NULL: the default), else -1 naming it as --device. */
VICLIP_API int viclip_device_valid(const char *name, viclip_error *err);
/* Brings the context's parameters and its device's copy into agreement: to the device, or from it
 * after training steps there (nothing to do on the CPU). */
VICLIP_API int viclip_device_sync(viclip_context *ctx, viclip_error *err);
/* One line on the context's device: "cpu", or the GPU, its memory and the most the context has
 * held on it so far (peak memory). malloc'ed (viclip_free_string); NULL when out of memory. */
VICLIP_API char *viclip_device_describe(const viclip_context *ctx);
/* 1 when "cuda" can run here (built with CUDA and a GPU found); desc (may be NULL) gets the
 * GPU's name or the reason there is none. */
VICLIP_API int viclip_cuda_usable(char *desc, size_t cap);
/* 1 when NCCL (multi-GPU training) loads here: desc (may be NULL) gets its version, file and how
 * it was found ("2.28.9 at /usr/local/cuda/lib/libnccl.so.2 (from the system loader)"), or why
 * none was found. NCCL is loaded at run time: $VICLIP_NCCL names the file to use. */
VICLIP_API int viclip_nccl_usable(char *desc, size_t cap);
/* What this build was built with, one line: "video=ffmpeg serve=yes zlib=yes ... cuda=built". */
VICLIP_API void viclip_build_features(char *buf, size_t cap);

/* The GEMM ceiling: seconds of one C[M,N] = A[M,K] B[K,N] float product (trans_b: B given as
 * [N,K], as the model's linear layers) at `precision` (NULL: the default), best of reps after
 * a warm-up, on random inputs; -1 on bad arguments or no memory. */
VICLIP_API double viclip_bench_gemm(int M, int N, int K, int trans_b, const char *precision, int reps);

/* C[M,N] = A[M,K] B[N,K]^T in float32 with the library's GEMM backend (for benchmark peers). */
VICLIP_API void viclip_gemm_nt(int M, int N, int K, const float *A, const float *B, float *C);

/* ---- model files ----------------------------------------------------------------------- */

/* Describes a model file as `viclip info` prints it: a viclip .safetensors file's metadata,
 * dtypes, a finiteness scan and its parameter count; any other checkpoint: what it imports as.
 * *report: malloc'ed text (viclip_free_string); *problems: 1 when a NaN/Inf was found or the
 * file does not load as a model (the report says which). -1 when the file cannot be read. */
VICLIP_API int viclip_describe_file(const char *path, char **report, int *problems, viclip_error *err);

enum viclip_temporal_resize {
    VICLIP_TEMPORAL_OFFICIAL = 0,    /* interpolate when adding frames, keep the first T when removing */
    VICLIP_TEMPORAL_INTERPOLATE = 1,
};
struct viclip_convert_params {
    enum viclip_dtype dtype;  /* of the written tensors: F32 (default), F16 or BF16 */
    int frames, image_size, context, vision_heads, text_heads; /* 0: the checkpoint's */
    enum viclip_temporal_resize temporal;
};
VICLIP_API struct viclip_convert_params viclip_convert_default_params(void);
/* Imports any checkpoint and writes it to out as a viclip model file (out NULL: a dry run).
 * *report (may be NULL): what it imported as, malloc'ed, also when writing out failed. */
VICLIP_API int viclip_convert(const char *in, const char *out, const struct viclip_convert_params *p, char **report,
                              viclip_error *err);
/* WiSE-FT: (1-alpha)*A + alpha*B written to out (B imported with A's frames, size and context;
 * A's temporal embedding when B has none or another T; A's temp when B is an image CLIP).
 * *summary (may be NULL): one line on what was merged, malloc'ed. */
VICLIP_API int viclip_merge(const char *a, const char *b, double alpha, const char *out,
                            const struct viclip_convert_params *p, char **summary, viclip_error *err);

/* ---- synthetic data -------------------------------------------------------------------- */

struct viclip_synth_params {
    int frames, size, n_train, n_heldout_per_combo;
    uint64_t seed;
    int threads;
};
VICLIP_API struct viclip_synth_params viclip_synth_default_params(void);
/* The demo's synthetic moving-shapes set: clips/NAME.npy, train/eval/heldout JSONL, classes,
 * templates and meta.json in out_dir. */
VICLIP_API int viclip_synth_generate(const char *out_dir, const struct viclip_synth_params *p, viclip_error *err);
/* One synthetic clip (combination combo, draws from seed) as uint8 RGB [frames, size, size, 3],
 * and its caption (caption may be NULL). */
VICLIP_API int viclip_synth_render(int combo, uint64_t seed, int frames, int size, uint8_t *rgb, char *caption,
                                   size_t caption_cap, viclip_error *err);

/* ---- tokenizer without a model --------------------------------------------------------- */

typedef struct viclip_tokenizer viclip_tokenizer;
VICLIP_API viclip_tokenizer *viclip_tokenizer_load(const char *vocab_path, viclip_error *err); /* NULL: installed */
VICLIP_API void viclip_tokenizer_free(viclip_tokenizer *tok);
/* ids [context]: start, BPE ids of the text as written, end, zeros. Returns the length before
 * truncation, or -1. */
VICLIP_API int viclip_tokenizer_encode(const viclip_tokenizer *tok, const char *text, int context, int32_t *ids,
                                       viclip_error *err);

/* ---- frames ---------------------------------------------------------------------------- */

struct viclip_frames_params {
    int frames, size;                 /* T and S (default 8, 224) */
    struct viclip_video_params video; /* sampling, interp, segment, augment, seed/key, decode threads */
    float mean[3], std[3];            /* normalisation on [0, 1] pixels (default: ImageNet) */
    int strict;                       /* 1 (default): a decoding error fails; 0: broken packets skipped */
    double timeout_s;                 /* give up after this long (0: never; default 120) */
};
VICLIP_API struct viclip_frames_params viclip_frames_default_params(void);

struct viclip_video_file_info {
    char codec[64], container[64];
    int width, height, rotation, frames;
    int counted;  /* frames counted by decoding (else the container's count) */
    int is_npy;   /* the input was a .npy clip (no codec information) */
};
/* One clip exactly as a model with T = frames and S = size sees it: rgb uint8 [T, S, S, 3]
 * (may be NULL), clip float32 [T, 3, S, S] normalised (may be NULL), indices [T] of the frames
 * used (may be NULL), info (may be NULL). */
VICLIP_API int viclip_decode_frames(const char *path, const struct viclip_frames_params *p, uint8_t *rgb, float *clip,
                                    int *indices, struct viclip_video_file_info *info, viclip_error *err);

/* ---- many videos with progress --------------------------------------------------------- */

struct viclip_callbacks {
    void (*on_progress)(int done, int total, void *user);      /* after each video */
    void (*on_skip)(int item, const char *msg, void *user);    /* an unreadable video; msg names it */
    void *user;
};
/* viclip_encode_video_files reporting progress and each unreadable video. */
VICLIP_API int viclip_encode_video_files_cb(viclip_context *ctx, const char *const *paths, int n,
                                            const struct viclip_video_params *p, const struct viclip_callbacks *cb,
                                            float *out, unsigned char *ok, int *n_ok, viclip_error *err);

/* ---- moment index, server and moment evaluation ---------------------------------------- */

typedef struct viclip_index viclip_index; /* windows of videos and their embeddings (viclip encode) */

/* Opens an index (a folder or X.npy) made by ctx's model (another model's index is refused;
 * ctx NULL: no check). */
VICLIP_API viclip_index *viclip_index_open(const char *path, viclip_context *ctx, viclip_error *err);
/* The model check of viclip_index_open, its message naming `where`. */
VICLIP_API int viclip_index_check_model(viclip_index *x, viclip_context *ctx, const char *where, viclip_error *err);
VICLIP_API void viclip_index_free(viclip_index *x);
VICLIP_API int viclip_index_n_files(const viclip_index *x);
VICLIP_API int viclip_index_n_windows(const viclip_index *x);
VICLIP_API int viclip_index_dim(const viclip_index *x);
VICLIP_API enum viclip_dtype viclip_index_dtype(const viclip_index *x); /* of the stored rows */
VICLIP_API enum viclip_sampling viclip_index_sampling(const viclip_index *x); /* how its clips were made */
VICLIP_API enum viclip_interp viclip_index_interp(const viclip_index *x);
VICLIP_API double viclip_index_window(const viclip_index *x);  /* seconds; 0: whole videos or clips */
VICLIP_API double viclip_index_stride(const viclip_index *x);
VICLIP_API const char *viclip_index_file_path(const viclip_index *x, int file);
/* 1 when an index (its metadata file) exists at path. */
VICLIP_API int viclip_index_exists(const char *path);
/* Where the three files of an index at path live: embeddings, windows and metadata (each
 * buffer cap bytes). */
VICLIP_API void viclip_index_paths(const char *path, char *embeddings, char *windows, char *meta, size_t cap);

/* Building and updating: whole videos, annotated clips, or windows of long videos. */
struct viclip_index_params {
    double window, stride;     /* > 0: every video in windows; 0: only videos longer than long_video_s */
    double long_video_s;       /* default 60 (then 8 s windows every 4 s) */
    enum viclip_dtype dtype;   /* of a new index's rows: F16 (default), I8 (a float32 scale per row:
                                  half the size, scores within ~1e-3) or F32; an update keeps the index's */
    int workers;               /* decoding threads (default 2) */
    const char *sampling, *interp; /* of every clip and window; NULL: the index's own (a new
                                      index: middle, bicubic); another than the index's is refused */
    void (*on_skip)(const char *msg, void *user);                         /* an unreadable video */
    void (*on_progress)(const char *what, int done, int total, void *user);
    void *user;
};
VICLIP_API struct viclip_index_params viclip_index_default_params(void);
/* The row dtypes by their --index-dtype names: "fp16" -> F16, "int8" -> I8, "fp32" -> F32 (another
 * name is an error naming --index-dtype); and back ("fp16", "int8", "fp32"). */
VICLIP_API int viclip_index_dtype_from_name(const char *name, enum viclip_dtype *out, viclip_error *err);
VICLIP_API const char *viclip_index_dtype_name(enum viclip_dtype dtype);
/* Opens an index made by ctx's model with the preprocessing p asks for (p NULL: any); the
 * errors name the index's metadata file. */
VICLIP_API viclip_index *viclip_index_open_checked(const char *path, viclip_context *ctx,
                                                   const struct viclip_index_params *p, viclip_error *err);
struct viclip_index_input {
    const char *path;
    double start_s, end_s;     /* a clip of the file; < 0: the whole video */
};
struct viclip_index_stats {
    int n_inputs, n_encoded, n_failed, n_kept, n_removed; /* files asked for, encoded, unreadable, unchanged, dropped */
    int n_windows_new;         /* rows added */
    int n_approx;              /* windows whose frames were taken by the nominal frame rate (variable frame rate) */
    double encode_s, encode_cpu_s;
};
/* An empty index for ctx's model, in memory. */
VICLIP_API viclip_index *viclip_index_create(viclip_context *ctx, const struct viclip_index_params *p, viclip_error *err);
/* Adds the inputs: unchanged files (size, modification time) are kept, changed ones re-encoded,
 * new ones encoded, files gone from disk removed. stats may be NULL. */
VICLIP_API int viclip_index_update(viclip_context *ctx, viclip_index *x, const struct viclip_index_input *inputs, int n,
                                   const struct viclip_index_params *p, struct viclip_index_stats *stats,
                                   viclip_error *err);
/* Writes the three files (four for int8 rows: + scales), each atomically (a folder path is created). */
VICLIP_API int viclip_index_save(const viclip_index *x, const char *path, viclip_error *err);

/* An empty index of dim-dimensional rows not tied to a model (embeddings made elsewhere), and
 * appending one file's rows (emb [count, dim] float32, normalised; start/end in seconds). */
VICLIP_API viclip_index *viclip_index_new(int dim, enum viclip_dtype dtype, viclip_error *err);
VICLIP_API int viclip_index_append(viclip_index *x, const char *path, int64_t size, int64_t mtime_ns, double duration,
                                   const float *emb, const double *start, const double *end, int count,
                                   viclip_error *err);

/* Exact search over rows: for each query the min(m, n) best rows, best first, into
 * hits[q * m ...]; *got receives min(m, n). */
struct viclip_hit {
    int row;
    float score;
};
VICLIP_API int viclip_index_rank(const viclip_index *x, const float *queries, int nq, int m, struct viclip_hit *hits,
                                 int *got, viclip_error *err);

/* Search: moments (neighbouring windows that match merged) of normalised queries [nq, dim]. */
struct viclip_moment {
    int file;                  /* viclip_index_file_path(x, file) */
    double start_s, end_s;
    float score;               /* its best window's */
    int best_row, n_windows;
};
/* The k best moments of each query into out[q * k ...], their count into n_out[q]; a window next
 * to a moment joins it when it scores within margin of the moment's best. */
VICLIP_API int viclip_index_search(const viclip_index *x, const float *queries, int nq, int k, double margin,
                                   struct viclip_moment *out, int *n_out, viclip_error *err);
/* {"query":..., "results":[{"rank","score","input","start","end","n_windows"},...]}, malloc'ed;
 * NULL on error. */
VICLIP_API char *viclip_moments_json(const viclip_index *x, const char *query, const struct viclip_moment *m, int n,
                                     viclip_error *err);

/* An annotation file's clips (JSONL/CSV of viclip, InternVid, MSR-VTT, Kinetics, WebVid). */
typedef struct viclip_annotations viclip_annotations;
VICLIP_API viclip_annotations *viclip_annotations_load(const char *path, const char *format, const char *video_root,
                                                       const char *video_pattern, viclip_error *err);
VICLIP_API int viclip_annotations_count(const viclip_annotations *a);
/* Clip i: its video (resolved path) and segment (< 0: whole). */
VICLIP_API struct viclip_index_input viclip_annotations_clip(const viclip_annotations *a, int i);
VICLIP_API void viclip_annotations_free(viclip_annotations *a);

struct viclip_server_params {
    const char *host;  /* IPv4 address (default "127.0.0.1": this machine only) */
    int port;          /* 0: any free one */
    int threads;       /* request threads (default 4) */
    int timeout_s;     /* idle connections closed (default 15) */
    size_t max_body;   /* bytes (default 64 KiB) */
    int max_k;         /* most results per search (default 100) */
};
VICLIP_API struct viclip_server_params viclip_server_default_params(void);
typedef struct viclip_server viclip_server;
/* Serves x over HTTP (a JSON API and a web page) on its own threads; ctx and x are borrowed
 * until viclip_server_stop. The library installs no signal handlers. */
VICLIP_API viclip_server *viclip_server_start(viclip_context *ctx, const viclip_index *x,
                                              const struct viclip_server_params *p, viclip_error *err);
VICLIP_API int viclip_server_port(const viclip_server *s);
VICLIP_API void viclip_server_stop(viclip_server *s);

struct viclip_moment_eval_params {
    const char *annotations;  /* ActivityNet Captions JSON (train.json, val_1.json, ...) */
    const char *video_root;   /* folder of the videos (NULL: the annotation file's) */
    const char *pattern;      /* file name, {id} the key, {yid} the key without v_ (default "{id}.mp4") */
    const char *index_path;   /* keep the moment index here, reused and updated (NULL: in memory) */
    double window, stride;    /* seconds (default 8, 4) */
    double merge_margin;      /* neighbouring windows within this of a moment's best join it (0.02) */
    int workers;              /* decoding threads (default 2) */
    const char *sampling, *interp; /* of the windows (NULL: a kept index's own; new: middle, bicubic) */
    void (*on_skip)(const char *msg, void *user); /* an unreadable video */
    void *user;
};
VICLIP_API struct viclip_moment_eval_params viclip_moment_eval_default_params(void);
struct viclip_moment_metrics {
    int n_queries, n_skipped, n_videos, n_windows;
    double window, stride;
    double r1_iou5, r1_iou7, r5_iou5, r5_iou7, miou; /* fractions in [0, 1] */
};
/* Moment retrieval on ActivityNet Captions: each sentence ranks the windows of its own video. */
VICLIP_API int viclip_eval_moments(viclip_context *ctx, const struct viclip_moment_eval_params *p,
                                   struct viclip_moment_metrics *out, viclip_error *err);

/* ---- architectures --------------------------------------------------------------------- */

struct viclip_config {
    int image_size, patch_size, num_frames;         /* video tower: input S, patch p, frames T */
    int vision_width, vision_layers, vision_heads;
    int context_length, vocab_size;                  /* text tower */
    int text_width, text_layers, text_heads;
    int embed_dim;                                   /* the shared embedding */
};
/* A named architecture: "tiny", "demo", "b16" or "l14". */
VICLIP_API int viclip_config_preset(const char *name, struct viclip_config *out, viclip_error *err);
/* Whether the numbers make a model (heads divide widths, patches tile the image, ...). */
VICLIP_API int viclip_config_validate(const struct viclip_config *c, viclip_error *err);

/* ---- a model file's metadata (training checkpoints: what a resumed run must keep) ------ */

typedef struct viclip_checkpoint viclip_checkpoint;
/* Reads a viclip model file's metadata only (no tensors). */
VICLIP_API viclip_checkpoint *viclip_checkpoint_open(const char *path, viclip_error *err);
VICLIP_API void viclip_checkpoint_close(viclip_checkpoint *ck);
/* Its architecture; fails when the file has no viclip config (a foreign checkpoint). */
VICLIP_API int viclip_checkpoint_config(const viclip_checkpoint *ck, struct viclip_config *out, viclip_error *err);
/* A metadata entry ("seed", "step", "format", ...), NULL when absent. */
VICLIP_API const char *viclip_checkpoint_meta(const viclip_checkpoint *ck, const char *key);
/* The settings of the run that wrote a training checkpoint (its train_args): 1 when present
 * (and parsed), 0 when the file has none, -1 when they do not parse. */
VICLIP_API int viclip_checkpoint_has_train_args(viclip_checkpoint *ck, viclip_error *err);
enum viclip_value_kind { VICLIP_VALUE_ABSENT = 0, VICLIP_VALUE_NUMBER, VICLIP_VALUE_STRING, VICLIP_VALUE_OTHER };
struct viclip_value {
    enum viclip_value_kind kind;
    double number;
    int is_int64;       /* number is an integer that fits int64 (then int64 holds it) */
    int64_t int64;
    const char *string; /* valid until viclip_checkpoint_close */
};
/* One of the train_args (after viclip_checkpoint_has_train_args returned 1). */
VICLIP_API struct viclip_value viclip_checkpoint_train_arg(const viclip_checkpoint *ck, const char *key);

/* ---- data-parallel processes ------------------------------------------------------------ */

typedef struct viclip_dist viclip_dist;
/* The processes of this run: under mpirun (a viclip built with MPI) its ranks, else one.
 * argc/argv may be changed by MPI. A collective waiting longer than timeout_s fails, naming
 * the ranks that do not answer. */
VICLIP_API viclip_dist *viclip_dist_init(int *argc, char ***argv, double timeout_s, viclip_error *err);
VICLIP_API int viclip_dist_rank(const viclip_dist *d);
VICLIP_API int viclip_dist_size(const viclip_dist *d);
VICLIP_API int viclip_dist_local_size(const viclip_dist *d); /* ranks on this node */
/* Ends every rank of the run with status code (after a failure on one). */
VICLIP_API void viclip_dist_abort(viclip_dist *d, int code);
VICLIP_API void viclip_dist_free(viclip_dist *d);

/* ---- training runs: train, pretrain, finetune ------------------------------------------ */

struct viclip_run_progress {
    int64_t step, steps;   /* completed optimizer steps, total */
    double loss, lr, grad_norm, temp;
    double samples_per_s, elapsed_s, eta_s;
    int masked;            /* this step used patch masking */
    double data_wait_s;    /* time spent waiting for decoded clips so far */
};
struct viclip_run_summary {
    int64_t first_step, last_step; /* steps run: [first_step, last_step) */
    int n_clips, n_skipped;        /* readable clips; clips left out or replaced (unreadable) */
    double elapsed_s, data_wait_s, final_loss;
    int stopped;                   /* ended early because *stop_requested was set */
    int ranks;
    double comm_wait_s, comm_busy_s; /* collectives: waited for, and gradient all-reduce busy */
};
/* What a run plans, told once before its first step (train and finetune). */
struct viclip_run_start {
    int64_t first_step, steps;     /* resumed after first_step steps; total */
    size_t parameters;             /* the model's parameters (elements) */
    int batch;                     /* clips per micro-batch (per process) */
    /* Bytes of the activations a micro-batch's training step plans (both towers' blocks, their
     * scratch, the loss) in the masked and in the unmasked steps (0: the run has none). */
    size_t masked_activation_bytes, unmasked_activation_bytes;
    int kept_tokens, all_tokens;   /* patch tokens per clip kept while masked, and in all */
    int grad_checkpointing;
};
struct viclip_run_callbacks {
    void (*on_progress)(const struct viclip_run_progress *p, void *user); /* every progress_every steps */
    void (*on_warning)(const char *msg, void *user); /* e.g. a clip left out because it cannot be read */
    void *user;
    void (*on_start)(const struct viclip_run_start *s, void *user); /* NULL: not told */
};

/* Contrastive training (viclip train): every option of the trainer. Names are parsed by
 * viclip_train_run_check. */
struct viclip_train_run_params {
    const char *train_data;         /* annotations: JSONL or CSV (video, caption[, start, end]) */
    const char *format;             /* auto, viclip, internvid, msrvtt, kinetics or webvid */
    const char *video_root, *video_pattern; /* where the annotated videos are (NULL: the format's) */
    const char *out_dir;            /* model, checkpoint, train_log.jsonl, loss.svg */
    const char *init_model;         /* start from this model file (else a random init of config) */
    const char *init_vision, *init_text; /* or: the towers from these files (init_text "random") */
    const char *resume;             /* continue this training checkpoint */
    struct viclip_config config;    /* random init */
    int batch_size, accum_freq;
    int64_t steps, warmup, unmasked_steps, new_branch_warmup;
    double lr, min_lr, weight_decay, grad_clip_norm, beta1, beta2, eps;
    double mask_ratio, drop_path, lr_mult_vision, lr_mult_text;
    int balance;                    /* 1: adapt the multipliers to keep the towers' update ratios at balance_target */
    double balance_target;
    int freeze_text;
    double temp_init, temp_min, temporal_init_std;
    int workers, prefetch;          /* workers 0: every clip decoded once and kept in memory */
    const char *sampling;           /* streaming: rand (ViCLIP's training), middle or demo */
    int augment, clean_captions;
    const char *positives;          /* caption, video or label */
    const char *align, *align_weights; /* levels "global", "frame", "layers=L1,L2,.." joined by commas; weights "W,.." in order (NULL: 1 each) */
    uint64_t seed;
    int64_t save_every, stop_after;
    int progress_every;
    const char *precision;          /* fp32 or bf16 (NULL: this CPU's default) */
    const char *device;             /* cpu or cuda: where the steps compute (NULL: cpu); cuda needs accum_freq 1,
                                       one process and the global alignment alone */
    int grad_checkpointing;         /* 1: recompute each trained block's activations in the backward: the same
                                       steps bit for bit, less memory, about one more forward per step */
    viclip_dist *dist;              /* NULL: one process */
    int local_loss;                 /* 1: each rank the loss rows of its own clips */
    /* Owned by the caller (e.g. set by its signal handler; the library installs none): non-zero
     * at the end of a step writes a checkpoint and returns 0 with summary->stopped = 1. */
    const volatile sig_atomic_t *stop_requested;
    const viclip_tokenizer *tokenizer; /* NULL: the installed vocabulary */
    struct viclip_run_callbacks cb;
};
VICLIP_API struct viclip_train_run_params viclip_train_run_default_params(void);
/* The checks a run does before it starts: names (format, sampling, positives, align,
 * precision) and the config. */
VICLIP_API int viclip_train_run_check(const struct viclip_train_run_params *p, viclip_error *err);
/* summary (may be NULL) is filled also when the run fails part way. */
VICLIP_API int viclip_train_run(const struct viclip_train_run_params *p, struct viclip_run_summary *summary,
                                viclip_error *err);

/* Vision-first pretraining of the video tower (viclip pretrain): VideoMAE or Unmasked Teacher. */
struct viclip_pretrain_params {
    struct viclip_train_run_params train; /* data, output, init, schedule, optimizer, seed, callbacks
                                             (its precision defaults to fp32 here) */
    const char *objective;          /* mae or umt */
    double mask_ratio;
    int decoder_width, decoder_depth, decoder_heads; /* MAE */
    const char *teacher;            /* UMT: the frozen teacher's model file */
    const char *umt_loss;           /* cosine or mse */
    const char *umt_masking;        /* semantic or random */
};
VICLIP_API struct viclip_pretrain_params viclip_pretrain_default_params(void);
/* The names a pretraining run parses (objective, umt_loss, umt_masking) and the training ones. */
VICLIP_API int viclip_pretrain_check(const struct viclip_pretrain_params *p, viclip_error *err);
VICLIP_API int viclip_pretrain(const struct viclip_pretrain_params *p, struct viclip_run_summary *summary,
                               viclip_error *err);

/* A classifier: the video tower and a linear head (viclip finetune). */
struct viclip_finetune_params {
    const char *train_data, *labels, *init_model, *out_dir;
    const char *templates;          /* the zero-shot head's prompts (NULL: ViCLIP's 16) */
    const char *head_init;          /* zeroshot or random */
    int linear_probe;               /* 1: the tower frozen, the head trains alone */
    int grad_checkpointing;         /* 1: recompute the tower's block activations in the backward (not with linear_probe) */
    int batch_size;
    int64_t steps, warmup;
    double lr, min_lr, weight_decay, grad_clip_norm, beta1, beta2, eps;
    double layer_decay, drop_path, label_smoothing, mixup_alpha, mixup_prob, head_std;
    int workers, prefetch;
    const char *sampling;
    int augment, clean_captions;
    uint64_t seed;
    int progress_every;
    const viclip_tokenizer *tokenizer; /* NULL: the installed vocabulary */
    struct viclip_run_callbacks cb;
};
VICLIP_API struct viclip_finetune_params viclip_finetune_default_params(void);
VICLIP_API int viclip_finetune(const struct viclip_finetune_params *p, struct viclip_run_summary *summary,
                               viclip_error *err);

/* ---- evaluation ------------------------------------------------------------------------ */

struct viclip_eval_params {
    int retrieval, classify;        /* the tasks (classify needs labels) */
    const char *annotations;        /* clips + captions (+ label) */
    const char *labels;             /* class names, one per line ("-": standard input) */
    const char *zeroshot_annotations; /* clips to classify (NULL: annotations) */
    const char *templates;          /* prompt templates (NULL: ViCLIP's 16) */
    const char *format, *video_root, *video_pattern; /* of the annotation files */
    struct viclip_video_params video; /* sampling, interp, workers */
    int shuffle_frames, single_frame; /* no-temporal baselines */
    uint64_t seed;                  /* of the shuffle */
    void (*on_warning)(const char *msg, void *user);
    void (*on_progress)(int done, int total, void *user);
    void *user;
};
VICLIP_API struct viclip_eval_params viclip_eval_default_params(void);
struct viclip_retrieval_metrics { double r1, r5, r10, median_rank; };
struct viclip_eval_result {
    int has_retrieval;
    struct viclip_retrieval_metrics t2v, v2t;
    int n_clips, n_videos, n_skipped;
    int has_zeroshot;
    double zeroshot_top1, zeroshot_top5;
    int n_classes, n_templates, n_zeroshot_clips;
};
/* Retrieval R@1/5/10 both ways and zero-shot classification (captions and prompts cleaned as
 * the context says). */
VICLIP_API int viclip_evaluate(viclip_context *ctx, const struct viclip_eval_params *p, struct viclip_eval_result *out,
                               viclip_error *err);

/* A fine-tuned classifier's own head under the test views (clips x crops, scores averaged). */
struct viclip_head_eval_params {
    const char *annotations;
    const char *labels;             /* NULL, or a class list that must be the head's */
    int clips, crops, workers;
    void (*on_warning)(const char *msg, void *user);
    void (*on_progress)(int done, int total, void *user);
    void *user;
};
VICLIP_API struct viclip_head_eval_params viclip_head_eval_default_params(void);
struct viclip_head_metrics { double top1, top5; int n_clips, n_classes, n_skipped; };
/* 1 when the model file has a classification head, 0 when not, -1 on error. */
VICLIP_API int viclip_file_has_head(const char *path, viclip_error *err);
VICLIP_API int viclip_evaluate_head(const char *model_path, const struct viclip_head_eval_params *p,
                                    struct viclip_head_metrics *out, viclip_error *err);

#ifdef __cplusplus
}
#endif

#endif
