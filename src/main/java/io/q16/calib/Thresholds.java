package io.q16.calib;

/**
 * Clipping-threshold searches over a histogram of |x| (DESIGN.md §4). Each works on merged counts
 * only, never on the data, so they run on any executor for any tensor.
 */
public final class Thresholds {
  private Thresholds() {}

  /**
   * ONNX Runtime's symmetric percentile: the left edge of the first bin whose cumulative share of
   * the count reaches {@code percent}/100.
   */
  public static double percentile(Histogram h, double percent) {
    long[] c = h.counts();
    long total = 0;
    for (long v : c) {
      total += v;
    }
    if (total == 0) {
      return 0;
    }
    double target = percent / 100.0;
    double[] edges = h.edges();
    long cum = 0;
    for (int i = 0; i < c.length; i++) {
      cum += c[i];
      // numpy: searchsorted(cumsum(hist / total), p) takes the first index with cdf >= p.
      if ((double) cum / total >= target) {
        return edges[i];
      }
    }
    return edges[c.length];
  }

  /**
   * Both tails of a signed histogram cut at {@code percent}: the lower threshold is the left edge
   * of the first bin whose cumulative share exceeds (100 - percent)/100, the upper the right edge
   * of the first bin whose share reaches percent/100 (so that percent = 100 keeps [min, max]).
   */
  public static double[] percentileTails(Histogram h, double percent) {
    long[] c = h.counts();
    long total = 0;
    for (long v : c) {
      total += v;
    }
    double[] edges = h.edges();
    if (total == 0) {
      return new double[] {h.lo(), h.hi()};
    }
    double low = (100 - percent) / 100.0;
    double high = percent / 100.0;
    double lo = h.lo();
    double hi = h.hi();
    boolean loFound = false;
    long cum = 0;
    for (int i = 0; i < c.length; i++) {
      cum += c[i];
      double share = (double) cum / total;
      if (!loFound && share > low) {
        lo = edges[i];
        loFound = true;
      }
      if (share >= high) {
        hi = edges[i + 1];
        break;
      }
    }
    return new double[] {lo, hi};
  }

  /** A KL search result: threshold, the bin index it ends at, and the divergence there. */
  public record Kl(double threshold, int index, double divergence) {}

  /**
   * TensorRT's entropy calibration (also ONNX Runtime's): for each candidate end bin i from
   * {@code quantizedBins} to the histogram's end, P is the first i bins with the mass beyond added
   * to bin i - 1, Q is P merged into {@code quantizedBins} groups and spread back evenly over P's
   * non-zero bins; both are smoothed (eps 1e-4) and the i with the least KL(P || Q) wins,
   * threshold = the right edge of bin i - 1. Ties keep the first (smallest) i.
   */
  public static Kl klTensorRt(Histogram h, int quantizedBins) {
    long[] hist = h.counts();
    int n = hist.length;
    double width = h.binWidth();
    double best = Double.POSITIVE_INFINITY;
    int bestI = n;
    double[] p = new double[n];
    double[] q = new double[n];
    long[] suffix = new long[n + 1];
    for (int i = n - 1; i >= 0; i--) {
      suffix[i] = suffix[i + 1] + hist[i];
    }
    for (int i = quantizedBins; i <= n; i++) {
      for (int j = 0; j < i; j++) {
        p[j] = hist[j];
      }
      p[i - 1] += suffix[i];
      int merged = i / quantizedBins;
      for (int g = 0; g < quantizedBins; g++) {
        int start = g * merged;
        int stop = g == quantizedBins - 1 ? i : start + merged;
        double sum = 0;
        int nonZero = 0;
        for (int j = start; j < stop; j++) {
          sum += hist[j];
          if (p[j] != 0) {
            nonZero++;
          }
        }
        for (int j = start; j < stop; j++) {
          q[j] = nonZero == 0 || p[j] == 0 ? 0 : sum / nonZero;
        }
      }
      double kl = divergence(p, q, i);
      if (kl < best) {
        best = kl;
        bestI = i;
      }
    }
    return new Kl(h.lo() + bestI * width, bestI, best);
  }

  /**
   * A KL search aimed at int16 ({@link #klFine}): the threshold, its divergence, whether the
   * divergence told the candidates apart at all, the spread of divergences over the candidates,
   * how many candidates were evaluated and the reference bins per quantized level at the threshold.
   */
  public record KlFine(double threshold, int index, double divergence, boolean discriminates, double spread,
      int candidates, double binsPerLevel) {}

  /** Reference bins per quantized level below which a KL candidate is not evaluated. */
  public static final int MIN_BINS_PER_LEVEL = 4;

  /**
   * The entropy search at int16 resolution: TensorRT's divergence ({@link #klTensorRt}) with
   * {@code quantizedBins} levels (32768 for int16 magnitudes), evaluated only at candidates that
   * leave at least {@link #MIN_BINS_PER_LEVEL} histogram bins per level (coarser ones cannot see
   * rounding), on a grid of at most {@code gridSize} end bins refined around the best. When the
   * histogram is too coarse for any candidate, or every candidate's divergence is the same to
   * within 1e-9 + 1e-6·min, the search says so ({@code discriminates == false}) and returns max|x|
   * rather than passing a tie off as a choice.
   */
  public static KlFine klFine(Histogram h, int quantizedBins, int gridSize) {
    long[] hist = h.counts();
    int n = hist.length;
    int first = Math.multiplyExact(quantizedBins, MIN_BINS_PER_LEVEL);
    if (first > n) {
      return new KlFine(h.hi(), n, Double.NaN, false, 0, 0, (double) n / quantizedBins);
    }
    long[] suffix = new long[n + 1];
    for (int i = n - 1; i >= 0; i--) {
      suffix[i] = suffix[i + 1] + hist[i];
    }
    int stride = Math.max(1, (n - first) / Math.max(1, gridSize - 1));
    double[] groupSum = new double[quantizedBins];
    int[] groupNonZero = new int[quantizedBins];
    double best = Double.POSITIVE_INFINITY;
    double worst = Double.NEGATIVE_INFINITY;
    int bestI = n;
    int evaluated = 0;
    // The grid always includes n (no clipping), so "keep max" is a candidate like any other.
    for (int i = n; i >= first; i -= stride) {
      double d = klAt(hist, suffix, i, quantizedBins, groupSum, groupNonZero);
      evaluated++;
      worst = Math.max(worst, d);
      if (d < best || (d == best && i > bestI)) {
        best = d;
        bestI = i;
      }
    }
    // Refine between the grid neighbours of the best.
    int lo = Math.max(first, bestI - stride + 1);
    int hi = Math.min(n, bestI + stride - 1);
    int fine = Math.max(1, (hi - lo) / 32);
    for (int i = lo; i <= hi; i += fine) {
      double d = klAt(hist, suffix, i, quantizedBins, groupSum, groupNonZero);
      evaluated++;
      worst = Math.max(worst, d);
      if (d < best || (d == best && i > bestI)) {
        best = d;
        bestI = i;
      }
    }
    double spread = worst - best;
    boolean discriminates = spread > 1e-9 + 1e-6 * Math.abs(best);
    if (!discriminates) {
      return new KlFine(h.hi(), n, best, false, spread, evaluated, (double) n / quantizedBins);
    }
    return new KlFine(h.lo() + bestI * h.binWidth(), bestI, best, true, spread, evaluated,
        (double) bestI / quantizedBins);
  }

  /**
   * KL(P || Q) of candidate end bin {@code i}, as {@link #klTensorRt} computes it, without
   * allocating: P is hist[0..i) with the mass beyond added to bin i - 1, Q spreads each of the
   * {@code levels} groups' sum evenly over its non-zero bins, both eps-smoothed. One pass gathers
   * each group's histogram sum and non-zero count (P and Q are zero in the same bins, except in
   * groups whose sum is zero), the second sums the divergence.
   */
  static double klAt(long[] hist, long[] suffix, int i, int levels) {
    return klAt(hist, suffix, i, levels, new double[levels], new int[levels]);
  }

  /** {@link #klAt(long[], long[], int, int)} with the caller's per-group scratch. */
  static double klAt(long[] hist, long[] suffix, int i, int levels, double[] groupSum, int[] groupNonZero) {
    final double eps = 1e-4;
    int merged = i / levels;
    int nonZeroP = 0;
    int nonZeroQ = 0;
    double sumQ = 0;
    for (int g = 0; g < levels; g++) {
      int start = g * merged;
      int stop = g == levels - 1 ? i : start + merged;
      double sum = 0;
      int nonZero = 0;
      for (int j = start; j < stop; j++) {
        sum += hist[j];
        if (p(hist, suffix, i, j) != 0) {
          nonZero++;
        }
      }
      groupSum[g] = sum;
      groupNonZero[g] = nonZero;
      nonZeroP += nonZero;
      if (sum != 0) {
        nonZeroQ += nonZero;
        sumQ += sum;
      }
    }
    double sumP = suffix[0]; // P holds all the mass: the bins below i and everything beyond
    int zerosP = i - nonZeroP;
    int zerosQ = i - nonZeroQ;
    if (nonZeroP == 0 || nonZeroQ == 0) {
      return Double.POSITIVE_INFINITY;
    }
    double epsP = eps * zerosP / nonZeroP;
    double epsQ = eps * zerosQ / nonZeroQ;
    if (epsP >= 1 || epsQ >= 1) {
      return Double.POSITIVE_INFINITY;
    }
    // Smoothed sums: every zero becomes eps, every non-zero loses its eps share.
    double sp = sumP - epsP * nonZeroP + eps * zerosP;
    double sq = sumQ - epsQ * nonZeroQ + eps * zerosQ;
    double kl = 0;
    for (int g = 0; g < levels; g++) {
      int start = g * merged;
      int stop = g == levels - 1 ? i : start + merged;
      double qv = groupNonZero[g] == 0 || groupSum[g] == 0 ? 0 : groupSum[g] / groupNonZero[g];
      for (int j = start; j < stop; j++) {
        double p = p(hist, suffix, i, j);
        double a = (p == 0 ? eps : p - epsP) / sp;
        double b = (p == 0 || qv == 0 ? eps : qv - epsQ) / sq;
        kl += a * Math.log(a / b);
      }
    }
    return kl;
  }

  /** P's bin j for candidate i: the histogram, with the mass beyond folded into bin i - 1. */
  private static double p(long[] hist, long[] suffix, int i, int j) {
    return j == i - 1 ? hist[j] + suffix[i] : hist[j];
  }

  /** KL(P || Q) of the first n entries after eps-smoothing both (TensorRT's _smooth_distribution). */
  private static double divergence(double[] p, double[] q, int n) {
    double[] ps = smooth(p, n);
    double[] qs = smooth(q, n);
    if (ps == null || qs == null) {
      return Double.POSITIVE_INFINITY;
    }
    double sp = 0;
    double sq = 0;
    for (int j = 0; j < n; j++) {
      sp += ps[j];
      sq += qs[j];
    }
    double kl = 0;
    for (int j = 0; j < n; j++) {
      double a = ps[j] / sp;
      double b = qs[j] / sq;
      if (a > 0) {
        kl += a * Math.log(a / b);
      }
    }
    return kl;
  }

  private static double[] smooth(double[] d, int n) {
    final double eps = 1e-4;
    int zeros = 0;
    for (int j = 0; j < n; j++) {
      if (d[j] == 0) {
        zeros++;
      }
    }
    int nonZeros = n - zeros;
    if (nonZeros == 0) {
      return null;
    }
    double eps1 = eps * zeros / nonZeros;
    if (eps1 >= 1) {
      return null;
    }
    double[] out = new double[n];
    for (int j = 0; j < n; j++) {
      out[j] = d[j] == 0 ? eps : d[j] - eps1;
    }
    return out;
  }

  /** An MSE search result. */
  public record Mse(double threshold, int index, double mse) {}

  /**
   * The threshold among the right edges of bins {@code firstCandidate..bins-1} that minimizes the
   * expected squared error of a symmetric quantizer with {@code qmax} levels each side (scale =
   * T / qmax): values inside round to the nearest level, values beyond T clip to it. Within a bin
   * the mass is taken as uniform and the error integrated exactly over the levels it spans, so the
   * estimate holds even when a bin spans several quantization steps; it can only see what the
   * histogram resolves, so at int16 a 2048-bin histogram leaves every candidate but max|x| with
   * clipping error far above the rounding error (see {@link #stepsPerBin}).
   */
  public static Mse mse(Histogram h, int qmax, int firstCandidate) {
    long[] c = h.counts();
    double[] edges = h.edges();
    long total = 0;
    for (long v : c) {
      total += v;
    }
    double best = Double.POSITIVE_INFINITY;
    int bestI = c.length - 1;
    for (int i = firstCandidate; i < c.length; i++) {
      double t = edges[i + 1];
      double err = 0;
      for (int b = 0; b < c.length; b++) {
        if (c[b] != 0) {
          err += c[b] * meanSquaredError(edges[b], edges[b + 1], t, qmax);
        }
      }
      err /= Math.max(1, total);
      if (err < best) {
        best = err;
        bestI = i;
      }
    }
    return new Mse(edges[bestI + 1], bestI, best);
  }

  /** An MSE search over a fine histogram ({@link #mseFine}). */
  public record MseFine(double threshold, int index, double mse, int candidates, double binsPerStep) {}

  /**
   * {@link #mse} for histograms fine enough for int16 (hundreds of thousands of bins), where trying
   * every bin edge would cost bins² integrations: candidate thresholds are the right edges of a grid
   * of at most {@code gridSize} bins from bins/64 up to the last, refined between the best's grid
   * neighbours; only non-empty bins are integrated. Ties keep the larger threshold (clip less).
   */
  public static MseFine mseFine(Histogram h, int qmax, int gridSize) {
    long[] c = h.counts();
    double[] edges = h.edges();
    int n = c.length;
    int nonEmpty = 0;
    long total = 0;
    for (long v : c) {
      if (v != 0) {
        nonEmpty++;
        total += v;
      }
    }
    int[] bins = new int[nonEmpty];
    for (int b = 0, k = 0; b < n; b++) {
      if (c[b] != 0) {
        bins[k++] = b;
      }
    }
    int first = Math.max(0, n / 64 - 1);
    int stride = Math.max(1, (n - 1 - first) / Math.max(1, gridSize - 1));
    double best = Double.POSITIVE_INFINITY;
    int bestI = n - 1;
    int evaluated = 0;
    for (int i = n - 1; i >= first; i -= stride) {
      double err = expectedError(c, edges, bins, edges[i + 1], qmax);
      evaluated++;
      if (err < best) {
        best = err;
        bestI = i;
      }
    }
    int lo = Math.max(first, bestI - stride + 1);
    int hi = Math.min(n - 1, bestI + stride - 1);
    int fine = Math.max(1, (hi - lo) / 32);
    for (int i = hi; i >= lo; i -= fine) {
      double err = expectedError(c, edges, bins, edges[i + 1], qmax);
      evaluated++;
      if (err < best) {
        best = err;
        bestI = i;
      }
    }
    double t = edges[bestI + 1];
    return new MseFine(t, bestI, best / Math.max(1, total), evaluated, (t / qmax) / h.binWidth());
  }

  /** Σ count · mean squared error over the non-empty {@code bins}, threshold t. */
  private static double expectedError(long[] c, double[] edges, int[] bins, double t, int qmax) {
    double err = 0;
    for (int b : bins) {
      double a = edges[b];
      double z = edges[b + 1];
      if (a >= t && z > a) {
        // Wholly clipped: the mean of (v - t)^2 over [a, z] in closed form.
        err += c[b] * ((Math.pow(z - t, 3) - Math.pow(a - t, 3)) / (3 * (z - a)));
      } else {
        err += c[b] * meanSquaredError(a, z, t, qmax);
      }
    }
    return err;
  }

  /**
   * Sum over x[off..off+n) of the squared error of each candidate threshold T_k as a symmetric
   * quantizer of |x| with {@code qmax} levels (scale T_k / qmax, clipped at qmax), added into
   * {@code sums[k]}: the exact, data-side refinement of {@link #mse} (a flat histogram estimate
   * cannot place the optimum to the bin). Non-finite values are skipped.
   */
  public static void addSquaredErrors(float[] x, int off, int n, double[] candidates, int qmax, double[] sums) {
    for (int k = 0; k < candidates.length; k++) {
      double s = candidates[k] / qmax;
      double acc = 0;
      for (int i = off, end = off + n; i < end; i++) {
        double v = Math.abs((double) x[i]);
        if (!(v - v == 0)) {
          continue;
        }
        double r = Math.min(Math.rint(v / s), qmax) * s;
        acc += (r - v) * (r - v);
      }
      sums[k] += acc;
    }
  }

  /** Mean of (Q(v) - v)^2 for v uniform on [a, b], Q rounding to multiples of T/qmax, clipped at T. */
  static double meanSquaredError(double a, double b, double t, int qmax) {
    if (b <= a) {
      double s = t / qmax;
      double r = Math.min(Math.rint(a / s), qmax) * s;
      return (r - a) * (r - a);
    }
    double s = t / qmax;
    double sum = 0;
    double u = a;
    while (u < b) {
      long k = (long) Math.rint(u / s);
      double level;
      double w;
      if (k >= qmax) {
        level = t; // clipped: everything above rounds to the top level
        w = b;
      } else {
        level = k * s;
        w = Math.min(b, (k + 0.5) * s);
        if (w <= u) {
          w = Math.min(b, Math.nextUp(u)); // guard against rounding at a segment edge
        }
      }
      sum += (Math.pow(w - level, 3) - Math.pow(u - level, 3)) / 3;
      u = w;
    }
    return sum / (b - a);
  }

  /**
   * Bin widths per quantization step at threshold {@code t} with {@code qmax} levels: a search is
   * only meaningful when this is well above 1 (bins much finer than the step).
   */
  public static double stepsPerBin(Histogram h, double t, int qmax) {
    return (t / qmax) / h.binWidth();
  }
}
