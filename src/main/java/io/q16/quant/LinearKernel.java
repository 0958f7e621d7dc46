package io.q16.quant;

import java.util.Objects;

/**
 * The int16 linear quantization kernels: allocation-free loops over primitive arrays.
 *
 * <p>Arithmetic (DESIGN.md §3): {@code x / scale} is a float32 division by the stored scale, then
 * round half to even ({@link Math#rint}), plus the zero point, then clamp to [qmin, qmax]. A code
 * whose rounded value fell outside [qmin, qmax] counts as clipped; ±Inf saturate and count as
 * clipped; NaN becomes the code of 0.0 (the zero point) and does not count (the caller's NaN
 * policy has already refused or accepted it).
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
