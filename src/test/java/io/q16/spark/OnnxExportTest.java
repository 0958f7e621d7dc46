package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.Manifest;
import io.q16.onnx.OnnxSelection;
import io.q16.onnx.OrtModel;
import io.q16.testing.OnnxModels;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Path;
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
  }
}
