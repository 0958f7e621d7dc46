package io.q16.spark;

import io.q16.Errors;
import io.q16.Units;
import io.q16.calib.Histogram;
import io.q16.calib.RangeStats;
import io.q16.format.Calibration;
import io.q16.format.Crc32c;
import io.q16.format.Model;
import io.q16.format.ModelReader;
import io.q16.fs.OutputDir;
import io.q16.quant.Granularity;
import io.q16.quant.NanPolicy;
import io.q16.quant.Scheme;
import io.q16.quant.TensorSpec;
import io.q16.tensor.Plan;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 calibrate MODEL --out DIR}: thresholds for a model's weights from two passes over the
 * data: exact ranges (pass 1, shared with quantize), then |x| histograms with bins fixed by the
 * driver from pass 1, merged by addition on executors (pass 2), and the threshold search per tensor
 * on executors. The result does not depend on executors, partitions or chunk sizes.
 *
 * <p>With {@code --activations PATH} the values are an activation dataset instead
 * ({@link ActivationSource}): pass 1 folds its ranges per tensor, and the rest is the same.
 */
public final class CalibrateJob {
  /** What to calibrate and how; with {@code activations}, that dataset, and MODEL (may be null) is context. */
  public record Options(String model, String out, String method, double percentile, int bins, long chunkBytes,
      int partitions, NanPolicy nanPolicy, String activations) {
    /** A model's weights. */
    public Options(String model, String out, String method, double percentile, int bins, long chunkBytes,
        int partitions, NanPolicy nanPolicy) {
      this(model, out, method, percentile, bins, chunkBytes, partitions, nanPolicy, null);
    }
  }

  /** How {@code source} begins in an activation calibration, which quantize refuses to apply to weights. */
  public static final String ACTIVATIONS = "activations ";

  /** ONNX Runtime's calibration table: {"tensor": [rmin, rmax]}. */
  public static final String ORT_TABLE = "ort_calibration.json";

  private CalibrateJob() {}

  public static Calibration run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    ThresholdSearch.Method method;
    try {
      method = ThresholdSearch.Method.parse(o.method());
    } catch (IllegalArgumentException e) {
      throw Errors.usage(e.getMessage());
    }
    // A histogram is 8 bytes a bin per tensor and task: 2^20 bins is 8 MiB, already far finer
    // than any search here needs.
    if (o.bins() < 128 || o.bins() > (1 << 20)) {
      throw Errors.usage("--bins " + o.bins() + " is outside 128..1048576");
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    // The values: an activation dataset, checked and listed before any output exists; else the
    // model's weights, whose pass 1 is the statistics pass shared with quantize (it also gives CRCs).
    ActivationSource activations = o.activations() == null ? null : openActivations(spark, o, conf, method, progress);
    List<TensorInfo> tensors = new ArrayList<>();
    Plan plan = null;
    if (activations == null) {
      Model model = ModelReader.read(o.model(), conf);
      for (TensorInfo t : model.tensors()) {
        if (t.dtype().quantizable()) {
          tensors.add(t);
        }
      }
      plan = Plan.of(tensors, o.chunkBytes(), Long.MAX_VALUE);
      progress.printf("[plan] %s: %s to calibrate (%s), %s, method %s%n", o.model(),
          Units.count(tensors.size(), "tensor"), Units.bytes(model.totalBytes()),
          Units.count(plan.chunks().size(), "chunk"), method);
    }
    List<String> names = activations != null ? activations.names() : tensors.stream().map(TensorInfo::name).toList();
    String runId = OutputDir.newRunId();
    try (OutputDir out = OutputDir.create(o.out(), conf, runId, Calibration.FILE_NAME)) {
      Broadcast<HadoopConf> hconf = jsc.broadcast(new HadoopConf(conf));
      RangeStats[] ranges;
      String fingerprint;
      ValueSource source;
      if (activations != null) {
        ranges = activations.ranges(jsc, o.nanPolicy());
        fingerprint = ActivationSource.fingerprint(names, ranges);
        source = activations;
      } else {
        TensorSpec[] specs = new TensorSpec[tensors.size()];
        for (int t = 0; t < specs.length; t++) {
          specs[t] = new TensorSpec(tensors.get(t).shape(), Granularity.TENSOR, Scheme.SYMMETRIC, false);
        }
        TensorStats[] stats = StatsPass.run(spark, plan, hconf, jsc.broadcast(specs), o.partitions(), progress);
        StatsPass.checkNan(plan, stats, o.nanPolicy(), "calibrate");
        ranges = new RangeStats[stats.length];
        for (int t = 0; t < stats.length; t++) {
          ranges[t] = stats[t].range;
        }
        fingerprint = fingerprint(tensors, stats);
        source = new WeightSource(spark, plan, hconf, o.partitions(), progress);
      }
      float[] absmax = new float[names.size()];
      for (int t = 0; t < absmax.length; t++) {
        absmax[t] = ranges[t].absmax();
      }
      ThresholdSearch.Result[] results = new ThresholdSearch.Result[names.size()];
      if (method != ThresholdSearch.Method.MINMAX) {
        Broadcast<float[]> bAbsmax = jsc.broadcast(absmax);
        long t0 = System.nanoTime();
        for (ThresholdSearch.Result r : source.fold("histogram", jsc.broadcast(new MagnitudeBins(absmax, o.bins())),
            new ThresholdSearch(bAbsmax, method, o.percentile(), 32767))) {
          results[r.tensor()] = r;
        }
        progress.printf("[search] %s searched on executors in %.1fs%n", Units.count(names.size(), "tensor"),
            (System.nanoTime() - t0) / 1e9);
      }
      List<Calibration.Entry> entries = new ArrayList<>();
      for (int t = 0; t < names.size(); t++) {
        ThresholdSearch.Result r = results[t];
        double threshold = r == null ? absmax[t] : r.threshold();
        float tf = (float) Math.min(threshold, absmax[t]);
        long total = ranges[t].finite();
        long beyond = r == null ? 0 : r.beyond();
        double binWidth = absmax[t] / (double) o.bins();
        double binsPerStep = r == null ? Double.POSITIVE_INFINITY : r.binsPerInt16Step();
        String note = null;
        if (r != null && method != ThresholdSearch.Method.PERCENTILE && binsPerStep < 4) {
          note = String.format(java.util.Locale.ROOT,
              "histogram bins are %.3g int16 steps wide at the threshold: the %s search cannot resolve int16"
                  + " rounding error at --bins %d and mostly weighs clipping", 1 / binsPerStep, method, o.bins());
        }
        entries.add(new Calibration.Entry(names.get(t), method.toString(), tf, absmax[t],
            total == 0 ? 0 : (double) beyond / total, o.bins(), binWidth,
            r == null || Double.isNaN(r.objective()) ? null : r.objective(),
            Double.isInfinite(binsPerStep) ? -1 : binsPerStep, note));
      }
      Calibration c = new Calibration(Calibration.FORMAT, Calibration.FORMAT_VERSION, Instant.now().toString(),
          sourceName(o), fingerprint, method.toString(),
          method == ThresholdSearch.Method.PERCENTILE ? o.percentile() : null, o.bins(), entries);
      // ONNX Runtime's calibration table shape (what write_calibration_table saves as JSON):
      // tensor name -> [rmin, rmax], the range clipped to [-T, T], for users of that tool.
      java.util.Map<String, float[]> ort = new java.util.LinkedHashMap<>();
      for (int t = 0; t < names.size(); t++) {
        float tf = entries.get(t).threshold();
        var r = ranges[t];
        ort.put(names.get(t), r.finite() == 0 ? new float[] {0f, 0f}
            : new float[] {Math.max(r.min(), -tf), Math.min(r.max(), tf)});
      }
      out.writeAtomically(ORT_TABLE, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(ort));
      out.writeAtomically("report/index.html", report(c, results));
      out.writeAtomically("report/report.json", c.toJson());
      out.writeAtomically(Calibration.FILE_NAME, c.toJson());
      out.commit();
      return c;
    }
  }

  /**
   * Checks and lists the activation dataset; MODEL, when given, is read (headers only) so that a
   * wrong path fails now rather than being recorded.
   */
  private static ActivationSource openActivations(SparkSession spark, Options o, Configuration conf,
      ThresholdSearch.Method method, PrintStream progress) throws IOException {
    if (o.model() != null) {
      ModelReader.read(o.model(), conf);
    }
    ActivationSource a = ActivationSource.open(spark, o.activations(), o.partitions(), progress);
    progress.printf("[plan] %s: %s to calibrate (%s in %d rows, reader batches of %d rows), method %s%n",
        o.activations(), Units.count(a.names().size(), "activation tensor"), Units.bytes(a.bytes()), a.rows(),
        a.batchRows(), method);
    return a;
  }

  /** calibration.json's {@code source}: the model, or the activation dataset and the model it came from. */
  private static String sourceName(Options o) {
    return o.activations() == null ? o.model()
        : ACTIVATIONS + o.activations() + (o.model() == null ? "" : " of " + o.model());
  }

  /** The calibration report: a table of every tensor, and its histogram with the thresholds on it. */
  private static byte[] report(Calibration c, ThresholdSearch.Result[] results) {
    io.q16.report.HtmlReport r = new io.q16.report.HtmlReport("Q16 calibration: " + c.source());
    r.paragraph("Method " + c.method() + ", " + c.bins() + " histogram bins over [0, max|x|] per tensor."
        + " Counts are drawn on a log scale; the red line is the chosen threshold, dashed lines the other methods'.");
    List<List<String>> rows = new ArrayList<>();
    for (Calibration.Entry e : c.tensors()) {
      rows.add(List.of(e.name(), e.method(), String.format(java.util.Locale.ROOT, "%.6g", e.threshold()),
          String.format(java.util.Locale.ROOT, "%.6g", e.absmax()),
          String.format(java.util.Locale.ROOT, "%.4f", e.absmax() > 0 ? e.threshold() / e.absmax() : 1),
          String.format(java.util.Locale.ROOT, "%.5f%%", 100 * e.clippedFraction()),
          e.binsPerInt16Step() < 0 ? "-" : String.format(java.util.Locale.ROOT, "%.3g", e.binsPerInt16Step()),
          e.note() == null ? "" : e.note()));
    }
    r.table(List.of("tensor", "method", "threshold", "max|x|", "threshold / max", "clipped", "bins per int16 step",
        "note"), rows);
    for (int t = 0; t < c.tensors().size(); t++) {
      Calibration.Entry e = c.tensors().get(t);
      ThresholdSearch.Result res = results[t];
      if (res == null) {
        continue;
      }
      double[] cand = res.candidates();
      r.histogram(e.name() + ": |x| histogram", res.display(), e.absmax(),
          new double[] {e.threshold(), cand[0], cand[1], cand[2]},
          new String[] {c.method(), "max", "p99.99", "kl"});
    }
    return r.toBytes();
  }

  /** Pass 2's statistic: each tensor's |x| histogram over [0, max|x|], bins fixed from pass 1. */
  static final class MagnitudeBins implements FoldFactory<Histogram> {
    private static final long serialVersionUID = 1L;
    private final float[] absmax;
    private final int bins;

    MagnitudeBins(float[] absmax, int bins) {
      this.absmax = absmax;
      this.bins = bins;
    }

    @Override
    public Histogram create(int tensor) {
      return new Histogram(0, absmax[tensor], bins, true);
    }
  }

  private static String fingerprint(List<TensorInfo> tensors, TensorStats[] stats) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (int t = 0; t < tensors.size(); t++) {
        md.update((tensors.get(t).name() + "\0" + Crc32c.hex(stats[t].crc) + "\n").getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
