package io.q16.testing;

import java.math.BigDecimal;

/**
 * Independent scalar references of the non-linear codecs (DESIGN.md §3), in BigDecimal: they share
 * no code and no floating-point shortcut with the kernels they check.
 *
 * <p>The minifloat reference is exact: it enumerates the 32768 magnitudes from the format's
 * definition and picks the nearest by exact comparison, ties to the even mantissa.
 */
public final class NonlinearReference {
  private NonlinearReference() {}

  /** A code, whether it clipped, and whether x lay so close to a tie that either neighbour is right. */
  public record Code(int code, boolean clipped, boolean nearTie) {}

  /** The minifloat codec with E exponent bits and a bias, enumerated from the format's definition. */
  public static final class Minifloat {
    private final int mant;
    private final BigDecimal[] values = new BigDecimal[0x8000];

    public Minifloat(int exponentBits, int bias) {
      this.mant = 15 - exponentBits;
      for (int c = 0; c < 0x8000; c++) {
        int e = c >> mant;
        int f = c & ((1 << mant) - 1);
        long sig = e == 0 ? f : (1L << mant) + f;
        int exp = (e == 0 ? 1 : e) - bias - mant;
        values[c] = new BigDecimal(sig).multiply(new BigDecimal(Math.scalb(1.0, exp)));
      }
    }

    /** The exact magnitude of code bits & 0x7FFF. */
    public BigDecimal magnitude(int bits) {
      return values[bits & 0x7FFF];
    }

    /** The exact value of a 16-bit code as a float32 (the format guarantees it is one). */
    public float decode(int bits) {
      float f = Reference.nearestFloat(magnitude(bits));
      if (new BigDecimal(f).compareTo(magnitude(bits)) != 0) {
        throw new AssertionError("minifloat value not a float32: " + magnitude(bits));
      }
      return (bits & 0x8000) != 0 ? -f : f;
    }

    /**
     * The nearest code to x, ties to the even mantissa (the even code), sign bit kept; above the
     * largest value, a virtual next value one top step further stands for "clipped" (its code is
     * even, so the tie at max + step/2 clips). NaN gives 0.
     */
    public Code encode(float x) {
      if (Float.isNaN(x)) {
        return new Code(0, false, false);
      }
      int sign = Float.floatToRawIntBits(x) < 0 ? 0x8000 : 0;
      if (Float.isInfinite(x)) {
        return new Code(sign | 0x7FFF, true, false);
      }
      BigDecimal a = new BigDecimal(Math.abs(x));
      int lo = 0;
      int hi = 0x7FFF;
      while (lo < hi) { // largest c with values[c] <= a
        int mid = (lo + hi + 1) >>> 1;
        if (values[mid].compareTo(a) <= 0) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      BigDecimal below = values[lo];
      BigDecimal above = lo < 0x7FFF ? values[lo + 1] : values[0x7FFF].multiply(BigDecimal.valueOf(2)).subtract(values[0x7FFE]);
      int cmp = a.subtract(below).compareTo(above.subtract(a));
      int c = cmp < 0 || (cmp == 0 && (lo & 1) == 0) ? lo : lo + 1;
      if (c > 0x7FFF) {
        return new Code(sign | 0x7FFF, true, false);
      }
      return new Code(sign | c, false, false);
    }
  }
}
