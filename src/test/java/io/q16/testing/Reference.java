package io.q16.testing;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * An independent scalar reference of DESIGN.md §3, in exact rational arithmetic (BigDecimal):
 * it shares no code and no float operation with the kernels it checks. The float32 division and
 * product are emulated by rounding the exact result to the nearest float32, ties to even.
 */
public final class Reference {
  private Reference() {}

  /** q = clamp(rint(fl32(x / scale)) + zp, qmin, qmax); NaN gives zp; ±Inf saturate. */
  public static int quantize(float x, float scale, int zp, int qmin, int qmax) {
    if (Float.isNaN(x)) {
      return zp;
    }
    if (Float.isInfinite(x)) {
      return x > 0 ? qmax : qmin;
    }
    float quotient = divide(x, scale);
    if (Float.isInfinite(quotient)) {
      return quotient > 0 ? qmax : qmin;
    }
    BigDecimal r = new BigDecimal(quotient).setScale(0, RoundingMode.HALF_EVEN).add(BigDecimal.valueOf(zp));
    if (r.compareTo(BigDecimal.valueOf(qmax)) > 0) {
      return qmax;
    }
    if (r.compareTo(BigDecimal.valueOf(qmin)) < 0) {
      return qmin;
    }
    return r.intValueExact();
  }

  /** True if the rounded code fell outside [qmin, qmax] before clamping (±Inf included). */
  public static boolean clipped(float x, float scale, int zp, int qmin, int qmax) {
    if (Float.isNaN(x)) {
      return false;
    }
    if (Float.isInfinite(x)) {
      return true;
    }
    float quotient = divide(x, scale);
    if (Float.isInfinite(quotient)) {
      return true;
    }
    BigDecimal r = new BigDecimal(quotient).setScale(0, RoundingMode.HALF_EVEN).add(BigDecimal.valueOf(zp));
    return r.compareTo(BigDecimal.valueOf(qmax)) > 0 || r.compareTo(BigDecimal.valueOf(qmin)) < 0;
  }

  /** x̂ = fl32((q - zp) · scale). */
  public static float dequantize(int q, float scale, int zp) {
    return nearestFloat(new BigDecimal(q - zp).multiply(new BigDecimal(scale)));
  }

  /** The IEEE float32 quotient x / s (s > 0), correctly rounded, computed exactly. */
  public static float divide(float x, float s) {
    BigDecimal bx = new BigDecimal(x);
    BigDecimal bs = new BigDecimal(s);
    double approx = bx.divide(bs, java.math.MathContext.DECIMAL128).doubleValue();
    if (Math.abs(approx) > Float.MAX_VALUE * 1.0000001) {
      return approx > 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
    }
    float f = (float) approx;
    // The true result is within one ulp of f: compare |x - c·s| exactly for the neighbours.
    float best = f;
    BigDecimal bestErr = null;
    for (float c : new float[] {Math.nextDown(f), f, Math.nextUp(f)}) {
      if (Float.isInfinite(c)) {
        continue;
      }
      BigDecimal err = bx.subtract(new BigDecimal(c).multiply(bs)).abs();
      int cmp = bestErr == null ? -1 : err.compareTo(bestErr);
      if (cmp < 0 || (cmp == 0 && (Float.floatToRawIntBits(c) & 1) == 0)) {
        best = c;
        bestErr = err;
      }
    }
    return best == 0 ? Math.copySign(0f, x) : best;
  }

  /** The float32 nearest to {@code v}, ties to even. */
  public static float nearestFloat(BigDecimal v) {
    float f = (float) v.doubleValue();
    float best = f;
    BigDecimal bestErr = null;
    for (float c : new float[] {Math.nextDown(f), f, Math.nextUp(f)}) {
      if (Float.isInfinite(c)) {
        continue;
      }
      BigDecimal err = v.subtract(new BigDecimal(c)).abs();
      int cmp = bestErr == null ? -1 : err.compareTo(bestErr);
      if (cmp < 0 || (cmp == 0 && (Float.floatToRawIntBits(c) & 1) == 0)) {
        best = c;
        bestErr = err;
      }
    }
    return best;
  }

  /** Symmetric full-range scale 2T/65535 computed exactly, then rounded to float32 (T > 0). */
  public static float symmetricScale(float absmax) {
    return nearestFloat(new BigDecimal(absmax).multiply(BigDecimal.valueOf(2))
        .divide(BigDecimal.valueOf(65535), java.math.MathContext.DECIMAL128));
  }

  /**
   * Σx², Σ(x - x̂)², max |x - x̂| and the count of the finite x, plainly in double, one pair at a
   * time: what the round-trip statistics must come to.
   */
  public static double[] errorSums(float[] x, float[] xhat) {
    double sx = 0;
    double se = 0;
    double me = 0;
    long n = 0;
    for (int i = 0; i < x.length; i++) {
      if (Float.isFinite(x[i])) {
        double e = (double) x[i] - xhat[i];
        sx += (double) x[i] * x[i];
        se += e * e;
        me = Math.max(me, Math.abs(e));
        n++;
      }
    }
    return new double[] {sx, se, me, n};
  }
}
