package io.q16.calib;

import java.util.Arrays;

/**
 * A histogram with fixed, equal-width bins over [lo, hi] and integer counts: merging is addition,
 * so the result does not depend on how the data was split across executors.
 *
 * <p>Binning is numpy.histogram's, exactly, so that results can be compared with the tools built
 * on it: edges are {@code lo + i · ((hi - lo) / bins)} in double (the last edge is {@code hi}),
 * bin i holds edge[i] <= v < edge[i+1], the last bin also holds {@code hi}. Values outside
 * [lo, hi] and NaN are not counted (they are counted apart: {@link #outside()}).
 */
public final class Histogram implements Fold<Histogram> {
  private static final long serialVersionUID = 1L;

  private final double lo;
  private final double hi;
  private final long[] counts;
  private final double[] edges;
  private final double norm;
  private long outside;
  private final boolean magnitudes;

  /** A histogram of the values themselves over [lo, hi]. */
  public Histogram(double lo, double hi, int bins) {
    this(lo, hi, bins, false);
  }

  /**
   * A histogram over [lo, hi]; with {@code magnitudes} {@link #accept} counts |x| (the symmetric
   * calibrators' histogram), otherwise x.
   */
  public Histogram(double lo, double hi, int bins, boolean magnitudes) {
    this.magnitudes = magnitudes;
    if (!(hi >= lo) || bins <= 0) {
      throw new IllegalArgumentException("histogram over [" + lo + ", " + hi + "] with " + bins + " bins");
    }
    this.lo = lo;
    this.hi = hi;
    this.counts = new long[bins];
    this.edges = new double[bins + 1];
    double step = (hi - lo) / bins;
    for (int i = 0; i <= bins; i++) {
      edges[i] = i * step + lo;
    }
    edges[bins] = hi;
    this.norm = hi > lo ? bins / (hi - lo) : 0;
  }

  /** Adds |x[i]| for i in [off, off+n) (the symmetric calibrators' histogram of magnitudes). */
  public Histogram addAbs(float[] x, int off, int n) {
    java.util.Objects.checkFromIndexSize(off, n, x.length);
    // Tried: four interleaved count lanes to break the store-load chain of repeated bins; at 2048
    // bins it halved the rate (CalibBench), so one plain loop.
    for (int i = off, end = off + n; i < end; i++) {
      add(Math.abs((double) x[i]));
    }
    return this;
  }

  /** Adds x[i] for i in [off, off+n). */
  public Histogram add(float[] x, int off, int n) {
    for (int i = off, end = off + n; i < end; i++) {
      add((double) x[i]);
    }
    return this;
  }

  private void add(double v) {
    if (!(v >= lo && v <= hi)) {
      outside++;
      return;
    }
    counts[index(v)]++;
  }

  private int index(double v) {
    int bins = counts.length;
    // numpy: index from the normalized position, then corrected against the actual edges.
    int i = (int) ((v - lo) * norm);
    if (i >= bins) {
      i = bins - 1;
    }
    if (v < edges[i]) {
      i--;
    } else if (i != bins - 1 && v >= edges[i + 1]) {
      i++;
    }
    return i;
  }

  @Override
  public void accept(float[] x, int off, int n) {
    if (magnitudes) {
      addAbs(x, off, n);
    } else {
      add(x, off, n);
    }
  }

  /** Adds everything {@code o} counted; the two must have the same bins. */
  @Override
  public Histogram merge(Histogram o) {
    if (o.lo != lo || o.hi != hi || o.counts.length != counts.length || o.magnitudes != magnitudes) {
      throw new IllegalArgumentException("histograms with different bins do not merge");
    }
    for (int i = 0; i < counts.length; i++) {
      counts[i] += o.counts[i];
    }
    outside += o.outside;
    return this;
  }

  /** A histogram with these counts over [lo, hi] (for reading one back). */
  public static Histogram of(double lo, double hi, long[] counts) {
    Histogram h = new Histogram(lo, hi, counts.length);
    System.arraycopy(counts, 0, h.counts, 0, counts.length);
    return h;
  }

  public long[] counts() {
    return counts.clone();
  }

  /** The bin edges, bins + 1 of them. */
  public double[] edges() {
    return edges.clone();
  }

  public int bins() {
    return counts.length;
  }

  public double lo() {
    return lo;
  }

  public double hi() {
    return hi;
  }

  /** Width of each bin. */
  public double binWidth() {
    return (hi - lo) / counts.length;
  }

  /** Values that fell outside [lo, hi], and NaN. */
  public long outside() {
    return outside;
  }

  public long total() {
    return Arrays.stream(counts).sum();
  }
}
