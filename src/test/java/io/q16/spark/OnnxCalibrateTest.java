package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.q16.calib.Histogram;
import io.q16.calib.RangeStats;
import io.q16.calib.TensorHistograms;
import io.q16.calib.Thresholds;
import io.q16.cli.CliTestAccess;
import io.q16.format.Calibration;
import io.q16.quant.NanPolicy;
import io.q16.testing.OnnxMlp;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
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
 * {@code calibrate MODEL.onnx --activations INPUTS}: a model the test builds is run by ONNX Runtime
 * on the executors over generated inputs; its activation ranges equal a scalar forward pass (within
 * float32 rounding) and exactly ONNX Runtime's own outputs computed here in the driver, histograms
 * and thresholds equal references built from those outputs, results do not depend on partitions,
 * batches, or where the model's bytes come from, and bad inputs are refused in one line.
 */
class OnnxCalibrateTest extends SparkTestBase {
  @TempDir Path tmp;

  private static final int SAMPLES = 40;

  private Path model(String name, boolean external) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    return OnnxMlp.write(dir.resolve("mlp.onnx"), external, -1, OnnxMlp.IN);
  }

  private Path inputs(Path model, String name, String... more) {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("generate", "onnx-inputs", model.toString(), "--out", out.toString(),
        "--samples", Integer.toString(SAMPLES), "--seed", "3", "--partitions", "2"));
    args.addAll(List.of(more));
    assertThat(CliTestAccess.q16(args.toArray(new String[0]))).isZero();
    return out;
  }

  private Calibration calibrate(Path model, Path inputs, String out, String... more) throws IOException {
    List<String> args = new ArrayList<>(List.of("calibrate", model.toString(), "--activations", inputs.toString(),
        "--out", tmp.resolve(out).toString()));
    args.addAll(List.of(more));
    assertThat(CliTestAccess.q16(args.toArray(new String[0]))).isZero();
    return Calibration.fromJson(Files.readAllBytes(tmp.resolve(out).resolve(Calibration.FILE_NAME)));
  }

  /** The x column of the dataset, rows in sample order, concatenated. */
  private float[] readX(Path inputs) {
    List<Row> rows = spark().read().parquet(inputs.toString()).orderBy("sample").select("x").collectAsList();
    float[] x = new float[rows.size() * OnnxMlp.IN];
    for (int r = 0; r < rows.size(); r++) {
      List<Float> v = rows.get(r).getList(0);
      for (int j = 0; j < v.size(); j++) {
        x[r * OnnxMlp.IN + j] = v.get(j);
      }
    }
    return x;
  }

  /**
   * ONNX Runtime's values of every activation, in the driver: the model with h1, r1 and g declared
   * as outputs by the test itself, run one sample at a time with one thread, as the tasks run.
   */
  private float[][] ortActivations(float[] x) throws IOException, OrtException {
    Path exposed = OnnxMlp.write(tmp.resolve("exposed.onnx"), false, true, -1, OnnxMlp.IN);
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int n = x.length / OnnxMlp.IN;
    float[][] out = new float[OnnxMlp.ACTIVATIONS.size()][];
    int[] width = {OnnxMlp.GEMM, OnnxMlp.HIDDEN, OnnxMlp.HIDDEN, OnnxMlp.IN, OnnxMlp.OUT};
    for (int t = 0; t < out.length; t++) {
      out[t] = new float[n * width[t]];
    }
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setIntraOpNumThreads(1);
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      try (OrtSession s = env.createSession(exposed.toString(), o)) {
        for (int r = 0; r < n; r++) {
          float[] row = Arrays.copyOfRange(x, r * OnnxMlp.IN, (r + 1) * OnnxMlp.IN);
          try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(row), new long[] {1, OnnxMlp.IN});
              OrtSession.Result res = s.run(Map.of("x", in))) {
            for (int t = 0; t < out.length; t++) {
              String name = OnnxMlp.ACTIVATIONS.get(t);
              float[] v = name.equals("x") ? row : ((OnnxTensor) res.get(name).orElseThrow()).getFloatBuffer().array();
              System.arraycopy(v, 0, out[t], r * width[t], width[t]);
            }
          }
        }
      }
    }
    return out;
  }

  private static float min(float[] v) {
    float m = Float.POSITIVE_INFINITY;
    for (float x : v) {
      m = Math.min(m, x);
    }
    return m;
  }

  private static float max(float[] v) {
    float m = Float.NEGATIVE_INFINITY;
    for (float x : v) {
      m = Math.max(m, x);
    }
    return m;
  }

  @Test
  void rangesHistogramsAndThresholdsMatchReferences() throws Exception {
    Path model = model("m", false);
    Path in = inputs(model, "in");
    float[] x = readX(in);
    assertThat(x.length).isEqualTo(SAMPLES * OnnxMlp.IN);
    float[][] ort = ortActivations(x);
    double[][] scalar = OnnxMlp.forward(x);
    int t0 = OnnxMlp.ACTIVATIONS.size();
    float[] min = new float[t0];
    float[] max = new float[t0];
    float[] absmax = new float[t0];
    for (int t = 0; t < t0; t++) {
      min[t] = min(ort[t]);
      max[t] = max(ort[t]);
      absmax[t] = Math.max(-min[t], max[t]);
      // ONNX Runtime computes in float32 (its own summation order, FMA): each dot product of at most
      // 32 terms is within 32 * 2^-24 (2e-6) of its magnitude sum, and for these weights (std
      // 1/sqrt(K)) the sums stay within a few |values|; three layers compound to well below 1e-5.
      for (int i = 0; i < ort[t].length; i++) {
        assertThat((double) ort[t][i]).as(OnnxMlp.ACTIVATIONS.get(t) + "[" + i + "]")
            .isCloseTo(scalar[t][i], org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, absmax[t])));
      }
    }

    // Pass 1 and pass 2 as CalibrateJob runs them, 3 tasks.
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark().sparkContext());
    int[] bins = new int[t0];
    Arrays.fill(bins, 2048);
    try (OnnxActivationSource source = OnnxActivationSource.open(spark(), model.toString(), in.toString(), 3, 1,
        ShippedOnnxModel.BROADCAST_LIMIT, System.err)) {
      assertThat(source.names()).isEqualTo(OnnxMlp.ACTIVATIONS);
      assertThat(source.activations().graphInputTaps()).containsExactly("x");
      RangeStats[] ranges = source.ranges(NanPolicy.ERROR);
      TensorHistograms[] hists = source.collect("histogram",
          jsc.broadcast(new CalibrateJob.HistogramBins(absmax, null, null, bins)), TensorHistograms.class);
      for (int t = 0; t < t0; t++) {
        String name = OnnxMlp.ACTIVATIONS.get(t);
        assertThat(ranges[t].min()).as(name).isEqualTo(min[t]);
        assertThat(ranges[t].max()).as(name).isEqualTo(max[t]);
        assertThat(ranges[t].finite()).as(name).isEqualTo(ort[t].length);
        assertThat(hists[t].magnitudes().counts()).as(name)
            .isEqualTo(ActivationCalibrateTest.referenceHistogram(ort[t], absmax[t], 2048));
      }
      // One session per task and pass; every sample ran once per pass.
      // About 3 tasks: Spark splits the 2 files at row groups.
      int tasks = source.inputs().rows(3).getNumPartitions();
      assertThat(tasks).isBetween(3, 4);
      for (OnnxActivationSource.PassTime p : source.passes()) {
        assertThat(p.sessions()).as(p.pass()).isEqualTo(tasks);
        assertThat(p.samples()).as(p.pass()).isEqualTo(SAMPLES);
        assertThat(p.runNanos()).isPositive().isLessThan(p.taskNanos());
        assertThat(p.foldNanos()).isPositive().isLessThan(p.taskNanos());
      }
    }

    // The command line: thresholds are the searches run on histograms of ONNX Runtime's outputs.
    Calibration kl = calibrate(model, in, "kl", "--method", "kl", "--kl-profile", "trt", "--bins", "2048");
    Calibration pct = calibrate(model, in, "pct", "--method", "percentile", "--percentile", "99.9", "--bins", "2048");
    assertThat(kl.source()).isEqualTo("activations " + in + " of " + model);
    for (int t = 0; t < t0; t++) {
      String name = OnnxMlp.ACTIVATIONS.get(t);
      Histogram reference = Histogram.of(0, absmax[t], ActivationCalibrateTest.referenceHistogram(ort[t], absmax[t], 2048));
      assertThat(kl.tensor(name).absmax()).isEqualTo(absmax[t]);
      assertThat((double) kl.tensor(name).threshold()).as(name)
          .isEqualTo((double) (float) Math.min(Thresholds.klTensorRt(reference, 128).threshold(), absmax[t]));
      assertThat((double) pct.tensor(name).threshold()).as(name)
          .isEqualTo((double) (float) Math.min(Thresholds.percentile(reference, 99.9), absmax[t]));
    }
    Path out = tmp.resolve("kl");
    JsonNode table = new ObjectMapper().readTree(out.resolve(CalibrateJob.ORT_TABLE).toFile());
    assertThat(table.size()).isEqualTo(t0);
    assertThat(table.get("r1").get(0).floatValue()).isZero(); // after Relu
    JsonNode report = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
    assertThat(report.get("passes")).hasSize(3);
    assertThat(report.get("passes").get(0).get("name").asText()).isEqualTo("ranges");
    assertThat(report.get("passes").get(2).get("samples").asLong()).isEqualTo(SAMPLES);
    assertThat(io.q16.testing.Html.parse(out.resolve("report/index.html")).getDocumentElement().getTextContent())
        .contains("ONNX Runtime", "samples/s");
    // An activation calibration is not for weights.
    CliTestAccess.Run q = CliTestAccess.run("quantize", model.toString(), "--out", tmp.resolve("q").toString(),
        "--calibration", out.toString());
    assertThat(q.code()).isEqualTo(3);
  }

  @Test
  void resultsDoNotDependOnPartitionsBatchesOrHowTheModelTravels() throws Exception {
    Path model = model("m", false);
    Path in = inputs(model, "in");
    Calibration one = calibrate(model, in, "one", "--method", "auto", "--partitions", "1");
    Calibration three = calibrate(model, in, "three", "--method", "auto", "--partitions", "3");
    Calibration batched = calibrate(model, in, "batched", "--method", "auto", "--partitions", "3", "--batch", "4");
    assertThat(one.tensors()).hasSize(OnnxMlp.ACTIVATIONS.size());
    assertThat(three.tensors()).isEqualTo(one.tensors());
    assertThat(three.sourceFingerprint()).isEqualTo(one.sourceFingerprint());
    // This model's kernels give a sample the same bits in a batch of 4 as alone.
    assertThat(batched.tensors()).isEqualTo(one.tensors());
    // One file of one row group cannot be split by Spark: its rows are spread over the tasks asked for.
    Path single = tmp.resolve("single");
    spark().read().parquet(in.toString()).coalesce(1).write().parquet(single.toString());
    Calibration spread = calibrate(model, single, "spread", "--method", "auto", "--partitions", "5");
    assertThat(spread.tensors()).isEqualTo(one.tensors());
    try (OnnxActivationSource s = OnnxActivationSource.open(spark(), model.toString(), single.toString(), 5, 1,
        ShippedOnnxModel.BROADCAST_LIMIT, System.err)) {
      s.ranges(NanPolicy.ERROR);
      assertThat(s.inputs().rows(5).getNumPartitions()).isEqualTo(5);
      assertThat(s.passes().get(0).sessions()).isEqualTo(5);
    }

    // External data beside the model: the same weights give the same calibration.
    Path external = model("ext", true);
    assertThat(external.resolveSibling("weights").resolve("w.bin")).exists();
    Calibration ext = calibrate(external, in, "ext-cal", "--method", "auto", "--partitions", "3");
    assertThat(ext.tensors()).isEqualTo(one.tensors());

    // The model read by each task rather than broadcast, inline and with external data.
    RangeStats[] broadcast = ranges(model, in, ShippedOnnxModel.BROADCAST_LIMIT, true);
    assertThat(ranges(model, in, 0, false)).usingRecursiveFieldByFieldElementComparator().containsExactly(broadcast);
    assertThat(ranges(external, in, 0, false)).usingRecursiveFieldByFieldElementComparator()
        .containsExactly(broadcast);
  }

  @Test
  void externalDataOnAFileSystemOnnxRuntimeCannotOpenIsCopiedOncePerExecutor() throws IOException {
    Path inline = model("m", false);
    Path external = model("ext", true);
    Path in = inputs(inline, "in");
    spark().sparkContext().hadoopConfiguration().set("fs." + io.q16.testing.CountingFs.SCHEME + ".impl",
        io.q16.testing.CountingFs.class.getName());
    String elsewhere = io.q16.testing.CountingFs.SCHEME + ":" + external.toAbsolutePath();
    RangeStats[] expected = ranges(inline.toString(), in, ShippedOnnxModel.BROADCAST_LIMIT, true);
    // Twice: the second run finds this JVM's copy.
    for (int run = 0; run < 2; run++) {
      assertThat(ranges(elsewhere, in, ShippedOnnxModel.BROADCAST_LIMIT, true)).usingRecursiveFieldByFieldElementComparator()
          .containsExactly(expected);
      assertThat(ranges(elsewhere, in, 0, false)).usingRecursiveFieldByFieldElementComparator()
          .containsExactly(expected);
    }
    try (Stream<Path> copies = Files.walk(Path.of(org.apache.spark.SparkFiles.getRootDirectory()))) {
      assertThat(copies.filter(p -> p.endsWith(Path.of("weights", "w.bin")))).hasSize(1);
    }
  }

  private RangeStats[] ranges(Path model, Path in, long broadcastLimit, boolean broadcast) throws IOException {
    return ranges(model.toString(), in, broadcastLimit, broadcast);
  }

  private RangeStats[] ranges(String model, Path in, long broadcastLimit, boolean broadcast) throws IOException {
    try (OnnxActivationSource s = OnnxActivationSource.open(spark(), model, in.toString(), 2, 1,
        broadcastLimit, System.err)) {
      assertThat(s.model().broadcast()).isEqualTo(broadcast);
      return s.ranges(NanPolicy.ERROR);
    }
  }

  @Test
  void symbolicAxesAfterTheFirstNeedShapes() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("seq"));
    Path model = OnnxMlp.write(dir.resolve("seq.onnx"), false, -1, -1, OnnxMlp.IN);
    Path in = inputs(model, "in", "--seq-len", "3");
    assertThat(Arrays.asList(spark().read().parquet(in.toString()).schema().fieldNames()))
        .containsExactly("sample", "x", "x__shape");
    Calibration c = calibrate(model, in, "cal");
    assertThat(c.tensor("x").count()).isEqualTo((long) SAMPLES * 3 * OnnxMlp.IN);
    assertThat(c.tensor("y").count()).isEqualTo((long) SAMPLES * 3 * OnnxMlp.OUT);
    // Samples of different lengths run apart, even in batches.
    Path mixed = write("mixed", new StructType().add("x", DataTypes.createArrayType(DataTypes.FloatType))
        .add("x__shape", DataTypes.createArrayType(DataTypes.LongType)), List.of(
            RowFactory.create(floats(2 * OnnxMlp.IN), Arrays.asList(1L, 2L, (long) OnnxMlp.IN)),
            RowFactory.create(floats(OnnxMlp.IN), Arrays.asList(1L, 1L, (long) OnnxMlp.IN)),
            RowFactory.create(floats(2 * OnnxMlp.IN), Arrays.asList(1L, 2L, (long) OnnxMlp.IN))));
    Calibration m = calibrate(model, mixed, "mixed-cal", "--batch", "8");
    assertThat(m.tensor("x").count()).isEqualTo(5L * OnnxMlp.IN);
    assertThat(m.tensor("x").max()).isEqualTo((float) (2 * OnnxMlp.IN - 1) / 10);
  }

  private static List<Float> floats(int n) {
    List<Float> v = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      v.add(i / 10f);
    }
    return v;
  }

  private Path write(String name, StructType schema, List<Row> rows) {
    Path p = tmp.resolve(name);
    spark().createDataFrame(rows, schema).coalesce(1).write().parquet(p.toString());
    return p;
  }

  /** Builds a bad dataset (or model) under {@code dir} and returns {model, inputs}. */
  interface Bad {
    Path[] make(OnnxCalibrateTest test, Path dir) throws IOException;
  }

  private static StructType xOf(org.apache.spark.sql.types.DataType element) {
    return new StructType().add("x", DataTypes.createArrayType(element));
  }

  private Path[] withModel(Path inputs) throws IOException {
    return new Path[] {model("model", false), inputs};
  }

  @Test
  void aNullShapeCellForAnInputWithoutADeclaredShapeIsAClearError() {
    // A model input whose ValueInfo declares no shape, and a row whose x__shape cell is null:
    // nothing to fall back to (this was a NullPointerException, exit 70).
    io.q16.format.OnnxActivations.Input x = new io.q16.format.OnnxActivations.Input("x",
        io.q16.format.OnnxSchema.FLOAT, null, null);
    OnnxInputs.Batcher b = new OnnxInputs.Spec(new io.q16.format.OnnxActivations.Input[] {x},
        new int[] {OnnxInputs.FLOAT}, 1, "file:/d").batcher();
    org.apache.spark.sql.catalyst.InternalRow row = new org.apache.spark.sql.catalyst.expressions.GenericInternalRow(
        new Object[] {org.apache.spark.sql.catalyst.util.ArrayData.toArrayData(new float[] {1f, 2f}), null,
            org.apache.spark.unsafe.types.UTF8String.fromString("file:/d/part-0.parquet"), 3L});
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.decode(row))
        .isInstanceOf(io.q16.Q16Exception.class)
        .hasMessageContaining("file:/d/part-0.parquet")
        .hasMessageContaining("row 3: column 'x__shape' is null, and model input 'x' declares no shape");
  }

  static Stream<Arguments> badInputs() {
    return Stream.of(
        Arguments.of("missing input column", (Bad) (t, d) -> t.withModel(t.write("nocol",
            new StructType().add("y", DataTypes.createArrayType(DataTypes.FloatType)),
            List.<Row>of(RowFactory.create(floats(16))))), "has no column 'x' for model input x float [d0, 16]"),
        Arguments.of("array of double for a float input", (Bad) (t, d) -> t.withModel(t.write("dbl",
            xOf(DataTypes.DoubleType), List.<Row>of(RowFactory.create(Arrays.asList(new Double[16]))))),
            "column 'x' is ARRAY<DOUBLE>, but model input x float [d0, 16] needs ARRAY<FLOAT>"),
        Arguments.of("scalar column", (Bad) (t, d) -> t.withModel(t.write("scalar",
            new StructType().add("x", DataTypes.FloatType), List.<Row>of(RowFactory.create(1f)))),
            "column 'x' is FLOAT, but model input"),
        Arguments.of("shape column of strings", (Bad) (t, d) -> t.withModel(t.write("shapestr",
            xOf(DataTypes.FloatType).add("x__shape", DataTypes.createArrayType(DataTypes.StringType)),
            List.<Row>of(RowFactory.create(floats(16), Arrays.asList("1", "16"))))),
            "column 'x__shape' is ARRAY<STRING>, expected ARRAY<BIGINT>"),
        Arguments.of("no rows", (Bad) (t, d) -> t.withModel(t.write("norows", xOf(DataTypes.FloatType),
            List.<Row>of())), "holds no rows"),
        Arguments.of("wrong length", (Bad) (t, d) -> t.withModel(t.write("short", xOf(DataTypes.FloatType),
            List.<Row>of(RowFactory.create(floats(16)), RowFactory.create(floats(15))))),
            "row 1: column 'x' holds 15 values, but its shape [1, 16] needs 16"),
        Arguments.of("shape that does not fit", (Bad) (t, d) -> t.withModel(t.write("badshape",
            xOf(DataTypes.FloatType).add("x__shape", DataTypes.createArrayType(DataTypes.LongType)),
            List.<Row>of(RowFactory.create(floats(16), Arrays.asList(2L, 8L))))),
            "row 0: column 'x__shape' shape [2, 8] does not fit model input x float [d0, 16]"),
        Arguments.of("null element", (Bad) (t, d) -> {
          List<Float> v = floats(16);
          v.set(5, null);
          return t.withModel(t.write("nullelem", xOf(DataTypes.FloatType), List.<Row>of(RowFactory.create(v))));
        }, "row 0: column 'x' element 5 is null"),
        Arguments.of("symbolic axes without shapes", (Bad) (t, d) -> new Path[] {
            OnnxMlp.write(Files.createDirectories(d.resolve("seqmodel")).resolve("seq.onnx"), false, -1, -1, 16),
            t.write("noshape", xOf(DataTypes.FloatType), List.<Row>of(RowFactory.create(floats(16))))},
            "has no column 'x__shape': model input x float [d0, d1, 16] has symbolic axes after the first"),
        Arguments.of("unknown dataset", (Bad) (t, d) -> t.withModel(d.resolve("nothing")), "no such file"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badInputs")
  void badInputsAreRefusedInOneLineAndLeaveNoOutput(String name, Bad bad, String message) throws IOException {
    Path[] made = bad.make(this, tmp);
    Path out = tmp.resolve("out");
    CliTestAccess.Run r = CliTestAccess.run("calibrate", made[0].toString(), "--activations", made[1].toString(),
        "--out", out.toString());
    assertThat(r.code()).as(r.err()).isEqualTo(3);
    assertThat(r.err().strip()).doesNotContain("\n").contains(message).contains(made[1].toString());
    assertThat(out).doesNotExist();
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("q16-staging"));
    }
  }
}
