package io.q16.spark;

import io.q16.calib.Histogram;
import io.q16.calib.Thresholds;
import java.util.Locale;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Executor side of calibration: one tensor's merged histogram in, its threshold out. Searches of
 * different tensors run in parallel; none needs the data.
 */
final class ThresholdSearch implements Function<Tuple2<Integer, Histogram>, ThresholdSearch.Result> {
  private static final long serialVersionUID = 1L;

  /** Calibration methods (DESIGN.md §4). */
  enum Method {
    MINMAX, PERCENTILE, MSE, KL;

    static Method parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown --method '" + s + "' (minmax, percentile, mse or kl)");
      }
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * A tensor's threshold, with the search's own figure (KL divergence or expected MSE) and how many
   * histogram bins fit in one int16 quantization step at the threshold: below 1 the histogram
   * cannot see int16 rounding error at all, and a search aimed at it degenerates.
   */
  static final class Result implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    // Fields, not a record: RDD results go through Spark's serializer, and its Kryo cannot do records.
    private final int tensor;
    private final double threshold;
    private final double objective;
    private final double binsPerInt16Step;
    private final long beyond;
    private final long[] display;
    private final double[] candidates;

    Result(int tensor, double threshold, double objective, double binsPerInt16Step, long beyond, long[] display,
        double[] candidates) {
      this.display = display;
      this.candidates = candidates;
      this.tensor = tensor;
      this.threshold = threshold;
      this.objective = objective;
      this.binsPerInt16Step = binsPerInt16Step;
      this.beyond = beyond;
    }

    int tensor() {
      return tensor;
    }

    double threshold() {
      return threshold;
    }

    double objective() {
      return objective;
    }

    double binsPerInt16Step() {
      return binsPerInt16Step;
    }

    /** Elements in bins wholly above the threshold. */
    long beyond() {
      return beyond;
    }

    /** The histogram summed down to at most 256 bins, for the report. */
    long[] display() {
      return display;
    }

    /** Other methods' thresholds on the same histogram, for the report: minmax, percentile 99.99, kl. */
    double[] candidates() {
      return candidates;
    }
  }

  private final Broadcast<float[]> absmax;
  private final Method method;
  private final double percentile;
  private final int qmax;

  ThresholdSearch(Broadcast<float[]> absmax, Method method, double percentile, int qmax) {
    this.absmax = absmax;
    this.method = method;
    this.percentile = percentile;
    this.qmax = qmax;
  }

  @Override
  public Result call(Tuple2<Integer, Histogram> in) {
    int t = in._1();
    Histogram h = in._2();
    double threshold;
    double objective = Double.NaN;
    switch (method) {
      case PERCENTILE -> threshold = Thresholds.percentile(h, percentile);
      case KL -> {
        Thresholds.Kl kl = Thresholds.klTensorRt(h, 128);
        threshold = kl.threshold();
        objective = kl.divergence();
      }
      case MSE -> {
        Thresholds.Mse mse = Thresholds.mse(h, qmax, Math.min(128, h.bins() - 1));
        threshold = mse.threshold();
        objective = mse.mse();
      }
      default -> threshold = h.hi();
    }
    double binsPerStep = h.binWidth() > 0 ? (threshold / qmax) / h.binWidth() : Double.POSITIVE_INFINITY;
    // Elements in bins wholly above the threshold: the clipped count the histogram can see.
    long beyond = 0;
    double[] edges = h.edges();
    long[] counts = h.counts();
    for (int b = 0; b < counts.length; b++) {
      if (edges[b] >= threshold) {
        beyond += counts[b];
      }
    }
    double kl = method == Method.KL ? threshold : Thresholds.klTensorRt(h, Math.min(128, h.bins())).threshold();
    double[] candidates = {h.hi(), Thresholds.percentile(h, 99.99), kl};
    return new Result(t, threshold, objective, binsPerStep, beyond, downsample(counts, 256), candidates);
  }

  private static long[] downsample(long[] counts, int bins) {
    int factor = Math.max(1, (counts.length + bins - 1) / bins);
    long[] out = new long[(counts.length + factor - 1) / factor];
    for (int i = 0; i < counts.length; i++) {
      out[i / factor] += counts[i];
    }
    return out;
  }
}
