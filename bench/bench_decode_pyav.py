#!/usr/bin/python3
"""The Python side of build/bench_decode: clips/s of 8x224x224 evaluation clips (all frames
decoded with PyAV, 'middle' sampling, torchvision-style bicubic resize on uint8, /255, ImageNet
normalisation) from one video, in one process with torch on 1 thread — what a PyTorch
DataLoader worker does per clip.
  /usr/bin/python3 bench/bench_decode_pyav.py [VIDEO] [--clips N]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from check_frames_pyav import decode_all, middle_indices  # noqa: E402

import numpy as np  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def clip(path):
    frames = decode_all(path, "unknown")
    idx = middle_indices(len(frames), 8)
    v = torch.from_numpy(np.stack([frames[i] for i in idx])).permute(0, 3, 1, 2).float()
    v = F.interpolate(v, size=(224, 224), mode="bicubic", align_corners=False).clamp(0, 255).round()
    return (v / 255 - MEAN) / STD


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?", default="../shared/data/example1.mp4")
    ap.add_argument("--clips", type=int, default=40)
    a = ap.parse_args()
    torch.set_num_threads(1)
    clip(a.video)  # warm the page cache
    t0 = time.perf_counter()
    for _ in range(a.clips):
        clip(a.video)
    print(f"PyAV + torch, 1 worker: {a.clips / (time.perf_counter() - t0):.2f} clips/s ({a.video})")


if __name__ == "__main__":
    main()
