/* Checkpoint import: torch.save zip/legacy archives, TorchScript, safetensors; CLIP inflation,
 * resizing against torch's F.interpolate, WiSE-FT merging, and broken inputs.
 * Fixtures: tests/fixtures/import/ from tools/gen_import_fixtures.py (see its docstring). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle.h"
#include "io/safetensors.h"
#include "io/zip.h"
#include "model/import.h"
#include "model/model_io.h"
#include "testutil.h"

#define FIX "tests/fixtures/import/"
static const vc_import_opts MICRO_OPTS = {.vision_heads = 2, .text_heads = 2};

static vc_model *import(const char *path, const vc_import_opts *o, vc_import_report *rep) {
    vc_error err;
    vc_model *m = vc_import_file(path, o, rep, &err);
    if (!m) printf("  import %s: %s\n", path, err.msg);
    return m;
}

/* Max |a - b| over n floats of a model buffer and an expected tensor. */
static double max_diff(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > worst || d != d) worst = d != d ? INFINITY : d;
    }
    return worst;
}

static const float *expect_tensor(const vc_safetensors *st, const char *name, size_t n) {
    const vc_st_tensor *t = vc_st_find(st, name);
    if (!t || t->dtype != VC_DT_F32 || t->nbytes != n * 4) return NULL;
    return t->data; /* safetensors data is 8-aligned in our writer */
}

TEST(official_pth_layouts_load_bit_for_bit) {
    vc_error err;
    vc_safetensors *hf = vc_st_open(FIX "viclip_hf.safetensors", &err);
    CHECK(hf, "%s", err.msg);
    const char *files[] = {FIX "viclip_zip.pth", FIX "viclip_legacy.pth", FIX "viclip_hf.safetensors"};
    const char *formats[] = {"torch-zip", "torch-legacy", "safetensors"};
    for (int f = 0; f < 3; f++) {
        vc_import_report rep;
        vc_model *m = import(files[f], &MICRO_OPTS, &rep);
        CHECK(m, "%s did not load", files[f]);
        CHECK(!strcmp(rep.kind, "viclip") && !strcmp(rep.format, formats[f]), "%s: kind %s format %s", files[f], rep.kind, rep.format);
        CHECK(m->cfg.num_frames == 3 && m->cfg.image_size == 8 && m->cfg.patch_size == 4 && m->cfg.vision_layers == 2 &&
                  m->cfg.text_layers == 1 && m->cfg.context_length == 6 && m->cfg.vocab_size == 20 && m->cfg.embed_dim == 8,
              "%s: inferred config wrong", files[f]);
        CHECK(m->table.count == 51, "%d parameters", m->table.count);
        for (int i = 0; i < m->table.count; i++) {
            const vc_param_info *pi = &m->table.info[i];
            float *want = malloc(pi->numel * sizeof *want);
            int rc = vc_st_read_f32(hf, pi->name, want, pi->ndim, pi->shape, &err);
            int same = !rc && !memcmp(want, m->params + pi->offset, pi->numel * sizeof *want);
            free(want);
            CHECK(same, "%s: parameter %s differs from the reference (%s)", files[f], pi->name, rc ? err.msg : "values");
        }
        vc_model_free(m);
    }
    vc_st_close(hf);
}

/* ViCLIP's training loop saves the weights next to its EasyDict config, optimizer, scheduler and
 * scaler state; numpy scalars and argparse.Namespace are common too. The weights load exactly. */
TEST(training_checkpoint_with_config_objects_loads_the_weights_exactly) {
    vc_model *ref = import(FIX "viclip_zip.pth", &MICRO_OPTS, NULL);
    vc_import_report rep;
    vc_model *m = import(FIX "viclip_train_ckpt.pth", &MICRO_OPTS, &rep);
    CHECK(ref && m, "did not load");
    int same = m->table.total == ref->table.total && !memcmp(m->params, ref->params, m->table.total * sizeof(float));
    vc_model_free(ref), vc_model_free(m);
    CHECK(same && !strcmp(rep.kind, "viclip"), "weights differ from the plain checkpoint's (kind %s)", rep.kind);
}

TEST(fp16_checkpoint_converts_exactly_with_strided_and_shared_storages) {
    vc_error err;
    vc_import_report rep;
    vc_model *ref = import(FIX "viclip_zip.pth", &MICRO_OPTS, NULL);
    vc_model *m = import(FIX "viclip_f16.pth", &MICRO_OPTS, &rep);
    CHECK(ref && m, "load failed");
    CHECK(rep.converted_half == m->table.total, "converted %zu of %zu elements", rep.converted_half, m->table.total);
    CHECK(strstr(rep.notes, "converted to float32"), "notes do not mention the conversion: %s", rep.notes);
    for (size_t i = 0; i < m->table.total; i++)
        CHECK(m->params[i] == vc_f16_to_f32(vc_f32_to_f16(ref->params[i])), "element %zu: %g vs f16(%g)", i,
              (double)m->params[i], (double)ref->params[i]);
    (void)err;
    vc_model_free(ref), vc_model_free(m);
}

TEST(imported_models_encode_like_the_pytorch_reference) {
    vc_error err;
    vc_safetensors *ex = vc_st_open(FIX "expected.safetensors", &err);
    CHECK(ex, "%s", err.msg);
    float video[2 * 3 * 3 * 8 * 8], ve[16], te[16];
    int32_t text[12];
    int64_t vs[5] = {2, 3, 3, 8, 8}, ts[2] = {2, 6}, es[2] = {2, 8};
    CHECK(!vc_st_read_f32(ex, "input.video", video, 5, vs, &err), "%s", err.msg);
    CHECK(!vc_st_read_i32(ex, "input.text", text, 2, ts, &err), "%s", err.msg);
    const char *files[] = {FIX "viclip_zip.pth", FIX "clip_sd.pt"};
    const char *prefix[] = {"viclip", "clip"};
    for (int f = 0; f < 2; f++) {
        vc_import_opts o = MICRO_OPTS;
        o.frames = 3, o.context = 6;
        vc_model *m = import(files[f], &o, NULL);
        CHECK(m, "load");
        CHECK(!vc_model_encode_video(m, video, 2, ve, &err) && !vc_model_encode_text(m, text, 2, te, &err), "%s", err.msg);
        char n[64];
        float want[16];
        snprintf(n, sizeof n, "%s.video_emb", prefix[f]);
        CHECK(!vc_st_read_f32(ex, n, want, 2, es, &err), "%s", err.msg);
        CHECK(max_diff(ve, want, 16) < 2e-5, "%s: video embedding off by %g", files[f], max_diff(ve, want, 16));
        snprintf(n, sizeof n, "%s.text_emb", prefix[f]);
        CHECK(!vc_st_read_f32(ex, n, want, 2, es, &err), "%s", err.msg);
        CHECK(max_diff(te, want, 16) < 2e-5, "%s: text embedding off by %g", files[f], max_diff(te, want, 16));
        vc_model_free(m);
    }
    vc_st_close(ex);
}

TEST(clip_inflation_rules) {
    vc_error err;
    vc_imp_set s;
    CHECK(!vc_imp_read(FIX "clip_sd.pt", &s, &err), "%s", err.msg);
    vc_import_report rep;
    vc_model *m = vc_import_model(&s, &MICRO_OPTS, &rep, &err); /* defaults: 8 frames, context min(32, 10) */
    CHECK(m, "%s", err.msg);
    CHECK(!strcmp(rep.kind, "clip") && m->cfg.num_frames == 8 && m->cfg.context_length == 10, "frames %d ctx %d",
          m->cfg.num_frames, m->cfg.context_length);
    vc_model_free(m);
    vc_import_opts o = MICRO_OPTS;
    o.frames = 3, o.context = 6;
    m = vc_import_model(&s, &o, &rep, &err);
    CHECK(m, "%s", err.msg);
    const vc_imp_tensor *conv = vc_imp_find(&s, "visual.conv1.weight"), *tpos = vc_imp_find(&s, "positional_embedding");
    CHECK(conv && conv->ndim == 4 && tpos && tpos->shape[0] == 10, "source tensors");
    const vc_param_info *pc = vc_param_find(&m->table, "vision_encoder.conv1.weight");
    CHECK(pc->ndim == 5 && pc->shape[2] == 1 && !memcmp(m->params + pc->offset, conv->data, conv->numel * 4), "conv1 not inflated as [W,3,1,p,p]");
    const vc_param_info *pt = vc_param_find(&m->table, "vision_encoder.temporal_positional_embedding");
    for (size_t i = 0; i < pt->numel; i++) CHECK(m->params[pt->offset + i] == 0, "temporal embedding not zero");
    const vc_param_info *pp = vc_param_find(&m->table, "text_encoder.positional_embedding");
    CHECK(pp->shape[0] == 6 && !memcmp(m->params + pp->offset, tpos->data, 6 * 8 * 4), "text positions not the first 6 rows");
    CHECK(m->params[vc_param_find(&m->table, "temp")->offset] == 0.01f, "temp != 0.01");
    CHECK(rep.ignored == 1 && strstr(rep.notes, "logit_scale dropped"), "logit_scale: ignored %d, notes %s", rep.ignored, rep.notes);
    /* The same CLIP as safetensors, as a TorchScript archive and as Hugging Face transformers'
     * CLIPModel (separate q/k/v, transposed projections, other names) gives the same model. */
    const char *others[] = {FIX "clip.safetensors", FIX "clip_jit.pt", FIX "clip_hf_transformers.safetensors"};
    for (int f = 0; f < 3; f++) {
        vc_model *o2 = import(others[f], &o, &rep);
        CHECK(o2, "load %s", others[f]);
        CHECK(!memcmp(o2->params, m->params, m->table.total * sizeof *m->params), "%s differs from clip_sd.pt", others[f]);
        if (f == 1) CHECK(!strcmp(rep.format, "torchscript"), "format %s", rep.format);
        vc_model_free(o2);
    }
    vc_model_free(m);
    vc_imp_set_free(&s);
}

TEST(resizing_matches_torch_interpolate) {
    vc_error err;
    vc_safetensors *ex = vc_st_open(FIX "expected.safetensors", &err);
    CHECK(ex, "%s", err.msg);
    vc_model *m = import(FIX "viclip_zip.pth", &MICRO_OPTS, NULL);
    CHECK(m, "load");
    const float *temporal = m->p.v.temporal_emb; /* [3, 8] */
    float out[5 * 8];
    const float *up5 = expect_tensor(ex, "temporal.up5", 40), *down2 = expect_tensor(ex, "temporal.down2", 16);
    CHECK(up5 && down2, "expected tensors");
    vc_resize_temporal(temporal, 3, 8, out, 5, VC_TEMPORAL_OFFICIAL);
    CHECK(max_diff(out, up5, 40) < 1e-6, "linear 3->5 off by %g", max_diff(out, up5, 40));
    vc_resize_temporal(temporal, 3, 8, out, 2, VC_TEMPORAL_INTERPOLATE);
    CHECK(max_diff(out, down2, 16) < 1e-6, "linear 3->2 off by %g", max_diff(out, down2, 16));
    vc_resize_temporal(temporal, 3, 8, out, 2, VC_TEMPORAL_OFFICIAL);
    CHECK(!memcmp(out, temporal, 16 * 4), "official rule: fewer frames keeps the first rows");
    struct { const char *src, *dst; int gi, go; } cases[] = {{"pos.src2", "pos.g3", 2, 3}, {"pos.src2", "pos.g4", 2, 4}, {"pos.src3", "pos.g2", 3, 2}};
    for (int c = 0; c < 3; c++) {
        size_t ni = (size_t)(1 + cases[c].gi * cases[c].gi) * 8, no = (size_t)(1 + cases[c].go * cases[c].go) * 8;
        const float *src = expect_tensor(ex, cases[c].src, ni), *want = expect_tensor(ex, cases[c].dst, no);
        CHECK(src && want, "expected %s", cases[c].dst);
        float got[17 * 8];
        vc_resize_pos_embed(src, cases[c].gi, 8, got, cases[c].go);
        CHECK(max_diff(got, want, no) < 1e-6, "%s off by %g", cases[c].dst, max_diff(got, want, no));
    }
    /* Through the importer: 5 frames and 12-pixel images. */
    vc_import_opts o = MICRO_OPTS;
    o.frames = 5, o.image_size = 12;
    vc_import_report rep;
    vc_model *r = import(FIX "viclip_zip.pth", &o, &rep);
    CHECK(r && r->cfg.num_frames == 5 && r->cfg.image_size == 12, "resized import");
    CHECK(max_diff(r->p.v.temporal_emb, up5, 40) < 1e-6, "imported temporal embedding");
    CHECK(max_diff(r->p.v.pos_emb, expect_tensor(ex, "pos.g3", 80), 80) < 1e-6, "imported spatial embedding");
    CHECK(strstr(rep.notes, "bicubic") && strstr(rep.notes, "interpolated"), "notes: %s", rep.notes);
    vc_model_free(r), vc_model_free(m);
    vc_st_close(ex);
}

TEST(merge_is_the_weighted_average) {
    vc_error err;
    vc_import_opts o = MICRO_OPTS;
    o.frames = 3, o.context = 6;
    vc_model *a = import(FIX "viclip_zip.pth", &o, NULL), *a0 = import(FIX "viclip_zip.pth", &o, NULL);
    vc_model *b = import(FIX "clip_sd.pt", &o, NULL);
    CHECK(a && a0 && b, "load");
    /* Make b's shared tensors differ from a's so the average is not trivial. */
    for (size_t i = 0; i < b->table.total; i++) b->params[i] = b->params[i] * 0.5f + (float)(i % 5) * 0.01f;
    const double alpha = 0.3;
    CHECK(!vc_merge_models(a, b, alpha, 1, 1, &err), "%s", err.msg);
    for (int k = 0; k < a->table.count; k++) {
        const vc_param_info *pi = &a->table.info[k];
        int keep = !strcmp(pi->name, "temp") || !strcmp(pi->name, "vision_encoder.temporal_positional_embedding");
        for (size_t i = pi->offset; i < pi->offset + pi->numel; i++) {
            float want = keep ? a0->params[i] : (float)((1 - alpha) * a0->params[i] + alpha * b->params[i]);
            CHECK(a->params[i] == want, "%s[%zu]: %g vs %g", pi->name, i - pi->offset, (double)a->params[i], (double)want);
        }
    }
    CHECK(vc_merge_models(a, b, 1.5, 0, 0, &err) && strstr(err.msg, "alpha"), "alpha outside [0,1] accepted");
    vc_model_free(a), vc_model_free(a0), vc_model_free(b);
}

/* A set with the real B/16 and L/14 CLIP shapes (no data) infers the presets. */
static void add_shape(vc_imp_set *s, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    vc_imp_tensor *t = &s->t[s->count++];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->ndim = ndim;
    int64_t d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < ndim; i++) t->shape[i] = d[i];
    t->src_dtype = VC_DT_F16;
}

static void clip_shapes(vc_imp_set *s, int W, int p, int grid, int Wt, int E, int vl) {
    s->t = calloc(64, sizeof *s->t);
    add_shape(s, "visual.conv1.weight", 4, W, 3, p, p);
    add_shape(s, "visual.positional_embedding", 2, 1 + grid * grid, W, 0, 0);
    add_shape(s, "visual.proj", 2, W, E, 0, 0);
    add_shape(s, "token_embedding.weight", 2, 49408, Wt, 0, 0);
    add_shape(s, "positional_embedding", 2, 77, Wt, 0, 0);
    add_shape(s, "text_projection", 2, Wt, E, 0, 0);
    char n[96];
    for (int i = 0; i < vl; i++) {
        snprintf(n, sizeof n, "visual.transformer.resblocks.%d.ln_1.weight", i);
        add_shape(s, n, 1, W, 0, 0, 0);
    }
    for (int i = 0; i < 12; i++) {
        snprintf(n, sizeof n, "transformer.resblocks.%d.ln_1.weight", i);
        add_shape(s, n, 1, Wt, 0, 0, 0);
    }
}

TEST(config_inferred_from_real_clip_shapes) {
    vc_error err;
    vc_imp_set s = {0};
    vc_config c;
    clip_shapes(&s, 768, 16, 14, 512, 512, 12);
    CHECK(!vc_import_infer_config(&s, NULL, &c, NULL, &err), "%s", err.msg);
    vc_config b16 = vc_config_preset(VC_PRESET_B16);
    CHECK(!memcmp(&c, &b16, sizeof c), "B/16: heads %d/%d layers %d/%d image %d ctx %d", c.vision_heads, c.text_heads,
          c.vision_layers, c.text_layers, c.image_size, c.context_length);
    vc_imp_set_free(&s);
    clip_shapes(&s, 1024, 14, 16, 768, 768, 24);
    CHECK(!vc_import_infer_config(&s, NULL, &c, NULL, &err), "%s", err.msg);
    vc_config l14 = vc_config_preset(VC_PRESET_L14);
    CHECK(!memcmp(&c, &l14, sizeof c), "L/14: heads %d/%d layers %d/%d image %d", c.vision_heads, c.text_heads,
          c.vision_layers, c.text_layers, c.image_size);
    vc_imp_set_free(&s);
}

TEST(own_safetensors_with_extras_load_like_model_load) {
    vc_error err;
    const char *path = "tests/fixtures/tiny_ref.safetensors";
    vc_model *want = vc_model_load(path, (const char *const[]){"input.", "output.", "grad.", NULL}, &err);
    CHECK(want, "%s", err.msg);
    vc_model *bad = vc_import_file(path, NULL, NULL, &err);
    CHECK(!bad && strstr(err.msg, "unexpected tensor"), "extras accepted: %s", err.msg);
    vc_import_opts o = {.ignore_prefixes = (const char *const[]){"input.", "output.", "grad.", NULL}};
    vc_import_report rep;
    vc_model *m = vc_import_file(path, &o, &rep, &err); /* heads from the config metadata */
    CHECK(m, "%s", err.msg);
    CHECK(!memcmp(&m->cfg, &want->cfg, sizeof m->cfg), "config differs");
    CHECK(!memcmp(m->params, want->params, m->table.total * sizeof *m->params), "parameters differ");
    CHECK(rep.ignored > 0, "nothing ignored");
    vc_model_free(m), vc_model_free(want);
}

TEST(wrong_names_and_shapes_are_named) {
    vc_error err;
    vc_imp_set s;
    CHECK(!vc_imp_read(FIX "viclip_zip.pth", &s, &err), "%s", err.msg);
    vc_imp_tensor *t = NULL;
    for (int i = 0; i < s.count; i++)
        if (!strcmp(s.t[i].name, "text_encoder.ln_final.bias")) t = &s.t[i];
    CHECK(t, "fixture lacks ln_final.bias");
    strcpy(t->name, "text_encoder.ln_final.biaz");
    vc_model *m = vc_import_model(&s, &MICRO_OPTS, NULL, &err);
    CHECK(!m && strstr(err.msg, "missing tensor 'text_encoder.ln_final.bias'"), "got: %s", err.msg);
    strcpy(t->name, "text_encoder.ln_final.bias");
    t->shape[0] = 7;
    m = vc_import_model(&s, &MICRO_OPTS, NULL, &err);
    CHECK(!m && strstr(err.msg, "'text_encoder.ln_final.bias' has shape [7], expected [8]"), "got: %s", err.msg);
    t->shape[0] = 8;
    m = vc_import_model(&s, NULL, NULL, &err); /* width 8: heads cannot be inferred */
    CHECK(!m && strstr(err.msg, "heads"), "got: %s", err.msg);
    vc_imp_set_free(&s);
}

TEST(truncated_and_corrupt_archives_fail_cleanly) {
    vc_error err;
    const char *files[] = {FIX "viclip_zip.pth", FIX "viclip_legacy.pth", FIX "clip_jit.pt"};
    for (int f = 0; f < 3; f++) {
        size_t n;
        uint8_t *d = vc_test_read_file(files[f], &n);
        CHECK(d, "read %s", files[f]);
        vc_imp_set s;
        CHECK(!vc_imp_read_mem(d, n, files[f], &s, &err), "%s", err.msg);
        vc_imp_set_free(&s);
        int tried = 0;
        for (size_t cut = 0; cut < n; cut += 1 + cut / 40, tried++) {
            uint8_t *c = malloc(cut + 1);
            memcpy(c, d, cut);
            err.msg[0] = 0;
            int rc = vc_imp_read_mem(c, cut, files[f], &s, &err);
            free(c);
            CHECK(rc != 0 && err.msg[0], "%s truncated to %zu bytes was accepted", files[f], cut);
        }
        CHECK(tried > 100, "only %d truncations", tried);
        free(d);
    }
    size_t n;
    uint8_t *d = vc_test_read_file(FIX "viclip_zip.pth", &n);
    CHECK(d, "read");
    /* Break the central directory: every central header signature. */
    uint8_t *c = malloc(n);
    memcpy(c, d, n);
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(c + i, "PK\x01\x02", 4)) c[i + 3] = 9;
    vc_imp_set s;
    CHECK(vc_imp_read_mem(c, n, "cd", &s, &err) && strstr(err.msg, "central directory"), "got: %s", err.msg);
    /* A flipped data byte: CRC mismatch naming the entry. */
    memcpy(c, d, n);
    vc_zip *z = vc_zip_open_mem(c, n, "crc", &err);
    CHECK(z, "%s", err.msg);
    const vc_zip_entry *e = NULL;
    for (int i = 0; i < vc_zip_count(z); i++)
        if (!e || vc_zip_at(z, i)->size > e->size) e = vc_zip_at(z, i);
    CHECK(e && e->size > 64, "no large entry");
    size_t lh = (size_t)e->local_offset;
    c[lh + 30 + (c[lh + 26] | c[lh + 27] << 8) + (c[lh + 28] | c[lh + 29] << 8) + 33] ^= 0x40; /* a data byte */
    vc_zip_close(z);
    CHECK(vc_imp_read_mem(c, n, "crc", &s, &err) && strstr(err.msg, "CRC"), "got: %s", err.msg);
    /* A storage key missing from the archive: rename data/0 in the central directory. */
    memcpy(c, d, n);
    int renamed = 0;
    for (size_t i = 0; i + 46 + 17 <= n; i++)
        if (!memcmp(c + i, "PK\x01\x02", 4) && !memcmp(c + i + 46, "viclip_zip/data/0", 17) && c[i + 28] == 17) {
            c[i + 46 + 16] = 'Z';
            renamed = 1;
        }
    CHECK(renamed, "central entry not found");
    CHECK(vc_imp_read_mem(c, n, "missing", &s, &err) && strstr(err.msg, "storage '0' is missing"), "got: %s", err.msg);
    free(c), free(d);
}

static int pickle_error(const char *bytes, size_t n, vc_error *err) {
    vc_pickle *p = vc_pickle_load(bytes, n, "t.pkl", err);
    vc_pickle_free(p);
    return p ? 0 : -1;
}

TEST(pickle_refuses_unknown_opcodes_and_never_calls_globals) {
    vc_error err;
    static const char unknown[] = "\x80\x02}\xff.";
    CHECK(pickle_error(unknown, sizeof unknown - 1, &err) && strstr(err.msg, "byte 3") && strstr(err.msg, "opcode 0xff"), "got: %s", err.msg);
    /* posix.system('id') and os.system('id') become opaque objects naming the class: recorded, not run */
    static const char global[] = "\x80\x02" "cposix\nsystem\n" "X\x02\x00\x00\x00id\x85R.";
    static const char stack_global[] = "\x80\x04\x8c\x02os\x8c\x06system\x93X\x02\x00\x00\x00id\x85R.";
    const char *programs[2] = {global, stack_global}, *names[2] = {"posix.system", "os.system"};
    const size_t sizes[2] = {sizeof global - 1, sizeof stack_global - 1};
    for (int k = 0; k < 2; k++) {
        vc_pickle *p = vc_pickle_load(programs[k], sizes[k], "t.pkl", &err);
        CHECK(p, "%s", err.msg);
        const vc_pk_value *root = vc_pickle_root(p);
        int ok = root->kind == VC_PK_OBJECT && root->opaque && !strcmp(root->s, names[k]);
        vc_pickle_free(p);
        CHECK(ok, "%s: not an opaque object", names[k]);
    }
    static const char newobj_bad[] = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n" ")\x81.";
    CHECK(pickle_error(newobj_bad, sizeof newobj_bad - 1, &err) && strstr(err.msg, "NEWOBJ"), "got: %s", err.msg);
    static const char reduce_nonfn[] = "\x80\x02}).";  /* fine: a dict, then a tuple left: malformed stack */
    CHECK(pickle_error(reduce_nonfn, sizeof reduce_nonfn - 1, &err) && strstr(err.msg, "malformed stack"), "got: %s", err.msg);
    static const char underflow[] = "\x80\x02s.";
    CHECK(pickle_error(underflow, sizeof underflow - 1, &err) && strstr(err.msg, "underflow"), "got: %s", err.msg);
    static const char badmemo[] = "\x80\x02h\x05.";
    CHECK(pickle_error(badmemo, sizeof badmemo - 1, &err) && strstr(err.msg, "memo"), "got: %s", err.msg);
    /* A tensor reaching past its storage. */
    static const char oob[] = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n" "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n"
                              "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQK\x02K\x03\x85K\x01\x85\x89NtR.";
    CHECK(pickle_error(oob, sizeof oob - 1, &err) && strstr(err.msg, "storage '0'"), "got: %s", err.msg);
    /* Every prefix of a real data.pkl fails; the whole one loads. */
    size_t n;
    uint8_t *d = vc_test_read_file(FIX "viclip_zip.pth", &n);
    CHECK(d, "read");
    vc_zip *z = vc_zip_open_mem(d, n, "z", &err);
    CHECK(z, "%s", err.msg);
    const void *pk;
    size_t pn;
    void *owned;
    CHECK(!vc_zip_read(z, vc_zip_find(z, "viclip_zip/data.pkl"), &pk, &pn, &owned, &err), "%s", err.msg);
    for (size_t cut = 0; cut < pn; cut++) CHECK(pickle_error(pk, cut, &err), "prefix of %zu bytes accepted", cut);
    CHECK(!pickle_error(pk, pn, &err), "%s", err.msg);
    free(owned);
    vc_zip_close(z);
    free(d);
}

TEST(not_a_checkpoint) {
    vc_error err;
    vc_imp_set s;
    CHECK(vc_imp_read_mem("hello", 5, "x", &s, &err) && strstr(err.msg, "unrecognised"), "got: %s", err.msg);
    CHECK(vc_imp_read(FIX "expected.safetensors", &s, &err) == 0, "%s", err.msg);
    vc_model *m = vc_import_model(&s, &MICRO_OPTS, NULL, &err);
    CHECK(!m && strstr(err.msg, "unrecognised checkpoint"), "got: %s", err.msg);
    vc_imp_set_free(&s);
    CHECK(vc_imp_read("tests/fixtures/import/nope.pth", &s, &err) && strstr(err.msg, "cannot open"), "got: %s", err.msg);
}

TEST_MAIN("import", T(official_pth_layouts_load_bit_for_bit), T(training_checkpoint_with_config_objects_loads_the_weights_exactly),
          T(fp16_checkpoint_converts_exactly_with_strided_and_shared_storages),
          T(imported_models_encode_like_the_pytorch_reference), T(clip_inflation_rules), T(resizing_matches_torch_interpolate),
          T(merge_is_the_weighted_average), T(config_inferred_from_real_clip_shapes), T(own_safetensors_with_extras_load_like_model_load),
          T(wrong_names_and_shapes_are_named), T(truncated_and_corrupt_archives_fail_cleanly),
          T(pickle_refuses_unknown_opcodes_and_never_calls_globals), T(not_a_checkpoint))
