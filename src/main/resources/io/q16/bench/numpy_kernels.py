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

The non-linear codecs (nonlinear.txt, one line per codec: `name log A k v1` with hexadecimal
doubles, or `name minifloat E bias`; NAME.codes.i16 and NAME.decoded.f32 hold Java's codes of x
and its decoding of them) are timed encoding x and decoding Java's codes, and reported with
`same=F`, the fraction of results bit-identical to Java's:
  log encode        sign(x) * rint(k / ln 2 * ln(|x| / A) + 32767) in float64, clamped to 32767,
                    below code 1 the nearer of 0 and value(1) (numpy's log, not fdlibm's)
  log decode        sign(q) * A * 2^((|q| - 32767) / k) in float64, rounded to float32; in place:
                    a 65536-entry table from that formula and np.take
  minifloat encode  the bit rounding of Java's reference on float64 bits (exact): exponent rebias
                    and round half to even for normal values, adding 2^(emin - M + 52) for
                    subnormals, then saturation, NaN to 0 and the sign bit
  minifloat decode  np.ldexp(significand, exponent) with the sign; in place: a table and np.take
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


def report(name, variant, times, crc="-", clipped="-", same=None):
    extra = "" if same is None else f" same={same:.9f}"
    print(f"RESULT name={name} variant={variant} times={','.join(f'{t:.9f}' for t in times)} "
          f"crc={crc} clipped={clipped}{extra}", flush=True)


def same_fraction(got, want):
    """Fraction of elements whose bits are identical (int16 codes or float32 values)."""
    view = np.uint16 if got.dtype.itemsize == 2 else np.uint32
    return float(np.count_nonzero(got.view(view) == want.view(view))) / got.size


LN2 = float.fromhex("0x1.62e42fefa39efp-1")


def log_kernels(x, a, k, v1):
    """Encode x and decode codes with the log codec of parameters A, k (value(1) = v1)."""
    n = x.size
    kl = k / LN2

    def encode():
        ax = np.abs(x).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.rint(np.log(ax / a) * kl + 32767.0)
        m = np.where(t >= 1.0, np.minimum(t, 32767.0), (2.0 * ax > v1).astype(np.float64))
        return np.where(x < 0, -m, m).astype(np.int16)

    ax = np.empty(n, np.float64)
    t = np.empty(n, np.float64)
    small = np.empty(n, np.bool_)
    mask = np.empty(n, np.bool_)
    q = np.empty(n, np.int16)

    def encode_inplace():
        np.abs(x, out=ax)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(ax, a, out=t)
            np.log(t, out=t)
        np.multiply(t, kl, out=t)
        np.add(t, 32767.0, out=t)
        np.rint(t, out=t)
        np.minimum(t, 32767.0, out=t)
        np.multiply(ax, 2.0, out=ax)
        np.greater(ax, v1, out=small)
        np.greater_equal(t, 1.0, out=mask)
        np.logical_not(mask, out=mask)
        np.copyto(t, small, where=mask)
        np.less(x, 0, out=mask)
        np.negative(t, out=t, where=mask)
        q[...] = t
        return q

    def values(c):
        m = np.minimum(np.abs(c), 32767)
        v = (a * np.exp2((m - 32767) / k)).astype(np.float32)
        return np.where(c == 0, np.float32(0), np.where(c < 0, -v, v))

    def decode(codes):
        return values(codes.astype(np.int32))

    out = np.empty(n, np.float32)
    every = np.arange(-32768, 32768, dtype=np.int32)
    every = np.concatenate([every[32768:], every[:32768]])  # indexed by the code's uint16 bits

    def decode_inplace(codes):
        np.take(values(every), codes.view(np.uint16), out=out)
        return out

    return encode, encode_inplace, decode, decode_inplace


def minifloat_kernels(x, e, bias):
    """Encode x and decode codes with the minifloat codec of E exponent bits and the bias."""
    n = x.size
    mant = 15 - e
    emin = 1 - bias
    sh = 52 - mant
    rnd = (1 << (sh - 1)) - 1
    rebias = (1023 - bias) << mant
    magic = np.float64(2.0) ** (emin - mant + 52)
    magic_bits = int(np.array(magic).view(np.int64))
    min_normal = int(np.array(np.float64(2.0) ** emin).view(np.int64))

    def encode():
        d = np.abs(x).astype(np.float64)
        bits = d.view(np.int64)
        normal = ((bits + rnd + ((bits >> sh) & 1)) >> sh) - rebias
        sub = (d + magic).view(np.int64) - magic_bits
        c = np.where(bits < min_normal, sub, normal)
        c = np.where(np.isnan(x), 0, np.minimum(c, 0x7FFF))
        sign = np.where(np.isnan(x), 0, (x.view(np.uint32) >> 16) & 0x8000)
        return (c | sign).astype(np.uint16).view(np.int16)

    d = np.empty(n, np.float64)
    c = np.empty(n, np.int64)
    s = np.empty(n, np.int64)
    lt = np.empty(n, np.bool_)
    sign = np.empty(n, np.uint32)
    q = np.empty(n, np.uint16)

    def encode_inplace():
        np.abs(x, out=d)
        bits = d.view(np.int64)
        np.right_shift(bits, sh, out=c)
        np.bitwise_and(c, 1, out=c)
        np.add(c, rnd, out=c)
        np.add(c, bits, out=c)
        np.right_shift(c, sh, out=c)
        np.subtract(c, rebias, out=c)
        np.less(bits, min_normal, out=lt)
        np.add(d, magic, out=d)
        np.subtract(d.view(np.int64), magic_bits, out=s)
        np.copyto(c, s, where=lt)
        np.minimum(c, 0x7FFF, out=c)
        np.right_shift(x.view(np.uint32), 16, out=sign)
        np.bitwise_and(sign, 0x8000, out=sign)
        np.isnan(x, out=lt)
        np.copyto(c, 0, where=lt)
        np.copyto(sign, 0, where=lt)
        np.bitwise_or(c, sign, out=c)
        q[...] = c
        return q.view(np.int16)

    def values(codes):
        c = codes.astype(np.int32)
        mag = c & 0x7FFF
        ex = mag >> mant
        sig = np.where(ex == 0, mag, (mag & ((1 << mant) - 1)) | (1 << mant))
        v = np.ldexp(sig.astype(np.float32), np.maximum(ex, 1) - bias - mant)
        return np.where(c & 0x8000, -v, v)

    out = np.empty(n, np.float32)
    every = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16)

    def decode_inplace(codes):
        np.take(values(every), codes.view(np.uint16), out=out)
        return out

    return encode, encode_inplace, values, decode_inplace


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

    for line in open(f"{data}/nonlinear.txt"):
        f = line.split()
        name, kind = f[0], f[1]
        if kind == "log":
            enc, enc_inplace, dec, dec_inplace = log_kernels(x, *(float.fromhex(v) for v in f[2:5]))
        else:
            enc, enc_inplace, dec, dec_inplace = minifloat_kernels(x, int(f[2]), int(f[3]))
        codes = np.fromfile(f"{data}/{name}.codes.i16", dtype="<i2")
        decoded = np.fromfile(f"{data}/{name}.decoded.f32", dtype="<f4")
        for variant, fn in (("expr", enc), ("inplace", enc_inplace)):
            times = timed(fn, reps, warmup)
            got = fn()
            report(f"{name}.encode", variant, times, f"{zlib.crc32(got.tobytes()):08x}", "-",
                   same_fraction(got, codes))
        for variant, fn in (("expr", dec), ("inplace", dec_inplace)):
            times = timed(lambda: fn(codes), reps, warmup)
            got = fn(codes)
            report(f"{name}.decode", variant, times, f"{zlib.crc32(got.tobytes()):08x}", "-",
                   same_fraction(got, decoded))
        del codes, decoded

    report("range", "minmax", timed(minmax, reps, warmup))
    report("decode", "frombuffer", timed(lambda: np.frombuffer(raw, dtype="<f4").copy(), reps, warmup))


if __name__ == "__main__":
    main()
