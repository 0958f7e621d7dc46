package io.q16.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import io.q16.Q16Exception;
import io.q16.tensor.DType;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ONNX planner on models built here: every way exporters store weights is located by byte
 * range, and the bytes there are the tensor's values; roles and channel axes follow the consuming
 * operators; bad models get one clear error.
 */
class OnnxReaderTest {
  @TempDir Path tmp;

  private static float[] values(int n, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) r.nextGaussian();
    }
    return x;
  }

  private static float[] readFloats(TensorInfo t) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(new org.apache.hadoop.fs.Path(t.file()).toUri().getPath(), "r")) {
      byte[] b = new byte[(int) t.byteLength()];
      f.seek(t.dataStart());
      f.readFully(b);
      float[] x = new float[b.length / 4];
      ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(x);
      return x;
    }
  }

  /** A float tensor in packed float_data instead of raw_data. */
  private static DynamicMessage floatData(String name, long[] dims, float[] x) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(OnnxSchema.TENSOR)
        .setField(Onnx.field(OnnxSchema.TENSOR, "name"), name)
        .setField(Onnx.field(OnnxSchema.TENSOR, "data_type"), OnnxSchema.FLOAT);
    for (long d : dims) {
      b.addRepeatedField(Onnx.field(OnnxSchema.TENSOR, "dims"), d);
    }
    for (float v : x) {
      b.addRepeatedField(Onnx.field(OnnxSchema.TENSOR, "float_data"), v);
    }
    return b.build();
  }

  private static DynamicMessage external(String name, long[] dims, String location, long offset, long length) {
    return io.q16.testing.OnnxMlp.externalTensor(name, dims, location, offset, length);
  }

  private Path write(String file, DynamicMessage model) throws IOException {
    Path p = tmp.resolve(file);
    Files.write(p, model.toByteArray());
    return p;
  }

  @Test
  void findsEveryStoredTensorByByteRange() throws IOException {
    float[] conv = values(8 * 3 * 3 * 3, 1);
    float[] gemm = values(16 * 10, 2);
    float[] mm = values(10 * 4, 3);
    float[] konst = values(4, 4);
    float[] inner = values(6, 5);
    float[] ext = values(12 * 5, 6);
    float[] bias = values(8, 7);
    // External data: 7 bytes of padding, then the tensor.
    ByteBuffer eb = ByteBuffer.allocate(7 + 4 * ext.length).order(ByteOrder.LITTLE_ENDIAN);
    eb.position(7);
    eb.asFloatBuffer().put(ext);
    Files.write(tmp.resolve("weights.bin"), eb.array());
    DynamicMessage then = Onnx.graph("then", List.of(Onnx.node("Identity", "id", List.of("inner_w"), List.of("y1"))),
        List.of(Onnx.floats("inner_w", new long[] {2, 3}, inner)), List.of(), List.of(Onnx.valueInfo("y1", 1, 2, 3)));
    DynamicMessage graph = Onnx.graph("g",
        List.of(
            Onnx.node("Conv", "conv", List.of("x", "conv_w", "conv_b"), List.of("c")),
            Onnx.node("Gemm", "gemm", List.of("f", "gemm_w"), List.of("h"), Onnx.attrInt("transB", 1)),
            Onnx.node("Constant", "k", List.of(), List.of("mm_w"), Onnx.attrTensor("value",
                Onnx.floats("", new long[] {10, 4}, mm))),
            Onnx.node("MatMul", "mm", List.of("h", "mm_w"), List.of("m")),
            Onnx.node("MatMul", "mm2", List.of("m", "ext_w"), List.of("n")),
            Onnx.node("If", "if", List.of("cond"), List.of("y"), Onnx.attrGraph("then_branch", then))),
        List.of(Onnx.floats("conv_w", new long[] {8, 3, 3, 3}, conv), Onnx.floats("conv_b", new long[] {8}, bias),
            floatData("gemm_w", new long[] {16, 10}, gemm), external("ext_w", new long[] {12, 5}, "weights.bin", 7,
                4L * ext.length), Onnx.int64s("shape", new long[] {2}, new long[] {1, -1})),
        List.of(Onnx.valueInfo("x", 1, -1, 3, 8, 8), Onnx.valueInfo("cond", 9)), List.of(Onnx.valueInfo("n", 1, -1, 5)));
    Path p = write("m.onnx", Onnx.model(graph, 17));
    OnnxModel m = OnnxReader.read(p.toString(), new Configuration());
    assertThat(m.opset()).isEqualTo(17);
    assertThat(m.inputs()).containsExactly("x", "cond");
    assertThat(m.outputs()).containsExactly("n");
    Map<String, float[]> want = Map.of("conv_w", conv, "gemm_w", gemm, "mm_w", mm, "inner_w", inner, "ext_w", ext,
        "conv_b", bias);
    for (Map.Entry<String, float[]> e : want.entrySet()) {
      TensorInfo t = m.model().tensor(e.getKey());
      assertThat(t).as(e.getKey()).isNotNull();
      assertThat(t.dtype()).isEqualTo(DType.F32);
      assertThat(readFloats(t)).as(e.getKey()).isEqualTo(e.getValue());
    }
    assertThat(m.model().tensor("ext_w").file()).endsWith("weights.bin");
    assertThat(m.model().tensor("shape").dtype()).isEqualTo(DType.I64);
    assertThat(m.nodes()).extracting(OnnxModel.Node::graph).contains("main/if.then_branch");
    Map<String, OnnxModel.Weight> roles = m.roles();
    assertThat(roles.get("conv_w")).isEqualTo(new OnnxModel.Weight(OnnxModel.Role.WEIGHT, 0, "Conv"));
    assertThat(roles.get("conv_b").role()).isEqualTo(OnnxModel.Role.BIAS);
    assertThat(roles.get("gemm_w")).isEqualTo(new OnnxModel.Weight(OnnxModel.Role.WEIGHT, 0, "Gemm"));
    assertThat(roles.get("mm_w")).isEqualTo(new OnnxModel.Weight(OnnxModel.Role.WEIGHT, 1, "MatMul"));
    assertThat(roles.get("ext_w")).isEqualTo(new OnnxModel.Weight(OnnxModel.Role.WEIGHT, 1, "MatMul"));
    assertThat(roles).doesNotContainKey("inner_w");
    // ModelReader takes .onnx like any model.
    assertThat(ModelReader.read(p.toString(), new Configuration()).tensors()).hasSize(7);
  }

  @Test
  void refusesExternalDataOutsideTheModelFolder() throws IOException {
    Files.write(tmp.resolve("w.bin"), new byte[16]);
    for (String loc : new String[] {"../w.bin", "/etc/passwd", "sub/../../w.bin", "file:/etc/passwd"}) {
      DynamicMessage graph = Onnx.graph("g", List.of(), List.of(external("w", new long[] {4}, loc, 0, 16)),
          List.of(), List.of());
      Path p = write("escape.onnx", Onnx.model(graph, 17));
      assertThatThrownBy(() -> OnnxReader.read(p.toString(), new Configuration()))
          .isInstanceOf(Q16Exception.class)
          .hasMessageContaining("escape.onnx")
          .hasMessageContaining("'w'")
          .hasMessageContaining("leaves the model's folder");
    }
    DynamicMessage graph = Onnx.graph("g", List.of(), List.of(external("w", new long[] {8}, "w.bin", 0, 32)),
        List.of(), List.of());
    Path p = write("short.onnx", Onnx.model(graph, 17));
    assertThatThrownBy(() -> OnnxReader.read(p.toString(), new Configuration()))
        .hasMessageContaining("lies outside 'w.bin' (16 bytes)");
  }

  @Test
  void badModelsGetOneClearError() throws IOException {
    DynamicMessage graph = Onnx.graph("g", List.of(), List.of(Onnx.floats("w", new long[] {64}, values(64, 9))),
        List.of(), List.of());
    byte[] good = Onnx.model(graph, 17).toByteArray();
    // Truncated at every byte: a clear error naming the file, never a crash.
    for (int n = 0; n < good.length; n += 7) {
      Path p = tmp.resolve("cut" + n + ".onnx");
      Files.write(p, java.util.Arrays.copyOf(good, n));
      assertThatThrownBy(() -> OnnxReader.read(p.toString(), new Configuration()))
          .as("cut at %d", n).isInstanceOf(Q16Exception.class).hasMessageContaining(p.getFileName().toString());
    }
    // A shape that does not match the bytes.
    DynamicMessage lying = Onnx.graph("g", List.of(), List.of(Onnx.tensor("w", OnnxSchema.FLOAT, new long[] {65},
        new byte[256])), List.of(), List.of());
    Path p = write("lying.onnx", Onnx.model(lying, 17));
    assertThatThrownBy(() -> OnnxReader.read(p.toString(), new Configuration()))
        .hasMessageContaining("'w'").hasMessageContaining("needs 260");
    // Two tensors with one name.
    DynamicMessage twice = Onnx.graph("g", List.of(), List.of(Onnx.floats("w", new long[] {1}, new float[1]),
        Onnx.floats("w", new long[] {1}, new float[1])), List.of(), List.of());
    Path q = write("twice.onnx", Onnx.model(twice, 17));
    assertThatThrownBy(() -> OnnxReader.read(q.toString(), new Configuration())).hasMessageContaining("defined twice");
    // Not a model at all.
    Path r = tmp.resolve("text.onnx");
    Files.writeString(r, "hello, world");
    assertThatThrownBy(() -> OnnxReader.read(r.toString(), new Configuration())).isInstanceOf(Q16Exception.class)
        .hasMessageContaining("text.onnx");
    assertThat(ByteString.EMPTY).isNotNull();
  }
}
