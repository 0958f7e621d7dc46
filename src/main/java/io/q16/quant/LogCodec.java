package io.q16.quant;

import java.util.Objects;

/**
 * The logarithmic int16 codec (DESIGN.md §3, seed §3): sign + logarithmic magnitude, so that small
 * values of long-tailed tensors keep a bounded relative error where a linear code has none left.
 *
 * <p>Format, for parameters A and k ({@link LogParams}): code 0 is 0.0; code ±m, m in [1, 32767],
 * is ±value(m) with value(m) = A · 2^((m - 32767) / k). Code -32768 is never produced; it decodes
 * like -32767, so that every 16-bit pattern decodes to a finite value.
 *
 * <p>Encoding ({@link #encode}), in double: t = StrictMath.log(|x| / A) · (k / ln 2) + 32767 and
 * m = rint(t) (half to even), the nearest code in the log domain; then
 * <ul>
 *   <li>m > 32767: saturate to ±32767 and count as clipped (|x| above A · 2^(1/(2k)), ±Inf);
 *   <li>m < 1: below the log-domain half-way point to code 1, the nearer of 0 and ±value(1) in
 *       linear terms, ties to 0 (so tiny values and subnormals flush to zero);
 *   <li>NaN: code 0, not counted (the caller's NaN policy has already refused or accepted it);
 *   <li>±0: code 0; the decoded value is +0.0 (the format has one zero, like int16 linear codes).
 * </ul>
 *
 * <p>Decoding ({@link #decode}): x̂ = ±(float) (A · StrictMath.pow(2, (m - 32767) / k)), each step
 * in double, then rounded once to float32; code ±32767 gives exactly ±A.
 *
 * <p>Both use {@link StrictMath} (fdlibm), not {@link Math}: Math.log and Math.pow may be replaced
 * by intrinsics that differ in the last bit between JVMs and CPUs, and the codes and decoded values
 * must be identical wherever an executor runs. Bounds: {@link LogParams#relativeErrorBound()},
 * {@link LogParams#absoluteErrorBound()}, {@link LogParams#withinBound(float, float)}.
 */
public final class LogCodec {
  private LogCodec() {}

  /** Magnitude that {@link #encodeOne} returns for a clipped value; saturated to 32767 by the kernel. */
  static final int CLIPPED = LogParams.MAX_CODE + 1;

  /**
   * Encodes {@code x[xOff..xOff+n)} into {@code q[qOff..qOff+n)} as the class describes.
   *
   * @return the number of clipped values (NaN never counts)
   */
  public static long encode(float[] x, int xOff, short[] q, int qOff, int n, LogParams p) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    final double a = p.absmax();
    final double kOverLn2 = p.kOverLn2();
    final double v1 = p.minPositive();
    long clipped = 0;
    for (int i = 0; i < n; i++) {
      int c = encodeOne(x[xOff + i], a, kOverLn2, v1);
      if (c == CLIPPED || c == -CLIPPED) {
        c = c > 0 ? LogParams.MAX_CODE : -LogParams.MAX_CODE;
        clipped++;
      }
      q[qOff + i] = (short) c;
    }
    return clipped;
  }

  /**
   * Decodes {@code q[qOff..qOff+n)} into {@code out[outOff..outOff+n)}: 0 → +0.0, ±m → ±value(m)
   * rounded once to float32 (-32768 as -32767). Every result is finite.
   */
  public static void decode(short[] q, int qOff, float[] out, int outOff, int n, LogParams p) {
    Objects.checkFromIndexSize(qOff, n, q.length);
    Objects.checkFromIndexSize(outOff, n, out.length);
    final double a = p.absmax();
    final double k = p.codesPerOctave();
    for (int i = 0; i < n; i++) {
      int c = q[qOff + i];
      if (c == 0) {
        out[outOff + i] = 0f;
      } else {
        float mag = magnitude(Math.min(Math.abs(c), LogParams.MAX_CODE), a, k);
        out[outOff + i] = c < 0 ? -mag : mag;
      }
    }
  }

  /** The signed code of v, with magnitude {@link #CLIPPED} when the rounded code exceeds 32767. */
  static int encodeOne(float v, double a, double kOverLn2, double v1) {
    double ax = Math.abs((double) v);
    // |x| / A is a positive double even for float32's extremes (2^-277 to 2^277), and log of it
    // is -Inf for ±0, +Inf for ±Inf, NaN for NaN: all fall through the branches below.
    double m = Math.rint(StrictMath.log(ax / a) * kOverLn2 + 32767.0);
    int mag;
    if (m >= 1.0) {
      mag = m > LogParams.MAX_CODE ? CLIPPED : (int) m;
    } else if (m < 1.0) {
      // Below value(1/2) code 1 is no longer the nearest in the log domain; what is left is 0 or
      // value(1), and in linear terms the nearer one has the smaller error. Exact: 2|x| and v1
      // are doubles without rounding. A tie goes to 0, the even code.
      mag = 2.0 * ax > v1 ? 1 : 0;
    } else {
      return 0;
    }
    return v < 0 ? -mag : mag;
  }

  /** value(m) = A · 2^((m - 32767) / k) in double, rounded once to float32. */
  static float magnitude(int m, double a, double k) {
    return (float) (a * StrictMath.pow(2.0, (m - LogParams.MAX_CODE) / k));
  }
}
