package io.q16.spark;

import io.q16.Errors;
import io.q16.Glob;
import io.q16.Units;
import io.q16.calib.CandidateErrors;
import io.q16.calib.Histogram;
import io.q16.calib.RangeStats;
import io.q16.calib.TensorHistograms;
import io.q16.format.Calibration;
import io.q16.format.Crc32c;
import io.q16.format.Model;
import io.q16.format.ModelReader;
import io.q16.fs.OutputDir;
import io.q16.quant.Granularity;
import io.q16.quant.NanPolicy;
import io.q16.quant.QuantParams;
import io.q16.quant.Scheme;
import io.q16.quant.TensorSpec;
import io.q16.spark.ThresholdSearch.KlProfile;
import io.q16.spark.ThresholdSearch.Method;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 calibrate MODEL --out DIR}: a clipping threshold per tensor from three passes over
 * the values, each folding exact, mergeable statistics on executors ({@link io.q16.calib.Fold}):
 *
 * <ol>
 *   <li>ranges (for weights the shared stats pass, which also checksums the source);
 *   <li>|x| histograms with bins fixed by the driver from pass 1, then every method's threshold
 *       searched per tensor on the executors that merged the histogram;
 *   <li>the measured error of quantizing with each method's threshold, in exact fixed-point sums:
 *       {@code auto} keeps the least, and every method's figure is recorded and reported.
 * </ol>
 *
 * The result does not depend on executors, partitions or chunk sizes.
 *
 * <p>With {@code --activations PATH} the values are an activation dataset instead
 * ({@link ActivationSource}): pass 1 folds its ranges per tensor, and the rest is the same.
 */
public final class CalibrateJob {
  /**
   * What to calibrate and how. {@code tensorMethods} holds "GLOB=METHOD" overrides, first match
   * wins. With {@code activations}, that dataset is calibrated and MODEL (may be null) is context;
   * when MODEL is an ONNX model, the dataset holds its inputs instead and the model is run on
   * executors, {@code batch} samples per run at most.
   */
  public record Options(String model, String out, String method, double percentile, int bins, long chunkBytes,
      int partitions, NanPolicy nanPolicy, Scheme scheme, String klProfile, List<String> tensorMethods,
      Granularity granularity, String activations, int batch) {}

  /** How {@code source} begins in an activation calibration, which quantize refuses to apply to weights. */
  public static final String ACTIVATIONS = "activations ";

  /** ONNX Runtime's calibration table: {"tensor": [rmin, rmax]}. */
  public static final String ORT_TABLE = "ort_calibration.json";

  /** The default and the bounds of --bins: powers of two, so TensorRT's 2048 bins are exact sums of ours. */
  public static final int DEFAULT_BINS = 1 << 18;
  static final int MIN_BINS = ThresholdSearch.TRT_BINS;
  static final int MAX_BINS = 1 << 20;

  private CalibrateJob() {}

  /** The validated method settings. */
  record Methods(Method global, KlProfile klProfile, List<Pattern> globs, List<Method> methods) {
    Method forTensor(String name) {
      for (int i = 0; i < globs.size(); i++) {
        if (globs.get(i).matcher(name).matches()) {
          return methods.get(i);
        }
      }
      return global;
    }
  }

  static Methods methods(Options o) {
    try {
      List<Pattern> globs = new ArrayList<>();
      List<Method> methods = new ArrayList<>();
      for (String s : o.tensorMethods()) {
        int eq = s.lastIndexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("--tensor-method '" + s + "' is not GLOB=METHOD");
        }
        globs.add(Glob.compile(s.substring(0, eq)));
        methods.add(Method.parse(s.substring(eq + 1)));
      }
      if (!o.scheme().linear()) {
        throw new IllegalArgumentException("calibration thresholds are for the linear schemes, not " + o.scheme().cliName());
      }
      if (Integer.bitCount(o.bins()) != 1 || o.bins() < MIN_BINS || o.bins() > MAX_BINS) {
        // A histogram is 8 bytes a bin per tensor and task; 2^20 bins (8 MiB) is 32 bins per int16
        // step at max|x|, finer than any search here needs.
        throw new IllegalArgumentException("--bins " + o.bins() + " is not a power of two in " + MIN_BINS + ".." + MAX_BINS);
      }
      // Below 50 a "threshold" would clip most values, and each tail's cut (--scheme asymmetric)
      // would pass the other's.
      if (!(o.percentile() >= 50 && o.percentile() <= 100)) {
        throw new IllegalArgumentException("--percentile " + o.percentile() + " is outside [50, 100]");
      }
      return new Methods(Method.parse(o.method()), KlProfile.parse(o.klProfile()), globs, methods);
    } catch (IllegalArgumentException e) {
      throw Errors.usage(e.getMessage());
    }
  }

  public static Calibration run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    Methods methods = methods(o);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    boolean onnx = o.model() != null && o.model().toLowerCase(Locale.ROOT).endsWith(".onnx");
    if (o.batch() != 1 && !(onnx && o.activations() != null)) {
      throw Errors.usage("--batch applies to calibrate MODEL.onnx --activations INPUTS only");
    }
    if (o.activations() != null) {
      return onnx ? runOnnxActivations(spark, o, methods, conf, progress)
          : runActivations(spark, o, methods, conf, progress);
    }
    Model model = ModelReader.read(o.model(), conf);
    List<TensorInfo> tensors = new ArrayList<>();
    for (TensorInfo t : model.tensors()) {
      if (t.dtype().quantizable()) {
        tensors.add(t);
      }
    }
    TensorSpec[] specs = new TensorSpec[tensors.size()];
    for (int t = 0; t < specs.length; t++) {
      // Per channel (rank >= 2 and the axis exists): the stats pass also returns every channel's range.
      long[] shape = tensors.get(t).shape();
      Granularity g = o.granularity().kind() == Granularity.Kind.CHANNEL && shape.length >= 2
          && o.granularity().axis() < shape.length ? o.granularity() : Granularity.TENSOR;
      specs[t] = new TensorSpec(shape, g, Scheme.SYMMETRIC, false).withUnitRanges();
    }
    Plan plan = Plan.of(tensors, o.chunkBytes(), Long.MAX_VALUE);
    progress.printf("[plan] %s: %s to calibrate (%s), %s, method %s%n", o.model(),
        Units.count(tensors.size(), "tensor"), Units.bytes(model.totalBytes()),
        Units.count(plan.chunks().size(), "chunk"), methods.global());
    String runId = OutputDir.newRunId();
    try (OutputDir out = OutputDir.create(o.out(), conf, runId, Calibration.FILE_NAME)) {
      Broadcast<HadoopConf> hconf = jsc.broadcast(new HadoopConf(conf));
      TensorStats[] stats = StatsPass.run(spark, plan, hconf, jsc.broadcast(specs), o.partitions(), progress);
      StatsPass.checkNan(plan, stats, o.nanPolicy(), "calibrate");
      RangeStats[] ranges = new RangeStats[stats.length];
      for (int t = 0; t < ranges.length; t++) {
        ranges[t] = stats[t].range;
      }
      ValueSource source = new WeightSource(spark, plan, hconf, o.partitions(), progress);
      Result r = calibrate(spark, o, methods, source, ranges, o.model(), fingerprint(tensors, stats), progress);
      r = withChannels(r, specs, stats);
      write(out, r, ranges);
      return r.calibration();
    }
  }

  /**
   * An activation dataset: checked and listed before any output exists (MODEL, when given, is read
   * so that a wrong path fails now rather than being recorded), then pass 1 folds its ranges.
   */
  private static Calibration runActivations(SparkSession spark, Options o, Methods methods, Configuration conf,
      PrintStream progress) throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    if (o.model() != null) {
      ModelReader.read(o.model(), conf);
    }
    ActivationSource a = ActivationSource.open(spark, o.activations(), o.partitions(), progress);
    progress.printf("[plan] %s: %s to calibrate (%s in %d rows, reader batches of %d rows), method %s%n",
        o.activations(), Units.count(a.names().size(), "activation tensor"), Units.bytes(a.bytes()), a.rows(),
        a.batchRows(), methods.global());
    String runId = OutputDir.newRunId();
    try (OutputDir out = OutputDir.create(o.out(), conf, runId, Calibration.FILE_NAME)) {
      RangeStats[] ranges = a.ranges(jsc, o.nanPolicy());
      String source = ACTIVATIONS + o.activations() + (o.model() == null ? "" : " of " + o.model());
      Result r = calibrate(spark, o, methods, a, ranges, source, ActivationSource.fingerprint(a.names(), ranges),
          progress);
      write(out, r, ranges);
      return r.calibration();
    }
  }

  /**
   * An ONNX model and a dataset of its inputs: the model runs on executors in every pass
   * ({@link OnnxActivationSource}); the graph and the dataset's schema are checked before any output
   * exists. The report gets each pass's time and ONNX Runtime's share of it.
   */
  private static Calibration runOnnxActivations(SparkSession spark, Options o, Methods methods, Configuration conf,
      PrintStream progress) throws IOException {
    try (OnnxActivationSource a = OnnxActivationSource.open(spark, o.model(), o.activations(), o.partitions(),
        o.batch(), ShippedOnnxModel.BROADCAST_LIMIT, progress)) {
      OnnxInputs in = a.inputs();
      progress.printf(Locale.ROOT, "[plan] %s: %s to calibrate%s; %d samples of %s in %s (%s); batches of up to %d;"
          + " model %s to executors; 3 passes, each running the model over every sample; method %s%n", o.model(),
          Units.count(a.names().size(), "activation"),
          a.activations().skipped().isEmpty() ? "" : " (" + a.activations().skipped().size() + " not float32 or not"
              + " inferred, skipped)", in.rows(), java.util.Arrays.toString(in.inputs()), o.activations(),
          Units.bytes(in.bytes()), o.batch(), a.model().broadcast() ? "broadcast" : "read by each task",
          methods.global());
      String runId = OutputDir.newRunId();
      try (OutputDir out = OutputDir.create(o.out(), conf, runId, Calibration.FILE_NAME)) {
        RangeStats[] ranges = a.ranges(o.nanPolicy());
        String source = ACTIVATIONS + o.activations() + " of " + o.model();
        Result r = calibrate(spark, o, methods, a, ranges, source, ActivationSource.fingerprint(a.names(), ranges),
            progress);
        List<io.q16.report.CalibrationReport.Pass> passes = new ArrayList<>();
        for (OnnxActivationSource.PassTime t : a.passes()) {
          passes.add(new io.q16.report.CalibrationReport.Pass(t.pass(), t.samples(), t.seconds(), t.modelSeconds(),
              t.taskNanos() / 1e9,
              t.sessions(), t.share(t.runNanos()), t.share(t.foldNanos()), t.share(t.copyNanos()),
              t.share(t.sessionNanos()), t.share(t.otherNanos())));
        }
        write(out, r, ranges, passes);
        return r.calibration();
      }
    }
  }

  /** The entries of per-channel tensors with their channels' ranges from pass 1. */
  private static Result withChannels(Result r, TensorSpec[] specs, TensorStats[] stats) {
    List<Calibration.Entry> entries = new ArrayList<>();
    for (int t = 0; t < specs.length; t++) {
      Calibration.Entry e = r.calibration().tensors().get(t);
      if (specs[t].granularity().kind() == Granularity.Kind.CHANNEL && stats[t].unitMin != null) {
        e = new Calibration.Entry(e.name(), e.method(), e.threshold(), e.absmax(), e.clippedFraction(), e.bins(),
            e.binWidth(), e.objective(), e.binsPerInt16Step(), e.note(), e.min(), e.max(), e.count(), e.mse(),
            e.sqnrDb(), e.resolution(), e.candidates(),
            new Calibration.Channels(specs[t].granularity().axis(), stats[t].unitMin, stats[t].unitMax), e.clipMin(),
            e.clipMax());
      }
      entries.add(e);
    }
    Calibration c = r.calibration();
    return new Result(new Calibration(c.format(), c.formatVersion(), c.createdAt(), c.source(), c.sourceFingerprint(),
        c.method(), c.percentile(), c.bins(), c.scheme(), c.klProfile(), entries), r.display());
  }

  /** A calibration and, per tensor, its |x| histogram summed down for the report. */
  record Result(Calibration calibration, long[][] display) {}

  /** Passes 2 and 3 and the choice, for any source whose ranges (pass 1) are known. */
  static Result calibrate(SparkSession spark, Options o, Methods methods, ValueSource source,
      RangeStats[] ranges, String description, String fingerprint, PrintStream progress) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<String> names = source.names();
    int n = names.size();
    float[] absmax = new float[n];
    int[] bins = new int[n];
    for (int t = 0; t < n; t++) {
      absmax[t] = ranges[t].absmax();
      bins[t] = binsFor(ranges[t].finite(), o.bins());
    }
    int qmax = o.scheme().qmax();

    long t0 = System.nanoTime();
    ThresholdSearch.Result[] results = new ThresholdSearch.Result[n];
    boolean tails = o.scheme() == Scheme.ASYMMETRIC;
    float[] mins = new float[n];
    float[] maxs = new float[n];
    for (int t = 0; t < n; t++) {
      mins[t] = ranges[t].finite() == 0 ? 0 : ranges[t].min();
      maxs[t] = ranges[t].finite() == 0 ? 0 : ranges[t].max();
    }
    for (ThresholdSearch.Result r : source.fold("histogram",
        jsc.broadcast(new HistogramBins(absmax, tails ? mins : null, tails ? maxs : null, bins)),
        new ThresholdSearch(o.percentile(), methods.klProfile(), qmax))) {
      results[r.tensor] = r;
    }
    progress.printf("[search] %s: histograms merged and searched on executors in %.1fs%n",
        Units.count(n, "tensor"), (System.nanoTime() - t0) / 1e9);

    // Every searched method's threshold becomes the parameters quantize would use, measured on the data.
    // The asymmetric scheme's percentile keeps [lower tail cut, upper tail cut] instead of [-T, T].
    QuantParams[][] params = new QuantParams[n][];
    float[][] thresholds = new float[n][];
    float[][] tailCuts = new float[n][];
    for (int t = 0; t < n; t++) {
      thresholds[t] = new float[Method.SEARCHED.length];
      params[t] = new QuantParams[Method.SEARCHED.length];
      for (int k = 0; k < Method.SEARCHED.length; k++) {
        double th = results[t] == null ? absmax[t] : results[t].threshold(Method.SEARCHED[k]);
        thresholds[t][k] = (float) Math.min(th, absmax[t]);
        params[t][k] = QuantParams.calibrated(o.scheme(), ranges[t].min(), ranges[t].max(), thresholds[t][k]);
      }
      if (results[t] != null && results[t].tails != null) {
        float lo = (float) Math.max(results[t].tails[0], ranges[t].min());
        float hi = (float) Math.min(results[t].tails[1], ranges[t].max());
        int p = indexOf(Method.PERCENTILE);
        tailCuts[t] = new float[] {lo, hi};
        thresholds[t][p] = Math.max(Math.abs(lo), Math.abs(hi));
        params[t][p] = QuantParams.clipped(o.scheme(), ranges[t].min(), ranges[t].max(), lo, hi);
      }
    }
    t0 = System.nanoTime();
    CandidateErrors[] measured = source.collect("measure", jsc.broadcast(new Candidates(params, absmax)),
        CandidateErrors.class);
    progress.printf("[measure] %s x %d thresholds measured on executors in %.1fs%n", Units.count(n, "tensor"),
        Method.SEARCHED.length, (System.nanoTime() - t0) / 1e9);

    List<Calibration.Entry> entries = new ArrayList<>();
    for (int t = 0; t < n; t++) {
      entries.add(entry(names.get(t), methods.forTensor(names.get(t)), ranges[t], results[t], measured[t],
          thresholds[t], tailCuts[t], qmax));
    }
    long[][] display = new long[n][];
    for (int t = 0; t < n; t++) {
      display[t] = results[t] == null ? null : results[t].display;
    }
    return new Result(new Calibration(Calibration.FORMAT, Calibration.FORMAT_VERSION, Instant.now().toString(),
        description, fingerprint, methods.global().toString(), o.percentile(), o.bins(), o.scheme().cliName(),
        methods.klProfile().toString(), entries), display);
  }

  /**
   * Histogram bins for a tensor of {@code count} values: the requested resolution, but at most four
   * times the values rounded up to a power of two (at least TensorRT's 2048): a bias or norm of a
   * few hundred values needs no 2 MiB histogram, and every task holds one per tensor it touches.
   * From 32768 values up a tensor gets the int16 KL search's 4 bins per level at max|x|.
   */
  static int binsFor(long count, int requested) {
    long pow = Long.highestOneBit(Math.max(1, count - 1)) << 1;
    return (int) Math.max(MIN_BINS, Math.min(requested, 4 * pow));
  }

  private static Calibration.Entry entry(String name, Method method, RangeStats range, ThresholdSearch.Result r,
      CandidateErrors m, float[] thresholds, float[] tailCuts, int qmax) {
    float absmax = range.absmax();
    int k;
    String chosenName = method.toString();
    if (method == Method.AUTO) {
      k = m == null ? 0 : m.best();
      chosenName = "auto:" + Method.SEARCHED[k];
    } else {
      k = indexOf(method);
    }
    Method chosen = Method.SEARCHED[k];
    float threshold = thresholds[k];
    long count = range.count();
    List<Calibration.Candidate> candidates = new ArrayList<>();
    for (int j = 0; j < Method.SEARCHED.length && m != null; j++) {
      boolean cut = tailCuts != null && Method.SEARCHED[j] == Method.PERCENTILE;
      candidates.add(new Calibration.Candidate(Method.SEARCHED[j].toString(), thresholds[j], m.mse(j),
          finiteOrNull(m.sqnrDb(j)), m.clipped(j), cut ? tailCuts[0] : null, cut ? tailCuts[1] : null));
    }
    boolean chosenCut = tailCuts != null && chosen == Method.PERCENTILE;
    int bins = r == null ? 0 : r.bins;
    double binWidth = r == null ? 0 : r.binWidth;
    double binsPerStep = binWidth > 0 ? (threshold / (double) qmax) / binWidth : -1;
    Double objective = null;
    String resolution = null;
    String note = null;
    if (r != null) {
      if (chosen == Method.KL) {
        objective = r.klDivergence;
        resolution = "kl " + r.klResolution;
        if (!r.klDiscriminates) {
          note = "KL cannot discriminate at this resolution (" + r.klResolution
              + "): every candidate's divergence is the same, so the threshold is max|x|; use --bins "
              + MAX_BINS + " or another method";
        }
      } else if (chosen == Method.MSE) {
        objective = r.mseExpected;
        resolution = "mse " + r.mseResolution;
        if (binsPerStep < 1) {
          note = String.format(Locale.ROOT, "histogram bins are %.3g int16 steps wide at the threshold: the mse"
              + " search cannot resolve int16 rounding error at %d bins and mostly weighs clipping", 1 / binsPerStep, bins);
        }
      } else if (chosen == Method.PERCENTILE) {
        resolution = chosenCut
            ? String.format(Locale.ROOT, "percentile of each tail: %d bins over [min, max]", bins)
            : String.format(Locale.ROOT, "percentile: %d bins, threshold at a bin's left edge", bins);
      }
      if (method == Method.AUTO) {
        resolution = "auto: least measured MSE of " + Method.SEARCHED.length + " thresholds; mse " + r.mseResolution
            + "; kl " + r.klResolution;
      }
    }
    return new Calibration.Entry(name, chosenName, threshold, absmax,
        count == 0 || m == null ? 0 : (double) m.clipped(k) / count, bins, binWidth, objective, binsPerStep, note,
        range.finite() == 0 ? null : range.min(), range.finite() == 0 ? null : range.max(), count,
        m == null ? null : m.mse(k), m == null ? null : finiteOrNull(m.sqnrDb(k)), resolution, candidates, null,
        chosenCut ? tailCuts[0] : null, chosenCut ? tailCuts[1] : null);
  }

  private static int indexOf(Method m) {
    for (int k = 0; k < Method.SEARCHED.length; k++) {
      if (Method.SEARCHED[k] == m) {
        return k;
      }
    }
    throw new IllegalArgumentException(m.toString());
  }

  private static Double finiteOrNull(double v) {
    return Double.isFinite(v) ? v : null;
  }

  /** Writes calibration.json, ONNX Runtime's table and the report, and commits the output. */
  static void write(OutputDir out, Result result, RangeStats[] ranges) throws IOException {
    write(out, result, ranges, List.of());
  }

  /** As above; {@code passes}, when a model ran, go into the report (page and report.json's "passes"). */
  static void write(OutputDir out, Result result, RangeStats[] ranges, List<io.q16.report.CalibrationReport.Pass> passes)
      throws IOException {
    Calibration c = result.calibration();
    // ONNX Runtime's calibration table shape (what write_calibration_table saves as JSON):
    // tensor name -> [rmin, rmax], the range clipped to [-T, T], for users of that tool.
    Map<String, float[]> ort = new LinkedHashMap<>();
    for (int t = 0; t < c.tensors().size(); t++) {
      Calibration.Entry e = c.tensors().get(t);
      RangeStats r = ranges[t];
      float tf = e.threshold();
      float lo = e.clipMin() != null ? e.clipMin() : Math.max(r.min(), -tf);
      float hi = e.clipMax() != null ? e.clipMax() : Math.min(r.max(), tf);
      ort.put(e.name(), r.finite() == 0 ? new float[] {0f, 0f} : new float[] {lo, hi});
    }
    out.writeAtomically(ORT_TABLE, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(ort));
    out.writeAtomically("report/index.html", io.q16.report.CalibrationReport.html(c, result.display(), passes));
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    byte[] report = c.toJson();
    if (!passes.isEmpty()) {
      com.fasterxml.jackson.databind.node.ObjectNode node = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(report);
      node.set("passes", json.valueToTree(passes));
      report = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
    }
    out.writeAtomically("report/report.json", report);
    out.writeAtomically(Calibration.FILE_NAME, c.toJson());
    out.commit();
  }

  /**
   * Pass 2's statistic: each tensor's |x| histogram over [0, max|x|], bins fixed from pass 1, and
   * for the asymmetric scheme its signed histogram over [min, max] too.
   */
  static final class HistogramBins implements FoldFactory<TensorHistograms> {
    private static final long serialVersionUID = 1L;
    private final float[] absmax;
    private final float[] min;
    private final float[] max;
    private final int[] bins;

    /** @param min null: no signed histograms */
    HistogramBins(float[] absmax, float[] min, float[] max, int[] bins) {
      this.absmax = absmax;
      this.min = min;
      this.max = max;
      this.bins = bins;
    }

    @Override
    public TensorHistograms create(int tensor) {
      return new TensorHistograms(new Histogram(0, absmax[tensor], bins[tensor], true),
          min == null ? null : new Histogram(min[tensor], max[tensor], bins[tensor]));
    }
  }

  /** Pass 3's statistic: each tensor's error under each method's parameters. */
  static final class Candidates implements FoldFactory<CandidateErrors> {
    private static final long serialVersionUID = 1L;
    private final QuantParams[][] params;
    private final float[] absmax;

    Candidates(QuantParams[][] params, float[] absmax) {
      this.params = params;
      this.absmax = absmax;
    }

    @Override
    public CandidateErrors create(int tensor) {
      return new CandidateErrors(params[tensor], absmax[tensor]);
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
