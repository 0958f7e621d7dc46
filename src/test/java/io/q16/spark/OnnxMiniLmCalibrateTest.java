package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.DynamicMessage;
import io.q16.cli.CliTestAccess;
import io.q16.calib.RangeStats;
import io.q16.calib.TensorHistograms;
import io.q16.quant.NanPolicy;
import io.q16.format.Onnx;
import io.q16.format.OnnxModel;
import io.q16.format.OnnxReader;
import io.q16.format.OnnxSchema;
import io.q16.testing.SparkTestBase;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real pretrained transformer, all-MiniLM-L6-v2 (from the langchain4j artifact, test scope), run
 * on executors over generated token ids: every MatMul's output is an activation, one session per
 * task, and two activations' ranges equal ONNX Runtime's own values computed here on a copy of the
 * model rewritten by the test (the whole protobuf parsed and re-serialized with extra outputs, not
 * Q16's appended suffix).
 */
class OnnxMiniLmCalibrateTest extends SparkTestBase {
  @TempDir Path tmp;

  private static final int SAMPLES = 6;
  private static final int SEQ = 16;
  private static final List<String> CHECKED = List.of("/embeddings/LayerNorm/Add_1_output_0",
      "/encoder/layer.5/output/dense/MatMul_output_0");

  @Test
  void foldsEveryMatMulOfMiniLm() throws Exception {
    Path model = tmp.resolve("minilm").resolve("all-minilm-l6-v2.onnx");
    Files.createDirectories(model.getParent());
    try (InputStream in = getClass().getResourceAsStream("/all-minilm-l6-v2.onnx")) {
      assertThat(in).as("all-minilm-l6-v2.onnx on the test classpath").isNotNull();
      Files.copy(in, model);
    }
    Path inputs = tmp.resolve("inputs");
    assertThat(CliTestAccess.q16("generate", "onnx-inputs", model.toString(), "--out", inputs.toString(), "--samples",
        Integer.toString(SAMPLES), "--seq-len", Integer.toString(SEQ), "--vocab", "30522", "--partitions", "2"))
        .isZero();
    // Passes 1 and 2 as calibrate runs them (its threshold searches, 96 tensors of them, are left to
    // the small model's tests and the benchmark: they cost more than the model here).
    RangeStats[] ranges;
    TensorHistograms[] hists;
    List<String> names;
    try (OnnxActivationSource source = OnnxActivationSource.open(spark(), model.toString(), inputs.toString(), 2, 1,
        ShippedOnnxModel.BROADCAST_LIMIT, System.err)) {
      names = source.names();
      ranges = source.ranges(NanPolicy.ERROR);
      float[] absmax = new float[names.size()];
      int[] bins = new int[names.size()];
      for (int t = 0; t < absmax.length; t++) {
        absmax[t] = ranges[t].absmax();
        bins[t] = 2048;
      }
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark().sparkContext());
      hists = source.collect("histogram", jsc.broadcast(new CalibrateJob.HistogramBins(absmax, null, null, bins)),
          TensorHistograms.class);
      int tasks = source.inputs().rows(2).getNumPartitions();
      for (OnnxActivationSource.PassTime p : source.passes()) {
        assertThat(p.sessions()).isEqualTo(tasks);
        assertThat(p.samples()).isEqualTo(SAMPLES);
        assertThat(p.runNanos()).isPositive();
      }
    }
    assertThat(names).hasSize(96).isSorted();

    OnnxModel m = OnnxReader.read(model.toString(), new Configuration());
    int matmuls = 0;
    for (OnnxModel.Node n : m.nodes()) {
      if (n.opType().equals("MatMul")) {
        matmuls++;
        assertThat(names).contains(n.outputs().get(0));
      }
    }
    assertThat(matmuls).isEqualTo(48);
    for (int t = 0; t < names.size(); t++) {
      assertThat(ranges[t].finite()).as(names.get(t)).isPositive().isEqualTo(hists[t].magnitudes().total());
      assertThat(ranges[t].nan() + ranges[t].posInf() + ranges[t].negInf()).isZero();
    }

    // The reference: ONNX Runtime on the driver, one sample at a time, one thread.
    DynamicMessage parsed = DynamicMessage.parseFrom(OnnxSchema.MODEL, Files.readAllBytes(model));
    DynamicMessage.Builder graph = ((DynamicMessage) parsed.getField(Onnx.field(OnnxSchema.MODEL, "graph"))).toBuilder();
    for (String name : CHECKED) {
      graph.addRepeatedField(Onnx.field(OnnxSchema.GRAPH, "output"), Onnx.valueInfo(name, OnnxSchema.FLOAT, -1, -1, 384));
    }
    byte[] rewritten = parsed.toBuilder().setField(Onnx.field(OnnxSchema.MODEL, "graph"), graph.build()).build()
        .toByteArray();
    float[] min = {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY};
    float[] max = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
    long[] count = new long[2];
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setIntraOpNumThreads(1);
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      try (OrtSession s = env.createSession(rewritten, o)) {
        for (Row r : spark().read().parquet(inputs.toString()).collectAsList()) {
          Map<String, OnnxTensor> in = new HashMap<>();
          for (String name : List.of("input_ids", "attention_mask", "token_type_ids")) {
            List<Long> v = r.getList(r.fieldIndex(name));
            long[] a = v.stream().mapToLong(Long::longValue).toArray();
            in.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(a), new long[] {1, SEQ}));
          }
          try (OrtSession.Result res = s.run(in)) {
            for (int k = 0; k < CHECKED.size(); k++) {
              float[] v = ((OnnxTensor) res.get(CHECKED.get(k)).orElseThrow()).getFloatBuffer().array();
              count[k] += v.length;
              for (float x : v) {
                min[k] = Math.min(min[k], x);
                max[k] = Math.max(max[k], x);
              }
            }
          }
          in.values().forEach(OnnxTensor::close);
        }
      }
    }
    for (int k = 0; k < CHECKED.size(); k++) {
      RangeStats r = ranges[names.indexOf(CHECKED.get(k))];
      assertThat(r.finite()).isEqualTo((long) SAMPLES * SEQ * 384).isEqualTo(count[k]);
      assertThat(r.min()).as(CHECKED.get(k)).isEqualTo(min[k]);
      assertThat(r.max()).as(CHECKED.get(k)).isEqualTo(max[k]);
    }
  }
}
