package io.q16.calib;

import io.q16.quant.LinearKernel;
import io.q16.quant.QuantParams;

/**
 * The measured error of quantizing one tensor with each of several candidate parameter sets: the
 * data-side judge of calibration methods ({@code auto} keeps the candidate with the least measured
 * squared error, and the report shows every method's). Each candidate quantizes exactly as the
 * quantize job would ({@link LinearKernel}), dequantizes in float32, and adds (x - x̂)² into an
 * {@link ExactSum}, so the figures and the choice made from them are identical for any split of the
 * data. Only finite x enter the sums; ±Inf count as clipped.
 */
public final class CandidateErrors implements Fold<CandidateErrors> {
  private static final long serialVersionUID = 1L;

  /** Elements per block: the scratch below is reused, nothing is allocated per element. */
  private static final int BLOCK = 16384;

  private final QuantParams[] candidates;
  private final ExactSum[] squaredErrors;
  private final long[] clipped;
  private final ExactSum squares;
  private long finite;
  private transient short[] codes;

  /**
   * @param candidates the parameters each candidate threshold gives under the chosen scheme
   * @param absmax max|x| of the tensor: it fixes the sums' unit
   */
  public CandidateErrors(QuantParams[] candidates, float absmax) {
    this.candidates = candidates.clone();
    // Units that keep the common term in ExactSum's one-limb fast path: a rounding error is at most
    // half a step, so its square is below 2^40 units of (scale)²·2^-40; x² is below 2^61 units.
    this.squaredErrors = new ExactSum[candidates.length];
    for (int k = 0; k < candidates.length; k++) {
      squaredErrors[k] = new ExactSum(ExactSum.unitFor(candidates[k].scale(), 40));
    }
    this.clipped = new long[candidates.length];
    this.squares = new ExactSum(ExactSum.unitFor(absmax, 61));
  }

  @Override
  public void accept(float[] x, int off, int n) {
    java.util.Objects.checkFromIndexSize(off, n, x.length);
    if (codes == null) {
      codes = new short[BLOCK];
    }
    for (int done = 0; done < n; done += BLOCK) {
      int m = Math.min(BLOCK, n - done);
      int start = off + done;
      for (int i = start, end = start + m; i < end; i++) {
        float v = x[i];
        if (Float.isFinite(v)) {
          finite++;
          squares.add((double) v * v);
        }
      }
      for (int k = 0; k < candidates.length; k++) {
        QuantParams p = candidates[k];
        clipped[k] += LinearKernel.quantize(x, start, codes, 0, m, p);
        float scale = p.scale();
        int zp = p.zeroPoint();
        ExactSum sum = squaredErrors[k];
        for (int j = 0; j < m; j++) {
          float v = x[start + j];
          if (Float.isFinite(v)) {
            double e = (double) v - (float) (codes[j] - zp) * scale;
            sum.add(e * e);
          }
        }
      }
    }
  }

  @Override
  public CandidateErrors merge(CandidateErrors o) {
    if (o.candidates.length != candidates.length) {
      throw new IllegalArgumentException("candidate errors of different candidates do not merge");
    }
    for (int k = 0; k < candidates.length; k++) {
      squaredErrors[k].merge(o.squaredErrors[k]);
      clipped[k] += o.clipped[k];
    }
    squares.merge(o.squares);
    finite += o.finite;
    return this;
  }

  public int size() {
    return candidates.length;
  }

  public QuantParams params(int k) {
    return candidates[k];
  }

  /** Finite values measured. */
  public long finite() {
    return finite;
  }

  /** Σ(x - x̂)² of candidate k, exact. */
  public ExactSum squaredError(int k) {
    return squaredErrors[k];
  }

  /** Mean squared error of candidate k over the finite values. */
  public double mse(int k) {
    return finite == 0 ? 0 : squaredErrors[k].value() / finite;
  }

  /** SQNR of candidate k in dB: 10·log10(Σx² / Σ(x - x̂)²); +Inf when exact. */
  public double sqnrDb(int k) {
    double e = squaredErrors[k].value();
    double s = squares.value();
    if (e == 0) {
      return Double.POSITIVE_INFINITY;
    }
    return 10 * Math.log10(s / e);
  }

  /** Values whose code clipped (±Inf included) under candidate k. */
  public long clipped(int k) {
    return clipped[k];
  }

  /**
   * The candidate with the least squared error; ties (compared exactly) keep the earliest, so the
   * order the caller lists candidates in is the tie-break.
   */
  public int best() {
    int best = 0;
    for (int k = 1; k < candidates.length; k++) {
      if (squaredErrors[k].units().compareTo(squaredErrors[best].units()) < 0) {
        best = k;
      }
    }
    return best;
  }
}
