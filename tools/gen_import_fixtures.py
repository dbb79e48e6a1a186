#!/usr/bin/python3
"""Writes the checkpoint-import fixtures for tests/test_import.c into tests/fixtures/import/.

  /usr/bin/python3 tools/gen_import_fixtures.py [--out tests/fixtures/import]

A micro ViCLIP (the reference of tools/viclip_ref.py, random weights, seed 1) and a micro
OpenAI/OpenCLIP-style image CLIP, saved the ways users bring checkpoints:

  viclip_zip.pth         torch.save({'model': sd}, f)                (zip format, the default)
  clip_hf_transformers.safetensors  the image CLIP as Hugging Face transformers' CLIPModel saves it
  viclip_train_ckpt.pth  a training checkpoint as ViCLIP writes it: the weights plus optimizer,
                         scheduler, scaler, an EasyDict-like config object, a numpy scalar and
                         an argparse.Namespace (classes the reader must not run)
  viclip_legacy.pth      torch.save(sd, f, _use_new_zipfile_serialization=False)  (bare state dict)
  viclip_f16.pth         {'model': sd in float16}, zip; one weight stored transposed
                         (non-contiguous strides) and ln_1 weight+bias of vision block 0 sharing
                         one storage (the bias at a non-zero storage offset)
  viclip_hf.safetensors  the same names, float32, no config metadata (like the '-hf' files)
  clip_sd.pt             OpenCLIP-style state dict (visual.*, transformer.*, logit_scale, ...), zip
  clip.safetensors       the same tensors as safetensors
  clip_jit.pt            a TorchScript archive (torch.jit.trace) of a module tree with the same
                         attribute names, like OpenAI's released .pt files (attn_mask attributes
                         on the text blocks as OpenAI's model has)
  expected.safetensors   inputs and reference outputs:
     input.video [2,T,3,H,W], input.text [2,ctx] (int32)
     viclip.video_emb / viclip.text_emb          ViCLIPRef forward of the micro ViCLIP
     clip.video_emb / clip.text_emb              ViCLIPRef forward of the CLIP inflated by hand
                                                 (conv1 unsqueezed, zero temporal, text positions
                                                 truncated to ctx, temp 0.01), T frames
     temporal.up5 / temporal.down2               F.interpolate(mode='linear', align_corners=False)
                                                 of the micro temporal embedding to 5 and 2 frames
     pos.src2, pos.g3, pos.g4                    F.interpolate(mode='bicubic', align_corners=False)
     pos.src3, pos.g2                            of [1+g^2, W] grids (class row kept), as ViCLIP's
                                                 load_state_dict does it
Everything is float32 except input.text. Deterministic; total well under 300 KB.
"""

import argparse
import collections
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import viclip_ref as ref  # noqa: E402

MICRO = ref.Config(image_size=8, patch_size=4, num_frames=3, vision_width=8, vision_layers=2,
                   vision_heads=2, embed_dim=8, context_length=6, vocab_size=20, text_width=8,
                   text_layers=1, text_heads=2)
CLIP_CONTEXT = 10  # the CLIP text tower has more positions than ViCLIP uses (77 vs 32 for real)


def make_inputs(cfg, g):
    video = torch.randn(2, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g)
    text = torch.zeros(2, cfg.context_length, dtype=torch.int32)
    for i, n in enumerate([4, cfg.context_length]):
        text[i, 0] = cfg.vocab_size - 2
        text[i, 1:n - 1] = torch.randint(1, cfg.vocab_size - 3, (n - 2,), generator=g, dtype=torch.int32)
        text[i, n - 1] = cfg.vocab_size - 1
    return video, text


def encode(model, video, text):
    with torch.no_grad():
        return model.encode_video(video).float(), model.encode_text(text.long()).float()


def viclip_to_clip(sd, g):
    """The image-CLIP state dict a ViCLIP was (notionally) inflated from: OpenAI/OpenCLIP names."""
    out = collections.OrderedDict()
    for k, v in sd.items():
        if k == "temp" or k.endswith("temporal_positional_embedding"):
            continue
        if k == "vision_encoder.conv1.weight":
            v = v[:, :, 0]  # [W,3,1,p,p] -> [W,3,p,p]
        if k.startswith("vision_encoder."):
            out["visual." + k[len("vision_encoder."):]] = v.clone()
        elif k == "text_encoder.positional_embedding":
            extra = torch.randn(CLIP_CONTEXT - v.shape[0], v.shape[1], generator=g)
            out["positional_embedding"] = torch.cat([v, extra]).contiguous()
        else:
            out[k[len("text_encoder."):]] = v.clone()
    out["logit_scale"] = torch.tensor(4.6052)
    return out


def clip_to_hf_transformers(clip_sd):
    """The same CLIP as Hugging Face transformers' CLIPModel stores it: q/k/v projections apart,
    Linear-style [E, W] projections, its own names, int64 position_ids buffers."""
    out = collections.OrderedDict()
    layer_names = {"attn.out_proj.": "self_attn.out_proj.", "ln_1.": "layer_norm1.", "ln_2.": "layer_norm2.",
                   "mlp.c_fc.": "mlp.fc1.", "mlp.c_proj.": "mlp.fc2."}
    top = {"visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
           "visual.class_embedding": "vision_model.embeddings.class_embedding",
           "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
           "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
           "positional_embedding": "text_model.embeddings.position_embedding.weight",
           "logit_scale": "logit_scale"}
    for k, v in clip_sd.items():
        if k in top:
            out[top[k]] = v.clone()
        elif k == "visual.proj":
            out["visual_projection.weight"] = v.t().contiguous()
        elif k == "text_projection":
            out["text_projection.weight"] = v.t().contiguous()
        elif k.startswith("visual.ln_pre.") or k.startswith("visual.ln_post."):
            which = "pre_layrnorm" if "ln_pre" in k else "post_layernorm"
            out[f"vision_model.{which}.{k.rsplit('.', 1)[1]}"] = v.clone()
        elif k.startswith("ln_final."):
            out[f"text_model.final_layer_norm.{k.rsplit('.', 1)[1]}"] = v.clone()
        else:
            tower = "vision_model" if k.startswith("visual.") else "text_model"
            rest = k[len("visual.transformer.resblocks."):] if tower == "vision_model" else k[len("transformer.resblocks."):]
            i, inner = rest.split(".", 1)
            base = f"{tower}.encoder.layers.{i}."
            if inner.startswith("attn.in_proj_"):
                kind = inner[len("attn.in_proj_"):]
                for name, part in zip("qkv", v.chunk(3, dim=0)):
                    out[f"{base}self_attn.{name}_proj.{kind}"] = part.clone().contiguous()
                continue
            for a, b in layer_names.items():
                if inner.startswith(a):
                    out[base + b + inner[len(a):]] = v.clone()
                    break
            else:
                raise KeyError(k)
    vis_rows = clip_sd["visual.positional_embedding"].shape[0]
    out["vision_model.embeddings.position_ids"] = torch.arange(vis_rows).unsqueeze(0)
    out["text_model.embeddings.position_ids"] = torch.arange(clip_sd["positional_embedding"].shape[0]).unsqueeze(0)
    return out


def inflate_by_hand(clip_sd, cfg):
    """ViCLIP's initialisation from an image CLIP, written out independently of the C code."""
    sd = collections.OrderedDict()
    for k, v in clip_sd.items():
        if k == "logit_scale":
            continue
        if k.startswith("visual."):
            name = "vision_encoder." + k[len("visual."):]
            if name == "vision_encoder.conv1.weight":
                v = v.unsqueeze(2)
            sd[name] = v
        elif k == "positional_embedding":
            sd["text_encoder.positional_embedding"] = v[:cfg.context_length]
        else:
            sd["text_encoder." + k] = v
    sd["vision_encoder.temporal_positional_embedding"] = torch.zeros(1, cfg.num_frames, cfg.vision_width)
    sd["temp"] = torch.tensor(0.01)
    return sd


# --- a module tree with OpenAI CLIP's attribute names, for the TorchScript archive -----------

class Block(nn.Module):
    def __init__(self, w, heads, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(w, heads)
        self.ln_1 = nn.LayerNorm(w)
        self.mlp = nn.Sequential(collections.OrderedDict(
            [("c_fc", nn.Linear(w, 4 * w)), ("gelu", nn.GELU()), ("c_proj", nn.Linear(4 * w, w))]))
        self.ln_2 = nn.LayerNorm(w)
        self.attn_mask = attn_mask


class Tower(nn.Module):
    def __init__(self, w, layers, heads, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(w, heads, attn_mask) for _ in range(layers)])


class Visual(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, p = cfg.vision_width, cfg.patch_size
        self.conv1 = nn.Conv2d(3, w, p, p, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.positional_embedding = nn.Parameter(torch.zeros(cfg.grid ** 2 + 1, w))
        self.ln_pre = nn.LayerNorm(w)
        self.transformer = Tower(w, cfg.vision_layers, cfg.vision_heads)
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Parameter(torch.zeros(w, cfg.embed_dim))


class ClipLike(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.visual = Visual(cfg)
        mask = torch.full((CLIP_CONTEXT, CLIP_CONTEXT), float("-inf")).triu_(1)
        self.transformer = Tower(cfg.text_width, cfg.text_layers, cfg.text_heads, mask)
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.zeros(CLIP_CONTEXT, cfg.text_width))
        self.ln_final = nn.LayerNorm(cfg.text_width)
        self.text_projection = nn.Parameter(torch.zeros(cfg.text_width, cfg.embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]))

    def forward(self, x):
        # Touches every parameter so tracing is trivially valid; the archive keeps them all anyway.
        return x + sum(p.sum() for p in self.parameters())


def save_jit(clip_sd, cfg, path):
    m = ClipLike(cfg)
    missing, unexpected = m.load_state_dict(clip_sd, strict=True), None
    del missing, unexpected
    traced = torch.jit.trace(m, torch.zeros(1))
    traced.save(path)


class EasyDictLike(dict):
    """Pickles as EasyDict does (a dict subclass whose attributes mirror its items)."""

    def __init__(self, d=None):
        super().__init__()
        for k, v in (d or {}).items():
            setattr(self, k, EasyDictLike(v) if isinstance(v, dict) else v)

    def __setattr__(self, k, v):
        super().__setattr__(k, v)
        self[k] = v


def training_checkpoint(sd):
    """What ViCLIP's training loop saves: the weights next to optimizer, scheduler and scaler
    state, the run's config object (an EasyDict), epoch and step; plus a numpy scalar and an
    argparse.Namespace, both common in checkpoints. A reader must take the weights and leave the
    rest alone."""
    import argparse as ap_mod

    import numpy as np
    params = [torch.nn.Parameter(v.clone()) for v in list(sd.values())[:2]]
    opt = torch.optim.AdamW(params, lr=1e-3)
    sum(p.sum() for p in params).backward()
    opt.step()
    config = EasyDictLike({"model": {"vision_encoder": {"name": "vit_b16", "num_frames": 8}, "temp": 0.01},
                           "optimizer": {"lr": 4e-4, "betas": [0.9, 0.98]}, "batch_size": 64})
    return {"model": sd, "optimizer": opt.state_dict(), "scheduler": {"last_epoch": 3, "lr_lambdas": [None]},
            "scaler": {"scale": 65536.0, "growth_factor": 2.0}, "config": config, "epoch": 3, "global_step": 1234,
            "best_metric": np.float64(0.5), "args": ap_mod.Namespace(lr=1e-3, name="run")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "import"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda n: os.path.join(args.out, n)  # noqa: E731
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)

    cfg = MICRO
    model = ref.init_random_(ref.ViCLIPRef(cfg).float(), seed=1)
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    video, text = make_inputs(cfg, g)
    v_emb, t_emb = encode(model, video, text)

    torch.save({"model": sd}, out("viclip_zip.pth"))
    torch.save(training_checkpoint(sd), out("viclip_train_ckpt.pth"))
    torch.save(sd, out("viclip_legacy.pth"), _use_new_zipfile_serialization=False)
    half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
    k_t = "vision_encoder.transformer.resblocks.1.mlp.c_fc.weight"
    half[k_t] = half[k_t].t().contiguous().t()  # same values, column-major strides
    assert not half[k_t].is_contiguous()
    k_w, k_b = "vision_encoder.transformer.resblocks.0.ln_1.weight", "vision_encoder.transformer.resblocks.0.ln_1.bias"
    shared = torch.cat([half[k_w], half[k_b]])
    half[k_w], half[k_b] = shared[:cfg.vision_width], shared[cfg.vision_width:]
    torch.save({"model": half}, out("viclip_f16.pth"))
    ref.write_safetensors(out("viclip_hf.safetensors"), dict(sd))

    clip_sd = viclip_to_clip(sd, g)
    torch.save(clip_sd, out("clip_sd.pt"))
    ref.write_safetensors(out("clip.safetensors"), dict(clip_sd))
    ref.write_safetensors(out("clip_hf_transformers.safetensors"), dict(clip_to_hf_transformers(clip_sd)))
    save_jit(clip_sd, cfg, out("clip_jit.pt"))
    inflated = ref.ViCLIPRef(cfg).float()
    inflated.load_state_dict(inflate_by_hand(clip_sd, cfg), strict=True)
    c_v, c_t = encode(inflated, video, text)

    temporal = sd["vision_encoder.temporal_positional_embedding"]  # [1, T, W]
    def lin(t, n):
        return F.interpolate(t.permute(0, 2, 1), n, mode="linear", align_corners=False).permute(0, 2, 1).contiguous()

    def bicubic(pos, g_out):
        g_in = int(round((pos.shape[0] - 1) ** 0.5))
        grid = pos[1:].reshape(1, g_in, g_in, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(g_out, g_out), mode="bicubic", align_corners=False)
        return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).flatten(0, 2)]).contiguous()

    pos2 = sd["vision_encoder.positional_embedding"]
    pos3 = torch.randn(10, cfg.vision_width, generator=g)
    ref.write_safetensors(out("expected.safetensors"), {
        "input.video": video.contiguous(), "input.text": text,
        "viclip.video_emb": v_emb, "viclip.text_emb": t_emb,
        "clip.video_emb": c_v, "clip.text_emb": c_t,
        "temporal.up5": lin(temporal, 5), "temporal.down2": lin(temporal, 2),
        "pos.src2": pos2.contiguous(), "pos.g3": bicubic(pos2, 3), "pos.g4": bicubic(pos2, 4),
        "pos.src3": pos3, "pos.g2": bicubic(pos3, 2),
    }, {"generator": "tools/gen_import_fixtures.py", "torch_version": torch.__version__,
        "config": cfg.to_json()})
    total = 0
    for n in sorted(os.listdir(args.out)):
        size = os.path.getsize(out(n))
        total += size
        print(f"{n:24s} {size:8d}")
    print(f"{'total':24s} {total:8d}")


if __name__ == "__main__":
    main()
