#!/usr/bin/env python3
"""The official ViCLIP demo's probabilities for a tiny model, computed with PyTorch, for
tests/test_demo.c (which then runs the one `viclip classify` command and compares).

What the official demo (Data/InternVid/viclip/__init__.py and viclip.py of InternVideo) does,
written out here independently of it:
  frames:     every frame of the video; step = n // 8; frames 0, step, 2*step, ... (the first 8)
  resize:     cv2.resize(frame, (224, 224)): bilinear, whole frame, aspect ratio not kept
  normalise:  (x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
  text:       each candidate text tokenised as written (CLIP's tokenizer, no caption cleaning,
              no prompt template), context 32
  output:     softmax(100 * video_emb @ text_emb.T) of the L2-normalised embeddings

The frames are resized with cv2.resize itself (python3-opencv), as the demo does; viclip's
--interp bilinear reproduces it byte for byte (tests/test_demo.c also checks that directly).

Writes into --out (default build/tests/demo; nothing is committed):
  model.pth     the tiny model as the official checkpoints store it: torch.save({"model": state_dict})
                with the official names, temp = 0.01 (the floor the released models sit at),
                widths 64 (heads are then inferred as width/64 = 1), vocabulary 49408
  frames/       20 PNG frames, 48x36 (non-square: the resize matters)
  labels.txt    the candidate texts, one per line
  expected.tsv  text <TAB> cosine similarity <TAB> demo probability

Token ids come from tests/fixtures/tokenizer_cases.tsv (made by the official tokenizer), so no
Python tokenizer is needed. Usage: /usr/bin/python3 tools/gen_demo_fixture.py [--out DIR]
"""
import argparse
import collections
import json
import os
import struct
import sys
import zlib

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import viclip_ref as ref  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TEXTS = ["a playful dog", "A Dog Runs In The Snow.", "HELLO WORLD", "multiple    spaces"]
CFG = ref.Config(image_size=32, patch_size=8, num_frames=8, vision_width=64, vision_layers=1, vision_heads=1,
                 embed_dim=32, context_length=32, vocab_size=49408, text_width=64, text_layers=1, text_heads=1)
N_FRAMES, H, W = 20, 36, 48
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def write_png(path, rgb):
    """rgb: uint8 tensor [H, W, 3] -> an 8-bit RGB PNG (no filter)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + bytes(rgb[y].flatten().tolist()) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def token_ids():
    ids = {}
    with open(os.path.join(ROOT, "tests", "fixtures", "tokenizer_cases.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            ids.setdefault(json.loads(cols[0]), [int(x) for x in cols[2].split()])
    return torch.tensor([ids[t] for t in TEXTS])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "tests", "demo"))
    out = ap.parse_args().out
    os.makedirs(os.path.join(out, "frames"), exist_ok=True)
    torch.set_num_threads(1)

    model = ref.init_random_(ref.ViCLIPRef(CFG).float(), seed=7)
    with torch.no_grad():
        model.temp.fill_(0.01)
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    torch.save({"model": sd}, os.path.join(out, "model.pth"))

    # smooth frames with some detail, different in every frame
    g = torch.Generator().manual_seed(3)
    coarse = torch.rand(N_FRAMES, 3, 6, 8, generator=g, dtype=torch.float64)
    fine = F.interpolate(coarse, size=(H, W), mode="bicubic", align_corners=False)
    noise = torch.rand(N_FRAMES, 3, H, W, generator=g, dtype=torch.float64) * 0.25
    frames = ((fine * 0.75 + noise).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    for i in range(N_FRAMES):
        write_png(os.path.join(out, "frames", f"{i:03d}.png"), frames[i])

    step = N_FRAMES // CFG.num_frames
    picked = frames[::step][:CFG.num_frames].numpy()                           # [T, H, W, 3] RGB
    # the demo: cv2.resize(bgr[:, :, ::-1], (S, S)); the channel order does not change the resize
    resized = np.stack([cv2.resize(np.ascontiguousarray(f), (CFG.image_size, CFG.image_size)) for f in picked])
    x = torch.from_numpy(resized).permute(0, 3, 1, 2).to(torch.float64) / 255.0
    x = (x - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1)) / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1)
    video = x.to(torch.float32).unsqueeze(0)                                   # [1, T, 3, S, S]

    with torch.no_grad():
        v = F.normalize(model.encode_video(video), dim=-1)
        t = F.normalize(model.encode_text(token_ids()), dim=-1)
        sim = (v @ t.T)[0]
        prob = (100.0 * sim).softmax(dim=-1)
    with open(os.path.join(out, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in TEXTS))
    with open(os.path.join(out, "expected.tsv"), "w", encoding="utf-8") as f:
        for s, a, p in zip(TEXTS, sim.tolist(), prob.tolist()):
            f.write(f"{s}\t{a:.9g}\t{p:.9g}\n")
    print(f"wrote {out}: sampled frames {list(range(0, N_FRAMES, step))[:CFG.num_frames]}, "
          f"probabilities {[round(p, 6) for p in prob.tolist()]}")


if __name__ == "__main__":
    main()
