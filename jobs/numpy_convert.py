"""A single-process numpy converter, the peer of `q16 quantize` in jobs/bench-scale.

usage: python3 numpy_convert.py MODEL.safetensors OUT.bin

Memory-maps the safetensors file, and for each F32 tensor computes symmetric per-tensor int16 codes
(scale = 2 max|x| / 65535, rint, clip: Q16's default scheme) and appends them to OUT.bin; one pass
for max|x|, one for the codes, in blocks of 16M values so memory stays bounded. No checksums, no
manifest, no verification: the least a converter must do.
"""
import json
import struct
import sys

import numpy as np

path, out = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
BLOCK = 1 << 24
with open(out, "wb") as o:
    for name, t in sorted(header.items()):
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        x = data[a:b].view("<f4")
        m = 0.0
        for i in range(0, x.size, BLOCK):
            m = max(m, float(np.max(np.abs(x[i:i + BLOCK]))))
        scale = np.float32(2 * m / 65535.0) if m > 0 else np.float32(1)
        for i in range(0, x.size, BLOCK):
            q = np.clip(np.rint(x[i:i + BLOCK] / scale), -32768, 32767).astype("<i2")
            o.write(q.tobytes())
