/* AdamW extras for fine-tuning and balancing: layer-wise learning-rate decay and the per-tower
 * update / weight norms of a step, on known values. */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "testutil.h"
#include "train/balance.h"
#include "train/optimizer.h"

static vc_config small_config(void) {
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    c.image_size = 16, c.patch_size = 8, c.num_frames = 2;
    c.vision_width = 16, c.vision_layers = 3, c.vision_heads = 2;
    c.text_width = 16, c.text_layers = 1, c.text_heads = 2, c.embed_dim = 8, c.context_length = 8;
    c.vocab_size = 50;
    return c;
}

/* Adam's first step moves every weight by lr * scale * sign(g) (eps aside): with weights 1,
 * gradients +1 and no decay, each tensor's move shows its learning-rate scale. */
TEST(layer_decay_scales_each_video_layer_and_update_ratios_follow) {
    vc_config c = small_config();
    vc_error err;
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    CHECK(vc_model_enable_grads(m, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < m->table.total; i++) m->params[i] = 1, m->grads[i] = 1;
    vc_adamw_params ap = vc_adamw_default_params();
    ap.weight_decay = 0, ap.eps = 1e-12, ap.temp_min = 0;
    ap.lr_mult[VC_TOWER_TEXT] = 2;
    vc_adamw opt;
    CHECK(vc_adamw_init(&opt, &m->table, &ap, &err) == 0, "%s", err.msg);
    CHECK(vc_adamw_set_layer_decay(&opt, &m->table, c.vision_layers, 0.5, &err) == 0, "%s", err.msg);
    CHECK(vc_adamw_set_layer_decay(&opt, &m->table, c.vision_layers, 1.5, &err) != 0 && strstr(err.msg, "1.5"),
          "decay 1.5 accepted");
    CHECK(vc_adamw_set_layer_decay(&opt, &m->table, c.vision_layers, 0.5, &err) == 0, "%s", err.msg);
    const double lr = 0.01;
    vc_adamw_step(&opt, &m->table, m->params, m->grads, lr, 1, NULL);
    const struct { const char *name; double scale; } want[] = {
        {"vision_encoder.conv1.weight", 0.0625}, {"vision_encoder.temporal_positional_embedding", 0.0625},
        {"vision_encoder.ln_pre.bias", 0.0625}, {"vision_encoder.transformer.resblocks.0.attn.in_proj_weight", 0.125},
        {"vision_encoder.transformer.resblocks.2.mlp.c_fc.bias", 0.5}, {"vision_encoder.ln_post.weight", 1},
        {"vision_encoder.proj", 1}, {"text_encoder.transformer.resblocks.0.ln_1.weight", 2}, {"temp", 1},
    };
    double usq[3] = {0}, wsq[3] = {0};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const vc_param_info *pi = vc_param_find(&m->table, want[k].name);
        CHECK(pi, "%s", want[k].name);
        CHECK_CLOSE(1 - m->params[pi->offset], lr * want[k].scale, 2e-7, 0); /* float steps near 1 */
    }
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        for (size_t k = 0; k < pi->numel; k++) {
            double p = m->params[pi->offset + k];
            usq[pi->tower] += (1 - p) * (1 - p), wsq[pi->tower] += p * p;
        }
    }
    for (int t = 0; t < 3; t++) CHECK_CLOSE(vc_adamw_update_ratio(&opt, (vc_tower)t), sqrt(usq[t] / wsq[t]), 0, 1e-5);
    /* a frozen tower reports no movement */
    opt.p.frozen[VC_TOWER_TEXT] = 1;
    vc_adamw_step(&opt, &m->table, m->params, m->grads, lr, 1, NULL);
    CHECK(vc_adamw_update_ratio(&opt, VC_TOWER_TEXT) == 0, "frozen text moved");
    CHECK(vc_adamw_update_ratio(&opt, VC_TOWER_VISION) > 0, "vision did not move");
    vc_adamw_free(&opt);
    vc_model_free(m);
}

/* Updates proportional to the multipliers (as AdamW's are to the learning rate): text moving
 * 10x faster relative to its weights than vision; auto balance brings the ratio to the target
 * while the product of the multipliers stays put. */
TEST(auto_balance_reaches_the_target_ratio_and_keeps_the_product) {
    vc_balance b = vc_balance_new(1, 2.0, 1.0, 0.5);
    for (int step = 0; step < 400; step++) vc_balance_update(&b, 1e-3 * b.mult[0], 1e-2 * b.mult[1]);
    const double ratio = (1e-2 * b.mult[1]) / (1e-3 * b.mult[0]);
    CHECK_CLOSE(ratio, 2.0, 0, 0.02);
    CHECK_CLOSE(b.mult[0] * b.mult[1], 0.5, 0, 1e-9);
    /* off: ratios are tracked, multipliers untouched; a held tower (ratio 0) changes nothing */
    vc_balance off = vc_balance_new(0, 1, 1, 1);
    vc_balance_update(&off, 1e-3, 1e-2);
    CHECK(off.mult[0] == 1 && off.mult[1] == 1 && off.r[1] == 1e-2, "off moved");
    vc_balance_update(&b, 0, 1e-2);
    CHECK_CLOSE((1e-2 * b.mult[1]) / (1e-3 * b.mult[0]), 2.0, 0, 0.02);
    CHECK(vc_balance_hold_factor(0, 10, 4) == 0 && vc_balance_hold_factor(9, 10, 4) == 0, "held");
    CHECK_CLOSE(vc_balance_hold_factor(10, 10, 4), 0.2, 1e-12, 0);
    CHECK(vc_balance_hold_factor(14, 10, 4) == 1 && vc_balance_hold_factor(5, 0, 4) == 1, "released");
}

TEST_MAIN("optimizer", T(layer_decay_scales_each_video_layer_and_update_ratios_follow),
          T(auto_balance_reaches_the_target_ratio_and_keeps_the_product))
