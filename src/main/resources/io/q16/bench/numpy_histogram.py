"""numpy's peer of io.q16.bench.CalibBench: np.histogram of |x| with the same bins, timed.

argv: DIR REPS WARMUP. DIR holds x.f32 (little-endian float32) and cases.txt, one "BINS ABSMAX" per
line. Prints one RESULT line per case: name, times in seconds, and the counts' CRC-32 over their
little-endian int64 bytes so Java can check that both binned every value identically.
"""
import sys
import time
import zlib

import numpy as np

d, reps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = np.fromfile(d + "/x.f32", dtype="<f4")
print("INFO numpy %s, %d values" % (np.__version__, x.size), flush=True)
for line in open(d + "/cases.txt"):
    bins, hi = line.split()
    bins, hi = int(bins), float(hi)
    times = []
    counts = None
    for r in range(warmup + reps):
        t0 = time.perf_counter()
        # The same work as Java's: |x| in double, then the histogram over [0, max|x|].
        counts, _ = np.histogram(np.abs(x.astype(np.float64)), bins=bins, range=(0.0, hi))
        t = time.perf_counter() - t0
        if r >= warmup:
            times.append(t)
    crc = zlib.crc32(counts.astype("<i8").tobytes()) & 0xFFFFFFFF
    print("RESULT bins=%d times=%s crc=%08x" % (bins, ",".join("%.6f" % t for t in times), crc), flush=True)
