#!/usr/bin/python3
"""viclip's video preprocessing against an independent Python pipeline: PyAV decodes every
frame (RGB24), ViCLIP's frame sampling picks the indices, and the resize is torchvision's on a
uint8 tensor video (float32 F.interpolate bicubic, align_corners=False, no antialias, then
clamp + round back to uint8), as ViCLIP's test transform does before dividing by 255.

For each video it runs `build/viclip frames VIDEO --u8` (the resized uint8 frames the model
normalises) and compares: the frame indices (viclip prints them), and the pixels: max and mean
absolute difference in uint8 levels and the share of values more than 1 level apart.

Videos: ../shared/data/example1.mp4, the decodable files of ../shared/data/videos, and clips
generated here with the ffmpeg tool in several codecs and containers (h264/mp4, hevc/mkv,
mpeg4/avi, vp9/webm, mjpeg/mkv, a variable-frame-rate mp4, a 1-frame mp4, yuv444p h264).
Display-matrix rotation (the rotation_*.mov files): PyAV does not apply it, so the reference
applies the rotation ffprobe reports, turning the frame as ffmpeg's autorotate would.

  /usr/bin/python3 tools/check_frames_pyav.py [--size 224] [--tolerance 1] [VIDEO...]

Exit status 1 if any video's frame indices differ or any pixel differs by more than
--tolerance levels. Needs python3-av and python3-torch (Debian) and, for the generated clips
and rotations, the ffmpeg/ffprobe tools.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import av
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VICLIP = os.path.join(ROOT, "build", "viclip")


def middle_indices(n, T):
    """ViCLIP's get_frame_indices(sample='middle'), padded with the last index when n < T."""
    segs = min(T, n)
    bounds = np.linspace(0, n, segs + 1).astype(int)
    idx = [(int(bounds[i]) + int(bounds[i + 1]) - 1) // 2 for i in range(segs)]
    return idx + [idx[-1]] * (T - len(idx))


def demo_indices(n, T):
    """The official demo's frames2tensor: step = n // T, frames 0, step, 2 step, ..."""
    step = max(n // T, 1)
    idx = list(range(0, n, step))[:T]
    return idx + [idx[-1]] * (T - len(idx))


def probe(path):
    """(rotation, colour matrix) from ffprobe: the degrees the picture turns clockwise for
    display (ffmpeg's autorotate) and the stream's tagged YUV matrix."""
    if not shutil.which("ffprobe"):
        return 0, "unknown"
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path],
                         capture_output=True, text=True).stdout
    for s in json.loads(out or "{}").get("streams", []):
        rot = 0
        for sd in s.get("side_data_list", []):
            if "rotation" in sd:
                rot = int(round(-float(sd["rotation"]))) % 360
        if not rot and "rotate" in s.get("tags", {}):
            rot = int(s["tags"]["rotate"]) % 360
        return rot, s.get("color_space", "unknown")
    return 0, "unknown"


def decode_all(path, matrix):
    """Every frame as RGB24. PyAV converts with BT.601 unless told otherwise; viclip (like the
    ffmpeg tool) uses the matrix the stream is tagged with, so the reference is told it too."""
    src = {"bt709": "ITU709", "smpte240m": "SMPTE240M", "fcc": "FCC"}.get(matrix)
    with av.open(path) as c:
        frames = [f.reformat(format="rgb24", src_colorspace=src).to_ndarray() if src else f.to_ndarray(format="rgb24")
                  for f in c.decode(video=0)]
    return frames


def reference(path, T, S, sampling):
    rot, matrix = probe(path)
    frames = decode_all(path, matrix)
    if rot:
        k = {90: -1, 180: 2, 270: 1}[rot]  # np.rot90 turns counter-clockwise for positive k
        frames = [np.ascontiguousarray(np.rot90(f, k)) for f in frames]
    idx = (middle_indices if sampling == "middle" else demo_indices)(len(frames), T)
    video = torch.from_numpy(np.stack([frames[i] for i in idx])).permute(0, 3, 1, 2)  # [T,3,H,W] uint8
    x = F.interpolate(video.float(), size=(S, S), mode="bicubic", align_corners=False)
    x = x.clamp(0, 255).round().to(torch.uint8)
    return idx, x.permute(0, 2, 3, 1).numpy(), len(frames), rot


def viclip_frames(path, T, S, sampling, out):
    r = subprocess.run([VICLIP, "frames", path, "--frames", str(T), "--size", str(S), "--sampling", sampling,
                        "--u8", "--out", out], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr.strip() or r.stdout.strip())
    line = [l for l in r.stdout.splitlines() if l.startswith("frames (")][0]
    idx = [int(v) for v in line.split(":", 1)[1].split()]
    return idx, np.load(out)


def generate(tmp):
    """Test clips made with the ffmpeg tool: (path, what)."""
    if not shutil.which("ffmpeg"):
        return []
    src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3"]
    made = []
    specs = [
        ("h264.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "h264 yuv420p in mp4"),
        ("h264_444.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv444p"], "h264 yuv444p in mp4"),
        ("hevc.mkv", ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"], "hevc in mkv"),
        ("mpeg4.avi", ["-c:v", "mpeg4", "-q:v", "3"], "mpeg4 in avi"),
        ("vp9.webm", ["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime"], "vp9 in webm"),
        ("mjpeg.mkv", ["-c:v", "mjpeg", "-q:v", "3"], "mjpeg in mkv"),
    ]
    for name, args, what in specs:
        path = os.path.join(tmp, name)
        if subprocess.run(["ffmpeg", "-v", "error", "-y", *src, *args, path]).returncode == 0:
            made.append((path, what))
    vfr = os.path.join(tmp, "vfr.mp4")
    if subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=3",
                       "-vf", "select='not(mod(n\\,3))+gt(n\\,60)',setpts=N/TB/30", "-fps_mode", "vfr",
                       "-c:v", "libx264", vfr]).returncode == 0:
        made.append((vfr, "variable frame rate h264"))
    one = os.path.join(tmp, "one_frame.mp4")
    if subprocess.run(["ffmpeg", "-v", "error", "-y", *src, "-frames:v", "1", "-c:v", "libx264", one]).returncode == 0:
        made.append((one, "1 frame h264"))
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--tolerance", type=int, default=1, help="largest allowed difference in uint8 levels")
    ap.add_argument("--shared", default=os.environ.get("VICLIP_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data")))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(v, "given", "middle") for v in a.videos]
        if not a.videos:
            ex = os.path.join(a.shared, "example1.mp4")
            if os.path.exists(ex):
                cases += [(ex, "example1.mp4, mpeg4 640x480", "middle"), (ex, "example1.mp4, mpeg4 640x480", "demo")]
            vids = os.path.join(a.shared, "videos")
            if os.path.isdir(vids):
                cases += [(os.path.join(vids, f), "shared", "middle") for f in sorted(os.listdir(vids)) if f != "corrupted.mp4"]
            cases += [(p, what, "middle") for p, what in generate(tmp)]
        print(f"{'video':28} {'sampling':8} {'frames':>6} {'rot':>4} {'indices':8} {'max':>4} {'mean':>7} {'>1 lvl':>8}")
        bad = compared = 0
        worst = 0
        for path, what, sampling in cases:
            name = os.path.basename(path)
            try:
                want_idx, want, n, rot = reference(path, a.frames, a.size, sampling)
                got_idx, got = viclip_frames(path, a.frames, a.size, sampling, os.path.join(tmp, "out.npy"))
            except Exception as e:  # noqa: BLE001 - report and count as a failure
                print(f"{name:28} {sampling:8} error: {e}")
                bad += 1
                continue
            compared += 1
            same_idx = want_idx == got_idx
            if got.shape != want.shape:
                print(f"{name:28} {sampling:8} shape {got.shape} vs reference {want.shape}")
                bad += 1
                continue
            d = np.abs(got.astype(np.int16) - want.astype(np.int16))
            over = float((d > 1).mean())
            worst = max(worst, int(d.max()))
            ok = same_idx and d.max() <= a.tolerance
            bad += not ok
            print(f"{name:28} {sampling:8} {n:6d} {rot:4d} {'same' if same_idx else 'DIFFER':8} {int(d.max()):4d} "
                  f"{float(d.mean()):7.4f} {100 * over:7.3f}%" + ("" if ok else "   <-- FAIL"))
            if not same_idx:
                print(f"    viclip {got_idx}\n    ref    {want_idx}")
        print(f"compared {compared} videos at {a.size}x{a.size}: {bad} failed, worst difference {worst} level(s) "
              f"(tolerance {a.tolerance})")
        return 1 if bad or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
