#!/usr/bin/python3
"""PyTorch side of the ViCLIP CPU benchmark (compare with bench/bench_viclip.c).

  python3 bench/bench_torch.py --threads 2 [--config b16|tiny] [--iters 3] [--precision fp32|bf16]

Builds the architecture of tools/viclip_ref.py (same as the official ViCLIP) in float32 with
random weights (attention through F.scaled_dot_product_attention where PyTorch has it; with
--precision bf16 every forward runs under torch.autocast bfloat16) and measures, after one warm-up run, the median of --iters runs of:
  (a) video encode, batch 1 and batch 4, no masking, torch.no_grad()   -> clips/s, GFLOP/s
  (b) text encode, batch 64 full contexts                              -> captions/s
  (c) one training step: both towers forward + VTC loss + backward + AdamW step, with the
      official 90% patch masking, batch --train-batch                  -> samples/s
Peak RSS is measured per phase (the kernel's high-water mark is reset between phases through
/proc/self/clear_refs where allowed; otherwise the values are cumulative). The last line of
output is one JSON object.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import viclip_ref as ref  # noqa: E402


def transformer_flops(width, layers, tokens):
    """Matmul FLOPs of `layers` pre-LN blocks over `tokens` tokens, counting 2*M*N*K per matmul:
    QKV projection 2*L*W*3W, QK^T 2*L*L*W (all heads), PV 2*L*L*W, output projection 2*L*W*W,
    MLP 2*L*W*4W twice  ->  24*L*W^2 + 4*L^2*W per layer. LayerNorm, softmax, QuickGELU and
    residual additions (O(L*W)) are not counted. The text tower's causal mask is applied as an
    additive mask, so its score matmuls are full L*L as well."""
    return layers * (24 * tokens * width * width + 4 * tokens * tokens * width)


def vision_flops(cfg, tokens=None):
    """Matmul FLOPs to encode one clip when `tokens` patch tokens (default: all N*T) enter the
    transformer together with the class token:
      patch embedding  2 * (N*T) * (3*p*p) * W      (the Conv3d runs on every patch, masked or not)
      transformer      transformer_flops(W, layers, tokens + 1)
      projection       2 * W * E                    (class token only)"""
    n_all = cfg.video_tokens
    tokens = n_all if tokens is None else tokens
    patch = 2 * n_all * 3 * cfg.patch_size * cfg.patch_size * cfg.vision_width
    return (patch + transformer_flops(cfg.vision_width, cfg.vision_layers, tokens + 1)
            + 2 * cfg.vision_width * cfg.embed_dim)


def text_flops(cfg, ctx=None):
    """Matmul FLOPs to encode one caption of `ctx` tokens (the embedding is a gather, not counted)."""
    ctx = cfg.context_length if ctx is None else ctx
    return transformer_flops(cfg.text_width, cfg.text_layers, ctx) + 2 * cfg.text_width * cfg.embed_dim


def train_flops_estimate(cfg, kept):
    """Forward + backward ~ 3x forward matmul FLOPs (the patch embedding needs no input
    gradient, so 2x there). An estimate, for a GFLOP/s figure only."""
    patch = 2 * cfg.video_tokens * 3 * cfg.patch_size * cfg.patch_size * cfg.vision_width
    return 3 * (vision_flops(cfg, kept) - patch) + 2 * patch + 3 * text_flops(cfg)


class PeakRss:
    """Per-phase peak RSS: resets the high-water mark (writing 5 to /proc/self/clear_refs,
    Linux >= 4.0) and reads ru_maxrss afterwards."""

    def __init__(self):
        self.resettable = self._reset()

    @staticmethod
    def _reset():
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def start(self):
        if self.resettable:
            self._reset()

    @staticmethod
    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def timed(fn, iters, warmup=1, min_warmup_s=0.5):
    """Median of `iters` timed runs after at least `warmup` runs and min_warmup_s seconds of
    warm-up (small configs need many runs before thread pools and oneDNN kernels settle)."""
    t_end = time.perf_counter() + min_warmup_s
    for i in range(max(1, warmup)):
        fn()
    while time.perf_counter() < t_end:
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def random_tokens(cfg, batch, g):
    """Full-context captions: SOT, random ids, EOT (largest id) at the last position."""
    eot = cfg.vocab_size - 1
    text = torch.randint(1, eot - 1, (batch, cfg.context_length), generator=g, dtype=torch.int32)
    text[:, 0], text[:, -1] = eot - 1, eot
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--config", default="b16", choices=sorted(ref.PRESETS))
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--text-batch", type=int, default=64)
    ap.add_argument("--masking-prob", type=float, default=0.9)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="bf16: torch.autocast('cpu', bfloat16) around every forward (fp32 master weights)")
    ap.add_argument("--freeze-text", action="store_true",
                    help="train the vision tower only (the official ViCLIP default)")
    args = ap.parse_args()
    if args.threads < 1 or args.iters < 1 or args.train_batch < 1 or args.text_batch < 1:
        ap.error("--threads, --iters, --train-batch and --text-batch must be positive")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ref.FUSED_ATTENTION = True
    bf16 = args.precision == "bf16"

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    load_before = os.getloadavg()[0]  # other work on the machine skews OpenMP timings badly
    cfg = ref.PRESETS[args.config]
    rss = PeakRss()
    phase_rss = {}

    rss.start()
    model = ref.init_random_(ref.ViCLIPRef(cfg), seed=0).float()
    phase_rss["init"] = rss.peak_mb()
    g = torch.Generator().manual_seed(1)
    res = {}

    # (a) video encode, no masking
    model.eval()
    rss.start()
    with torch.no_grad(), autocast():
        for b in (1, 4):
            video = torch.randn(b, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g)
            med, times = timed(lambda: model.encode_video(video), args.iters)
            res[f"video_b{b}_clips_per_s"] = b / med
            res[f"video_b{b}_gflops"] = vision_flops(cfg) * b / med / 1e9
            print(f"video encode batch {b}: median {med * 1e3:.1f} ms "
                  f"({[round(t * 1e3, 1) for t in times]}), {b / med:.3f} clips/s, "
                  f"{res[f'video_b{b}_gflops']:.1f} GFLOP/s", flush=True)
    phase_rss["video"] = rss.peak_mb()

    # (b) text encode
    rss.start()
    with torch.no_grad(), autocast():
        text = random_tokens(cfg, args.text_batch, g)
        med, times = timed(lambda: model.encode_text(text), args.iters)
    res["text_caps_per_s"] = args.text_batch / med
    res["text_gflops"] = text_flops(cfg) * args.text_batch / med / 1e9
    print(f"text encode batch {args.text_batch}x{cfg.context_length}: median {med * 1e3:.1f} ms, "
          f"{res['text_caps_per_s']:.1f} captions/s, {res['text_gflops']:.1f} GFLOP/s", flush=True)
    phase_rss["text"] = rss.peak_mb()

    # (c) training step with masking
    rss.start()
    model.train()
    if args.freeze_text:
        for p in model.text_encoder.parameters():
            p.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6,
                            weight_decay=0.02)
    bt = args.train_batch
    kept = ref.kept_tokens(cfg, args.masking_prob)
    video = torch.randn(bt, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g)
    text = random_tokens(cfg, bt, g)
    idx = torch.arange(bt, dtype=torch.int32)

    def step():
        keep = ref.random_keep_indices(bt, cfg.video_tokens, kept, g)
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = model.loss(video, text, idx, keep)
        loss.backward()
        opt.step()
        return loss

    med, times = timed(step, args.iters)
    res["train_samples_per_s"] = bt / med
    res["train_gflops_est"] = train_flops_estimate(cfg, kept) * bt / med / 1e9
    print(f"train step batch {bt} (K={kept} of {cfg.video_tokens} patch tokens"
          f"{', text frozen' if args.freeze_text else ''}): median {med * 1e3:.1f} ms "
          f"({[round(t * 1e3, 1) for t in times]}), {bt / med:.3f} samples/s, "
          f"~{res['train_gflops_est']:.1f} GFLOP/s", flush=True)
    phase_rss["train"] = rss.peak_mb()

    summary = {
        "video_b1_clips_per_s": round(res["video_b1_clips_per_s"], 4),
        "video_b4_clips_per_s": round(res["video_b4_clips_per_s"], 4),
        "video_gflops": round(res["video_b4_gflops"], 2),
        "video_b1_gflops": round(res["video_b1_gflops"], 2),
        "text_caps_per_s": round(res["text_caps_per_s"], 3),
        "text_gflops": round(res["text_gflops"], 2),
        "train_samples_per_s": round(res["train_samples_per_s"], 4),
        "train_gflops_est": round(res["train_gflops_est"], 2),
        "train_batch": bt,
        "train_kept_tokens": kept,
        "peak_rss_mb": round(max(phase_rss.values()), 1),
        "peak_rss_per_phase_mb": {k: round(v, 1) for k, v in phase_rss.items()},
        "rss_per_phase_resettable": rss.resettable,
        "vision_gflop_per_clip": round(vision_flops(cfg) / 1e9, 3),
        "config": args.config,
        "iters": args.iters,
        "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "torch_version": torch.__version__,
        "precision": args.precision,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
