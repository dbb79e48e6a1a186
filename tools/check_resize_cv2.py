#!/usr/bin/env python3
"""cv2.resize(image, (ow, oh)) (INTER_LINEAR, the official demo's resize) for tests/test_demo.c.

Reads IN: a sequence of cases, each int32 w, h, ow, oh (little-endian) then h*w*3 uint8 RGB
bytes; writes OUT: for each case the oh*ow*3 bytes cv2 returns. The test compares them with
viclip's --interp bilinear (vc_resize_rgb_u8 with VC_INTERP_BILINEAR) byte for byte.
Usage: /usr/bin/python3 tools/check_resize_cv2.py IN OUT      (needs python3-opencv)
"""
import struct
import sys

import cv2
import numpy as np


def main():
    data = open(sys.argv[1], "rb").read()
    out, pos = [], 0
    while pos < len(data):
        w, h, ow, oh = struct.unpack_from("<4i", data, pos)
        pos += 16
        img = np.frombuffer(data, np.uint8, h * w * 3, pos).reshape(h, w, 3)
        pos += h * w * 3
        out.append(cv2.resize(img, (ow, oh)).tobytes())
    open(sys.argv[2], "wb").write(b"".join(out))
    print(f"cv2 {cv2.__version__}: {len(out)} cases")


if __name__ == "__main__":
    main()
