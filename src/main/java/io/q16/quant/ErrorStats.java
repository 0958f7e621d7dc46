package io.q16.quant;

import java.io.Serializable;

/**
 * Mergeable error statistics of x̂ against x: max |x - x̂|, MSE, SQNR, cosine, and how many values
 * broke the round-trip bound.
 *
 * <p>Only pairs with finite x enter the sums; non-finite x are counted apart. Sums are in double;
 * merging partial sums is exact up to double rounding, so figures may differ in the last bits
 * between chunkings (they are a report, not part of the output's identity).
 */
public final class ErrorStats implements Serializable {
  private static final long serialVersionUID = 1L;

  private long count;
  private long nonFinite;
  private long clipped;
  private long boundViolations;
  private double sumX2;
  private double sumE2;
  private double sumXY;
  private double sumY2;
  private double maxAbsErr;
  private double maxErrOverHalfScale;

  /**
   * Adds the pairs (x[i], x̂[i]) for i in [off, off+n). A pair whose code was not clipped must
   * satisfy |x - x̂| ≤ scale/2 + 2^-24·(|x| + |x̂|): scale/2 from rounding to the nearest code, the
   * rest from the float32 rounding of x / scale and of (q - zp) · scale. Clipped pairs (the rounded
   * code fell outside [qmin, qmax]) are counted and kept out of the bound.
   */
  public ErrorStats update(float[] x, float[] xhat, int off, int n, QuantParams p) {
    return update(x, xhat, off, n, p.scale(), p.zeroPoint(), p.qmin(), p.qmax());
  }

  /** As {@link #update(float[], float[], int, int, QuantParams)}, parameters unpacked. */
  public ErrorStats update(float[] x, float[] xhat, int off, int n, float scale, int zeroPoint, int qmin, int qmax) {
    java.util.Objects.checkFromIndexSize(off, n, x.length);
    java.util.Objects.checkFromIndexSize(off, n, xhat.length);
    final double half = scale / 2.0;
    final double lo = qmin;
    final double hi = qmax;
    final double zp = zeroPoint;
    for (int i = off, end = off + n; i < end; i++) {
      float xv = x[i];
      float yv = xhat[i];
      double ae = accumulate(xv, yv);
      if (ae < 0) {
        continue;
      }
      double r = Math.rint(xv / scale) + zp;
      if (r > hi || r < lo) {
        clipped++;
        continue;
      }
      if (ae / half > maxErrOverHalfScale) {
        maxErrOverHalfScale = ae / half;
      }
      if (ae > half + 0x1p-24 * (Math.abs(xv) + Math.abs(yv))) {
        boundViolations++;
      }
    }
    return this;
  }

  /**
   * Adds pairs decoded by a non-linear codec: the bound is the codec's own (relative above its
   * smallest code, absolute below); {@link #maxErrOverHalfScale()} then holds the largest
   * |x - x̂| / bound.
   */
  public ErrorStats update(float[] x, float[] xhat, int off, int n, NonlinearParams p) {
    java.util.Objects.checkFromIndexSize(off, n, x.length);
    java.util.Objects.checkFromIndexSize(off, n, xhat.length);
    for (int i = off, end = off + n; i < end; i++) {
      float xv = x[i];
      float yv = xhat[i];
      double ae = accumulate(xv, yv);
      if (ae < 0) {
        continue;
      }
      if (p.clips(xv)) {
        clipped++;
        continue;
      }
      double bound = p.bound(xv);
      if (bound > 0) {
        maxErrOverHalfScale = Math.max(maxErrOverHalfScale, ae / bound);
      }
      if (!p.withinBound(xv, yv)) {
        boundViolations++;
      }
    }
    return this;
  }

  /**
   * Adds one pair to the sums and the maximum; returns |x - x̂|, or -1 for a non-finite x (counted
   * apart, kept out of every sum).
   */
  private double accumulate(float xv, float yv) {
    if (!(xv - xv == 0f)) {
      nonFinite++;
      return -1;
    }
    double e = (double) xv - (double) yv; // exact: both are float32
    double ae = Math.abs(e);
    count++;
    sumX2 += (double) xv * xv;
    sumE2 += e * e;
    sumXY += (double) xv * yv;
    sumY2 += (double) yv * yv;
    maxAbsErr = Math.max(maxAbsErr, ae);
    return ae;
  }

  public ErrorStats merge(ErrorStats o) {
    count += o.count;
    nonFinite += o.nonFinite;
    clipped += o.clipped;
    boundViolations += o.boundViolations;
    sumX2 += o.sumX2;
    sumE2 += o.sumE2;
    sumXY += o.sumXY;
    sumY2 += o.sumY2;
    maxAbsErr = Math.max(maxAbsErr, o.maxAbsErr);
    maxErrOverHalfScale = Math.max(maxErrOverHalfScale, o.maxErrOverHalfScale);
    return this;
  }

  /** Finite values compared. */
  public long count() {
    return count;
  }

  public long nonFinite() {
    return nonFinite;
  }

  /** Finite values whose code was clipped (outside the bound by design). */
  public long clipped() {
    return clipped;
  }

  /** Unclipped values farther from x than the bound allows: must be zero. */
  public long boundViolations() {
    return boundViolations;
  }

  public double maxAbsErr() {
    return maxAbsErr;
  }

  /** Largest |x - x̂| / (scale/2) over unclipped values: at most 1 up to float32 rounding. */
  public double maxErrOverHalfScale() {
    return maxErrOverHalfScale;
  }

  public double mse() {
    return count == 0 ? 0 : sumE2 / count;
  }

  /** 10·log10(Σx² / Σ(x - x̂)²) in dB; +Inf for an exact round trip, NaN for an all-zero x. */
  public double sqnrDb() {
    return sqnrDb(sumX2, sumE2);
  }

  /** 10·log10(signal / noise) in dB for sums of squares; +Inf when noise is 0, NaN when both are. */
  public static double sqnrDb(double signal, double noise) {
    if (noise == 0) {
      return signal == 0 ? Double.NaN : Double.POSITIVE_INFINITY;
    }
    return 10 * Math.log10(signal / noise);
  }

  /** Cosine similarity of x and x̂; 1 when both are all zero. */
  public double cosine() {
    return cosine(sumXY, sumX2, sumY2);
  }

  /** Cosine of two vectors from their sums Σab, Σa², Σb²; 1 when both are zero, 0 when one is. */
  public static double cosine(double ab, double aa, double bb) {
    if (aa == 0 && bb == 0) {
      return 1;
    }
    return aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
  }

  /** Raw sums, for shipping partial statistics between JVMs as plain fields. */
  public double[] sums() {
    return new double[] {sumX2, sumE2, sumXY, sumY2, maxAbsErr, maxErrOverHalfScale};
  }

  public long[] counts() {
    return new long[] {count, nonFinite, clipped, boundViolations};
  }

  public static ErrorStats of(long[] counts, double[] sums) {
    ErrorStats s = new ErrorStats();
    s.count = counts[0];
    s.nonFinite = counts[1];
    s.clipped = counts[2];
    s.boundViolations = counts[3];
    s.sumX2 = sums[0];
    s.sumE2 = sums[1];
    s.sumXY = sums[2];
    s.sumY2 = sums[3];
    s.maxAbsErr = sums[4];
    s.maxErrOverHalfScale = sums[5];
    return s;
  }
}
