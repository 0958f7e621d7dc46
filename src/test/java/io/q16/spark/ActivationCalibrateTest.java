package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.q16.calib.Histogram;
import io.q16.calib.RangeStats;
import io.q16.calib.Thresholds;
import io.q16.cli.CliTestAccess;
import io.q16.format.Calibration;
import io.q16.format.SyntheticActivations;
import io.q16.quant.NanPolicy;
import io.q16.testing.Models;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code calibrate --activations}: statistics folded from a Parquet activation dataset equal those
 * computed one value at a time from the same generated values; results do not depend on files or
 * partitions; bad datasets are refused in one line naming the path (and tensor), leaving no output.
 */
class ActivationCalibrateTest extends SparkTestBase {
  @TempDir Path tmp;

  private static final int TENSORS = 4;
  private static final int SAMPLES = 24;
  private static final int VALUES = 300;
  private static final long SEED = 5;

  private Path generate(String name, String... more) {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("generate", "activations", "--out", out.toString(), "--tensors",
        Integer.toString(TENSORS), "--samples", Integer.toString(SAMPLES), "--values-per-sample",
        Integer.toString(VALUES), "--seed", Long.toString(SEED)));
    args.addAll(List.of(more));
    assertThat(CliTestAccess.q16(args.toArray(new String[0]))).isZero();
    return out;
  }

  private Calibration calibrate(Path dataset, String out, String method, String... more) throws IOException {
    List<String> args = new ArrayList<>(List.of("calibrate", "--activations", dataset.toString(), "--out",
        tmp.resolve(out).toString(), "--method", method));
    args.addAll(List.of(more));
    assertThat(CliTestAccess.q16(args.toArray(new String[0]))).isZero();
    return Calibration.fromJson(Files.readAllBytes(tmp.resolve(out).resolve(Calibration.FILE_NAME)));
  }

  /** Every value of tensor t, sample by sample, as the generator defines them. */
  private static float[] values(int t) {
    float[] all = new float[SAMPLES * VALUES];
    float[] row = new float[VALUES];
    for (int s = 0; s < SAMPLES; s++) {
      SyntheticActivations.fill(row, VALUES, SEED, t, s);
      System.arraycopy(row, 0, all, s * VALUES, VALUES);
    }
    return all;
  }

  /**
   * numpy.histogram of |x| over [0, hi], written independently of {@link Histogram}: edges
   * i·(hi/bins), the last one hi; a value goes to the last edge at or below it (binary search), the
   * last bin closed.
   */
  static long[] referenceHistogram(float[] x, double hi, int bins) {
    double[] edges = new double[bins + 1];
    for (int i = 0; i <= bins; i++) {
      edges[i] = i * (hi / bins);
    }
    edges[bins] = hi;
    long[] counts = new long[bins];
    for (float v : x) {
      double a = Math.abs((double) v);
      int lo = 0;
      int up = bins; // invariant: edges[lo] <= a, and a < edges[up] unless up == bins
      while (up - lo > 1) {
        int mid = (lo + up) >>> 1;
        if (edges[mid] <= a) {
          lo = mid;
        } else {
          up = mid;
        }
      }
      counts[lo]++;
    }
    return counts;
  }

  @Test
  void rangesHistogramsAndThresholdsEqualAScalarReference() throws IOException {
    Path acts = generate("acts", "--partitions", "3");
    String[] names = new String[TENSORS];
    float[][] x = new float[TENSORS][];
    float[] min = new float[TENSORS];
    float[] max = new float[TENSORS];
    float[] absmax = new float[TENSORS];
    for (int t = 0; t < TENSORS; t++) {
      names[t] = SyntheticActivations.name(t);
      x[t] = values(t);
      min[t] = Float.POSITIVE_INFINITY;
      max[t] = Float.NEGATIVE_INFINITY;
      for (float v : x[t]) {
        min[t] = Math.min(min[t], v);
        max[t] = Math.max(max[t], v);
      }
      absmax[t] = Math.max(-min[t], max[t]);
    }
    // The generator's names sort as its tensor order: ids are indexes here too.
    assertThat(names).isSorted();

    // Pass 1 and pass 2 through the ValueSource, as CalibrateJob runs them.
    ActivationSource source = ActivationSource.open(spark(), acts.toString(), 2, System.err);
    assertThat(source.names()).containsExactly(names);
    assertThat(source.rows()).isEqualTo((long) TENSORS * SAMPLES);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark().sparkContext());
    RangeStats[] ranges = source.ranges(jsc, NanPolicy.ERROR);
    int[] bins = new int[TENSORS];
    java.util.Arrays.fill(bins, 2048);
    io.q16.calib.TensorHistograms[] hists = source.collect("histogram",
        jsc.broadcast(new CalibrateJob.HistogramBins(absmax, null, null, bins)), io.q16.calib.TensorHistograms.class);
    for (int t = 0; t < TENSORS; t++) {
      assertThat(ranges[t].min()).isEqualTo(min[t]);
      assertThat(ranges[t].max()).isEqualTo(max[t]);
      assertThat(ranges[t].finite()).isEqualTo((long) SAMPLES * VALUES);
      assertThat(hists[t].magnitudes().counts()).isEqualTo(referenceHistogram(x[t], absmax[t], 2048));
    }

    // The command line: thresholds are the searches run on the reference histograms.
    // TensorRT's profile and resolution, so that the reference searches apply as they are.
    Calibration kl = calibrate(acts, "kl", "kl", "--kl-profile", "trt", "--bins", "2048");
    Calibration pct = calibrate(acts, "pct", "percentile", "--percentile", "99.99", "--bins", "2048");
    Calibration minmax = calibrate(acts, "minmax", "minmax");
    assertThat(kl.source()).isEqualTo("activations " + acts);
    JsonNode ort = new ObjectMapper().readTree(tmp.resolve("minmax").resolve(CalibrateJob.ORT_TABLE).toFile());
    for (int t = 0; t < TENSORS; t++) {
      Histogram reference = Histogram.of(0, absmax[t], referenceHistogram(x[t], absmax[t], 2048));
      Calibration.Entry k = kl.tensor(names[t]);
      assertThat(k.absmax()).isEqualTo(absmax[t]);
      assertThat((double) k.threshold())
          .isEqualTo((double) (float) Math.min(Thresholds.klTensorRt(reference, 128).threshold(), absmax[t]));
      assertThat((double) pct.tensor(names[t]).threshold())
          .isEqualTo((double) (float) Math.min(Thresholds.percentile(reference, 99.99), absmax[t]));
      assertThat(minmax.tensor(names[t]).threshold()).isEqualTo(absmax[t]);
      // minmax clips nothing: ONNX Runtime's table holds the exact range.
      assertThat(ort.get(names[t]).get(0).floatValue()).isEqualTo(min[t]);
      assertThat(ort.get(names[t]).get(1).floatValue()).isEqualTo(max[t]);
    }
    assertThat(io.q16.testing.Html.parse(tmp.resolve("kl").resolve("report/index.html"))
        .getDocumentElement().getTextContent()).contains(names);
  }

  @Test
  void calibrationIsBitIdenticalForAnyFilesAndPartitions() throws IOException {
    Path one = generate("one", "--partitions", "1");
    Path five = generate("five", "--partitions", "5");
    // The same rows shuffled into 5 files by Spark itself (round-robin from a random start).
    Path shuffled = tmp.resolve("shuffled");
    spark().read().parquet(one.toString()).repartition(5).write().parquet(shuffled.toString());
    assertThat(Files.list(one).filter(p -> p.toString().endsWith(".parquet")).count()).isEqualTo(1);
    assertThat(Files.list(five).filter(p -> p.toString().endsWith(".parquet")).count()).isEqualTo(5);

    Calibration a = calibrate(one, "a", "kl", "--partitions", "1");
    Calibration b = calibrate(five, "b", "kl", "--partitions", "7");
    Calibration c = calibrate(shuffled, "c", "kl");
    assertThat(a.tensors()).hasSize(TENSORS);
    assertThat(b.tensors()).isEqualTo(a.tensors());
    assertThat(c.tensors()).isEqualTo(a.tensors());
    assertThat(b.sourceFingerprint()).isEqualTo(a.sourceFingerprint());
    assertThat(c.sourceFingerprint()).isEqualTo(a.sourceFingerprint());
    // The generator is deterministic, whatever the files.
    assertThat(spark().read().parquet(five.toString()).except(spark().read().parquet(one.toString())).count())
        .isZero();
  }

  @Test
  void aModelGivenWithActivationsIsRecordedAndQuantizeRefusesTheResult() throws IOException {
    Path acts = generate("acts");
    Path model = Models.write(tmp.resolve("m.safetensors"), List.of(Models.f32("w", Models.weights(1, 64, 0.1), 64)));
    Calibration c = calibrate(acts, "cal", "minmax", model.toString());
    assertThat(c.source()).isEqualTo("activations " + acts + " of " + model);
    CliTestAccess.Run q = CliTestAccess.run("quantize", model.toString(), "--out", tmp.resolve("q").toString(),
        "--calibration", tmp.resolve("cal").toString());
    assertThat(q.code()).isEqualTo(3);
    assertThat(q.err()).contains("holds thresholds of activations");
    // A wrong MODEL fails before anything runs, rather than being recorded.
    CliTestAccess.Run bad = CliTestAccess.run("calibrate", tmp.resolve("nope.safetensors").toString(),
        "--activations", acts.toString(), "--out", tmp.resolve("cal2").toString());
    assertThat(bad.code()).isEqualTo(3);
    assertThat(tmp.resolve("cal2")).doesNotExist();
  }

  @Test
  void nonFiniteValuesFollowTheNanPolicy() throws IOException {
    Path ds = write("nonfinite", schema("float"), List.of(
        RowFactory.create("a", 0L, Arrays.asList(1f, Float.NaN, -2f, Float.POSITIVE_INFINITY)),
        RowFactory.create("a", 1L, Arrays.asList(0.5f, Float.NEGATIVE_INFINITY)),
        RowFactory.create("b", 0L, Arrays.asList(3f, -0.25f))));
    Calibration c = calibrate(ds, "cal", "kl", "--nan", "zero");
    assertThat(c.tensor("a").absmax()).isEqualTo(2f);
    assertThat(c.tensor("b").absmax()).isEqualTo(3f);
    JsonNode ort = new ObjectMapper().readTree(tmp.resolve("cal").resolve(CalibrateJob.ORT_TABLE).toFile());
    assertThat(ort.get("a").get(0).floatValue()).isEqualTo(-2f);
    ActivationSource source = ActivationSource.open(spark(), ds.toString(), 0, System.err);
    RangeStats a = source.ranges(JavaSparkContext.fromSparkContext(spark().sparkContext()), NanPolicy.ZERO)[0];
    assertThat(new long[] {a.finite(), a.nan(), a.posInf(), a.negInf()}).containsExactly(3, 1, 1, 1);
  }

  private static StructType schema(String valueType) {
    return new StructType().add("tensor", DataTypes.StringType).add("sample", DataTypes.LongType)
        .add("values", DataTypes.createArrayType(valueType.equals("float") ? DataTypes.FloatType : DataTypes.DoubleType));
  }

  private Path write(String name, StructType schema, List<Row> rows) {
    Path p = tmp.resolve(name);
    spark().createDataFrame(rows, schema).coalesce(1).write().parquet(p.toString());
    return p;
  }

  /** Builds a bad dataset in {@code dir} and returns the path to give calibrate. */
  interface Bad {
    Path make(ActivationCalibrateTest test, Path dir) throws IOException;
  }

  static Stream<Arguments> badDatasets() {
    StructType good = schema("float");
    return Stream.of(
        Arguments.of("unknown path", (Bad) (t, d) -> d.resolve("nothing-here"), "no such file", null),
        Arguments.of("empty directory", (Bad) (t, d) -> Files.createDirectories(d.resolve("empty")),
            "holds no Parquet files", null),
        Arguments.of("not Parquet", (Bad) (t, d) -> Files.writeString(d.resolve("x.parquet"), "tensor,values\n"),
            "cannot be read as Parquet", null),
        Arguments.of("truncated part file", (Bad) (t, d) -> {
          Path ds = t.generate("trunc", "--partitions", "2");
          try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(ds.resolve("part-00001.parquet"),
              java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(f.size() / 2);
          }
          return ds;
        }, "part-00001.parquet: cannot be read as Parquet", null),
        Arguments.of("missing column", (Bad) (t, d) -> t.write("nocol",
            new StructType().add("tensor", DataTypes.StringType).add("sample", DataTypes.LongType),
            List.of(RowFactory.create("a", 0L))), "has no column 'values'", null),
        Arguments.of("values of double", (Bad) (t, d) -> t.write("dbl", schema("double"),
            List.of(RowFactory.create("a", 0L, Arrays.asList(1.0, 2.0)))), "column 'values' is ARRAY<DOUBLE>", null),
        Arguments.of("tensor of int", (Bad) (t, d) -> t.write("intname",
            new StructType().add("tensor", DataTypes.IntegerType).add("sample", DataTypes.LongType)
                .add("values", DataTypes.createArrayType(DataTypes.FloatType)),
            List.of(RowFactory.create(1, 0L, Arrays.asList(1f)))), "column 'tensor' is INT", null),
        Arguments.of("no rows", (Bad) (t, d) -> t.write("norows", good, List.of()), "holds no rows", null),
        Arguments.of("null tensor", (Bad) (t, d) -> t.write("nulltensor", good, List.of(
            RowFactory.create("a", 0L, Arrays.asList(1f)), RowFactory.create(null, 1L, Arrays.asList(1f)))),
            "1 row has a null tensor name", null),
        Arguments.of("null values", (Bad) (t, d) -> t.write("nullvalues", good, List.of(
            RowFactory.create("a", 0L, Arrays.asList(1f)), RowFactory.create("b", 3L, null))),
            "sample 3: values is null", "b"),
        Arguments.of("null element", (Bad) (t, d) -> t.write("nullelement", good, List.of(
            RowFactory.create("a", 0L, Arrays.asList(1f)), RowFactory.create("b", 7L, Arrays.asList(1f, 2f, null)))),
            "sample 7: values[2] is null", "b"),
        Arguments.of("NaN", (Bad) (t, d) -> t.write("nan", good, List.of(
            RowFactory.create("a", 0L, Arrays.asList(1f)), RowFactory.create("b", 1L, Arrays.asList(Float.NaN)))),
            "1 NaN value; refusing to calibrate", "b"),
        Arguments.of("shape mismatch", (Bad) (t, d) -> t.write("shape",
            good.add("shape", DataTypes.createArrayType(DataTypes.IntegerType)), List.of(
                RowFactory.create("a", 0L, Arrays.asList(1f, 2f, 3f, 4f, 5f), Arrays.asList(2, 3)))),
            "sample 0: shape [2, 3] does not match its 5 values", "a"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badDatasets")
  void badDatasetsAreRefusedInOneLineAndLeaveNoOutput(String name, Bad bad, String message, String tensor)
      throws IOException {
    Path input = bad.make(this, tmp);
    Path out = tmp.resolve("out");
    CliTestAccess.Run r = CliTestAccess.run("calibrate", "--activations", input.toString(), "--out", out.toString(),
        "--method", "kl");
    assertThat(r.code()).as(r.err()).isEqualTo(3);
    assertThat(r.err().strip()).doesNotContain("\n").contains(message).contains(input.toString());
    if (tensor != null) {
      assertThat(r.err()).contains("tensor '" + tensor + "'");
    }
    assertThat(out).doesNotExist();
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("q16-staging"));
    }
  }

  @Test
  void aFailedRunLeavesThePreviousOutputUntouched() throws IOException {
    Path good = generate("acts");
    calibrate(good, "cal", "kl");
    byte[] before = Files.readAllBytes(tmp.resolve("cal").resolve(Calibration.FILE_NAME));
    // Fails in pass 1, on an executor, after the output's staging directory exists.
    Path bad = write("nullelement", schema("float"), List.of(RowFactory.create("a", 0L, Arrays.asList(1f, null))));
    CliTestAccess.Run r = CliTestAccess.run("calibrate", "--activations", bad.toString(), "--out",
        tmp.resolve("cal").toString());
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err()).contains("tensor 'a': sample 0: values[1] is null");
    assertThat(Files.readAllBytes(tmp.resolve("cal").resolve(Calibration.FILE_NAME))).isEqualTo(before);
  }

  @Test
  void usageErrors() {
    assertThat(CliTestAccess.run("calibrate", "--out", tmp.resolve("x").toString()).code()).isEqualTo(2);
    assertThat(CliTestAccess.run("generate").code()).isEqualTo(2);
    assertThat(CliTestAccess.run("generate", "activations", "--out", tmp.resolve("g").toString(), "--tensors", "0")
        .code()).isEqualTo(2);
    assertThat(tmp.resolve("g")).doesNotExist();
  }
}
