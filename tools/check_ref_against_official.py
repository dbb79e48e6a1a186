#!/usr/bin/python3
"""Proves tools/viclip_ref.py computes exactly what the official ViCLIP modules compute.

Usage:
  git -C /work/.mirror/OpenGVLab+InternVideo/repo archive HEAD Data/InternVid/viclip | tar -x -C /tmp/x
  git -C /work/.mirror/OpenGVLab+InternVideo/repo archive HEAD \
      InternVideo1/Pretrain/ViCLIP/models/criterions.py | tar -x -C /tmp/x          # optional
  /usr/bin/python3 tools/check_ref_against_official.py /tmp/x/Data/InternVid/viclip \
      [--criterions /tmp/x/InternVideo1/Pretrain/ViCLIP/models/criterions.py] [--config tiny|b16]

Builds the official VisionTransformer and CLIP_TEXT at the chosen config, loads the reference's
(random) state dict into them, and compares video embeddings (without masking and with the
official random masking reproduced through the seed), text embeddings, the VTC loss (against the
official VTC_VTM_Loss.vtc_loss when --criterions is given) and all parameter gradients, in
float32 and float64. Exits non-zero on any mismatch. The official code is only imported from the
given folder, never copied into this repository.
"""

import argparse
import importlib
import math
import os
import sys
import types

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import viclip_ref as ref  # noqa: E402


# ----------------------------------------------------------------------------- shims

def _rearrange(tensor, pattern, **sizes):
    """Enough of einops.rearrange for axis patterns with (grouped) names, e.g. '(b t) n m -> (b n) t m'."""
    def parse(side):
        groups, cur, depth = [], None, 0
        for tok in side.replace("(", " ( ").replace(")", " ) ").split():
            if tok == "(":
                cur, depth = [], 1
            elif tok == ")":
                groups.append(cur)
                cur, depth = None, 0
            elif depth:
                cur.append(tok)
            else:
                groups.append([tok])
        return groups

    lhs, rhs = (parse(s) for s in pattern.split("->"))
    known = dict(sizes)
    for g, dim in zip(lhs, tensor.shape):
        unknown = [n for n in g if n not in known]
        prod = math.prod(known[n] for n in g if n in known)
        if len(unknown) > 1:
            raise ValueError(f"rearrange shim: cannot infer {unknown} in {pattern}")
        if unknown:
            known[unknown[0]] = dim // prod
    flat_l = [n for g in lhs for n in g]
    flat_r = [n for g in rhs for n in g]
    x = tensor.reshape([known[n] for n in flat_l]).permute([flat_l.index(n) for n in flat_r])
    return x.reshape([math.prod(known[n] for n in g) for g in rhs])


def install_shims():
    """einops and timm are not installed here (and PEP 668 blocks a user pip install); the
    official modules only need einops.rearrange, timm's DropPath (unused at drop_path=0) and
    the register_model decorator."""
    shims = []
    try:
        import einops  # noqa: F401
    except ImportError:
        m = types.ModuleType("einops")
        m.rearrange = _rearrange
        sys.modules["einops"] = m
        shims.append("einops")
    try:
        from timm.models.layers import DropPath  # noqa: F401
        from timm.models.registry import register_model  # noqa: F401
    except ImportError:
        timm, models = types.ModuleType("timm"), types.ModuleType("timm.models")
        layers, registry = types.ModuleType("timm.models.layers"), types.ModuleType("timm.models.registry")

        class DropPath(nn.Module):
            def __init__(self, p=0.0):
                super().__init__()
                if p > 0:
                    raise NotImplementedError("DropPath shim only supports p == 0")

            def forward(self, x):
                return x

        layers.DropPath = DropPath
        registry.register_model = lambda fn: fn
        timm.models, models.layers, models.registry = models, layers, registry
        sys.modules.update({"timm": timm, "timm.models": models, "timm.models.layers": layers,
                            "timm.models.registry": registry})
        shims.append("timm")
    return shims


def import_official(viclip_dir):
    """Imports viclip_vision / viclip_text as submodules of a synthetic package, bypassing the
    package __init__ (which pulls in cv2 and the full ViCLIP with checkpoint loading)."""
    pkg = types.ModuleType("viclip_official")
    pkg.__path__ = [os.path.abspath(viclip_dir)]
    sys.modules["viclip_official"] = pkg
    vision = importlib.import_module("viclip_official.viclip_vision")
    text = importlib.import_module("viclip_official.viclip_text")
    return vision, text


def import_official_criterions(path):
    """Imports the official criterions.py with the distributed helpers stubbed for one process."""
    models_utils = types.ModuleType("models.utils")
    models_utils.allgather_wgrad = lambda x, args: x
    dist = types.ModuleType("utils.distributed")
    dist.get_rank, dist.get_world_size = (lambda: 0), (lambda: 1)
    easy = types.ModuleType("utils.easydict")

    class EasyDict(dict):
        __getattr__ = dict.__getitem__

    easy.EasyDict = EasyDict
    for name, mod in {"models": types.ModuleType("models"), "models.utils": models_utils,
                      "utils": types.ModuleType("utils"), "utils.distributed": dist,
                      "utils.easydict": easy}.items():
        sys.modules.setdefault(name, mod)
    spec = importlib.util.spec_from_file_location("official_criterions", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------- comparison

def make_inputs(cfg, batch, seed):
    g = torch.Generator().manual_seed(seed)
    video = torch.randn(batch, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g,
                        dtype=torch.float64)
    ctx, eot = cfg.context_length, cfg.vocab_size - 1
    text = torch.zeros(batch, ctx, dtype=torch.int32)
    for i in range(batch):
        n = ctx if i == 1 else 3 + (2 * i) % (ctx - 3)  # one row fills the context
        text[i, :n - 1] = torch.randint(1, eot - 1, (n - 1,), generator=g, dtype=torch.int32)
        text[i, 0] = eot - 1  # start-of-text: second largest id
        text[i, n - 1] = eot
    idx = torch.tensor([i % 2 for i in range(batch)], dtype=torch.int32)  # rows 0 and 2 share
    return video, text, idx


def max_diff(a, b):
    return (a.double() - b.double()).abs().max().item()


def rel_diff(a, b):
    return max_diff(a, b) / max(b.double().abs().max().item(), 1e-300)


def run_check(dirs, cfg_name, dtype, batch, masking_prob, patch_text_ln, tol, seed=0):
    vision_mod, text_mod, crit_mod = dirs
    cfg = ref.PRESETS[cfg_name]
    model = ref.init_random_(ref.ViCLIPRef(cfg).to(dtype), seed=seed).eval()
    sd = model.state_dict()

    vis = vision_mod.VisionTransformer(
        input_resolution=cfg.image_size, patch_size=cfg.patch_size, width=cfg.vision_width,
        layers=cfg.vision_layers, heads=cfg.vision_heads, output_dim=cfg.embed_dim,
        kernel_size=1, num_frames=cfg.num_frames, drop_path=0.0, checkpoint_num=0, dropout=0.0)
    txt = text_mod.CLIP_TEXT(cfg.embed_dim, cfg.context_length, cfg.vocab_size, cfg.text_width,
                             cfg.text_heads, cfg.text_layers, checkpoint_num=0)
    vis, txt = vis.to(dtype).eval(), txt.to(dtype).eval()  # before loading: no rounding
    vis.load_state_dict({k[len("vision_encoder."):]: v for k, v in sd.items()
                         if k.startswith("vision_encoder.")}, strict=True)
    txt.load_state_dict({k[len("text_encoder."):]: v for k, v in sd.items()
                         if k.startswith("text_encoder.")}, strict=True)
    if patch_text_ln:
        # The official text LayerNorm upcasts its input to float32 (for fp16 training), which
        # cannot run at all with float64 weights; use plain nn.LayerNorm there instead.
        for m in txt.modules():
            if isinstance(m, text_mod.LayerNorm):
                m.forward = types.MethodType(nn.LayerNorm.forward, m)
    temp_official = nn.Parameter(sd["temp"].clone())

    video, text, idx = make_inputs(cfg, batch, seed + 1)
    video = video.to(dtype)
    results, ok = {}, True

    def record(name, a, b, limit):
        nonlocal ok
        r = rel_diff(a, b)
        results[name] = (max_diff(a, b), r)
        good = r <= limit
        ok &= good
        print(f"    {name:34s} max|diff| {max_diff(a, b):.3e}  rel {r:.3e}  {'ok' if good else 'FAIL'}")

    with torch.no_grad():
        record("video emb (no mask)", model.encode_video(video),
               vis(video.permute(0, 2, 1, 3, 4)), tol)
        record("text emb", model.encode_text(text), txt(text), tol)

    # Masked: the official draw comes from the global RNG; re-seed, record what mask_tokens
    # kept, and check the reproduced keep indices select exactly those tokens.
    captured = {}
    orig_mask = vis.mask_tokens

    def spy(inputs, masking_prob=0.0):
        out = orig_mask(inputs, masking_prob)
        captured["in"], captured["out"] = inputs, out
        return out

    vis.mask_tokens = spy
    torch.manual_seed(1234)
    keep = ref.official_keep_indices(batch, cfg.video_tokens, masking_prob)
    torch.manual_seed(1234)
    v_off = vis(video.permute(0, 2, 1, 3, 4), masking_prob=masking_prob)
    gathered = torch.gather(captured["in"], 1,
                            keep.long().unsqueeze(-1).expand(-1, -1, captured["in"].shape[-1]))
    same_tokens = torch.equal(gathered, captured["out"])
    ok &= same_tokens
    print(f"    keep indices reproduce official mask_tokens (K={keep.shape[1]}): "
          f"{'ok' if same_tokens else 'FAIL'}")
    _, ref_tokens = model.vision_encoder.embed(video)
    record("patch tokens before masking", ref_tokens, captured["in"], tol)
    v_ref = model.encode_video(video, keep)
    record("video emb (masked)", v_ref, v_off, tol)

    t_ref, t_off = model.encode_text(text), txt(text)
    loss_ref = ref.vtc_loss(v_ref, t_ref, idx, model.temp)
    if crit_mod is not None:
        crit = crit_mod.VTC_VTM_Loss(False)
        loss_off = crit.vtc_loss(v_off, t_off, idx, temp_official, all_gather=False)
        record("VTC loss vs official criterions", loss_ref.detach(), loss_off.detach(), tol)
    else:
        loss_off = ref.vtc_loss(v_off, t_off, idx, temp_official)
        record("VTC loss (official towers)", loss_ref.detach(), loss_off.detach(), tol)

    loss_ref.backward()
    loss_off.backward()
    off_grads = {"temp": temp_official.grad}
    off_grads.update({"vision_encoder." + k: p.grad for k, p in vis.named_parameters()})
    off_grads.update({"text_encoder." + k: p.grad for k, p in txt.named_parameters()})
    worst, worst_name = 0.0, ""
    for name, p in model.named_parameters():
        g_off = off_grads[name]
        num = (p.grad.double() - g_off.double()).norm().item()
        den = g_off.double().norm().item()
        r = num / den if den > 0 else num
        if r > worst:
            worst, worst_name = r, name
    good = worst <= tol
    ok &= good
    print(f"    {len(off_grads)} gradients: worst norm-wise rel diff {worst:.3e} ({worst_name}) "
          f"{'ok' if good else 'FAIL'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("viclip_dir", help="folder holding the official viclip_vision.py and viclip_text.py")
    ap.add_argument("--criterions", help="official InternVideo1/Pretrain/ViCLIP/models/criterions.py")
    ap.add_argument("--config", default="tiny", choices=sorted(ref.PRESETS))
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--masking-prob", type=float, default=0.75)
    args = ap.parse_args()

    shims = install_shims()
    if shims:
        print(f"using shims for: {', '.join(shims)}")
    vision_mod, text_mod = import_official(args.viclip_dir)
    crit_mod = import_official_criterions(args.criterions) if args.criterions else None
    dirs = (vision_mod, text_mod, crit_mod)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    ok = True
    print(f"[{args.config}] float32 (official code unmodified):")
    ok &= run_check(dirs, args.config, torch.float32, args.batch, args.masking_prob, False, 2e-5)
    print(f"[{args.config}] float64 (official text LayerNorm's float32 upcast bypassed):")
    ok &= run_check(dirs, args.config, torch.float64, args.batch, args.masking_prob, True, 1e-12)
    print("ALL MATCH" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
