package io.q16.quant;

import java.util.Objects;

/**
 * The int16 linear quantization kernels: loops over primitive arrays, a fast one and the scalar
 * reference it is tested against bit for bit.
 *
 * <p>Arithmetic (DESIGN.md §3): {@code x / scale} is a float32 division by the stored scale, then
 * round half to even ({@link Math#rint}), plus the zero point, then clamp to [qmin, qmax]. A code
 * whose rounded value fell outside [qmin, qmax] counts as clipped; ±Inf saturate and count as
 * clipped; NaN becomes the code of 0.0 (the zero point) and does not count (the caller's NaN
 * policy has already refused or accepted it).
 *
 * <p>{@link #quantize} gives exactly the codes and clipped count of {@link #quantizeReference} for
 * every input (see {@link LinearBlocks} for how and why); it is about three times faster because
 * its arithmetic is vectorized by the JIT. It allocates 16 KiB of scratch per call, nothing per
 * element.
 */
public final class LinearKernel {
  private LinearKernel() {}

  /**
   * Quantizes {@code x[xOff..xOff+n)} into {@code q[qOff..qOff+n)}.
   *
   * @return the number of clipped values
   */
  public static long quantize(float[] x, int xOff, short[] q, int qOff, int n, QuantParams p) {
    return quantize(x, xOff, q, qOff, n, p.scale(), p.zeroPoint(), p.qmin(), p.qmax());
  }

  /** As {@link #quantize(float[], int, short[], int, int, QuantParams)}, parameters unpacked. */
  public static long quantize(
      float[] x, int xOff, short[] q, int qOff, int n, float scale, int zeroPoint, int qmin, int qmax) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    long clipped = fast(x, xOff, q, qOff, n, scale, zeroPoint, qmin, qmax);
    // -1: parameters outside the fast path's exact domain (never from QuantParams), or a NaN
    // quotient (rare: the NaN policy refuses NaN by default). The reference handles both.
    return clipped >= 0 ? clipped : quantizeReference(x, xOff, q, qOff, n, scale, zeroPoint, qmin, qmax);
  }

  /**
   * As {@link #quantize(float[], int, short[], int, int, QuantParams)}, and adds every value's
   * round trip (x against its code dequantized) to {@code into}: measured block by block while the
   * block is in cache (see {@link RoundTripBlocks}), or by {@link
   * RoundTripStats#addLinearReference} from the codes when the fast path cannot.
   */
  public static long quantize(float[] x, int xOff, short[] q, int qOff, int n, QuantParams p, RoundTripStats into) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    RoundTripBlocks measure = into.blocks(n);
    long clipped = fast(x, xOff, q, qOff, n, p.scale(), p.zeroPoint(), p.qmin(), p.qmax(), measure);
    boolean measured = clipped >= 0 && measure != null && into.commit(measure, n);
    if (clipped < 0) {
      clipped = quantizeReference(x, xOff, q, qOff, n, p);
    }
    if (!measured) {
      into.addLinearReference(x, xOff, q, qOff, n, p.scale(), p.zeroPoint());
    }
    return clipped;
  }

  /** The fast path alone: the clipped count, or -1 if it cannot give the reference's result. */
  static long fast(float[] x, int xOff, short[] q, int qOff, int n, float scale, int zeroPoint, int qmin, int qmax) {
    return fast(x, xOff, q, qOff, n, scale, zeroPoint, qmin, qmax, null);
  }

  /** The fast path, measuring each block's round trip into {@code measure} unless it is null. */
  private static long fast(float[] x, int xOff, short[] q, int qOff, int n, float scale, int zeroPoint, int qmin,
      int qmax, RoundTripBlocks measure) {
    if (!LinearBlocks.supports(zeroPoint, qmin, qmax)) {
      return -1;
    }
    LinearBlocks blocks = new LinearBlocks(n);
    for (int done = 0; done < n; done += LinearBlocks.BLOCK) {
      int m = Math.min(LinearBlocks.BLOCK, n - done);
      blocks.load(x, xOff + done, 0, m);
      blocks.round(0, m, scale, zeroPoint, qmin, qmax);
      blocks.store(q, qOff + done, m);
      if (measure != null) {
        measure.load(x, xOff + done, m);
        measure.fromCodes(blocks.codes(), 0, m, scale, zeroPoint);
        measure.measure(m);
      }
    }
    return blocks.clipped();
  }

  /** The scalar reference of {@link #quantize(float[], int, short[], int, int, QuantParams)}. */
  public static long quantizeReference(float[] x, int xOff, short[] q, int qOff, int n, QuantParams p) {
    return quantizeReference(x, xOff, q, qOff, n, p.scale(), p.zeroPoint(), p.qmin(), p.qmax());
  }

  /**
   * The scalar reference: DESIGN.md §3 written as plainly as possible, one element at a time.
   * Every faster variant must produce its codes and clipped count bit for bit.
   */
  public static long quantizeReference(
      float[] x, int xOff, short[] q, int qOff, int n, float scale, int zeroPoint, int qmin, int qmax) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    final double zp = zeroPoint;
    final double lo = qmin;
    final double hi = qmax;
    long clipped = 0;
    for (int i = 0; i < n; i++) {
      float v = x[xOff + i] / scale;
      double r = Math.rint(v) + zp;
      if (r > hi) {
        r = hi;
        clipped++;
      } else if (r < lo) {
        r = lo;
        clipped++;
      } else if (r != r) {
        r = zp;
      }
      q[qOff + i] = (short) (int) r;
    }
    return clipped;
  }

  /** Dequantizes {@code q[qOff..qOff+n)} into {@code x[xOff..xOff+n)}: (q - zp) · scale in float32. */
  public static void dequantize(short[] q, int qOff, float[] x, int xOff, int n, QuantParams p) {
    dequantize(q, qOff, x, xOff, n, p.scale(), p.zeroPoint());
  }

  /** As {@link #dequantize(short[], int, float[], int, int, QuantParams)}, parameters unpacked. */
  public static void dequantize(short[] q, int qOff, float[] x, int xOff, int n, float scale, int zeroPoint) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    for (int i = 0; i < n; i++) {
      x[xOff + i] = (float) (q[qOff + i] - zeroPoint) * scale;
    }
  }
}
