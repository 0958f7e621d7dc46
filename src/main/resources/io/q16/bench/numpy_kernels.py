"""The numpy side of io.q16.bench.KernelBench: the same work on the same data, timed the same way.

Usage (KernelBench runs it): python3 numpy_kernels.py DIR REPS WARMUP

DIR holds x.f32 (the values, float32 little-endian), cases.txt (one line per case:
`name scheme granularity qmin qmax units`) and, per case, NAME.scales.f32 and NAME.zps.f32 (the
parameters Java computed, so both sides quantize with the same float32 scales). Prints one line
per measurement: `RESULT name=... variant=... times=t1,t2,... crc=... clipped=...` (seconds;
crc is zlib's CRC-32 of the int16 codes, little-endian).

Two numpy variants of q = clamp(rint(x / scale) + zp, qmin, qmax):
  expr     the expression as one writes it: np.clip(np.rint(x / s) + zp, qmin, qmax).astype(np.int16)
  inplace  the same ufuncs into preallocated buffers (out=), no temporaries
Per channel (axis 0 of [4096, 4096]) and per group (128 consecutive elements) broadcast a column
of scales over rows: x.reshape(units, -1) / scales[:, None].
"""
import sys
import time
import zlib

import numpy as np


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def report(name, variant, times, crc="-", clipped="-"):
    print(f"RESULT name={name} variant={variant} times={','.join(f'{t:.9f}' for t in times)} "
          f"crc={crc} clipped={clipped}", flush=True)


def main():
    data, reps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        from numpy._core import _multiarray_umath as umath
        simd = ",".join(f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)) or "none"
    except (ImportError, AttributeError):
        simd = "unknown"
    print(f"INFO numpy={np.__version__} python={sys.version.split()[0]} simd={simd}", flush=True)

    raw = open(f"{data}/x.f32", "rb").read()
    x = np.frombuffer(raw, dtype="<f4")

    for line in open(f"{data}/cases.txt"):
        name, scheme, granularity, qmin, qmax, units = line.split()
        qmin, qmax, units = int(qmin), int(qmax), int(units)
        scales = np.fromfile(f"{data}/{name}.scales.f32", dtype="<f4")
        zps = np.fromfile(f"{data}/{name}.zps.f32", dtype="<f4")
        if granularity == "tensor":
            xv, s, z = x, scales[0], zps[0]
        else:
            xv, s, z = x.reshape(units, -1), scales[:, None], zps[:, None]
        if scheme != "asymmetric":
            z = None  # zero point 0: the symmetric schemes do not add it

        if z is None:
            def expr():
                return np.clip(np.rint(xv / s), qmin, qmax).astype(np.int16)
        else:
            def expr():
                return np.clip(np.rint(xv / s) + z, qmin, qmax).astype(np.int16)

        t = np.empty(xv.shape, np.float32)
        q = np.empty(xv.shape, np.int16)

        def inplace():
            np.divide(xv, s, out=t)
            np.rint(t, out=t)
            if z is not None:
                np.add(t, z, out=t)
            np.clip(t, qmin, qmax, out=t)
            q[...] = t
            return q

        r = np.rint(xv / s) + (0 if z is None else z)
        clipped = int(np.count_nonzero((r > qmax) | (r < qmin)))
        del r
        report(name, "expr", timed(expr, reps, warmup), f"{zlib.crc32(expr().tobytes()):08x}", clipped)
        report(name, "inplace", timed(inplace, reps, warmup), f"{zlib.crc32(inplace().tobytes()):08x}", clipped)

    def minmax():
        lo, hi = x.min(), x.max()
        return lo, hi, bool(np.isfinite(lo) and np.isfinite(hi))

    report("range", "minmax", timed(minmax, reps, warmup))
    report("decode", "frombuffer", timed(lambda: np.frombuffer(raw, dtype="<f4").copy(), reps, warmup))


if __name__ == "__main__":
    main()
