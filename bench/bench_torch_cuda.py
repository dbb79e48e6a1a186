#!/usr/bin/env python3
"""PyTorch side of `make bench-cuda` (compare with bench/bench_cuda.c): tools/viclip_ref.py's
model (the official architecture, F.scaled_dot_product_attention) on the GPU, eager or
torch.compile, fp32 or bf16 (torch.autocast; fp32 master weights), random weights.

  bench_torch_cuda.py --workload video|text|train --config b16|l14 --batch N
                      [--precision bf16] [--compile] [--iters 10] [--peak-tflops 790]

  video  encode_video, no masking, torch.no_grad()
  text   encode_text of full 32-token contexts, torch.no_grad()
  train  one step: both towers forward with --masking-prob patch masking (90%), the VTC loss,
         backward, AdamW; --freeze-text keeps the text tower frozen (the official recipe)

Inputs are made on the GPU once (the masks too: drawing them is not timed). Each figure is the
median of --iters runs after warm-up, timed with torch.cuda.synchronize(). One JSON line:
ms, items/s, model TFLOP/s (matmul FLOPs as bench/bench_torch.py counts them, training
forward + backward ~ 3x forward), its fraction of --peak-tflops, and
torch.cuda.max_memory_allocated.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import viclip_ref as ref  # noqa: E402
from bench_torch import text_flops, train_flops_estimate, vision_flops  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=["video", "text", "train"])
    ap.add_argument("--config", default="b16", choices=sorted(ref.PRESETS))
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (default mode)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--masking-prob", type=float, default=0.9)
    ap.add_argument("--freeze-text", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=790.0)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"impl": "pytorch", "workload": args.workload, "skipped": "no CUDA device in torch"}))
        return 0
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ref.FUSED_ATTENTION = True
    cfg = ref.PRESETS[args.config]
    model = ref.init_random_(ref.ViCLIPRef(cfg), seed=0).float().to(dev)
    bf16 = args.precision == "bf16"
    g = torch.Generator().manual_seed(1)
    B = args.batch

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16)

    def tokens(n):
        eot = cfg.vocab_size - 1
        t = torch.randint(1, eot - 1, (n, cfg.context_length), generator=g, dtype=torch.int32)
        t[:, 0], t[:, -1] = eot - 1, eot
        return t.to(dev)

    if args.workload == "video":
        model.eval()
        video = torch.randn(B, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g).to(dev)
        fn_model = torch.compile(model.encode_video) if args.compile else model.encode_video

        def step():
            with torch.no_grad(), autocast():
                return fn_model(video)
        flops = vision_flops(cfg) * B
    elif args.workload == "text":
        model.eval()
        text = tokens(B)
        fn_model = torch.compile(model.encode_text) if args.compile else model.encode_text

        def step():
            with torch.no_grad(), autocast():
                return fn_model(text)
        flops = text_flops(cfg) * B
    else:
        model.train()
        if args.freeze_text:
            for p in model.text_encoder.parameters():
                p.requires_grad_(False)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6, weight_decay=0.02,
                                fused=True)
        kept = ref.kept_tokens(cfg, args.masking_prob)
        video = torch.randn(B, cfg.num_frames, 3, cfg.image_size, cfg.image_size, generator=g).to(dev)
        text = tokens(B)
        idx = torch.arange(B, dtype=torch.int32, device=dev)
        keep = ref.random_keep_indices(B, cfg.video_tokens, kept, g).to(dev)
        loss_fn = torch.compile(model.loss) if args.compile else model.loss

        def step():
            opt.zero_grad(set_to_none=True)
            with autocast():
                loss = loss_fn(video, text, idx, keep)
            loss.backward()
            opt.step()
            return loss
        flops = train_flops_estimate(cfg, kept) * B

    t0 = time.perf_counter()
    for _ in range(3 if args.compile else 2):
        step()
    torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({
        "impl": "pytorch-" + ("compile" if args.compile else "eager"), "workload": args.workload,
        "config": args.config, "batch": B, "precision": args.precision, "ms": round(med * 1e3, 3),
        "items_per_s": round(B / med, 2), "tflops": round(flops / med / 1e12, 2),
        "mfu": round(flops / med / 1e12 / args.peak_tflops, 4),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2), "warmup_s": round(warm, 1),
        "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
