package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.Manifest;
import io.q16.onnx.OrtModel;
import io.q16.testing.OnnxModels;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real pretrained transformer, all-MiniLM-L6-v2 (opset 11, 36 MatMul weights, 22.7M
 * parameters), taken from the Maven artifact that ships it: quantized, exported to int16 QDQ at
 * opset 21 and run by ONNX Runtime next to the float model on generated token ids.
 */
class MiniLmTest extends SparkTestBase {
  static final String RESOURCE = "/all-minilm-l6-v2.onnx";

  @TempDir Path tmp;

  static Path extract(Path dir) throws IOException {
    Path p = dir.resolve("all-minilm-l6-v2.onnx");
    try (InputStream in = MiniLmTest.class.getResourceAsStream(RESOURCE)) {
      assertThat(in).as("the langchain4j all-minilm-l6-v2 test dependency").isNotNull();
      Files.copy(in, p);
    }
    return p;
  }

  /** Token ids in [0, 30522), attention mask ones, token types zeros: one sentence of {@code len} tokens. */
  static Map<String, OrtModel.Tensor> tokens(Random r, int len) {
    long[] ids = new long[len];
    long[] mask = new long[len];
    ids[0] = 101; // [CLS]
    for (int i = 1; i < len - 1; i++) {
      ids[i] = 1000 + r.nextInt(29522);
    }
    ids[len - 1] = 102; // [SEP]
    java.util.Arrays.fill(mask, 1);
    long[] shape = {1, len};
    Map<String, OrtModel.Tensor> in = new LinkedHashMap<>();
    in.put("input_ids", new OrtModel.Tensor(shape, ids));
    in.put("attention_mask", new OrtModel.Tensor(shape, mask));
    in.put("token_type_ids", new OrtModel.Tensor(shape, new long[len]));
    return in;
  }

  @Test
  void miniLmInt16WeightsKeepItsEmbeddings() throws IOException {
    Path model = extract(tmp);
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString())).isZero();
    Manifest m = Outputs.manifest(q);
    assertThat(m.totals().quantized()).isEqualTo(36);
    Path e = tmp.resolve("qdq");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "onnx-qdq", "--out", e.toString())).isZero();
    Random r = new Random(42);
    double minCos = 1;
    double maxDiff = 0;
    try (OrtModel f = OrtModel.open(model.toString()); OrtModel d = OrtModel.open(e.resolve("model.onnx").toString())) {
      for (int s = 0; s < 8; s++) {
        Map<String, OrtModel.Tensor> in = tokens(r, 16 + 6 * s);
        float[] a = (float[]) f.run(in).get("last_hidden_state").values();
        float[] b = (float[]) d.run(in).get("last_hidden_state").values();
        minCos = Math.min(minCos, OnnxModels.cosine(a, b));
        maxDiff = Math.max(maxDiff, OnnxModels.maxAbsDiff(a, b));
      }
    }
    System.out.printf("MiniLM int16 QDQ vs float: min cosine %.9f, max|diff| %.3e%n", minCos, maxDiff);
    assertThat(minCos).isGreaterThanOrEqualTo(0.999);
    // The same through verify, on executors: 8 generated sentences of 32 tokens.
    CliTestAccess.Run v = CliTestAccess.run("verify", e.toString(), "--generate-inputs", "8", "--dim",
        "sequence_length=32", "--input-range", "input_ids=1000:30521", "--input-range", "attention_mask=1:1",
        "--input-range", "token_type_ids=0:0");
    System.out.print(v.out());
    assertThat(v.code()).isZero();
  }
}
