package io.q16.quant;

import java.io.Serializable;

/**
 * The parameters of one linear quantizer: q = clamp(rint(x / scale) + zeroPoint, qmin, qmax) and
 * x̂ = (q - zeroPoint) · scale, all in float32 with the stored float32 scale.
 *
 * <p>A final class rather than a record: it is broadcast to executors, and the Kryo that Spark
 * ships cannot serialize records.
 */
public final class QuantParams implements Serializable {
  private static final long serialVersionUID = 1L;

  private final float scale;
  private final int zeroPoint;
  private final int qmin;
  private final int qmax;

  public QuantParams(float scale, int zeroPoint, int qmin, int qmax) {
    this.scale = scale;
    this.zeroPoint = zeroPoint;
    this.qmin = qmin;
    this.qmax = qmax;
  }

  public float scale() {
    return scale;
  }

  public int zeroPoint() {
    return zeroPoint;
  }

  public int qmin() {
    return qmin;
  }

  public int qmax() {
    return qmax;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof QuantParams p
        && Float.floatToRawIntBits(scale) == Float.floatToRawIntBits(p.scale)
        && zeroPoint == p.zeroPoint
        && qmin == p.qmin
        && qmax == p.qmax;
  }

  @Override
  public int hashCode() {
    return ((Float.floatToRawIntBits(scale) * 31 + zeroPoint) * 31 + qmin) * 31 + qmax;
  }

  @Override
  public String toString() {
    return "QuantParams[scale=" + scale + ", zeroPoint=" + zeroPoint + ", qmin=" + qmin + ", qmax=" + qmax + "]";
  }

  /**
   * Parameters of {@code scheme} for finite values in [min, max] with clipping threshold
   * {@code threshold} (T; max|x| for min/max calibration).
   *
   * <p>Exactly as DESIGN.md §3: scale computed in double and stored as float32; the zero point
   * computed in double from the stored scale, rounded half to even and clamped. A range that holds
   * only zero (or no finite value) gets scale 1.0, so zero round-trips exactly and nothing divides
   * by zero (asymmetric: zero point qmin, from the same formula). A scale that would underflow float32 becomes the smallest subnormal.
   */
  public static QuantParams of(Scheme scheme, float min, float max, float threshold) {
    int qmin = scheme.qmin();
    int qmax = scheme.qmax();
    switch (scheme) {
      case SYMMETRIC, SYMMETRIC_RESTRICTED -> {
        double t = Math.abs((double) threshold);
        if (!(t > 0) || Double.isInfinite(t)) {
          return new QuantParams(1f, 0, qmin, qmax);
        }
        double scale = scheme == Scheme.SYMMETRIC ? 2 * t / 65535.0 : t / 32767.0;
        return new QuantParams(storedScale(scale), 0, qmin, qmax);
      }
      case ASYMMETRIC -> {
        double rmin = Math.min((double) min, 0.0);
        double rmax = Math.max((double) max, 0.0);
        // All zero (or nothing finite): scale 1, and the zero point still follows the formula
        // (qmin), so 0.0 round-trips exactly like every other tensor's.
        float scale = rmax - rmin > 0 && !Double.isInfinite(rmax - rmin)
            ? storedScale((rmax - rmin) / 65535.0)
            : 1f;
        double zp = Math.rint(qmin - rmin / (double) scale);
        int zeroPoint = (int) Math.max(qmin, Math.min(qmax, zp));
        return new QuantParams(scale, zeroPoint, qmin, qmax);
      }
      default -> throw new IllegalArgumentException(scheme + " has no linear parameters");
    }
  }

  /**
   * Parameters from a calibrated clipping threshold T (capped at max|x|): symmetric schemes use T
   * for max|x|; asymmetric clips the range to [max(min, -T), min(max, T)]. Values beyond clip.
   */
  public static QuantParams calibrated(Scheme scheme, float min, float max, float threshold) {
    float absmax = min <= max ? Math.max(Math.abs(min), Math.abs(max)) : 0f;
    float t = Math.min(threshold, absmax);
    if (scheme == Scheme.ASYMMETRIC) {
      return of(scheme, Math.max(min, -t), Math.min(max, t), t);
    }
    return of(scheme, min, max, t);
  }

  /**
   * Parameters that keep [lo, hi] of the finite range [min, max] (the asymmetric percentile's two
   * tail cuts): asymmetric takes [max(min, lo), min(max, hi)]; symmetric schemes take the larger
   * magnitude of the two as T.
   */
  public static QuantParams clipped(Scheme scheme, float min, float max, float lo, float hi) {
    float a = Math.max(min, lo);
    float b = Math.min(max, hi);
    if (scheme == Scheme.ASYMMETRIC) {
      return of(scheme, a, b, Math.max(Math.abs(a), Math.abs(b)));
    }
    return calibrated(scheme, min, max, Math.max(Math.abs(a), Math.abs(b)));
  }

  /**
   * Min/max calibration of the finite range [min, max]: threshold max(|min|, |max|). An empty
   * range (min > max: no finite value) is treated like an all-zero one.
   */
  public static QuantParams minMax(Scheme scheme, float min, float max) {
    float absmax = min <= max ? Math.max(Math.abs(min), Math.abs(max)) : 0f;
    return of(scheme, min, max, absmax);
  }

  /**
   * Min/max calibration under an overflow policy. {@link Overflow#RESCALE} widens the scale of
   * {@link #minMax} (one float32 ulp at a time, recomputing the zero point) until neither min nor
   * max clips: with symmetric full range the +max|x| element would otherwise round to 32768. Only
   * ±Inf can still clip, and do, counted.
   */
  public static QuantParams minMax(Scheme scheme, float min, float max, Overflow overflow) {
    QuantParams p = minMax(scheme, min, max);
    if (overflow == Overflow.SATURATE || !(min <= max)) {
      return p;
    }
    float scale = p.scale;
    int zp = p.zeroPoint;
    while (clips(min, scale, zp, p.qmin, p.qmax) || clips(max, scale, zp, p.qmin, p.qmax)) {
      scale = Math.nextUp(scale);
      if (scheme == Scheme.ASYMMETRIC) {
        double rmin = Math.min((double) min, 0.0);
        zp = (int) Math.max(p.qmin, Math.min(p.qmax, Math.rint(p.qmin - rmin / (double) scale)));
      }
    }
    return new QuantParams(scale, zp, p.qmin, p.qmax);
  }

  private static boolean clips(float x, float scale, int zp, int qmin, int qmax) {
    double r = Math.rint(x / scale) + zp;
    return r > qmax || r < qmin;
  }

  private static float storedScale(double scale) {
    float f = (float) scale;
    return f > 0 ? f : Float.MIN_VALUE;
  }
}
