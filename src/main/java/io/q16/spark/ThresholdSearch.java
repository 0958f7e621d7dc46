package io.q16.spark;

import io.q16.calib.Histogram;
import io.q16.calib.TensorHistograms;
import io.q16.calib.Thresholds;
import java.util.Locale;
import org.apache.spark.api.java.function.Function;
import scala.Tuple2;

/**
 * Executor side of calibration: one tensor's merged |x| histogram in, every method's threshold out.
 * All methods are searched for every tensor, because the measurement pass that follows judges
 * them on the data ({@code auto} keeps the best, the report shows them all). Searches of different
 * tensors run in parallel; none needs the data.
 */
final class ThresholdSearch implements Function<Tuple2<Integer, TensorHistograms>, ThresholdSearch.Result> {
  private static final long serialVersionUID = 1L;

  /** Calibration methods (DESIGN.md §4); the first four are searched, auto chooses among them. */
  enum Method {
    MINMAX, PERCENTILE, MSE, KL, AUTO;

    /** The searched methods, in the order auto breaks ties (least clipping first). */
    static final Method[] SEARCHED = {MINMAX, MSE, KL, PERCENTILE};

    static Method parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown method '" + s + "' (minmax, percentile, mse, kl or auto)");
      }
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The KL search's settings: TensorRT's (2048 bins, 128 levels) or one fine enough for int16. */
  enum KlProfile {
    TRT, INT16;

    static KlProfile parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown --kl-profile '" + s + "' (trt or int16)");
      }
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Bins of TensorRT's histogram, and its quantized levels. */
  static final int TRT_BINS = 2048;
  static final int TRT_LEVELS = 128;

  /**
   * One tensor's thresholds by method ({@link Method#SEARCHED} order is not assumed: index by
   * ordinal), with each search's own figures and the resolution it worked at.
   */
  static final class Result implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    // Fields, not a record: RDD results go through Spark's serializer, and its Kryo cannot do records.
    final int tensor;
    final int bins;
    final double binWidth;
    /** Indexed by Method ordinal; AUTO unused. */
    final double[] thresholds;
    final double klDivergence;
    final boolean klDiscriminates;
    final String klResolution;
    final double mseExpected;
    final String mseResolution;
    final long[] display;
    /** Percentile's [lower, upper] cut of the signed histogram (asymmetric scheme), else null. */
    double[] tails;

    Result(int tensor, int bins, double binWidth, double[] thresholds, double klDivergence, boolean klDiscriminates,
        String klResolution, double mseExpected, String mseResolution, long[] display) {
      this.tensor = tensor;
      this.bins = bins;
      this.binWidth = binWidth;
      this.thresholds = thresholds;
      this.klDivergence = klDivergence;
      this.klDiscriminates = klDiscriminates;
      this.klResolution = klResolution;
      this.mseExpected = mseExpected;
      this.mseResolution = mseResolution;
      this.display = display;
    }

    double threshold(Method m) {
      return thresholds[m.ordinal()];
    }
  }

  private final double percentile;
  private final KlProfile klProfile;
  private final int qmax;

  /** @param qmax the int16 scheme's largest magnitude code: the levels MSE and KL int16 aim at */
  ThresholdSearch(double percentile, KlProfile klProfile, int qmax) {
    this.percentile = percentile;
    this.klProfile = klProfile;
    this.qmax = qmax;
  }

  @Override
  public Result call(Tuple2<Integer, TensorHistograms> in) {
    Result r = search(in._1(), in._2().magnitudes());
    Histogram values = in._2().values();
    if (values != null && values.hi() > values.lo()) {
      r.tails = Thresholds.percentileTails(values, percentile);
    }
    return r;
  }

  Result search(int tensor, Histogram h) {
    double[] t = new double[Method.values().length];
    if (!(h.hi() > 0)) {
      // All zero (or nothing finite): every threshold is 0, quantize gives such a tensor scale 1.
      return new Result(tensor, h.bins(), h.binWidth(), t, Double.NaN, true, "all zero", Double.NaN, "all zero",
          downsample(h.counts(), 256));
    }
    t[Method.MINMAX.ordinal()] = h.hi();
    t[Method.PERCENTILE.ordinal()] = Thresholds.percentile(h, percentile);

    Thresholds.MseFine mse = Thresholds.mseFine(h, qmax, 128);
    t[Method.MSE.ordinal()] = mse.threshold();
    String mseResolution = String.format(Locale.ROOT, "%d bins, %d candidates, %.3g bins per int16 step at T",
        h.bins(), mse.candidates(), mse.binsPerStep());

    double klDivergence;
    boolean klDiscriminates;
    String klResolution;
    if (klProfile == KlProfile.TRT) {
      // TensorRT's histogram: the fine one summed down to 2048 bins. Bin counts are powers of two,
      // so the coarse edges are exactly every (bins/2048)-th fine edge and the sums are exact.
      Histogram coarse = coarsen(h, TRT_BINS);
      Thresholds.Kl kl = Thresholds.klTensorRt(coarse, Math.min(TRT_LEVELS, coarse.bins()));
      t[Method.KL.ordinal()] = kl.threshold();
      klDivergence = kl.divergence();
      klDiscriminates = true;
      klResolution = String.format(Locale.ROOT, "trt: %d bins, %d levels, %.3g bins per int16 step at T",
          coarse.bins(), TRT_LEVELS, (kl.threshold() / qmax) / coarse.binWidth());
    } else {
      Thresholds.KlFine kl = Thresholds.klFine(h, qmax + 1, 128);
      t[Method.KL.ordinal()] = kl.threshold();
      klDivergence = kl.divergence();
      klDiscriminates = kl.discriminates();
      klResolution = String.format(Locale.ROOT,
          "int16: %d bins, %d levels, %d candidates, %.3g bins per level at T, divergence spread %.3g",
          h.bins(), qmax + 1, kl.candidates(), kl.binsPerLevel(), kl.spread());
    }
    return new Result(tensor, h.bins(), h.binWidth(), t, klDivergence, klDiscriminates, klResolution,
        mse.mse(), mseResolution, downsample(h.counts(), 256));
  }

  /** {@code h} summed into {@code bins} bins; h's bin count must be a multiple of {@code bins}. */
  static Histogram coarsen(Histogram h, int bins) {
    if (h.bins() <= bins) {
      return h;
    }
    return Histogram.of(h.lo(), h.hi(), downsample(h.counts(), bins));
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
