/* NaN and Inf never pass silently: model files (viclip safetensors, imported checkpoints,
 * training checkpoints), float32 .npy clips and encoded embeddings are checked, each error naming
 * the file and tensor; `info` reports it; a non-finite model is never written. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/finite.h"
#include "io/npy.h"
#include "model/import.h"
#include "model/model_io.h"
#include "testutil.h"
#include "train/checkpoint.h"
#include "video/clip.h"

#define DIR "build/tests/nonfinite"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

static vc_model *tiny_model(vc_error *err) {
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = vc_model_new(&c, err);
    if (m) vc_model_init_random(m, 3, 0.05);
    return m;
}

/* Writes a tiny model with value x at element `at` of tensor `name`, bypassing the writer's
 * own check the way another program's file would (patching the stored bytes). */
static int write_model_with(const char *path, const char *name, size_t at, float x, vc_error *err) {
    vc_model *m = tiny_model(err);
    if (!m || vc_model_save(m, path, VC_DT_F32, err)) return vc_model_free(m), -1;
    vc_safetensors *st = vc_st_open(path, err);
    const vc_st_tensor *t = st ? vc_st_find(st, name) : NULL;
    long off = -1;
    if (t) {
        size_t len = 0;
        unsigned char *bytes = vc_test_read_file(path, &len);
        const unsigned char *want = t->data;
        /* the tensor's position in the file: find its bytes (unique for random weights) */
        for (size_t i = 0; bytes && i + t->nbytes <= len && off < 0; i++)
            if (!memcmp(bytes + i, want, t->nbytes)) off = (long)i;
        free(bytes);
    }
    vc_st_close(st);
    vc_model_free(m);
    if (off < 0) return vc_fail(err, "tensor %s not found in %s", name, path);
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, off + (long)(at * 4), SEEK_SET) || fwrite(&x, 4, 1, f) != 1) {
        if (f) fclose(f);
        return vc_fail(err, "patch %s", path);
    }
    fclose(f);
    return 0;
}

TEST(counting_finds_nan_and_inf_and_the_first_index) {
    float x[37] = {0};
    CHECK(vc_count_nonfinite_f32(x, 37).nan + vc_count_nonfinite_f32(x, 37).inf == 0, "zeros reported");
    x[5] = INFINITY, x[20] = NAN, x[36] = -INFINITY;
    vc_nonfinite c = vc_count_nonfinite_f32(x, 37);
    CHECK(c.nan == 1 && c.inf == 2 && c.first == 5, "nan %zu inf %zu first %zu", c.nan, c.inf, c.first);
    double y[3] = {1e308, -1e308, 0};
    CHECK(vc_count_nonfinite_f64(y, 3).nan + vc_count_nonfinite_f64(y, 3).inf == 0, "huge finite doubles reported");
    y[2] = NAN;
    vc_error err;
    CHECK(vc_check_finite_f32(x, 37, "X", &err) == -1 && strstr(err.msg, "X has 1 NaN and 2 Inf values (first at element 5)"),
          "got: %s", err.msg);
}

TEST(model_file_with_a_nan_weight_is_refused_naming_file_and_tensor) {
    mkdir(DIR, 0755);
    vc_error err;
    CHECK(!write_model_with(DIR "/nan.safetensors", "vision_encoder.proj", 7, NAN, &err), "%s", err.msg);
    vc_model *m = vc_model_load(DIR "/nan.safetensors", NULL, &err);
    CHECK(!m, "a model with a NaN weight loaded");
    CHECK(strstr(err.msg, "nan.safetensors") && strstr(err.msg, "'vision_encoder.proj'") && strstr(err.msg, "1 NaN"),
          "message: %s", err.msg);
    /* the CLI: info reports it (exit 1), encode refuses (exit 1) instead of writing NaN embeddings */
    char out[16384];
    int rc = run("build/viclip info " DIR "/nan.safetensors", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "finite:     NO") && strstr(out, "'vision_encoder.proj'"), "info exit %d: %s", rc, out);
    rc = run("build/viclip encode --model " DIR "/nan.safetensors --text 'a dog' --out " DIR "/t.npy", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "vision_encoder.proj") && strstr(out, "NaN"), "encode exit %d: %s", rc, out);
    /* an Inf in the text tower the same way */
    CHECK(!write_model_with(DIR "/inf.safetensors", "text_encoder.token_embedding.weight", 0, -INFINITY, &err), "%s", err.msg);
    m = vc_model_load(DIR "/inf.safetensors", NULL, &err);
    CHECK(!m && strstr(err.msg, "'text_encoder.token_embedding.weight' has 0 NaN and 1 Inf"), "message: %s", err.msg);
    /* and a good file says so */
    CHECK(!write_model_with(DIR "/ok.safetensors", "temp", 0, 0.05f, &err), "%s", err.msg);
    rc = run("build/viclip info " DIR "/ok.safetensors", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "finite:     yes"), "info exit %d: %s", rc, out);
}

TEST(non_finite_model_is_never_written_over_a_good_file) {
    mkdir(DIR, 0755);
    vc_error err;
    vc_model *m = tiny_model(&err);
    CHECK(m, "%s", err.msg);
    CHECK(!vc_model_save(m, DIR "/keep.safetensors", VC_DT_F32, &err), "%s", err.msg);
    vc_adamw opt = {0};
    vc_adamw_params op = vc_adamw_default_params();
    CHECK(!vc_adamw_init(&opt, &m->table, &op, &err), "%s", err.msg);
    CHECK(!vc_checkpoint_save(DIR "/ckpt.safetensors", m, &opt, 5, 1, NULL, &err), "%s", err.msg);
    const vc_param_info *pi = vc_param_find(&m->table, "vision_encoder.ln_post.weight");
    m->params[pi->offset + 3] = NAN;
    CHECK(vc_model_save(m, DIR "/keep.safetensors", VC_DT_F32, &err) == -1, "a NaN model was written");
    CHECK(strstr(err.msg, "keep.safetensors") && strstr(err.msg, "'vision_encoder.ln_post.weight'"), "message: %s", err.msg);
    CHECK(vc_checkpoint_save(DIR "/ckpt.safetensors", m, &opt, 6, 1, NULL, &err) == -1, "a NaN checkpoint was written");
    m->params[pi->offset + 3] = 1;
    opt.v[10] = INFINITY; /* a moment too */
    CHECK(vc_checkpoint_save(DIR "/ckpt.safetensors", m, &opt, 6, 1, NULL, &err) == -1 && strstr(err.msg, "exp_avg_sq"),
          "a checkpoint with an Inf moment was written: %s", err.msg);
    vc_adamw_free(&opt);
    vc_model_free(m);
    /* the good files are intact */
    vc_model *back = vc_model_load(DIR "/keep.safetensors", NULL, &err);
    CHECK(back, "%s", err.msg);
    vc_model_free(back);
    int64_t step = 0;
    uint64_t seed = 0;
    back = vc_checkpoint_load(DIR "/ckpt.safetensors", &opt, &op, &step, &seed, &err);
    CHECK(back && step == 5, "%s (step %lld)", err.msg, (long long)step);
    vc_adamw_free(&opt);
    vc_model_free(back);
}

TEST(imported_checkpoint_with_a_nan_is_refused_naming_the_tensor) {
    vc_error err;
    vc_imp_set s;
    CHECK(!vc_imp_read("tests/fixtures/import/viclip_zip.pth", &s, &err), "%s", err.msg);
    static const vc_import_opts o = {.vision_heads = 2, .text_heads = 2};
    vc_model *m = vc_import_model(&s, &o, NULL, &err);
    CHECK(m, "the clean fixture does not import: %s", err.msg);
    vc_model_free(m);
    vc_imp_tensor *t = NULL;
    for (int i = 0; i < s.count; i++)
        if (!strcmp(s.t[i].name, "text_encoder.positional_embedding")) t = &s.t[i];
    CHECK(t && t->data, "fixture lacks the text positional embedding");
    t->data[t->numel - 1] = NAN; /* past the context it is cut to: still in the file */
    m = vc_import_model(&s, &o, NULL, &err);
    vc_imp_set_free(&s);
    CHECK(!m, "imported a checkpoint with a NaN");
    CHECK(strstr(err.msg, "'text_encoder.positional_embedding'") && strstr(err.msg, "1 NaN"), "message: %s", err.msg);
}

TEST(float_clip_with_inf_is_refused_naming_the_file) {
    mkdir(DIR, 0755);
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    const size_t n = (size_t)c.num_frames * 3 * c.image_size * c.image_size;
    float *clip = calloc(n, sizeof *clip);
    CHECK(clip, "oom");
    clip[n / 2] = INFINITY;
    int64_t shape[4] = {c.num_frames, 3, c.image_size, c.image_size};
    vc_error err;
    int rc = vc_npy_write(DIR "/inf_clip.npy", VC_DT_F32, 4, shape, clip, &err);
    vc_real *out = malloc(n * sizeof *out);
    vc_preprocess pp = vc_preprocess_default(c.num_frames, c.image_size);
    int loaded = out && !rc ? vc_clip_load(DIR "/inf_clip.npy", &pp, out, &err) : 0;
    free(clip), free(out);
    CHECK(!rc, "%s", err.msg);
    CHECK(loaded == -1 && strstr(err.msg, "inf_clip.npy") && strstr(err.msg, "1 Inf"), "clip load: %s", err.msg);
    /* --video-tensor: exit 1 naming the file, no embeddings written */
    vc_model *m = tiny_model(&err);
    CHECK(m && !vc_model_save(m, DIR "/m.safetensors", VC_DT_F32, &err), "%s", err.msg);
    vc_model_free(m);
    remove(DIR "/v.npy");
    char outbuf[8192];
    rc = run("build/viclip encode --model " DIR "/m.safetensors --video-tensor " DIR "/inf_clip.npy --out " DIR "/v.npy",
             outbuf, sizeof outbuf);
    CHECK(rc == 1 && strstr(outbuf, "inf_clip.npy") && strstr(outbuf, "Inf"), "encode exit %d: %s", rc, outbuf);
    struct stat sb;
    CHECK(stat(DIR "/v.npy", &sb) != 0, "embeddings were written");
}

TEST(non_finite_embeddings_are_an_error) {
    vc_error err;
    vc_model *m = tiny_model(&err);
    CHECK(m, "%s", err.msg);
    const vc_config *c = &m->cfg;
    const size_t n = (size_t)c->num_frames * 3 * c->image_size * c->image_size;
    vc_real *video = calloc(2 * n, sizeof *video), *emb = malloc(2 * (size_t)c->embed_dim * sizeof *emb);
    CHECK(video && emb, "oom");
    for (size_t i = 0; i < 2 * n; i++) video[i] = (vc_real)((i % 7) * 0.1);
    CHECK(!vc_model_encode_video(m, video, 2, emb, &err), "finite model: %s", err.msg);
    /* a finite projection large enough to overflow float: the output is Inf/NaN */
    const vc_param_info *pi = vc_param_find(&m->table, "vision_encoder.proj");
    for (size_t i = 0; i < pi->numel; i++) m->params[pi->offset + i] = (vc_real)3e38;
    int rc = vc_model_encode_video(m, video, 2, emb, &err);
    free(video), free(emb);
    vc_model_free(m);
    CHECK(rc == -1 && strstr(err.msg, "video embedding of input 0") && strstr(err.msg, "not finite"), "got rc %d: %s", rc, err.msg);
}

TEST_MAIN("nonfinite", T(counting_finds_nan_and_inf_and_the_first_index),
          T(model_file_with_a_nan_weight_is_refused_naming_file_and_tensor),
          T(non_finite_model_is_never_written_over_a_good_file),
          T(imported_checkpoint_with_a_nan_is_refused_naming_the_tensor), T(float_clip_with_inf_is_refused_naming_the_file),
          T(non_finite_embeddings_are_an_error))
