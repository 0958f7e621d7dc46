package io.q16.quant;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * What the quantize pass measures of its own round trip, per chunk and merged per tensor: Σx²,
 * Σ(x - x̂)², max |x - x̂| and a histogram of |x| with integer counts over [0, hi], so that the
 * report has SQNR, MSE and a histogram without another pass over the data.
 *
 * <p>Only finite x are measured; NaN and ±Inf are counted by the statistics pass. x̂ is the
 * dequantized code, computed as {@link LinearKernel#dequantize} does. Bin k holds the |x| with
 * k = min(floor(fl(fl(|x| · inv) · bins)), bins - 1), inv = fl(1/hi) capped at Float.MAX_VALUE,
 * in float32: the same in every path, so histograms merge exactly. (A tensor whose max |x| is
 * subnormal has all its values in bin 0.) The sums are doubles and merge up to double rounding:
 * SQNR and MSE may differ in the last bits between chunk sizes, never between runs or
 * partitionings of one plan as long as chunks are merged in chunk order.
 *
 * <p>The fast path ({@link RoundTripBlocks}) runs inside the quantization kernels, vectorized, with
 * float32 lane sums flushed to double every 64K elements: its sums agree with the scalar
 * references ({@link #addLinearReference}) to about 1e-6 relative, max |x - x̂| to float32
 * rounding (exactly where no value was clipped: x - x̂ is then exact in float32), counts and bins
 * exactly. It allocates about 50 KiB of scratch per call and nothing per element.
 */
public final class RoundTripStats implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bins of the report's histograms: coarse enough to ship one per chunk, fine enough to see a tail. */
  public static final int REPORT_BINS = 256;

  private final float hi;
  private final float inv;
  private final long[] bins;
  private long count;
  private double sumX2;
  private double sumE2;
  private double maxAbsErr;

  /** Empty statistics whose histogram has {@code bins} equal bins over [0, hi]. */
  public RoundTripStats(float hi, int bins) {
    if (!(hi >= 0) || Float.isInfinite(hi) || bins <= 0 || bins > 1 << 20) {
      throw new IllegalArgumentException("|x| histogram over [0, " + hi + "] with " + bins + " bins");
    }
    this.hi = hi;
    this.inv = Math.min(1f / hi, Float.MAX_VALUE);
    this.bins = new long[bins];
  }

  /**
   * Adds x[i] and its linear round trip x̂ = (q[i'] - zeroPoint) · scale (float32, as {@link
   * LinearKernel#dequantize}) for i in [xOff, xOff+n), i' = i - xOff + qOff: the scalar reference,
   * one element at a time, non-finite x skipped, the error and the sums in double. {@link
   * LinearKernel#quantize(float[], int, short[], int, int, QuantParams, RoundTripStats)} measures
   * the same while it quantizes; it falls back to this when its fast path cannot.
   */
  public RoundTripStats addLinearReference(float[] x, int xOff, short[] q, int qOff, int n, float scale,
      int zeroPoint) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    for (int i = 0; i < n; i++) {
      addOne(x[xOff + i], (float) (q[qOff + i] - zeroPoint) * scale);
    }
    return this;
  }

  /**
   * As {@link #addLinearReference} for per-channel or per-group codes: x[xOff..xOff+n) are
   * elements [first, first+n) of the tensor, unit u's parameters at {@code scales[u - unitBase]},
   * {@code zeroPoints[u - unitBase]}; run by run.
   */
  public RoundTripStats addUnitsReference(float[] x, int xOff, short[] q, int qOff, int n, long first,
      UnitLayout layout, float[] scales, int[] zeroPoints, long unitBase) {
    long e = first;
    for (int i = 0; i < n; ) {
      int u = (int) (layout.unitOf(e) - unitBase);
      int run = (int) Math.min(n - i, layout.runEnd(e) - e);
      addLinearReference(x, xOff + i, q, qOff + i, run, scales[u], zeroPoints[u]);
      i += run;
      e += run;
    }
    return this;
  }

  /** Adds the pairs (x[i], xhat[i]) for i in [off, off+n): for codecs that decode into a buffer. */
  public RoundTripStats add(float[] x, float[] xhat, int off, int n) {
    Objects.checkFromIndexSize(off, n, x.length);
    Objects.checkFromIndexSize(off, n, xhat.length);
    RoundTripBlocks blocks = blocks(n);
    if (blocks != null) {
      for (int done = 0; done < n; done += RoundTripBlocks.BLOCK) {
        int m = Math.min(RoundTripBlocks.BLOCK, n - done);
        blocks.load(x, off + done, m);
        blocks.fromDecoded(xhat, off + done, m);
        blocks.measure(m);
      }
      if (commit(blocks, n)) {
        return this;
      }
    }
    return addReference(x, xhat, off, n);
  }

  /** The scalar reference of {@link #add}. */
  public RoundTripStats addReference(float[] x, float[] xhat, int off, int n) {
    Objects.checkFromIndexSize(off, n, x.length);
    Objects.checkFromIndexSize(off, n, xhat.length);
    for (int i = off, end = off + n; i < end; i++) {
      addOne(x[i], xhat[i]);
    }
    return this;
  }

  private void addOne(float xv, float y) {
    if (!(xv - xv == 0f)) {
      return;
    }
    double e = (double) xv - y; // exact: both are float32
    bins[bin(xv)]++;
    maxAbsErr = Math.max(maxAbsErr, Math.abs(e));
    sumX2 += (double) xv * xv;
    sumE2 += e * e;
    count++;
  }

  /** The histogram bin of x, as the class comment defines it (the fast path's float arithmetic). */
  private int bin(float xv) {
    return (int) Math.min(Math.abs(xv * inv) * bins.length, bins.length - 1f);
  }

  /**
   * Scratch for measuring {@code n} values on the fast path, or null where it does not apply: it
   * divides by hi before squaring, so it needs a normal hi (1/hi finite), and a bin count that
   * float32 holds exactly.
   */
  RoundTripBlocks blocks(int n) {
    return n > 0 && hi >= Float.MIN_NORMAL && bins.length <= 1 << 20 ? new RoundTripBlocks(inv, bins.length) : null;
  }

  /**
   * Adds a finished fast pass over {@code n} values to the statistics; false, adding nothing, if a
   * value was not finite (the caller then measures with the reference).
   */
  boolean commit(RoundTripBlocks blocks, int n) {
    blocks.flush();
    double k = inv;
    double sx = blocks.sumX2() / (k * k);
    double se = blocks.sumE2() / (k * k);
    if (!Double.isFinite(sx + se)) {
      return false;
    }
    long[] counted = blocks.counts();
    for (int i = 0; i < bins.length; i++) {
      bins[i] += counted[i];
    }
    count += n;
    sumX2 += sx;
    sumE2 += se;
    maxAbsErr = Math.max(maxAbsErr, blocks.maxErr());
    return true;
  }

  /**
   * Statistics as a previous run merged them (its report's histogram, count and exact sums), to be
   * merged into nothing else: {@code quantize --incremental} reports a reused tensor with them.
   */
  public static RoundTripStats of(float hi, long[] bins, long count, double sumX2, double sumE2, double maxAbsErr) {
    RoundTripStats s = new RoundTripStats(hi, bins.length);
    System.arraycopy(bins, 0, s.bins, 0, bins.length);
    s.count = count;
    s.sumX2 = sumX2;
    s.sumE2 = sumE2;
    s.maxAbsErr = maxAbsErr;
    return s;
  }

  /** Adds everything {@code o} measured; both must have the same histogram bins. */
  public RoundTripStats merge(RoundTripStats o) {
    if (Float.compare(o.hi, hi) != 0 || o.bins.length != bins.length) {
      throw new IllegalArgumentException("round-trip statistics over different bins do not merge");
    }
    for (int i = 0; i < bins.length; i++) {
      bins[i] += o.bins[i];
    }
    count += o.count;
    sumX2 += o.sumX2;
    sumE2 += o.sumE2;
    maxAbsErr = Math.max(maxAbsErr, o.maxAbsErr);
    return this;
  }

  /** Finite values measured. */
  public long count() {
    return count;
  }

  /** The histogram's upper edge. */
  public float hi() {
    return hi;
  }

  /** Counts of |x| per bin (bin k about [k·hi/bins, (k+1)·hi/bins), the last one up to hi). */
  public long[] bins() {
    return bins.clone();
  }

  public double maxAbsErr() {
    return maxAbsErr;
  }

  /** Σx² over the finite values. */
  public double sumX2() {
    return sumX2;
  }

  /** Σ(x - x̂)² over the finite values. */
  public double sumE2() {
    return sumE2;
  }

  /** Σ(x - x̂)² / count; 0 when nothing was measured. */
  public double mse() {
    return count == 0 ? 0 : sumE2 / count;
  }

  /**
   * 10·log10(Σx² / Σ(x - x̂)²) in dB; +Inf for an exact round trip, NaN when there is neither
   * signal nor error (all zero, or no finite values), as {@link ErrorStats#sqnrDb()}.
   */
  public double sqnrDb() {
    return ErrorStats.sqnrDb(sumX2, sumE2);
  }

  /** Equal when every count and sum is: a retried chunk measures exactly what its first attempt did. */
  @Override
  public boolean equals(Object o) {
    return o instanceof RoundTripStats r && Float.compare(hi, r.hi) == 0 && Arrays.equals(bins, r.bins)
        && count == r.count && Double.compare(sumX2, r.sumX2) == 0 && Double.compare(sumE2, r.sumE2) == 0
        && Double.compare(maxAbsErr, r.maxAbsErr) == 0;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(count) * 31 + Double.hashCode(sumE2);
  }
}
