package io.q16.quant;

import java.util.Objects;

/**
 * The 16-bit minifloat codec (DESIGN.md §3, seed §3): sign, E exponent bits, M = 15 - E mantissa
 * bits and a per-tensor bias, IEEE-like with subnormals but without Inf or NaN codes.
 *
 * <p>Format of a code (a {@code short}'s 16 bits): sign in bit 15, exponent field e in the next E
 * bits, mantissa f in the low M bits. e = 0: ±f · 2^(1 - bias - M) (subnormals and ±0); e ≥ 1:
 * ±(2^M + f) · 2^(e - bias - M). The all-ones exponent is an ordinary exponent, so every pattern
 * is a finite value, and by the limits on the bias ({@link MinifloatParams}) an exact float32.
 *
 * <p>Encoding ({@link #encode}) is exact: x goes to the nearest value, ties to the even mantissa;
 * the sign bit is kept, so -0.0 and negative values that round to zero give the negative-zero
 * code 0x8000 (decoded as -0.0). A value whose rounding exceeds the largest value (±Inf included)
 * saturates to ±max and counts as clipped; NaN gives code 0 (+0.0) and does not count (the
 * caller's NaN policy has already refused or accepted it).
 *
 * <p>Decoding ({@link #decode}) is exact. Bounds: {@link MinifloatParams#relativeErrorBound()},
 * {@link MinifloatParams#absoluteErrorBound()}, {@link MinifloatParams#withinBound(float, float)}.
 */
public final class MinifloatCodec {
  private MinifloatCodec() {}

  /** Flag that {@link #encodeOne} adds to a clipped (saturated) code. */
  static final int CLIPPED = 1 << 16;

  /**
   * Encodes {@code x[xOff..xOff+n)} into {@code q[qOff..qOff+n)} as the class describes.
   *
   * @return the number of clipped values (NaN never counts)
   */
  public static long encode(float[] x, int xOff, short[] q, int qOff, int n, MinifloatParams p) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    final int mant = p.mantissaBits();
    final int emin = p.minNormalExponent();
    long clipped = 0;
    for (int i = 0; i < n; i++) {
      int c = encodeOne(x[xOff + i], mant, emin);
      if (c >= CLIPPED) {
        clipped++;
      }
      q[qOff + i] = (short) c;
    }
    return clipped;
  }

  /**
   * Decodes {@code q[qOff..qOff+n)} into {@code out[outOff..outOff+n)}, exactly (no rounding):
   * 0x8000 gives -0.0, every other pattern a finite value with its sign.
   */
  public static void decode(short[] q, int qOff, float[] out, int outOff, int n, MinifloatParams p) {
    Objects.checkFromIndexSize(qOff, n, q.length);
    Objects.checkFromIndexSize(outOff, n, out.length);
    final int mant = p.mantissaBits();
    final int mantMask = (1 << mant) - 1;
    final int bias = p.bias();
    for (int i = 0; i < n; i++) {
      int bits = q[qOff + i];
      int mag = bits & 0x7FFF;
      int e = mag >>> mant;
      int sig = e == 0 ? mag : (mag & mantMask) | (1 << mant);
      // At most 15 significant bits times a power of two in [2^-149, 2^127]: exact in double, and
      // the bias limits make the product a float32, so the cast does not round.
      float f = (float) (sig * pow2(Math.max(e, 1) - bias - mant));
      out[outOff + i] = bits < 0 ? -f : f;
    }
  }

  /**
   * The 16-bit code of v in the low bits, plus {@link #CLIPPED} if it saturated.
   *
   * <p>With p = floor(log2 |x|) and e = max(p, 1 - bias) (the binade's exponent, or the subnormal
   * one), the step is 2^(e - M) and n = rint(|x| / 2^(e - M)) is the rounded significand (half to
   * even, which is the even mantissa); the code is n + ((e - (1 - bias)) << M), because the
   * exponent field sits just above the mantissa: a significand that rounds up to 2^(M+1) carries
   * into the exponent, one that rounds up to 2^M from a subnormal becomes the smallest normal.
   */
  static int encodeOne(float v, int mant, int emin) {
    // Every float32, subnormals included, is a normal double, so getExponent is floor(log2 |x|);
    // it is -1023 for 0 (then e = emin, n = 0) and 1024 for Inf and NaN.
    double a = Math.abs((double) v);
    int e = Math.max(Math.getExponent(a), emin);
    // Scaling by a power of two in double's normal range is exact, so rint sees |x| / step exactly.
    double c = Math.rint(a * pow2(mant - e)) + ((e - emin) << mant);
    int sign = (Float.floatToRawIntBits(v) >>> 16) & 0x8000;
    if (c <= 0x7FFF) {
      return sign | (int) c;
    }
    if (c > 0x7FFF) {
      return CLIPPED | sign | 0x7FFF;
    }
    return 0;
  }

  /** 2^j for j in [-1022, 1023], from its bits. */
  private static double pow2(int j) {
    return Double.longBitsToDouble((long) (j + 1023) << 52);
  }
}
