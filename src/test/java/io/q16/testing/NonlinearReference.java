package io.q16.testing;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Independent scalar references of the logarithmic and minifloat codecs (DESIGN.md §3), in
 * BigDecimal: they share no code and no floating-point shortcut with the kernels they check.
 *
 * <p>The minifloat reference is exact: it enumerates the 32768 magnitudes from the format's
 * definition and picks the nearest by exact comparison, ties to the even mantissa. The log reference
 * computes ln and 2^y with 40-digit series, about 30 orders of magnitude finer than any rounding
 * decision it makes, and reports inputs that lie so close to a log-domain tie (within 2^-28 of a
 * half code) that a correct double evaluation may go either way.
 */
public final class NonlinearReference {
  private NonlinearReference() {}

  private static final MathContext MC = new MathContext(40, RoundingMode.HALF_EVEN);
  private static final BigDecimal EPS = new BigDecimal("1e-44");
  /** ln 2 = 2 atanh(1/3), to 40 digits. */
  private static final BigDecimal LN2 = atanh(BigDecimal.ONE.divide(BigDecimal.valueOf(3), MC)).multiply(BigDecimal.valueOf(2), MC);
  private static final BigDecimal NEAR_TIE = new BigDecimal(0x1p-28);

  /** Σ u^(2n+1) / (2n+1) for |u| ≤ 1/3. */
  private static BigDecimal atanh(BigDecimal u) {
    BigDecimal u2 = u.multiply(u, MC);
    BigDecimal power = u;
    BigDecimal sum = BigDecimal.ZERO;
    for (int n = 0; ; n++) {
      BigDecimal term = power.divide(BigDecimal.valueOf(2L * n + 1), MC);
      sum = sum.add(term, MC);
      if (term.abs().compareTo(EPS) < 0) {
        return sum;
      }
      power = power.multiply(u2, MC);
    }
  }

  /** ln of a positive finite float, from its exact value s · 2^e with s in [√½, √2]. */
  public static BigDecimal ln(float f) {
    double d = f;
    int e = Math.getExponent(d);
    BigDecimal s = new BigDecimal(Math.scalb(d, -e)); // exact, in [1, 2)
    if (s.compareTo(new BigDecimal("1.41421356")) > 0) {
      s = s.divide(BigDecimal.valueOf(2));
      e++;
    }
    BigDecimal u = s.subtract(BigDecimal.ONE).divide(s.add(BigDecimal.ONE), MC);
    return atanh(u).multiply(BigDecimal.valueOf(2), MC).add(LN2.multiply(BigDecimal.valueOf(e), MC), MC);
  }

  /** 2^y = 2^floor(y) · exp(frac(y) · ln 2), the exponential by its Taylor series. */
  public static BigDecimal pow2(BigDecimal y) {
    BigDecimal i = y.setScale(0, RoundingMode.FLOOR);
    BigDecimal w = y.subtract(i).multiply(LN2, MC);
    BigDecimal term = BigDecimal.ONE;
    BigDecimal sum = BigDecimal.ONE;
    for (int n = 1; term.compareTo(EPS) >= 0; n++) {
      term = term.multiply(w, MC).divide(BigDecimal.valueOf(n), MC);
      sum = sum.add(term, MC);
    }
    return sum.multiply(new BigDecimal(Math.scalb(1.0, i.intValueExact())), MC);
  }

  /** The log codec with parameters A, k, as the design defines it. */
  public static final class Log {
    private final float absmax;
    private final BigDecimal a;
    private final BigDecimal k;
    private final BigDecimal lnA;
    private final float v1;

    public Log(float absmax, double codesPerOctave) {
      this.absmax = absmax;
      this.a = new BigDecimal(absmax);
      this.k = new BigDecimal(codesPerOctave);
      this.lnA = ln(absmax);
      this.v1 = value(1);
    }

    /** A · 2^((m - 32767) / k), rounded once to the nearest float32 (ties to even). */
    public float value(int m) {
      BigDecimal y = new BigDecimal(m - 32767).divide(k, MC);
      return Reference.nearestFloat(a.multiply(pow2(y), MC));
    }

    /** Decoded code: 0 → +0.0, ±m → ±value(m), -32768 as -32767. */
    public float decode(int code) {
      if (code == 0) {
        return 0f;
      }
      float v = value(Math.min(Math.abs(code), 32767));
      return code < 0 ? -v : v;
    }

    /** The encoding of x: the exact nearest code in the log domain, with the design's rules. */
    public Code encode(float x) {
      if (Float.isNaN(x) || x == 0) {
        return new Code(0, false, false);
      }
      int sign = x < 0 ? -1 : 1;
      if (Float.isInfinite(x)) {
        return new Code(sign * 32767, true, false);
      }
      float ax = Math.abs(x);
      BigDecimal t = k.multiply(ln(ax).subtract(lnA, MC), MC).divide(LN2, MC).add(BigDecimal.valueOf(32767), MC);
      BigDecimal half = t.setScale(0, RoundingMode.FLOOR).add(new BigDecimal("0.5"));
      boolean nearTie = t.subtract(half).abs().compareTo(NEAR_TIE) < 0;
      BigInteger m = t.setScale(0, RoundingMode.HALF_EVEN).toBigInteger();
      if (m.compareTo(BigInteger.valueOf(32767)) > 0) {
        return new Code(sign * 32767, true, nearTie);
      }
      if (m.signum() > 0) {
        return new Code(sign * m.intValueExact(), false, nearTie);
      }
      // Nearer of 0 and value(1) in linear terms; a tie goes to 0.
      BigDecimal toZero = new BigDecimal(ax);
      BigDecimal toOne = new BigDecimal(v1).subtract(toZero).abs();
      return new Code(toOne.compareTo(toZero) < 0 ? sign : 0, false, nearTie);
    }

    public float absmax() {
      return absmax;
    }
  }

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
