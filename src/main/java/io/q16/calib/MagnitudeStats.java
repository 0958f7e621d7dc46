package io.q16.calib;

import java.io.Serializable;
import java.util.Objects;

/**
 * Mergeable magnitude statistics of a float32 stream: the largest |x| and the smallest non-zero
 * |x| over finite values, which is what the logarithmic codec needs to place its codes. Both are
 * a max and a min, so merging is exact and independent of how the stream was split.
 */
public final class MagnitudeStats implements Serializable {
  private static final long serialVersionUID = 1L;

  private float absmax;
  private float minNonZero = Float.POSITIVE_INFINITY;

  /** Adds {@code x[off..off+n)}; NaN, ±Inf and ±0 are ignored (±0 has no magnitude to place). */
  public MagnitudeStats update(float[] x, int off, int n) {
    Objects.checkFromIndexSize(off, n, x.length);
    float hi = absmax;
    float lo = minNonZero;
    for (int i = off, end = off + n; i < end; i++) {
      float a = Math.abs(x[i]);
      // Inf - Inf and NaN - NaN are NaN: one comparison keeps only finite values.
      if (a - a == 0f && a > 0f) {
        hi = Math.max(hi, a);
        lo = Math.min(lo, a);
      }
    }
    absmax = hi;
    minNonZero = lo;
    return this;
  }

  /** Adds everything {@code o} has seen. */
  public MagnitudeStats merge(MagnitudeStats o) {
    absmax = Math.max(absmax, o.absmax);
    minNonZero = Math.min(minNonZero, o.minNonZero);
    return this;
  }

  /** Rebuilds statistics from their recorded fields (as shipped in a result row). */
  public static MagnitudeStats of(float absmax, float minNonZero) {
    MagnitudeStats s = new MagnitudeStats();
    s.absmax = absmax;
    s.minNonZero = minNonZero;
    return s;
  }

  /** max |x| over finite values; 0 when there is no non-zero finite value. */
  public float absmax() {
    return absmax;
  }

  /** min |x| over finite non-zero values (subnormals included); +Inf when there is none. */
  public float minNonZero() {
    return minNonZero;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MagnitudeStats s
        && Float.floatToRawIntBits(absmax) == Float.floatToRawIntBits(s.absmax)
        && Float.floatToRawIntBits(minNonZero) == Float.floatToRawIntBits(s.minNonZero);
  }

  @Override
  public int hashCode() {
    return Float.floatToRawIntBits(absmax) * 31 + Float.floatToRawIntBits(minNonZero);
  }

  @Override
  public String toString() {
    return "MagnitudeStats[absmax=" + absmax + ", minNonZero=" + minNonZero + "]";
  }
}
