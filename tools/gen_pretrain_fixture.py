#!/usr/bin/python3
"""Writes the pretraining fixtures for tests/test_pretrain_parity.c, PyTorch in float64 on the
tiny config:

  tests/fixtures/mae_ref.safetensors      a VideoMAE-style step
  tests/fixtures/umt_ref.safetensors      an Unmasked Teacher step (student, head, outputs)
  tests/fixtures/umt_teacher.safetensors  its teacher (a model file)

  /usr/bin/python3 tools/gen_pretrain_fixture.py [--dir DIR] [--seed N]

MAE:
The reference is written from the description of the objective (VideoMAE: tube masking, the
encoder on visible tokens only, a decoder that puts a learned mask token at hidden positions,
per-patch normalised pixel targets with the unbiased variance and eps 1e-6, MSE on the hidden
patches only), on top of tools/viclip_ref.py's video tower:

  tokens  = video tower blocks(ln_pre([cls, patch tokens at keep]))[:, 1:]   (no ln_post)
  x       = embed(enc_norm(tokens)) at the kept positions, mask_token elsewhere, + pos
  pred    = head(norm(decoder blocks(x)))[hidden positions]
  target  = per-patch, per-channel normalised pixels of the hidden patches, (c, ky, kx) order
  loss    = mean((pred - target)^2)

UMT (Unmasked Teacher, from its description): the teacher sees every frame alone (a one-frame
clip, so ViCLIP adds its mean temporal embedding), unmasked; its features are ln_post(tokens) @
proj for every patch token, and its last block's class-token attention to the patches, averaged
over heads, ranks each frame's patches. The student keeps the top KEEP_PATCHES patches of each
frame (tokens n*T + t, ascending), and its visible tokens after LayerNorm + Linear are aligned
to the teacher's feature of the same frame and patch: loss = mean(1 - cosine).

Parameters and inputs are drawn, rounded to float32 and stored as F32 (the float C build
loads exactly what the reference ran); the loss, predictions and every gradient of the video
tower and the decoder are stored as F64.
"""

import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import viclip_ref as ref  # noqa: E402

DEC_WIDTH, DEC_DEPTH, DEC_HEADS = 8, 2, 2
BATCH, KEEP_PATCHES = 2, 4


class MAEDecoderRef(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, d, pp3 = cfg.vision_width, DEC_WIDTH, 3 * cfg.patch_size ** 2
        self.enc_norm = nn.LayerNorm(w, eps=1e-5)
        self.embed = nn.Linear(w, d)
        self.mask_token = nn.Parameter(torch.zeros(d))
        self.positional_embedding = nn.Parameter(torch.zeros(cfg.video_tokens, d))
        self.transformer = ref.Transformer(d, DEC_DEPTH, DEC_HEADS)
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, pp3)

    def forward(self, tokens, keep, masked):
        b, n = tokens.shape[0], self.positional_embedding.shape[0]
        vis = self.embed(self.enc_norm(tokens))
        x = self.mask_token.expand(b, n, -1).clone()
        x.scatter_(1, keep.long().unsqueeze(-1).expand(-1, -1, x.shape[-1]), vis)
        x = self.transformer(x + self.positional_embedding)
        hid = torch.gather(x, 1, masked.long().unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        return self.head(self.norm(hid))


def encoder_tokens(vision, video, keep):
    cls, x = vision.embed(video)
    x = torch.gather(x, 1, keep.long().unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    x = vision.transformer(vision.ln_pre(torch.cat([cls, x], dim=1)))
    return x[:, 1:]


def patch_targets(cfg, video, masked):
    """[B, M, 3*p*p]: pixels of the hidden tokens n*T+t, each channel normalised over its patch."""
    b, t, _, s, _ = video.shape
    p, g = cfg.patch_size, cfg.grid
    x = video.reshape(b, t, 3, g, p, g, p).permute(0, 3, 5, 1, 2, 4, 6)  # [B, gy, gx, T, 3, p, p]
    x = x.reshape(b, g * g * t, 3, p * p)  # token n*T + t, n = gy*g + gx
    x = (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=True, keepdim=True) + 1e-6).sqrt()
    x = x.reshape(b, g * g * t, 3 * p * p)
    return torch.gather(x, 1, masked.long().unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def tube_mask(cfg, g):
    n_patch, t = cfg.grid ** 2, cfg.num_frames
    keep, masked = [], []
    for _ in range(BATCH):
        kept = set(torch.randperm(n_patch, generator=g)[:KEEP_PATCHES].tolist())
        keep.append([n * t + f for n in range(n_patch) for f in range(t) if n in kept])
        masked.append([n * t + f for n in range(n_patch) for f in range(t) if n not in kept])
    return torch.tensor(keep, dtype=torch.int32), torch.tensor(masked, dtype=torch.int32)


def teacher_outputs(teacher, video):
    """Per frame: features [B*T, P, E] and class-token attention of the last block [B*T, P]."""
    b, t = video.shape[:2]
    frames = video.reshape(b * t, 1, *video.shape[2:])
    vis = teacher.vision_encoder
    taps = {}
    cls, x = vis.embed(frames)
    x = vis.ln_pre(torch.cat([cls, x], dim=1))
    taps["in0"] = x
    for i, blk in enumerate(vis.transformer.resblocks):
        taps[f"in{i + 1}"] = x = blk(x)
    last = vis.transformer.resblocks[-1]
    h = last.ln_1(taps[f"in{len(vis.transformer.resblocks) - 1}"])
    w = h.shape[-1]
    heads = last.attn.heads
    qkv = torch.nn.functional.linear(h, last.attn.in_proj_weight, last.attn.in_proj_bias)
    q, k = qkv[..., :w], qkv[..., w:2 * w]
    q = q.reshape(b * t, -1, heads, w // heads).transpose(1, 2) / (w // heads) ** 0.5
    k = k.reshape(b * t, -1, heads, w // heads).transpose(1, 2)
    probs = (q @ k.transpose(-2, -1)).softmax(-1)
    attention = probs[:, :, 0, 1:].mean(1)
    features = vis.ln_post(x[:, 1:]) @ vis.proj
    return features, attention


def umt_fixture(args, cfg, g):
    teacher = ref.ViCLIPRef(cfg)
    ref.init_random_(teacher, seed=args.seed + 10)
    student = ref.ViCLIPRef(cfg)
    ref.init_random_(student, seed=args.seed + 11)
    head = nn.Sequential(nn.LayerNorm(cfg.vision_width, eps=1e-5), nn.Linear(cfg.vision_width, cfg.embed_dim))
    with torch.no_grad():
        head[0].weight.copy_(1 + 0.1 * torch.randn(cfg.vision_width, generator=g, dtype=torch.float64))
        head[0].bias.copy_(0.1 * torch.randn(cfg.vision_width, generator=g, dtype=torch.float64))
        head[1].weight.copy_(torch.randn(cfg.embed_dim, cfg.vision_width, generator=g, dtype=torch.float64) * cfg.vision_width ** -0.5)
        head[1].bias.copy_(0.1 * torch.randn(cfg.embed_dim, generator=g, dtype=torch.float64))
    teacher, student, head = teacher.float().double(), student.float().double(), head.float().double()
    video = torch.randn(BATCH, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g).float().double()
    t, n_patch = cfg.num_frames, cfg.grid ** 2
    with torch.no_grad():
        features, attention = teacher_outputs(teacher, video)
    top = attention.topk(KEEP_PATCHES, dim=-1).indices.reshape(BATCH, t, KEEP_PATCHES)  # [B, T, k]
    keep = torch.tensor([sorted(int(n) * t + f for f in range(t) for n in top[b, f]) for b in range(BATCH)],
                        dtype=torch.int32)
    tokens = encoder_tokens(student.vision_encoder, video, keep)
    out = head(tokens)
    kl = keep.long()
    target = features.reshape(BATCH, t, n_patch, -1)[torch.arange(BATCH).unsqueeze(1), kl % t, kl // t]
    loss = (1 - torch.nn.functional.cosine_similarity(out, target, dim=-1)).mean()
    loss.backward()
    print(f"umt loss {loss.item():.12f}")
    tensors = {name: p.float() for name, p in student.state_dict().items()}
    names = {"0.weight": "umt_head.norm.weight", "0.bias": "umt_head.norm.bias",
             "1.weight": "umt_head.proj.weight", "1.bias": "umt_head.proj.bias"}
    for name, p in head.named_parameters():
        tensors[names[name]] = p.detach().float()
        tensors["grad." + names[name]] = p.grad.detach().clone()
    for name, p in student.named_parameters():
        if p.grad is not None:
            tensors["grad." + name] = p.grad.detach().clone()
    tensors["input.video"] = video.float()
    tensors["output.keep"] = keep
    tensors["output.teacher_features"] = features
    tensors["output.teacher_attention"] = attention
    tensors["output.loss"] = loss.detach().reshape(1)
    meta = {"config": cfg.to_json(), "format": "viclip"}
    path = os.path.join(args.dir, "umt_ref.safetensors")
    ref.write_safetensors(path, tensors, meta)
    print("wrote", path)
    path = os.path.join(args.dir, "umt_teacher.safetensors")
    ref.write_safetensors(path, {name: p.float() for name, p in teacher.state_dict().items()}, meta)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--dir", default=os.path.join(repo, "tests", "fixtures"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    cfg = ref.PRESETS["tiny"]
    model = ref.ViCLIPRef(cfg)
    ref.init_random_(model, seed=args.seed)
    dec = MAEDecoderRef(cfg)
    g = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        for name, p in dec.named_parameters():
            if name.endswith("weight") and p.dim() == 1:  # LayerNorm gains
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif p.dim() == 2 and "positional" not in name:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * p.shape[1] ** -0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    model = model.float().double()  # float32 values, float64 compute
    dec = dec.float().double()
    video = torch.randn(BATCH, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g).float().double()
    keep, masked = tube_mask(cfg, g)

    tokens = encoder_tokens(model.vision_encoder, video, keep)
    pred = dec(tokens, keep, masked)
    target = patch_targets(cfg, video, masked)
    loss = ((pred - target) ** 2).mean()
    loss.backward()
    print(f"loss {loss.item():.12f}")

    out = {}
    for name, p in model.state_dict().items():
        out[name] = p.float()
    for name, p in dec.state_dict().items():
        out["mae_decoder." + name] = p.float()
    for name, p in list(model.named_parameters()) + [("mae_decoder." + n, p) for n, p in dec.named_parameters()]:
        if p.grad is not None:
            out["grad." + name] = p.grad.detach().clone()
    out["input.video"] = video.float()
    out["input.keep"] = keep
    out["input.masked"] = masked
    out["output.pred"] = pred.detach()
    out["output.loss"] = loss.detach().reshape(1)
    meta = {"config": cfg.to_json(), "format": "viclip",
            "mae_decoder": f'{{"width":{DEC_WIDTH},"depth":{DEC_DEPTH},"heads":{DEC_HEADS}}}'}
    path = os.path.join(args.dir, "mae_ref.safetensors")
    ref.write_safetensors(path, out, meta)
    print("wrote", path)
    umt_fixture(args, cfg, g)


if __name__ == "__main__":
    main()
