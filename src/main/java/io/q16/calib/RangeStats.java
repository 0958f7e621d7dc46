package io.q16.calib;


/**
 * Mergeable range statistics of a float32 stream: min and max of the finite values, and counts of
 * finite values, NaN, +Inf and -Inf. Merging is exact, so the result does not depend on how the
 * stream was split across executors.
 */
public final class RangeStats implements Fold<RangeStats> {
  private static final long serialVersionUID = 1L;

  private float min = Float.POSITIVE_INFINITY;
  private float max = Float.NEGATIVE_INFINITY;
  private long finite;
  private long nan;
  private long posInf;
  private long negInf;

  /** Lanes of the vectorized min/max: 2 KiB per array, in L1 cache. */
  private static final int LANES = 512;

  /**
   * Adds {@code x[off..off+n)}; NaN and infinities are counted, never folded into min or max.
   *
   * <p>Fast path: lane-wise min and max over blocks of {@link #LANES} (a loop shape that the JIT
   * vectorizes), then one fold of the lanes. {@code Math.min/max} order ±0 and propagate NaN, so
   * the folded min and max are finite exactly when every value is, and then equal the sequential
   * result bit for bit (min and max of a total order do not depend on the order of the values).
   * Otherwise the values are scanned again one by one, counting NaN and infinities.
   */
  public RangeStats update(float[] x, int off, int n) {
    java.util.Objects.checkFromIndexSize(off, n, x.length);
    if (n == 0) {
      return this;
    }
    int size = Math.min(n, LANES);
    float[] lo = new float[size];
    float[] hi = new float[size];
    float[] block = new float[size];
    System.arraycopy(x, off, lo, 0, size);
    System.arraycopy(x, off, hi, 0, size);
    for (int done = size; done < n; done += LANES) {
      int m = Math.min(LANES, n - done);
      // Copied to offset 0: JDK 17's C2 does not vectorize two arrays at different variable offsets.
      System.arraycopy(x, off + done, block, 0, m);
      for (int j = 0; j < m; j++) {
        lo[j] = Math.min(lo[j], block[j]);
        hi[j] = Math.max(hi[j], block[j]);
      }
    }
    float a = lo[0];
    float b = hi[0];
    for (int j = 1; j < size; j++) {
      a = Math.min(a, lo[j]);
      b = Math.max(b, hi[j]);
    }
    if (Float.isFinite(a) && Float.isFinite(b)) {
      min = Math.min(min, a);
      max = Math.max(max, b);
      finite += n;
      return this;
    }
    return updateOneByOne(x, off, n);
  }

  private RangeStats updateOneByOne(float[] x, int off, int n) {
    float lo = min;
    float hi = max;
    long nan = 0;
    long posInf = 0;
    long negInf = 0;
    for (int i = off, end = off + n; i < end; i++) {
      float v = x[i];
      if (v - v == 0f) { // finite: Inf - Inf and NaN - NaN are NaN
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      } else if (v != v) {
        nan++;
      } else if (v > 0) {
        posInf++;
      } else {
        negInf++;
      }
    }
    this.nan += nan;
    this.posInf += posInf;
    this.negInf += negInf;
    finite += n - nan - posInf - negInf;
    min = lo;
    max = hi;
    return this;
  }

  /** Adds everything {@code o} has seen. */
  @Override
  public void accept(float[] x, int off, int n) {
    update(x, off, n);
  }

  @Override
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
