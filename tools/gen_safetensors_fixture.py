#!/usr/bin/env python3
"""Writes tests/fixtures/st_python.safetensors with Python's `safetensors` package, so the C
reader is checked against files made by the reference implementation (tests/test_safetensors.c
holds the same values as exact literals).

Usage: python3 tools/gen_safetensors_fixture.py [OUT]   (needs: pip install safetensors; torch for BF16)
"""
import sys

import torch
from safetensors.torch import save_file

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/st_python.safetensors"

tensors = {
    # Values exactly representable in each dtype, including edge cases of the conversions.
    "a.f32": torch.tensor([[0.5, -1.25, 3.0], [1e-8, 65504.0, -0.0]], dtype=torch.float32),
    "b.f16": torch.tensor([1.0, -2.5, 65504.0, 2.0 ** -24, float("inf")], dtype=torch.float16),
    "c.bf16": torch.tensor([1.0, -3.140625, 2.0 ** 100, float("-inf")], dtype=torch.bfloat16),
    "d.f64": torch.tensor([1.0 / 3.0, -1e300, 2.5], dtype=torch.float64),
    "e.i64": torch.tensor([[49406, 320], [49407, 0]], dtype=torch.int64),
    "f.i32": torch.tensor([-7, 0, 2147483647], dtype=torch.int32),
    "g.u8": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
    "h.scalar": torch.tensor(42.0, dtype=torch.float32),
    "i.empty": torch.zeros((0, 3), dtype=torch.float32),
}
meta = {"format": "pt", "note": 'h\u00e9llo "quoted"\n\u4e16'}
save_file(tensors, OUT, metadata=meta)
print("wrote", OUT)
