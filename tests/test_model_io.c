/* Model files: save -> load gives identical outputs; broken files give clear errors. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "model/model_io.h"
#include "testutil.h"

static vc_model *tiny_model(uint64_t seed) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = vc_model_new(&c, &err);
    if (m) vc_model_init_random(m, seed, 0.05);
    /* make the temporal embedding non-zero so it is exercised */
    for (int i = 0; m && i < c.num_frames * c.vision_width; i++) m->p.v.temporal_emb[i] = 0.01f * (i % 7);
    return m;
}

static void inputs(const vc_config *c, float *video, int32_t *tokens, int N) {
    vc_rng r = vc_rng_at(1, 2, 3, 4);
    size_t nv = (size_t)N * c->num_frames * 3 * c->image_size * c->image_size;
    for (size_t i = 0; i < nv; i++) video[i] = (float)vc_rng_normal(&r);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < c->context_length; k++)
            tokens[n * c->context_length + k] = k == 0 ? 98 : k < 3 + n ? 5 + k : k == 3 + n ? 99 : 0;
}

TEST(save_then_load_gives_bit_identical_embeddings) {
    vc_error err;
    vc_model *a = tiny_model(3);
    CHECK(a, "model");
    const vc_config *c = &a->cfg;
    enum { N = 3 };
    float *video = malloc((size_t)N * c->num_frames * 3 * c->image_size * c->image_size * sizeof(float));
    int32_t tokens[N * 8];
    inputs(c, video, tokens, N);
    float va[N * 24], ta[N * 24], vb[N * 24], tb[N * 24];
    CHECK(vc_model_encode_video(a, video, N, va, &err) == 0, "%s", err.msg);
    CHECK(vc_model_encode_text(a, tokens, N, ta, &err) == 0, "%s", err.msg);
    const char *path = "build/tests/tmp_model.safetensors";
    CHECK(vc_model_save(a, path, VC_DT_F32, &err) == 0, "%s", err.msg);
    vc_model *b = vc_model_load(path, NULL, &err);
    CHECK(b, "%s", err.msg);
    CHECK(!memcmp(&a->cfg, &b->cfg, sizeof a->cfg), "config differs after reload");
    CHECK(vc_model_encode_video(b, video, N, vb, &err) == 0, "%s", err.msg);
    CHECK(vc_model_encode_text(b, tokens, N, tb, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(va, vb, sizeof va), "video embeddings differ after reload");
    CHECK(!memcmp(ta, tb, sizeof ta), "text embeddings differ after reload");
    /* bf16 file: 8 mantissa bits, so embeddings agree to a few percent, not exactly */
    CHECK(vc_model_save(a, path, VC_DT_BF16, &err) == 0, "%s", err.msg);
    vc_model *h = vc_model_load(path, NULL, &err);
    CHECK(h, "%s", err.msg);
    CHECK(vc_model_encode_video(h, video, N, vb, &err) == 0, "%s", err.msg);
    double num = 0, den = 0;
    for (int i = 0; i < N * 24; i++) num += (va[i] - vb[i]) * (va[i] - vb[i]), den += va[i] * va[i];
    CHECK(sqrt(num / den) < 0.05, "bf16 round trip relative error %g", sqrt(num / den));
    CHECK(sqrt(num / den) > 0, "bf16 file was not actually rounded");
    vc_model_free(a), vc_model_free(b), vc_model_free(h);
    free(video);
    unlink(path);
}

/* Writes the tiny model with one tensor dropped or reshaped, or an extra tensor. */
static int write_variant(const char *path, const char *drop, const char *reshape, const char *extra, int no_config) {
    vc_error err;
    vc_model *m = tiny_model(1);
    vc_st_writer *w = vc_st_writer_new();
    char cfg[512];
    vc_config_to_json(&m->cfg, cfg, sizeof cfg);
    if (!no_config) vc_st_writer_meta(w, "config", cfg, &err);
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (drop && !strcmp(pi->name, drop)) continue;
        int64_t shape[5];
        memcpy(shape, pi->shape, sizeof shape);
        int ndim = pi->ndim;
        if (reshape && !strcmp(pi->name, reshape)) { /* same element count, different shape */
            shape[0] = (int64_t)pi->numel;
            ndim = 1;
        }
        vc_st_writer_add(w, pi->name, VC_DT_F32, ndim, shape, m->params + pi->offset, &err);
    }
    if (extra) vc_st_writer_add(w, extra, VC_DT_F32, 1, (const int64_t[]){1}, m->params, &err);
    int rc = vc_st_writer_write(w, path, &err);
    vc_st_writer_free(w);
    vc_model_free(m);
    return rc;
}

static int load_fails_with(const char *path, const char *needle, char *msg, size_t cap) {
    vc_error err = {{0}};
    vc_model *m = vc_model_load(path, NULL, &err);
    snprintf(msg, cap, "%s", err.msg);
    if (m) {
        vc_model_free(m);
        snprintf(msg, cap, "loaded without error");
        return 0;
    }
    return strstr(err.msg, needle) != NULL;
}

TEST(missing_wrong_shape_unexpected_and_configless_files_are_rejected) {
    const char *path = "build/tests/tmp_bad.safetensors";
    char msg[1024];
    CHECK(write_variant(path, "vision_encoder.ln_post.bias", NULL, NULL, 0) == 0, "write");
    CHECK(load_fails_with(path, "vision_encoder.ln_post.bias", msg, sizeof msg), "missing tensor: %s", msg);
    CHECK(write_variant(path, NULL, "text_encoder.text_projection", NULL, 0) == 0, "write");
    CHECK(load_fails_with(path, "text_encoder.text_projection", msg, sizeof msg), "wrong shape: %s", msg);
    CHECK(write_variant(path, NULL, NULL, "vision_encoder.surprise", 0) == 0, "write");
    CHECK(load_fails_with(path, "unexpected tensor 'vision_encoder.surprise'", msg, sizeof msg), "extra: %s", msg);
    CHECK(write_variant(path, NULL, NULL, NULL, 1) == 0, "write");
    CHECK(load_fails_with(path, "config", msg, sizeof msg), "no config: %s", msg);
    unlink(path);
}

TEST(every_truncation_of_a_model_file_is_an_error_not_a_crash) {
    vc_error err;
    vc_model *m = tiny_model(2);
    const char *path = "build/tests/tmp_trunc_src.safetensors", *cut = "build/tests/tmp_trunc.safetensors";
    CHECK(vc_model_save(m, path, VC_DT_F32, &err) == 0, "%s", err.msg);
    vc_model_free(m);
    FILE *f = fopen(path, "rb");
    CHECK(f, "open");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size, "read");
    fclose(f);
    int checked = 0;
    for (long n = 0; n < size; n += (n < 4096 ? 7 : 997)) {
        FILE *o = fopen(cut, "wb");
        fwrite(buf, 1, (size_t)n, o);
        fclose(o);
        vc_error e = {{0}};
        vc_model *x = vc_model_load(cut, NULL, &e);
        CHECK(!x, "a file truncated to %ld of %ld bytes loaded", n, size);
        CHECK(e.msg[0], "no message for truncation at %ld", n);
        checked++;
    }
    /* flip bytes in the header: must fail cleanly or load (if the flip hit a harmless byte) */
    for (long i = 8; i < 200 && i < size; i++) {
        buf[i] ^= 0x5a;
        FILE *o = fopen(cut, "wb");
        fwrite(buf, 1, (size_t)size, o);
        fclose(o);
        buf[i] ^= 0x5a;
        vc_error e = {{0}};
        vc_model *x = vc_model_load(cut, NULL, &e);
        if (x) vc_model_free(x);
        else CHECK(e.msg[0], "no message for a corrupted byte at %ld", i);
    }
    printf("  %d truncations rejected\n", checked);
    free(buf);
    unlink(path);
    unlink(cut);
}

TEST_MAIN("model_io", T(save_then_load_gives_bit_identical_embeddings),
          T(missing_wrong_shape_unexpected_and_configless_files_are_rejected),
          T(every_truncation_of_a_model_file_is_an_error_not_a_crash))
