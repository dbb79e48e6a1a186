#!/usr/bin/python3
"""Generates a parity fixture for the C engine from the PyTorch reference (tools/viclip_ref.py).

  /usr/bin/python3 tools/gen_model_fixture.py                       # tests/fixtures/tiny_ref.safetensors
  /usr/bin/python3 tools/gen_model_fixture.py --config b16 --out /tmp/b16_ref.safetensors

The file is a safetensors file that is also a loadable model: every parameter is stored under its
official name (plus metadata "config"), next to inputs ("input.*"), reference outputs ("output.*")
and the loss gradient of every parameter ("grad.*").

tiny: computed in float64. Parameters and the input video are drawn, then rounded to float32
values, and stored as F32 -- lossless, and it means the float32 C build loads exactly the model
the reference ran; every computed tensor (outputs, grads) is stored as F64 (exact to ~1e-13).
b16: real ViT-B/16 shapes, computed and stored in float32 (float64 would take minutes on 2
cores); with --no-grads the file holds parameters, inputs and outputs only.
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import viclip_ref as ref  # noqa: E402

DEFAULTS = {  # config -> (batch, kept patch tokens, compute dtype)
    "tiny": (3, 16, torch.float64),
    "demo": (3, 16, torch.float64),
    "b16": (2, 157, torch.float32),  # 157 of 1568 = the official 90% masking
}


def make_text(cfg, batch, g):
    """Rows of different lengths: SOT (= vocab-2), random ids, EOT (= vocab-1, the largest id,
    which is how the text tower finds it), zeros after. Row 1 fills the whole context."""
    ctx, eot = cfg.context_length, cfg.vocab_size - 1
    lengths = [max(2, ctx // 2), ctx, max(2, ctx - 2), 2]
    text = torch.zeros(batch, ctx, dtype=torch.int32)
    for i in range(batch):
        n = lengths[i % len(lengths)]
        text[i, 0] = eot - 1
        if n > 2:
            text[i, 1:n - 1] = torch.randint(1, eot - 1, (n - 2,), generator=g, dtype=torch.int32)
        text[i, n - 1] = eot
    return text


def make_idx(batch):
    """Rows 0 and 2 share an id (two captions of one video), so targets are not the identity."""
    if batch < 3:
        return torch.arange(batch, dtype=torch.int32)
    return torch.tensor([i % 2 if i < 3 else i for i in range(batch)], dtype=torch.int32)


def finite_difference_check(model, video, text, idx, keep, grads, g, count=6):
    """Central differences of the float64 loss for a few random entries: an autograd-independent
    check of the stored gradients (float64 only)."""
    params = dict(model.named_parameters())
    names = ["temp", "vision_encoder.temporal_positional_embedding",
             "vision_encoder.transformer.resblocks.0.attn.in_proj_weight",
             "vision_encoder.conv1.weight", "text_encoder.token_embedding.weight",
             "text_encoder.transformer.resblocks.1.mlp.c_fc.bias"][:count]
    worst = 0.0
    with torch.no_grad():
        for name in names:
            p = params[name]
            flat = p.view(-1)
            if name == "text_encoder.token_embedding.weight":  # a row that is actually used
                j = int(text[0, 1]) * p.shape[1] + int(torch.randint(p.shape[1], (1,), generator=g))
            else:
                j = int(torch.randint(flat.numel(), (1,), generator=g))
            h = 1e-5
            old = flat[j].item()
            flat[j] = old + h
            lp = model.loss(video, text, idx, keep).item()
            flat[j] = old - h
            lm = model.loss(video, text, idx, keep).item()
            flat[j] = old
            fd = (lp - lm) / (2 * h)
            an = grads[name].reshape(-1)[j].item()
            err = abs(fd - an) / max(abs(an), 1e-3)
            worst = max(worst, err)
            print(f"  finite difference {name}[{j}]: autograd {an:+.9e} numeric {fd:+.9e}")
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="default tests/fixtures/<config>_ref.safetensors")
    ap.add_argument("--config", default="tiny", choices=sorted(ref.PRESETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--keep", type=int, default=None, help="patch tokens kept by the mask (K)")
    ap.add_argument("--no-grads", action="store_true", help="leave out grad.* (halves a b16 file)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.config not in DEFAULTS:
        ap.error(f"--config {args.config}: no fixture defaults (use tiny, demo or b16)")

    t0 = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    else:
        torch.set_num_threads(max(1, os.cpu_count() or 1))
    cfg = ref.PRESETS[args.config]
    batch, keep_k, dtype = DEFAULTS[args.config]
    batch = args.batch or batch
    keep_k = args.keep or keep_k
    n_tok = cfg.video_tokens
    if not 1 <= keep_k <= n_tok:
        ap.error(f"--keep {keep_k}: must be in 1..{n_tok}")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = args.out or os.path.join(repo, "tests", "fixtures", f"{args.config}_ref.safetensors")

    model = ref.ViCLIPRef(cfg)
    ref.init_random_(model, seed=args.seed)
    model = model.float().to(dtype)  # values rounded to float32 once, whatever the compute dtype
    g = torch.Generator().manual_seed(args.seed + 1)
    video = torch.randn(batch, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g)
    video = video.to(dtype)
    text = make_text(cfg, batch, g)
    keep = ref.random_keep_indices(batch, n_tok, keep_k, g)
    idx = make_idx(batch)
    t_init = time.time() - t0

    with torch.no_grad():
        vis_nomask = model.encode_video(video)
    taps = {}
    vis = model.encode_video(video, keep, taps)
    txt = model.encode_text(text)
    loss = ref.vtc_loss(vis, txt, idx, model.temp)
    model.zero_grad()
    if not args.no_grads:
        loss.backward()
    t_compute = time.time() - t0 - t_init

    store = torch.float64 if dtype == torch.float64 else torch.float32
    tensors = {name: p.detach().float() for name, p in model.named_parameters()}
    tensors["input.video"] = video.float()
    tensors["input.text"] = text
    tensors["input.keep"] = keep
    tensors["input.idx"] = idx
    tensors["output.vision_emb_nomask"] = vis_nomask.to(store)
    tensors["output.vision_emb"] = vis.detach().to(store)
    tensors["output.text_emb"] = txt.detach().to(store)
    tensors["output.loss"] = loss.detach().reshape(1).to(store)
    tensors["output.vision_tokens_after_ln_pre"] = taps["tokens_after_ln_pre"].detach().to(store)
    tensors["output.vision_block0_out"] = taps["block0_out"].detach().to(store)
    grads = {}
    if not args.no_grads:
        for name, p in model.named_parameters():
            grads[name] = p.grad.detach()
            tensors["grad." + name] = grads[name].to(store)

    meta = {
        "format": "viclip-fixture-1",
        "config": cfg.to_json(),
        "generator": f"tools/gen_model_fixture.py --config {args.config} --seed {args.seed}",
        "compute_dtype": str(dtype).replace("torch.", ""),
        "torch_version": torch.__version__,
        "sot_id": str(cfg.vocab_size - 2),
        "eot_id": str(cfg.vocab_size - 1),
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    size = ref.write_safetensors(out, tensors, meta)
    t_total = time.time() - t0

    # Read back: the stored tensors round-trip, and the file works as a model. Large (b16)
    # files check the outputs and a few parameters only, to keep memory down.
    back, back_meta = ref.read_safetensors(out)
    assert back.keys() == tensors.keys() and back_meta == meta
    small = size < 64 << 20
    names = [k for k in tensors if small or not k.startswith(("grad.", "vision_encoder.", "text_encoder."))]
    names += [] if small else ["temp", "vision_encoder.conv1.weight", "text_encoder.text_projection"]
    for k in names:
        assert back[k].dtype == tensors[k].dtype and torch.equal(back[k], tensors[k]), f"round trip {k}"
    del back
    if small:
        reloaded = ref.model_from_safetensors(out, dtype)
        with torch.no_grad():
            assert torch.equal(reloaded.encode_text(text), txt.detach()), "reloaded model differs"
        del reloaded

    nparams = sum(p.numel() for p in model.parameters())
    print(f"config {args.config}: {cfg.to_json()}")
    print(f"  {nparams} parameters, batch {batch}, video tokens {n_tok}, kept K={keep_k}, "
          f"compute {meta['compute_dtype']}, outputs stored as {'F64' if store == torch.float64 else 'F32'}")
    print(f"  text rows: {text.tolist() if cfg.context_length <= 16 else [int((r != 0).sum()) for r in text]}")
    print(f"  idx {idx.tolist()}  temp {model.temp.item():.4f}  loss {loss.item():.15g}")
    print(f"  |vision emb| {vis_nomask.norm(dim=-1).tolist()}")
    print(f"  wrote {out}: {len(tensors)} tensors, {size} bytes ({size / 2**20:.2f} MiB)")
    print(f"  time: init {t_init:.1f}s, forward+backward {t_compute:.1f}s, total {t_total:.1f}s")
    if dtype == torch.float64 and grads:
        worst = finite_difference_check(model, video, text, idx, keep, grads, g)
        print(f"  finite differences: worst relative error {worst:.2e}")
        if worst > 1e-6:
            print("ERROR: gradients disagree with finite differences", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
