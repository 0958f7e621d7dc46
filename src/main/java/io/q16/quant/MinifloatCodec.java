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
 * <p>Decoding ({@link #decode}) is exact. {@link #encode} and {@link #decode} work on the bits
 * and give exactly the results of the plain scalar references {@link #encodeReference} and {@link
 * #decodeReference}, which they are tested against. Bounds: {@link MinifloatParams#relativeErrorBound()},
 * {@link MinifloatParams#absoluteErrorBound()}, {@link MinifloatParams#withinBound(float, float)}.
 */
public final class MinifloatCodec {
  private MinifloatCodec() {}

  /** Flag that {@link #encodeOne} adds to a clipped (saturated) code. */
  static final int CLIPPED = 1 << 16;

  /**
   * Encodes {@code x[xOff..xOff+n)} into {@code q[qOff..qOff+n)} as the class describes: the codes
   * and clipped count of {@link #encodeReference}, bit for bit, by integer arithmetic on the bits
   * of each value in passes over blocks ({@link CodecBlocks#minifloatRound} says how). Values
   * below the smallest normal of the format (or of float32), other than ±0, go through {@link
   * #encodeOne}. Allocates 24 KiB of scratch per call, nothing per element.
   *
   * @return the number of clipped values (NaN never counts)
   */
  public static long encode(float[] x, int xOff, short[] q, int qOff, int n, MinifloatParams p) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    final int mant = p.mantissaBits();
    final int emin = p.minNormalExponent();
    final int bias = p.bias();
    // max(2^emin, 2^-126) as float32 bits; emin <= 127 by the bias limits.
    final int cap = emin >= -126 ? (emin + 127) << 23 : 0x00800000;
    CodecBlocks blocks = new CodecBlocks(n, false);
    long clipped = 0;
    for (int done = 0; done < n; done += CodecBlocks.BLOCK) {
      int m = Math.min(CodecBlocks.BLOCK, n - done);
      blocks.load(x, xOff + done, m);
      blocks.minifloatRound(m, mant, bias, cap);
      blocks.minifloatSaturate(m);
      blocks.minifloatSign(m, cap);
      if (blocks.store(q, qOff + done, m) >>> 16 != 0) {
        for (int j = 0; j < m; j++) {
          if (blocks.flagged(j)) {
            int c = encodeOne(x[xOff + done + j], mant, emin);
            clipped += c >>> 16; // CLIPPED is bit 16
            q[qOff + done + j] = (short) c;
          }
        }
      }
    }
    return clipped + blocks.clipped();
  }

  /**
   * The scalar reference of {@link #encode}: {@link #encodeOne} per element, as the class
   * describes. Every faster variant must produce its codes and clipped count bit for bit.
   *
   * @return the number of clipped values (NaN never counts)
   */
  public static long encodeReference(float[] x, int xOff, short[] q, int qOff, int n, MinifloatParams p) {
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
   * 0x8000 gives -0.0, every other pattern a finite value with its sign. The values of {@link
   * #decodeReference} bit for bit, read from the parameters' table of the 32768 magnitudes.
   */
  public static void decode(short[] q, int qOff, float[] out, int outOff, int n, MinifloatParams p) {
    Objects.checkFromIndexSize(qOff, n, q.length);
    Objects.checkFromIndexSize(outOff, n, out.length);
    final int[] values = p.decoder();
    for (int i = 0; i < n; i++) {
      int c = q[qOff + i];
      out[outOff + i] = Float.intBitsToFloat(values[c & 0x7FFF] | (c & 0x8000) << 16);
    }
  }

  /** The scalar reference of {@link #decode}: each code's value computed in double, as the class describes. */
  public static void decodeReference(short[] q, int qOff, float[] out, int outOff, int n, MinifloatParams p) {
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

  /** The float32 bits of the magnitude of every code 0..0x7FFF, as {@link #decodeReference} computes them. */
  static int[] magnitudes(MinifloatParams p) {
    short[] q = new short[0x8000];
    for (int c = 0; c < q.length; c++) {
      q[c] = (short) c;
    }
    float[] v = new float[q.length];
    decodeReference(q, 0, v, 0, q.length, p);
    int[] bits = new int[q.length];
    for (int c = 0; c < q.length; c++) {
      bits[c] = Float.floatToRawIntBits(v[c]);
    }
    return bits;
  }

  /** 2^j for j in [-1022, 1023], from its bits. */
  private static double pow2(int j) {
    return Double.longBitsToDouble((long) (j + 1023) << 52);
  }
}
