package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.Manifest;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import io.q16.onnx.OnnxSelection;
import io.q16.onnx.OrtModel;
import io.q16.testing.OnnxModels;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Path;
import com.google.protobuf.DynamicMessage;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX models end to end: quantize selects the weights by role, export writes a QDQ model that
 * ONNX Runtime loads and runs, and its outputs stay within int16 rounding of the float model's.
 */
class OnnxExportTest extends SparkTestBase {
  @TempDir Path tmp;

  @Test
  void cnnQuantizedExportedAndRunByOnnxRuntime() throws IOException {
    Path model = OnnxModels.write(tmp.resolve("cnn.onnx"), OnnxModels.cnn(17));
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--chunk-mb", "0.004")).isZero();
    Manifest m = Outputs.manifest(q);
    Map<String, Manifest.TensorEntry> t = m.tensorsByName();
    assertThat(t.get("conv.weight").granularity()).isEqualTo("channel");
    assertThat(t.get("conv.weight").axis()).isZero();
    assertThat(t.get("fc1.weight").axis()).isZero(); // Gemm transB = 1: [N, K]
    assertThat(t.get("fc2.weight").axis()).isEqualTo(1); // MatMul: [K, N]
    assertThat(t.get("conv.bias").status()).isEqualTo(Manifest.TensorEntry.KEPT_FLOAT);
    assertThat(t.get("conv.bias").reason()).isEqualTo(OnnxSelection.BIAS_REASON);
    assertThat(t.get("fc2.bias").reason()).isEqualTo(OnnxSelection.OTHER_REASON);
    assertThat(CliTestAccess.q16("verify", q.toString())).isZero();

    Path e = tmp.resolve("qdq");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--out", e.toString())).isZero();
    List<Map<String, OrtModel.Tensor>> inputs = OnnxModels.floatInputs("x", new long[] {4, 3, 8, 8}, 3, 7);
    try (OrtModel f = OrtModel.open(model.toString()); OrtModel d = OrtModel.open(e.resolve("model.onnx").toString())) {
      for (Map<String, OrtModel.Tensor> in : inputs) {
        float[] a = (float[]) f.run(in).get("logits").values();
        float[] b = (float[]) d.run(in).get("logits").values();
        System.out.printf("cnn: cosine %.9f max|diff| %.3e%n", OnnxModels.cosine(a, b), OnnxModels.maxAbsDiff(a, b));
        assertThat(OnnxModels.cosine(a, b)).isGreaterThanOrEqualTo(0.9999);
      }
    }
    // The export raised opset 17 to 21 and turned ReduceMean's axes attribute into an input.
    com.fasterxml.jackson.databind.JsonNode marker = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(e.resolve("q16-export.json").toFile());
    assertThat(marker.at("/opset/from").asLong()).isEqualTo(17);
    assertThat(marker.at("/opset/to").asLong()).isEqualTo(21);
    assertThat(marker.get("converted").toString()).contains("ReduceMean 'mean': axes attribute -> input");

    // The fake-quant export: the same graph, each weight float32 dequantize(quantize(w)) as Q16 computes it.
    Path fq = tmp.resolve("fq");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-fake-quant", "--out", fq.toString())).isZero();
    Map<String, DynamicMessage> fqInit = OnnxModels.initializers(OnnxModels.read(fq.resolve("model.onnx")));
    Map<String, DynamicMessage> qdqInit = OnnxModels.initializers(OnnxModels.read(e.resolve("model.onnx")));
    Map<String, long[]> weights = new LinkedHashMap<>();
    for (String w : List.of("conv.weight", "fc1.weight", "fc2.weight")) {
      weights.put(w, t.get(w).shape().stream().mapToLong(Long::longValue).toArray());
      // The QDQ model's codes are the shards' codes.
      assertThat((short[]) OnnxModels.rawValues(qdqInit.get(w + "_quantized"))).as(w)
          .isEqualTo(Outputs.codes(spark(), q, w));
    }
    // ONNX Runtime's DequantizeLinear of every weight, exposed as graph outputs, equals Q16's
    // dequantization (the fake-quant values) bit for bit.
    Path probe = OnnxModels.write(tmp.resolve("probe.onnx"),
        OnnxModels.withOutputs(OnnxModels.read(e.resolve("model.onnx")), weights));
    try (OrtModel d = OrtModel.open(probe.toString()); OrtModel f = OrtModel.open(fq.resolve("model.onnx").toString());
        OrtModel qd = OrtModel.open(e.resolve("model.onnx").toString())) {
      Map<String, OrtModel.Tensor> out = d.run(inputs.get(0));
      for (String w : weights.keySet()) {
        float[] ort = (float[]) out.get(w).values();
        float[] q16 = (float[]) OnnxModels.rawValues(fqInit.get(w));
        assertThat(bits(ort)).as(w).isEqualTo(bits(q16));
      }
      // The fake-quant model computes what the QDQ model computes.
      for (Map<String, OrtModel.Tensor> in : inputs) {
        float[] a = (float[]) f.run(in).get("logits").values();
        float[] b = (float[]) qd.run(in).get("logits").values();
        assertThat(OnnxModels.maxAbsDiff(a, b)).isLessThanOrEqualTo(1e-5);
      }
    }
  }

  @Test
  void verifyRunsBothModelsOnExecutors() throws IOException {
    Path model = OnnxModels.write(tmp.resolve("cnn.onnx"), OnnxModels.cnn(17));
    Path q = tmp.resolve("q");
    Path e = tmp.resolve("qdq");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString())).isZero();
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--out", e.toString())).isZero();
    // Generated inputs: 6 samples of batch 4, over 3 tasks.
    CliTestAccess.Run r = CliTestAccess.run("verify", e.toString(), "--generate-inputs", "6", "--dim", "d0=4",
        "--partitions", "3");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("PASSED").contains("logits");
    com.fasterxml.jackson.databind.JsonNode v = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(e.resolve("verify.json").toFile());
    com.fasterxml.jackson.databind.JsonNode logits = v.at("/outputs/0");
    assertThat(logits.get("name").asText()).isEqualTo("logits");
    assertThat(logits.get("samples").asLong()).isEqualTo(6);
    assertThat(logits.get("cosine").asDouble()).isGreaterThanOrEqualTo(0.9999);
    assertThat(logits.get("top1Rows").asLong()).isEqualTo(24);
    assertThat(logits.get("top1Agreement").asDouble()).isGreaterThan(0.9);
    assertThat(e.resolve("report/index.html")).exists();
    // The same partitions give the same figures.
    assertThat(CliTestAccess.q16("verify", e.toString(), "--generate-inputs", "6", "--dim", "d0=4", "--partitions",
        "3")).isZero();
    assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(e.resolve("verify.json").toFile())
        .at("/outputs/0/cosine").asDouble()).isEqualTo(logits.get("cosine").asDouble());

    // A Parquet dataset of model inputs: one row per sample, the input flattened, its shape beside it.
    List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>();
    for (Map<String, OrtModel.Tensor> in : OnnxModels.floatInputs("x", new long[] {2, 3, 8, 8}, 5, 11)) {
      float[] x = (float[]) in.get("x").values();
      Float[] boxed = new Float[x.length];
      for (int i = 0; i < x.length; i++) {
        boxed[i] = x[i];
      }
      rows.add(org.apache.spark.sql.RowFactory.create(boxed, new Long[] {2L, 3L, 8L, 8L}));
    }
    org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
        .add("x", org.apache.spark.sql.types.DataTypes.createArrayType(org.apache.spark.sql.types.DataTypes.FloatType))
        .add("x__shape", org.apache.spark.sql.types.DataTypes.createArrayType(org.apache.spark.sql.types.DataTypes.LongType));
    Path data = tmp.resolve("inputs.parquet");
    spark().createDataFrame(rows, schema).repartition(2).write().parquet(data.toString());
    r = CliTestAccess.run("verify", e.toString(), "--inputs", data.toString());
    assertThat(r.code()).isZero();
    assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(e.resolve("verify.json").toFile())
        .at("/outputs/0/samples").asLong()).isEqualTo(5);
    // A threshold the model cannot reach fails with exit 1.
    assertThat(CliTestAccess.q16("verify", e.toString(), "--inputs", data.toString(), "--min-cosine", "1.5",
        "--no-report")).isEqualTo(1);
    // verify reads inputs as calibrate does: a bad sample is one line naming the file, row and column.
    Float[] holed = new Float[2 * 3 * 8 * 8];
    java.util.Arrays.fill(holed, 0.5f);
    holed[7] = null;
    Path bad = tmp.resolve("bad-inputs.parquet");
    spark().createDataFrame(List.of(org.apache.spark.sql.RowFactory.create(holed, new Long[] {2L, 3L, 8L, 8L})), schema)
        .write().parquet(bad.toString());
    r = CliTestAccess.run("verify", e.toString(), "--inputs", bad.toString(), "--no-report");
    assertThat(r.code()).as(r.err()).isEqualTo(3);
    assertThat(r.err().strip().lines()).hasSize(1);
    assertThat(r.err()).contains(bad.toString()).contains("'x'").contains("element 7 is null");
    // An input range is LO:HI, not one number nor three.
    for (String range : List.of("x=5", "x=1:2:3")) {
      assertThat(CliTestAccess.q16("verify", e.toString(), "--generate-inputs", "2", "--input-range", range)).isEqualTo(2);
    }
  }

  @Test
  void activationQdqAndKeepFirstLast() throws IOException {
    Path model = OnnxModels.write(tmp.resolve("cnn.onnx"), OnnxModels.cnn(17));
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString())).isZero();
    // Calibrate the activations here (the calibrate --activations of ONNX models writes the same
    // file): T = max |v| over the samples, for the graph input and every intermediate value.
    List<String> values = List.of("c", "r1", "f", "h", "r2", "u", "m", "a");
    Map<String, long[]> probe = new LinkedHashMap<>();
    values.forEach(v -> probe.put(v, null));
    Path probed = OnnxModels.write(tmp.resolve("probe.onnx"), OnnxModels.withOutputs(OnnxModels.cnn(17), probe));
    List<Map<String, OrtModel.Tensor>> inputs = OnnxModels.floatInputs("x", new long[] {4, 3, 8, 8}, 4, 21);
    Map<String, float[]> range = new LinkedHashMap<>();
    try (OrtModel p = OrtModel.open(probed.toString())) {
      for (Map<String, OrtModel.Tensor> in : inputs) {
        Map<String, OrtModel.Tensor> out = p.run(in);
        out.put("x", in.get("x"));
        out.forEach((k, t) -> {
          float[] r = range.computeIfAbsent(k, x -> new float[] {Float.MAX_VALUE, -Float.MAX_VALUE});
          for (float x : (float[]) t.values()) {
            r[0] = Math.min(r[0], x);
            r[1] = Math.max(r[1], x);
          }
        });
      }
    }
    List<Map<String, Object>> entries = new java.util.ArrayList<>();
    range.forEach((k, r) -> {
      if (!k.equals("logits")) {
        entries.add(Map.of("name", k, "method", "minmax", "threshold", Math.max(-r[0], r[1]),
            "absmax", Math.max(-r[0], r[1]), "min", r[0], "max", r[1]));
      }
    });
    entries.add(Map.of("name", "no_such_value", "method", "minmax", "threshold", 1.0, "absmax", 1.0));
    Path cal = tmp.resolve("calibration.json");
    new com.fasterxml.jackson.databind.ObjectMapper().writeValue(cal.toFile(), Map.of("format", "q16-calibration",
        "formatVersion", 2, "source", "activations", "scheme", "symmetric-restricted", "tensors", entries));

    Path a16 = tmp.resolve("a16w16");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--activations", cal.toString(), "--out",
        a16.toString())).isZero();
    com.fasterxml.jackson.databind.JsonNode marker = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(a16.resolve("q16-export.json").toFile());
    assertThat(marker.at("/activations/quantized").size()).isEqualTo(9); // x and the 8 values; not no_such_value
    Map<String, DynamicMessage> init = OnnxModels.initializers(OnnxModels.read(a16.resolve("model.onnx")));
    float tr1 = Math.max(-range.get("r1")[0], range.get("r1")[1]);
    assertThat(((float[]) OnnxModels.rawValues(init.get("r1_scale")))[0]).isEqualTo((float) (tr1 / 32767.0));
    try (OrtModel f = OrtModel.open(model.toString()); OrtModel d = OrtModel.open(a16.resolve("model.onnx").toString())) {
      for (Map<String, OrtModel.Tensor> in : inputs) {
        float[] x = (float[]) f.run(in).get("logits").values();
        float[] y = (float[]) d.run(in).get("logits").values();
        System.out.printf("cnn A16W16: cosine %.9f max|diff| %.3e%n", OnnxModels.cosine(x, y), OnnxModels.maxAbsDiff(x, y));
        assertThat(OnnxModels.cosine(x, y)).isGreaterThanOrEqualTo(0.9999);
      }
    }

    // First and last layers float: their weights, and the activations only they read.
    Path kept = tmp.resolve("kept");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--activations", cal.toString(),
        "--keep-first-last", "--out", kept.toString())).isZero();
    marker = new com.fasterxml.jackson.databind.ObjectMapper().readTree(kept.resolve("q16-export.json").toFile());
    assertThat(marker.get("keptFloat").toString()).contains("conv.weight").contains("fc2.weight")
        .doesNotContain("fc1.weight");
    assertThat(marker.at("/activations/quantized").toString()).doesNotContain("\"x\"").doesNotContain("\"u\"")
        .contains("\"f\"");
    init = OnnxModels.initializers(OnnxModels.read(kept.resolve("model.onnx")));
    assertThat(init).containsKey("conv.weight").containsKey("fc1.weight_quantized").doesNotContainKey("fc1.weight");
    try (OrtModel f = OrtModel.open(model.toString()); OrtModel d = OrtModel.open(kept.resolve("model.onnx").toString())) {
      float[] x = (float[]) f.run(inputs.get(0)).get("logits").values();
      float[] y = (float[]) d.run(inputs.get(0)).get("logits").values();
      assertThat(OnnxModels.cosine(x, y)).isGreaterThanOrEqualTo(0.9999);
    }
  }

  /**
   * --keep-float auto: the weights whose SQNR quantize measured (manifest sqnrDb) is under the
   * budget stay float, and q16-export.json names each with that SQNR; the others are int16.
   */
  @Test
  void keepFloatAutoKeepsTheWeightsBelowTheSqnrBudget() throws IOException {
    Path model = OnnxModels.write(tmp.resolve("cnn.onnx"), OnnxModels.cnn(17));
    Path q = tmp.resolve("q");
    // Per tensor, so that the weights' SQNRs spread out.
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--granularity", "tensor"))
        .isZero();
    Map<String, Manifest.TensorEntry> t = Outputs.manifest(q).tensorsByName();
    List<String> weights = List.of("conv.weight", "fc1.weight", "fc2.weight");
    List<Double> sqnr = weights.stream().map(w -> t.get(w).sqnrDb()).sorted().toList();
    assertThat(sqnr.get(0)).isLessThan(sqnr.get(2));
    double budget = (sqnr.get(0) + sqnr.get(2)) / 2;
    Path e = tmp.resolve("auto");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--keep-float", "auto", "--sqnr-budget",
        Double.toString(budget), "--out", e.toString())).isZero();
    com.fasterxml.jackson.databind.JsonNode marker = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(e.resolve("q16-export.json").toFile());
    Map<String, DynamicMessage> init = OnnxModels.initializers(OnnxModels.read(e.resolve("model.onnx")));
    int kept = 0;
    for (String w : weights) {
      boolean below = t.get(w).sqnrDb() < budget;
      kept += below ? 1 : 0;
      assertThat(marker.at("/keptFloatBySqnr/" + w.replace("/", "~1")).isMissingNode()).as(w).isEqualTo(!below);
      if (below) {
        assertThat(marker.at("/keptFloatBySqnr/" + w).asDouble()).isEqualTo(t.get(w).sqnrDb());
        assertThat(init).as(w).containsKey(w).doesNotContainKey(w + "_quantized");
      } else {
        assertThat(init).as(w).containsKey(w + "_quantized").doesNotContainKey(w);
      }
    }
    assertThat(kept).isBetween(1, 2);
    assertThat(marker.get("sqnrBudgetDb").asDouble()).isEqualTo(budget);
  }

  /** Per group (DequantizeLinear's blocked form), asymmetric uint16, and per tensor: ONNX Runtime agrees too. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {
      "--granularity group --group-size 7 --scheme asymmetric --storage uint16",
      "--granularity tensor --scheme symmetric-restricted"})
  void otherLayoutsRunInOnnxRuntime(String options) throws IOException {
    Path model = OnnxModels.write(tmp.resolve("cnn.onnx"), OnnxModels.cnn(17));
    Path q = tmp.resolve("q");
    List<String> args = new java.util.ArrayList<>(List.of("quantize", model.toString(), "--out", q.toString()));
    args.addAll(List.of(options.split(" ")));
    assertThat(CliTestAccess.q16(args.toArray(new String[0]))).isZero();
    Path e = tmp.resolve("qdq");
    Path fq = tmp.resolve("fq");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--out", e.toString())).isZero();
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-fake-quant", "--out", fq.toString())).isZero();
    Map<String, long[]> weights = new LinkedHashMap<>();
    Map<String, Manifest.TensorEntry> t = Outputs.manifest(q).tensorsByName();
    for (String w : List.of("conv.weight", "fc1.weight", "fc2.weight")) {
      weights.put(w, t.get(w).shape().stream().mapToLong(Long::longValue).toArray());
    }
    Path probe = OnnxModels.write(tmp.resolve("probe.onnx"),
        OnnxModels.withOutputs(OnnxModels.read(e.resolve("model.onnx")), weights));
    Map<String, DynamicMessage> fqInit = OnnxModels.initializers(OnnxModels.read(fq.resolve("model.onnx")));
    Map<String, OrtModel.Tensor> in = OnnxModels.floatInputs("x", new long[] {4, 3, 8, 8}, 1, 5).get(0);
    try (OrtModel f = OrtModel.open(model.toString()); OrtModel d = OrtModel.open(probe.toString())) {
      Map<String, OrtModel.Tensor> out = d.run(in);
      for (String w : weights.keySet()) {
        assertThat(bits((float[]) out.get(w).values())).as(w).isEqualTo(bits((float[]) OnnxModels.rawValues(fqInit.get(w))));
      }
      float[] a = (float[]) f.run(in).get("logits").values();
      assertThat(OnnxModels.cosine(a, (float[]) out.get("logits").values())).isGreaterThanOrEqualTo(0.9999);
    }
  }

  @Test
  void includeSelectsMoreAndMisuseIsRefused() throws IOException {
    Path model = OnnxModels.write(tmp.resolve("cnn.onnx"), OnnxModels.cnn(17));
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--include", "fc2.*",
        "--keep-float", "fc1.weight")).isZero();
    Map<String, Manifest.TensorEntry> t = Outputs.manifest(q).tensorsByName();
    assertThat(t.get("fc2.bias").status()).isEqualTo(Manifest.TensorEntry.QUANTIZED);
    assertThat(t.get("fc2.bias").granularity()).isEqualTo("tensor");
    assertThat(t.get("fc1.weight").reason()).contains("--keep-float 'fc1.weight'");
    assertThat(CliTestAccess.run("quantize", io.q16.testing.Models.write(tmp.resolve("m.safetensors"),
        io.q16.testing.Models.mixed()).toString(), "--out", tmp.resolve("s").toString(), "--include", "x").code())
        .isEqualTo(2);
    // onnx-qdq of a log-coded output: DequantizeLinear cannot express it.
    Path log = tmp.resolve("log");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", log.toString(), "--scheme", "log")).isZero();
    CliTestAccess.Run r = CliTestAccess.run("export", log.toString(), "--to", "onnx-qdq", "--out",
        tmp.resolve("x").toString());
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err()).contains("'conv.weight'").contains("log codec");
    assertThat(CliTestAccess.q16("export", log.toString(), "--to", "onnx-fake-quant", "--out",
        tmp.resolve("y").toString())).isZero();
    // --to onnx-* needs an ONNX source.
    Path st = tmp.resolve("st");
    assertThat(CliTestAccess.q16("quantize", tmp.resolve("m.safetensors").toString(), "--out", st.toString())).isZero();
    assertThat(CliTestAccess.run("export", st.toString(), "--to", "onnx-qdq", "--out", tmp.resolve("z").toString())
        .code()).isEqualTo(2);
  }

  /** Weights exporters keep elsewhere: a Constant node, initializers and Constants inside If branches. */
  @Test
  void weightsInConstantsAndSubgraphs() throws IOException {
    DynamicMessage then = Onnx.graph("then", List.of(
            Onnx.node("MatMul", "then_mm", List.of("x", "then.weight"), List.of("y_then"))),
        List.of(Onnx.floats("then.weight", new long[] {4, 6}, OnnxModels.he(24, 4, 31))), List.of(),
        List.of(Onnx.valueInfo("y_then", OnnxSchema.FLOAT, -1, 6)));
    DynamicMessage otherwise = Onnx.graph("else", List.of(
            Onnx.node("Constant", "else_w", List.of(), List.of("else.weight"),
                Onnx.attrTensor("value", Onnx.floats("", new long[] {4, 6}, OnnxModels.he(24, 4, 32)))),
            Onnx.node("MatMul", "else_mm", List.of("x", "else.weight"), List.of("y_else"))),
        List.of(), List.of(), List.of(Onnx.valueInfo("y_else", OnnxSchema.FLOAT, -1, 6)));
    DynamicMessage g = Onnx.graph("g", List.of(
            Onnx.node("If", "branch", List.of("cond"), List.of("b"), Onnx.attrGraph("then_branch", then),
                Onnx.attrGraph("else_branch", otherwise)),
            Onnx.node("Constant", "main_w", List.of(), List.of("main.weight"),
                Onnx.attrTensor("value", Onnx.floats("", new long[] {6, 5}, OnnxModels.he(30, 6, 33)))),
            Onnx.node("MatMul", "main_mm", List.of("b", "main.weight"), List.of("y"))),
        List.of(), List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, -1, 4), Onnx.valueInfo("cond", OnnxSchema.BOOL)),
        List.of(Onnx.valueInfo("y", OnnxSchema.FLOAT, -1, 5)));
    Path model = OnnxModels.write(tmp.resolve("branches.onnx"), Onnx.model(g, 13));
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString())).isZero();
    assertThat(Outputs.manifest(q).totals().quantized()).isEqualTo(3);
    for (String kind : List.of("onnx-qdq", "onnx-fake-quant")) {
      Path e = tmp.resolve(kind);
      assertThat(CliTestAccess.q16("export", q.toString(), "--to", kind, "--out", e.toString())).isZero();
      try (OrtModel f = OrtModel.open(model.toString()); OrtModel d = OrtModel.open(e.resolve("model.onnx").toString())) {
        for (boolean c : new boolean[] {true, false}) {
          Map<String, OrtModel.Tensor> in = new LinkedHashMap<>(OnnxModels.floatInputs("x", new long[] {3, 4}, 1, 8).get(0));
          in.put("cond", new OrtModel.Tensor(new long[0], new boolean[] {c}));
          float[] a = (float[]) f.run(in).get("y").values();
          float[] b = (float[]) d.run(in).get("y").values();
          assertThat(OnnxModels.cosine(a, b)).as(kind + " cond " + c).isGreaterThanOrEqualTo(0.9999);
        }
      }
    }
    // The QDQ model dequantizes in the graphs that hold the weights: no float weight is left.
    String qdq = new String(Files.readAllBytes(tmp.resolve("onnx-qdq/model.onnx")), java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat(qdq).contains("then.weight_quantized").contains("else.weight_quantized").contains("main.weight_quantized");
  }

  private static int[] bits(float[] x) {
    int[] b = new int[x.length];
    for (int i = 0; i < x.length; i++) {
      b[i] = Float.floatToRawIntBits(x[i]);
    }
    return b;
  }

  @Test
  void externalDataInAndOut() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("src"));
    Path model = OnnxModels.write(dir.resolve("ext.onnx"), OnnxModels.externalize(OnnxModels.cnn(17), dir, "ext.bin"));
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--chunk-mb", "0.004")).isZero();
    assertThat(Outputs.manifest(q).tensor("fc1.weight").sourceFile()).endsWith("ext.bin");
    assertThat(CliTestAccess.q16("verify", q.toString())).isZero();
    // Above --external-data-mb the weights go to external data files written by executors
    // (--file-mb small enough for two); below it the model is one self-contained file.
    Path big = tmp.resolve("big");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--out", big.toString(),
        "--external-data-mb", "0.01", "--file-mb", "0.02")).isZero();
    Path small = tmp.resolve("small");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--out", small.toString())).isZero();
    try (var files = Files.list(big)) {
      List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
      assertThat(names).contains("model.onnx", "q16-export.json").hasSizeGreaterThan(3);
      assertThat(names.subList(0, names.size() - 2)).allMatch(n -> n.matches("model-0000\\d-of-0000\\d\\.onnx\\.data"));
    }
    try (var files = Files.list(small)) {
      assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly("model.onnx", "q16-export.json");
    }
    assertThat(Files.size(big.resolve("model.onnx"))).isLessThan(4096);
    List<Map<String, OrtModel.Tensor>> inputs = OnnxModels.floatInputs("x", new long[] {2, 3, 8, 8}, 2, 9);
    try (OrtModel f = OrtModel.open(model.toString()); OrtModel b = OrtModel.open(big.resolve("model.onnx").toString());
        OrtModel s = OrtModel.open(small.resolve("model.onnx").toString())) {
      for (Map<String, OrtModel.Tensor> in : inputs) {
        float[] x = (float[]) f.run(in).get("logits").values();
        float[] y = (float[]) b.run(in).get("logits").values();
        float[] z = (float[]) s.run(in).get("logits").values();
        assertThat(OnnxModels.cosine(x, y)).isGreaterThanOrEqualTo(0.9999);
        assertThat(bits(y)).isEqualTo(bits(z));
      }
    }
  }

  @Test
  void externalDataEscapingTheModelFolderIsRefusedByTheCommandLine() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("models"));
    DynamicMessage m = OnnxModels.externalize(OnnxModels.cnn(17), dir, "w.bin");
    // Point fc1.weight at ../w.bin: the model must not make Q16 read other files.
    DynamicMessage escaped = OnnxModels.relocate(m, "fc1.weight", "../w.bin");
    Path model = OnnxModels.write(dir.resolve("escape.onnx"), escaped);
    Path out = tmp.resolve("never");
    CliTestAccess.Run r = CliTestAccess.run("quantize", model.toString(), "--out", out.toString());
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err().strip()).doesNotContain("\n").contains("escape.onnx").contains("'fc1.weight'")
        .contains("leaves the model's folder");
    assertThat(out).doesNotExist();
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("never"));
    }
  }
}
