#!/usr/bin/python3
"""viclip's video preprocessing against an independent Python pipeline.

The reference is ViCLIP's test transform rebuilt from other parts: PyAV decodes every frame to
RGB24, ViCLIP's frame sampling ('middle': midpoints of 8 equal segments; 'demo': the official
demo's step = n // 8, first frame of each step) picks the indices, and each frame is resized
the way torchvision 0.14 resizes a uint8 tensor (float32 F.interpolate, bicubic,
align_corners=False, no antialias, clamp to [0, 255], torch.round = half to even, uint8), then
divided by 255 and normalised with the ImageNet mean/std (torchvision Normalize, float32).

For each video it runs `build/viclip frames VIDEO --sampling MODE --out X.npy` (the float32
[T, 3, S, S] the model is fed) and compares
  * the frame indices viclip prints ("frames (middle): ...") with the reference's;
  * the pixels, de-normalised to 0..255 (x * std + mean) * 255: max and mean absolute
    difference in levels and the share of values more than 1 level apart;
  * where each difference lies: both sides compute the same float32 formula (source coordinates
    and cubic weights in float32, as PyTorch's CPU kernel does) and sum in a different order,
    so they can only round differently where torch's float32 value, before rounding, is within
    summation noise of k + 1/2 (here: within TIE_EPS). "off-tie" counts the other differences:
    a decoding or resizing disagreement, which fails the check. (Float64 is no judge of ties:
    float32 source coordinates, rounded with or without FMA contraction, move values by up to
    a few 1e-3 level on sharp edges; 2.7e-3 is the largest seen here, TIE_EPS is 1e-2);
  * the normalisation: viclip's de-normalised values must be whole levels (within 0.01), and
    where the levels agree viclip's float equals torchvision's (u / 255 - mean) / std to 1e-5.

Rotation: PyAV 10 exposes no display matrix, so the reference reads the video track's tkhd
matrix (times the mvhd matrix, as FFmpeg's mov demuxer does) straight from mp4/mov files and
turns the frames as FFmpeg's autorotate would; when ffprobe is there its side-data rotation
must agree. A file whose rotation cannot be read (non-ISO container without ffprobe), that is
mirrored, or whose sources disagree is listed as not comparable instead of compared.
YUV matrix: PyAV converts with BT.601 unless told otherwise; viclip (like the ffmpeg tool)
uses the matrix the stream is tagged with, read here with ffprobe and passed to PyAV.
--assume-bt601 skips that (PyAV's default, as a pipeline that ignores the tag would): on the
BT.709-tagged rotation_*.mov clips the check must then fail with off-tie differences, which is
how tests/test_frames_pyav.c shows that the comparison can tell a decoding difference.

Videos: ../shared/data/example1.mp4, the decodable files of ../shared/data/videos (not
corrupted.mp4), and 320x240 testsrc2 clips generated with the ffmpeg tool when present (h264
in mp4, yuv444p h264, hevc in mkv, mpeg4 in avi, vp9 in webm, mjpeg in mkv, a variable frame
rate mp4, a 1-frame mp4); 'demo' sampling on example1, bikes and the generated h264 and VFR.

  /usr/bin/python3 tools/check_frames_pyav.py [--size 224] [--frames 8] [--tolerance 1]
                                              [--sampling middle|demo] [--assume-bt601] [VIDEO...]

Exit status 1 if any compared video's indices differ, any value is more than --tolerance
levels off, any difference is off a rounding tie, the normalisation is off, or nothing was
compared. The last line is "compared N videos (shared A, generated B, given C), ...".
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import av
import av.logging
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VICLIP = os.environ.get("VICLIP_BIN") or os.path.join(ROOT, "build", "viclip")  # the test passes its build's
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
TIE_EPS = 1e-2      # |torch float32 value - (k + 1/2)| below this is a rounding tie (see above)
LEVEL_EPS = 0.01    # de-normalised viclip values must be this close to whole levels
NORM_EPS = 1e-5     # viclip's float vs torchvision's where the uint8 levels agree


# ---- frame sampling (ViCLIP's get_frame_indices 'middle', the demo's frames2tensor) ----

def middle_indices(n, T):
    """Midpoints (rounded down) of min(T, n) segments cut at int(linspace(0, n, k + 1));
    fewer frames than T: padded with the last index, as viclip does."""
    segs = min(T, n)
    bounds = np.linspace(0, n, segs + 1).astype(int)
    idx = [(int(bounds[i]) + int(bounds[i + 1]) - 1) // 2 for i in range(segs)]
    return idx + [idx[-1]] * (T - len(idx))


def demo_indices(n, T):
    """The demo takes frames 0, step, 2 step, ... with step = n // T (it asserts n >= T; a
    shorter video is padded with its last frame here, as viclip does)."""
    step = max(n // T, 1)
    idx = list(range(0, n, step))[:T]
    return idx + [idx[-1]] * (T - len(idx))


# ---- rotation from the mp4/mov track header, independent of FFmpeg ----

def _boxes(data, start, end):
    """(type, payload start, box end) of the ISO-BMFF boxes in data[start:end]."""
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        head = 8
        if size == 1:
            if i + 16 > end:
                return
            size, head = struct.unpack(">Q", data[i + 8:i + 16])[0], 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            return
        yield kind, i + head, i + size
        i += size


def _matrix(data, p, v0_offset, v1_offset):
    """The 2x2 part (a, b, c, d) of a full box's 3x3 matrix, 16.16 fixed point."""
    off = p + (v1_offset if data[p] == 1 else v0_offset)
    m = struct.unpack(">9i", data[off:off + 36])
    return [m[0] / 65536, m[1] / 65536, m[3] / 65536, m[4] / 65536]


def _read_moov(path):
    """The moov box's bytes, walking the top level with seeks (mdat is never read)."""
    with open(path, "rb") as f:
        size_all = os.fstat(f.fileno()).st_size
        pos = 0
        while pos + 8 <= size_all:
            f.seek(pos)
            head = f.read(16)
            size, kind = struct.unpack(">I4s", head[:8])
            hl = 8
            if size == 1:
                size, hl = struct.unpack(">Q", head[8:16])[0], 16
            elif size == 0:
                size = size_all - pos
            if size < hl:
                return None
            if kind == b"moov":
                f.seek(pos)
                return f.read(size)
            pos += size
    return None


def tkhd_rotation(path):
    """Clockwise degrees (0/90/180/270) that show the first video track upright, or 'mirrored',
    or None when the file is not ISO-BMFF / has no video track header. FFmpeg multiplies the
    track matrix by the movie matrix and takes atan2(b, a) of the scale-normalised result."""
    try:
        moov = _read_moov(path)
    except (OSError, struct.error):
        return None
    if not moov:
        return None
    movie = [1.0, 0.0, 0.0, 1.0]
    tracks = []
    for kind, p, e in _boxes(moov, 8, len(moov)):
        if kind == b"mvhd":
            movie = _matrix(moov, p, 36, 48)
        elif kind == b"trak":
            tk, handler = None, None
            for k2, p2, e2 in _boxes(moov, p, e):
                if k2 == b"tkhd":
                    tk = _matrix(moov, p2, 40, 52)
                elif k2 == b"mdia":
                    for k3, p3, _ in _boxes(moov, p2, e2):
                        if k3 == b"hdlr":
                            handler = moov[p3 + 8:p3 + 12]
            if handler == b"vide" and tk:
                tracks.append(tk)
    if not tracks:
        return None
    a0, b0, c0, d0 = tracks[0]
    am, bm, cm, dm = movie
    a, b = a0 * am + b0 * cm, a0 * bm + b0 * dm   # row vectors: track x movie
    c, d = c0 * am + d0 * cm, c0 * bm + d0 * dm
    if a * d - b * c < 0:
        return "mirrored"
    sa, sb = math.hypot(a, c), math.hypot(b, d)
    if sa == 0 or sb == 0:
        return None
    theta = math.degrees(math.atan2(b / sb, a / sa)) % 360
    return int(round(theta / 90)) % 4 * 90


def ffprobe_stream(path):
    """(rotation clockwise or None, tagged YUV matrix or None) from ffprobe; (None, None)
    without ffprobe."""
    if not shutil.which("ffprobe"):
        return None, None
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


def orientation(path):
    """(rotation, source, YUV matrix, reason not comparable or None)."""
    from_tkhd = tkhd_rotation(path)
    from_probe, matrix = ffprobe_stream(path)
    if from_tkhd == "mirrored":
        return 0, "tkhd", matrix, "mirrored display matrix (viclip applies rotations only)"
    if from_tkhd is not None and from_probe is not None and from_tkhd != from_probe:
        return 0, "tkhd", matrix, f"rotation {from_tkhd} in tkhd but {from_probe} from ffprobe"
    if from_tkhd is not None:
        return from_tkhd, "tkhd" + ("=ffprobe" if from_probe is not None else ""), matrix, None
    if from_probe is not None:
        return from_probe, "ffprobe", matrix, None
    return 0, "-", matrix, "not mp4/mov and no ffprobe: display rotation unknown"


# ---- the reference pipeline ----

def decode_all(path, matrix):
    """Every frame, RGB24 [H, W, 3] uint8, in presentation order as PyAV's decoder gives it."""
    src = {"bt709": "ITU709", "smpte240m": "SMPTE240M", "fcc": "FCC"}.get(matrix or "")
    with av.open(path) as c:
        return [f.reformat(format="rgb24", src_colorspace=src).to_ndarray() if src else f.to_ndarray(format="rgb24")
                for f in c.decode(video=0)]


def upright(frames, rot):
    k = {0: 0, 90: -1, 180: 2, 270: 1}[rot]   # np.rot90 turns counter-clockwise for k > 0
    return [np.ascontiguousarray(np.rot90(f, k)) if k else f for f in frames]


def reference(frames, idx, S):
    """(uint8 [T, S, S, 3], float32 resize before rounding [T, S, S, 3], normalised float32 [T, 3, S, S])."""
    video = torch.from_numpy(np.stack([frames[i] for i in idx])).permute(0, 3, 1, 2)   # [T, 3, H, W] uint8
    x = F.interpolate(video.float(), size=(S, S), mode="bicubic", align_corners=False)
    u8 = x.clamp(0, 255).round().to(torch.uint8)   # torchvision's cast back for uint8 input
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    norm = (u8.float().div(255.0) - mean) / std
    return u8.permute(0, 2, 3, 1).numpy(), x.permute(0, 2, 3, 1).numpy(), norm.numpy()


def viclip_frames(path, T, S, sampling, out):
    """(indices viclip printed, its float32 [T, 3, S, S])."""
    r = subprocess.run([VICLIP, "frames", path, "--frames", str(T), "--size", str(S), "--sampling", sampling,
                        "--out", out], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr.strip() or r.stdout.strip())
    line = [l for l in r.stdout.splitlines() if l.startswith("frames (")][0]
    return [int(v) for v in line.split(":", 1)[1].split()], np.load(out)


def compare(got_x, want_u8, unrounded, want_x):
    """Statistics of viclip's float clip against the reference (see the module docstring)."""
    std = np.array(STD, np.float64).reshape(1, 3, 1, 1)
    mean = np.array(MEAN, np.float64).reshape(1, 3, 1, 1)
    levels = (got_x.astype(np.float64) * std + mean) * 255.0            # [T, 3, S, S]
    got = np.rint(levels)
    want = want_u8.transpose(0, 3, 1, 2).astype(np.float64)
    d = np.abs(got - want)
    r = unrounded.transpose(0, 3, 1, 2).astype(np.float64)
    frac = np.abs(r - np.floor(r) - 0.5)
    same = d == 0
    return {
        "max": int(d.max()), "mean": float(d.mean()), "over1": float((d > 1).mean()),
        "diffs": int((d > 0).sum()), "off_tie": int(((d > 0) & (frac > TIE_EPS)).sum()),
        "level_resid": float(np.abs(levels - got).max()),
        "norm_err": float(np.abs(got_x - want_x)[same].max()) if same.any() else 0.0,
    }


# ---- test clips ----

def generate(tmp):
    """Clips made with the ffmpeg tool, 320x240 testsrc2: [(path, description)]."""
    if not shutil.which("ffmpeg"):
        return []
    src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3"]
    specs = [
        ("h264.mp4", src + ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2"], "h264 yuv420p, mp4"),
        ("h264_444.mp4", src + ["-c:v", "libx264", "-pix_fmt", "yuv444p"], "h264 yuv444p, mp4"),
        ("hevc.mkv", src + ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"], "hevc, mkv"),
        ("mpeg4.avi", src + ["-c:v", "mpeg4", "-q:v", "3"], "mpeg4, avi"),
        ("vp9.webm", src + ["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime"], "vp9, webm"),
        ("mjpeg.mkv", src + ["-c:v", "mjpeg", "-q:v", "3"], "mjpeg yuvj, mkv"),
        # variable frame rate: every 3rd frame for 2 s, then every frame
        ("vfr.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=3", "-vf",
                     "select='not(mod(n\\,3))+gt(n\\,60)',setpts=N/TB/30", "-fps_mode", "vfr", "-c:v", "libx264"],
         "h264 variable frame rate"),
        ("one_frame.mp4", src + ["-frames:v", "1", "-c:v", "libx264"], "h264, 1 frame"),
    ]
    made = []
    for name, args, what in specs:
        path = os.path.join(tmp, name)
        if subprocess.run(["ffmpeg", "-v", "error", "-y", *args, "-an", path]).returncode == 0:
            made.append((path, what))
        else:
            print(f"note: the ffmpeg tool could not make {name}; left out")
    return made


def cases(a, tmp):
    """[(path, origin, description, sampling)]."""
    if a.videos:
        return [(v, "given", "", s) for v in a.videos for s in a.sampling]
    out = []
    ex = os.path.join(a.shared, "example1.mp4")
    if os.path.exists(ex):
        out += [(ex, "shared", "mpeg4 640x480", "middle"), (ex, "shared", "mpeg4 640x480", "demo")]
    vids = os.path.join(a.shared, "videos")
    if os.path.isdir(vids):
        for f in sorted(os.listdir(vids)):
            if f == "corrupted.mp4":   # broken on purpose: must fail to decode, nothing to compare
                continue
            out.append((os.path.join(vids, f), "shared", "", "middle"))
            if f == "bikes.mp4":
                out.append((os.path.join(vids, f), "shared", "", "demo"))
    for path, what in generate(tmp):
        out.append((path, "generated", what, "middle"))
        if os.path.basename(path) in ("h264.mp4", "vfr.mp4"):
            out.append((path, "generated", what, "demo"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--sampling", action="append", choices=["middle", "demo"],
                    help="for VIDEO arguments (repeatable; default middle)")
    ap.add_argument("--assume-bt601", action="store_true", help="ignore the stream's YUV matrix tag (negative control)")
    ap.add_argument("--tolerance", type=int, default=1, help="largest allowed difference in uint8 levels")
    ap.add_argument("--shared", default=os.environ.get("VICLIP_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data")))
    a = ap.parse_args()
    a.sampling = a.sampling or ["middle"]
    av.logging.set_level(av.logging.ERROR)   # swscale's per-frame "deprecated pixel format" notes
    if not os.access(VICLIP, os.X_OK):
        print(f"{VICLIP} is not built (make)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        decoded = {}   # path -> (upright frames, rotation, rotation source, matrix, reason)
        rows, skipped = [], []
        counts = {"shared": 0, "generated": 0, "given": 0}
        bad = worst = 0
        hdr = (f"{'video':24} {'what':24} {'mode':6} {'n':>4} {'rot':>3} {'rot from':13} {'yuv':7} {'indices':7} "
               f"{'max':>3} {'mean':>7} {'>1 lvl':>7} {'diffs':>6} {'off-tie':>7} {'norm err':>8}")
        print(f"viclip frames vs PyAV {av.__version__} + torch {torch.__version__} "
              f"(T={a.frames}, {a.size}x{a.size}, tolerance {a.tolerance} level)")
        print(hdr)
        for path, origin, what, sampling in cases(a, tmp):
            name = os.path.basename(path)
            try:
                if path not in decoded:
                    rot, rot_src, matrix, reason = orientation(path)
                    matrix = "bt601?" if a.assume_bt601 else matrix
                    frames = [] if reason else upright(decode_all(path, matrix), rot)
                    decoded[path] = (frames, rot, rot_src, matrix, reason)
                frames, rot, rot_src, matrix, reason = decoded[path]
                if reason:
                    if (name, reason) not in skipped:
                        skipped.append((name, reason))
                    continue
                if not frames:
                    raise RuntimeError("PyAV decoded no frames")
                n = len(frames)
                want_idx = (middle_indices if sampling == "middle" else demo_indices)(n, a.frames)
                want_u8, unrounded, want_x = reference(frames, want_idx, a.size)
                got_idx, got_x = viclip_frames(path, a.frames, a.size, sampling, os.path.join(tmp, "out.npy"))
                if got_x.shape != want_x.shape or got_x.dtype != np.float32:
                    raise RuntimeError(f"viclip wrote {got_x.dtype} {got_x.shape}, expected float32 {want_x.shape}")
            except Exception as e:  # noqa: BLE001 - reported and counted as a failure
                print(f"{name:24} {what[:24]:24} {sampling:6} error: {e}")
                bad += 1
                continue
            counts[origin] += 1
            s = compare(got_x, want_u8, unrounded, want_x)
            same_idx = got_idx == want_idx
            ok = (same_idx and s["max"] <= a.tolerance and s["off_tie"] == 0 and s["level_resid"] <= LEVEL_EPS
                  and s["norm_err"] <= NORM_EPS)
            bad += not ok
            worst = max(worst, s["max"])
            print(f"{name:24} {what[:24]:24} {sampling:6} {n:4d} {rot:3d} {rot_src:13} {(matrix or '?')[:7]:7} "
                  f"{'same' if same_idx else 'DIFFER':7} {s['max']:3d} {s['mean']:7.4f} {100 * s['over1']:6.3f}% "
                  f"{s['diffs']:6d} {s['off_tie']:7d} {s['norm_err']:8.1e}" + ("" if ok else "   <-- FAIL"))
            if not same_idx:
                print(f"    viclip {got_idx}\n    ref    {want_idx}")
            if s["level_resid"] > LEVEL_EPS:
                print(f"    de-normalised values are {s['level_resid']:.3g} off whole levels")
        for name, reason in skipped:
            print(f"not comparable: {name}: {reason}")
        compared = sum(counts.values())
        print(f"compared {compared} videos (shared {counts['shared']}, generated {counts['generated']}, given "
              f"{counts['given']}), {len(skipped)} not comparable: {bad} failed, worst difference {worst} level(s) "
              f"(tolerance {a.tolerance}, differences only at rounding ties)")
        return 1 if bad or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
