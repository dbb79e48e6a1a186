#!/usr/bin/env python3
"""Writes small .npy files with NumPy into tests/fixtures/ for tests/test_npy.c, which holds the
same values as exact literals. Also writes files the reader must refuse (Fortran order,
big-endian).

Usage: python3 tools/gen_npy_fixture.py [OUT_DIR]
"""
import os
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"


def save(name, arr, version=None):
    path = os.path.join(out, name)
    if version is None:
        np.save(path, arr)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
    print("wrote", path)


save("npy_f32.npy", np.array([[0.5, -1.25, 3.0], [1e-8, 65504.0, -0.0]], dtype=np.float32))
save("npy_u8.npy", (np.arange(24, dtype=np.int64) * 11 % 256).astype(np.uint8).reshape(2, 2, 2, 3))
save("npy_i64.npy", np.array([-1, 0, 2 ** 40], dtype=np.int64))
save("npy_i32_empty.npy", np.zeros((0, 4), dtype=np.int32))
save("npy_f64_scalar.npy", np.array(3.25, dtype=np.float64))
save("npy_f16.npy", np.array([1.0, -2.5, 65504.0], dtype=np.float16))
save("npy_bool.npy", np.array([True, False, True], dtype=np.bool_))
save("npy_v2.npy", np.array([7.5, -8.0], dtype=np.float32), version=(2, 0))
save("npy_v3.npy", np.array([1, 2], dtype=np.int32), version=(3, 0))
save("npy_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
save("npy_bigendian.npy", np.array([1.0, 2.0], dtype=">f4"))
