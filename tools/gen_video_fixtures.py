#!/usr/bin/env python3
"""Decoder/preprocessing fixtures for tests/test_decode.c.

1. --make-videos: tiny test videos in several codecs and containers, made with the `ffmpeg` tool
   (testsrc2 pattern), into tests/fixtures/video/ (committed; a few KB each).
2. Reference clips: every video (those and, when present, the real clips in ../shared/data) is
   decoded by the `ffmpeg` tool to RGB24 (its default conversion, autorotate on, no frame-rate
   conversion), T frames are picked with an independent implementation of ViCLIP's sampling,
   and each frame is resized as the official test transform does (torchvision Resize on a uint8
   tensor: F.interpolate(float, bicubic, align_corners=False, antialias=False), clamp, round).
   Written as uint8 [T, S, S, 3] .npy plus one manifest line each (ref_manifest.tsv).
   The references depend only on the ffmpeg tool's decoding and PyTorch, never on the C code.
3. sampling_middle.tsv: 'middle' and 'demo' indices for a grid of (n, T); with --official it
   first checks them against get_frame_indices from the official video_utils.py.

Run from the repository root:  /usr/bin/python3 tools/gen_video_fixtures.py [--make-videos]
    [--official /path/to/InternVideo1/Pretrain/ViCLIP/dataset/video_utils.py]
"""
import argparse
import ast
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = "tests/fixtures/video"
SHARED = os.environ.get("VICLIP_SHARED_DATA", "../shared/data")

# name, ffmpeg arguments producing it (input pattern first)
VIDEOS = [
    # faststart (index first), so a truncated copy keeps its index but loses frames
    ("h264.mp4", "-f lavfi -i testsrc2=size=64x48:rate=10 -frames:v 30 -c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 2 -movflags +faststart"),
    ("mpeg4.avi", "-f lavfi -i testsrc2=size=72x40:rate=12 -frames:v 25 -c:v mpeg4 -q:v 5"),
    ("vp9.webm", "-f lavfi -i testsrc2=size=48x48:rate=8 -frames:v 20 -c:v libvpx-vp9 -b:v 100k -deadline realtime"),
    ("mjpeg.mkv", "-f lavfi -i testsrc2=size=48x32:rate=5 -frames:v 12 -c:v mjpeg -q:v 6"),
    # variable frame rate: keep frames 0,1,3,4,6,8,9,... of a 20 fps source, timestamps intact
    ("vfr.mp4", "-f lavfi -i testsrc2=size=48x32:rate=20 -frames:v 40 -vf select='not(eq(mod(n\\,5)\\,2))*not(eq(mod(n\\,7)\\,5))' "
                "-fps_mode vfr -c:v libx264 -preset veryfast -pix_fmt yuv420p"),
    ("one_frame.mp4", "-f lavfi -i testsrc2=size=40x30:rate=10 -frames:v 1 -c:v libx264 -pix_fmt yuv420p"),
]
FRAME_DIR = "frames"   # 12 PNGs named f1.png..f12.png (natural order differs from byte order)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def make_videos():
    os.makedirs(OUT, exist_ok=True)
    for name, args in VIDEOS:
        run(["ffmpeg", "-y", "-v", "error", *split_args(args), "-an", os.path.join(OUT, name)])
    d = os.path.join(OUT, FRAME_DIR)
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, "tmp_%d.png")
    run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=24x16:rate=4", "-frames:v", "12", tmp])
    for i in range(1, 13):
        os.replace(os.path.join(d, "tmp_%d.png" % i), os.path.join(d, "f%d.png" % i))


def split_args(s):
    out, cur, q = [], "", False
    for ch in s:
        if ch == "'":
            q = not q
        elif ch == " " and not q:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def probe(path):
    info = json.loads(run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                           "stream=width,height,nb_frames,nb_read_frames:stream_side_data=rotation", "-of", "json", path]))
    return info["streams"][0]


def decode_all(path):
    """All frames as uint8 [n, H, W, 3], displayed orientation, as the ffmpeg tool converts them."""
    if os.path.isdir(path):
        names = sorted((f for f in os.listdir(path) if f.endswith(".png")), key=lambda f: int(f[1:-4]))
        return np.concatenate([decode_all(os.path.join(path, f)) for f in names])
    size = json.loads(run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height:stream_side_data=rotation",
                           "-of", "json", path]))["streams"][0]
    w, h = size["width"], size["height"]
    rot = 0
    for sd in size.get("side_data_list", []):
        rot = int(sd.get("rotation", 0))
    if rot % 180:
        w, h = h, w
    raw = run(["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def frame_times(path):
    out = json.loads(run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "frame=best_effort_timestamp_time:stream=start_time", "-of", "json", path]))
    t0 = float(out["streams"][0].get("start_time", 0) or 0)
    return [float(f["best_effort_timestamp_time"]) - t0 for f in out["frames"]]


def middle_indices(n, T):
    """ViCLIP 'middle': midpoints (rounded down) of min(T, n) equal segments, padded with the last."""
    k = min(T, n)
    bounds = [int(i * (n / k)) for i in range(k)] + [n]
    idx = [(bounds[i] + bounds[i + 1] - 1) // 2 for i in range(k)]
    return idx + [idx[-1]] * (T - k)


def demo_indices(n, T):
    """The official demo: every (n // T)-th frame from 0; short videos padded with the last."""
    if n < T:
        return list(range(n)) + [n - 1] * (T - n)
    step = n // T
    return list(range(0, n, step))[:T]


def resize_u8(frames, S, mode="bicubic"):
    """bicubic: torchvision Resize((S, S)) on a uint8 tensor: float interpolate, clamp, round, uint8.
    bilinear: the official demo's cv2.resize(frame, (S, S)) (INTER_LINEAR), needs python3-opencv."""
    if mode == "bilinear":
        import cv2
        return np.stack([cv2.resize(np.ascontiguousarray(f), (S, S)) for f in frames])
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    y = F.interpolate(x, size=(S, S), mode=mode, align_corners=False)
    y = y.clamp(0, 255).round().to(torch.uint8)
    return y.permute(0, 2, 3, 1).contiguous().numpy()


def official_sampler(path):
    tree = ast.parse(open(path).read())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "get_frame_indices")
    scope = {"np": np, "random": __import__("random")}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), path, "exec"), scope)
    return scope["get_frame_indices"]


def write_sampling_table(official):
    rows = []
    for n in list(range(1, 41)) + [47, 63, 64, 99, 100, 101, 250, 1000, 1001, 12345]:
        for T in (1, 3, 4, 8, 16, 32):
            mid = middle_indices(n, T)
            if official:
                ref = [int(i) for i in official(T, n, sample="middle")]
                assert ref == mid, (n, T, ref, mid)
            rows.append("%d\t%d\t%s\t%s" % (n, T, ",".join(map(str, mid)), ",".join(map(str, demo_indices(n, T)))))
    with open(os.path.join(OUT, "sampling_middle.tsv"), "w") as f:
        f.write("# n\tT\tmiddle indices\tdemo indices (tools/gen_video_fixtures.py)\n")
        f.write("\n".join(rows) + "\n")
    print("sampling table: %d cases%s" % (len(rows), ", checked against the official get_frame_indices" if official else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-videos", action="store_true")
    ap.add_argument("--official", help="path to the official video_utils.py (checks the sampling formula)")
    a = ap.parse_args()
    if a.make_videos:
        make_videos()
    write_sampling_table(official_sampler(a.official) if a.official else None)
    # (manifest name, path as the C test opens it, sampling, T, S, interpolation, start, end)
    # small outputs (S = 16) keep the committed references small; example1 also at 32 and at
    # the model's 224 (every 7th row and column)
    jobs = [(n, os.path.join(OUT, n), "middle", 8, 16, "bicubic", -1, -1) for n, _ in VIDEOS]
    jobs += [(FRAME_DIR, os.path.join(OUT, FRAME_DIR), "middle", 8, 16, "bicubic", -1, -1),
             ("h264.mp4", os.path.join(OUT, "h264.mp4"), "demo", 8, 16, "bilinear", -1, -1),
             ("vfr.mp4", os.path.join(OUT, "vfr.mp4"), "middle", 4, 16, "bicubic", 0.42, 1.31)]
    if os.path.isdir(SHARED):
        for n in ["example1.mp4", "videos/bikes.mp4", "videos/unordered.mov", "videos/rotation_0.mov",
                  "videos/rotation_90.mov", "videos/rotation_180.mov", "videos/rotation_270.mov"]:
            jobs.append((os.path.basename(n), "SHARED/" + n, "middle", 8, 16, "bicubic", -1, -1))
        jobs.append(("example1.mp4", "SHARED/example1.mp4", "middle", 8, 32, "bicubic", -1, -1))
        jobs.append(("example1.mp4", "SHARED/example1.mp4", "demo", 8, 16, "bicubic", -1, -1))
        jobs.append(("bikes.mp4", "SHARED/videos/bikes.mp4", "middle", 8, 16, "bicubic", 2.0, 4.5))
        jobs.append(("example1.mp4", "SHARED/example1.mp4", "middle", 8, 224, "bicubic", -1, -1))
    lines = ["# name\tpath\tsampling\tT\tS\tinterp\tstart\tend\tframes_in_clip\tindices\treference .npy\tnote"]
    for name, path, mode, T, S, interp, start, end in jobs:
        real = path.replace("SHARED", SHARED)
        frames = decode_all(real)
        n_all = len(frames)
        if not os.path.isdir(real):
            counted = int(probe(real)["nb_read_frames"])
            assert counted == n_all, (path, counted, n_all)
        if start >= 0:
            t = frame_times(real)
            assert len(t) == n_all
            keep = [i for i, x in enumerate(t) if x >= start - 1e-6 and x < end - 1e-6]
            frames = frames[keep]
        n = len(frames)
        idx = middle_indices(n, T) if mode == "middle" else demo_indices(n, T)
        ref = resize_u8(frames[idx], S, interp)
        note = ""
        if S > 64:   # keep fixtures small: every 7th row and column of the S x S output
            ref = ref[:, ::7, ::7, :]
            note = "stride7"
        tag = "%s_%s_%s_%d%s" % (name.replace(".", "_"), mode, interp, S, "_range" if start >= 0 else "")
        np.save(os.path.join(OUT, "ref_%s.npy" % tag), np.ascontiguousarray(ref))
        lines.append("\t".join([name, path, mode, str(T), str(S), interp, "%g" % start, "%g" % end, str(n),
                                ",".join(map(str, idx)), "ref_%s.npy" % tag, note or "-"]))
        print("%-22s %-7s S=%-3d n=%-4d idx=%s" % (name, mode, S, n, idx))
    with open(os.path.join(OUT, "ref_manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
