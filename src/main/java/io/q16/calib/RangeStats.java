package io.q16.calib;

import java.io.Serializable;

/**
 * Mergeable range statistics of a float32 stream: min and max of the finite values, and counts of
 * finite values, NaN, +Inf and -Inf. Merging is exact, so the result does not depend on how the
 * stream was split across executors.
 */
public final class RangeStats implements Serializable {
  private static final long serialVersionUID = 1L;

  private float min = Float.POSITIVE_INFINITY;
  private float max = Float.NEGATIVE_INFINITY;
  private long finite;
  private long nan;
  private long posInf;
  private long negInf;

  /** Adds {@code x[off..off+n)}; NaN and infinities are counted, never folded into min or max. */
  public RangeStats update(float[] x, int off, int n) {
    java.util.Objects.checkFromIndexSize(off, n, x.length);
    float lo = min;
    float hi = max;
    long bad = 0;
    for (int i = off, end = off + n; i < end; i++) {
      float v = x[i];
      if (v - v == 0f) { // finite: Inf - Inf and NaN - NaN are NaN
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      } else {
        bad++;
      }
    }
    if (bad > 0) {
      for (int i = off, end = off + n; i < end; i++) {
        float v = x[i];
        if (v != v) {
          nan++;
        } else if (v == Float.POSITIVE_INFINITY) {
          posInf++;
        } else if (v == Float.NEGATIVE_INFINITY) {
          negInf++;
        }
      }
    }
    finite += n - bad;
    min = lo;
    max = hi;
    return this;
  }

  /** Adds everything {@code o} has seen. */
  public RangeStats merge(RangeStats o) {
    min = Math.min(min, o.min);
    max = Math.max(max, o.max);
    finite += o.finite;
    nan += o.nan;
    posInf += o.posInf;
    negInf += o.negInf;
    return this;
  }

  /** Rebuilds statistics from their recorded fields (as shipped in a result row). */
  public static RangeStats of(float min, float max, long finite, long nan, long posInf, long negInf) {
    RangeStats s = new RangeStats();
    s.min = min;
    s.max = max;
    s.finite = finite;
    s.nan = nan;
    s.posInf = posInf;
    s.negInf = negInf;
    return s;
  }

  /** Smallest finite value; +Inf when there is none. Note that min(-0.0, 0.0) is -0.0. */
  public float min() {
    return min;
  }

  /** Largest finite value; -Inf when there is none. */
  public float max() {
    return max;
  }

  /** max(|min|, |max|) over finite values; 0 when there is none. */
  public float absmax() {
    return finite == 0 ? 0f : Math.max(Math.abs(min), Math.abs(max));
  }

  public long finite() {
    return finite;
  }

  public long nan() {
    return nan;
  }

  public long posInf() {
    return posInf;
  }

  public long negInf() {
    return negInf;
  }

  public long count() {
    return finite + nan + posInf + negInf;
  }
}
