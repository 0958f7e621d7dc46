package io.q16.testing;

import com.google.protobuf.DynamicMessage;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import io.q16.onnx.OrtModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** ONNX models the tests build themselves with {@link Onnx}, with realistic (He-scaled Gaussian) weights. */
public final class OnnxModels {
  private OnnxModels() {}

  /** Gaussian values with standard deviation sqrt(2 / fanIn), as trained layers roughly keep them. */
  public static float[] he(int n, int fanIn, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n];
    double sd = Math.sqrt(2.0 / fanIn);
    for (int i = 0; i < n; i++) {
      x[i] = (float) (r.nextGaussian() * sd);
    }
    return x;
  }

  /**
   * A small CNN classifier at opset 17: x [N, 3, 8, 8] → Conv(8, 3x3, pad 1) → Relu → Flatten →
   * Gemm(32, transB) → Relu → Unsqueeze(1) → MatMul(10) → Add → ReduceMean(axes=[1], attribute
   * until opset 18) → logits [N, 10].
   */
  public static DynamicMessage cnn(long opset) {
    List<DynamicMessage> nodes = List.of(
        Onnx.node("Conv", "conv", List.of("x", "conv.weight", "conv.bias"), List.of("c"),
            ints("pads", 1, 1, 1, 1), ints("kernel_shape", 3, 3)),
        Onnx.node("Relu", "relu1", List.of("c"), List.of("r1")),
        Onnx.node("Flatten", "flatten", List.of("r1"), List.of("f"), Onnx.attrInt("axis", 1)),
        Onnx.node("Gemm", "fc1", List.of("f", "fc1.weight", "fc1.bias"), List.of("h"), Onnx.attrInt("transB", 1)),
        Onnx.node("Relu", "relu2", List.of("h"), List.of("r2")),
        Onnx.node("Constant", "axes", List.of(), List.of("axes"),
            Onnx.attrTensor("value", Onnx.int64s("", new long[] {1}, new long[] {1}))),
        Onnx.node("Unsqueeze", "unsqueeze", List.of("r2", "axes"), List.of("u")),
        Onnx.node("MatMul", "fc2", List.of("u", "fc2.weight"), List.of("m")),
        Onnx.node("Add", "add", List.of("m", "fc2.bias"), List.of("a")),
        Onnx.node("ReduceMean", "mean", List.of("a"), List.of("logits"), ints("axes", 1), Onnx.attrInt("keepdims", 0)));
    List<DynamicMessage> init = List.of(
        Onnx.floats("conv.weight", new long[] {8, 3, 3, 3}, he(8 * 27, 27, 1)),
        Onnx.floats("conv.bias", new long[] {8}, he(8, 27, 2)),
        Onnx.floats("fc1.weight", new long[] {32, 512}, he(32 * 512, 512, 3)),
        Onnx.floats("fc1.bias", new long[] {32}, he(32, 512, 4)),
        Onnx.floats("fc2.weight", new long[] {32, 10}, he(320, 32, 5)),
        Onnx.floats("fc2.bias", new long[] {10}, he(10, 32, 6)));
    DynamicMessage g = Onnx.graph("cnn", nodes, init, List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, -1, 3, 8, 8)),
        List.of(Onnx.valueInfo("logits", OnnxSchema.FLOAT, -1, 10)));
    return Onnx.model(g, opset);
  }

  /**
   * {@code model} with every initializer's bytes moved to {@code dir/bin} (external data, each at
   * an offset 8 bytes past the previous one's end, so offsets are exercised), written there.
   */
  public static DynamicMessage externalize(DynamicMessage model, Path dir, String bin) throws IOException {
    com.google.protobuf.Descriptors.FieldDescriptor graphF = Onnx.field(OnnxSchema.MODEL, "graph");
    com.google.protobuf.Descriptors.FieldDescriptor initF = Onnx.field(OnnxSchema.GRAPH, "initializer");
    DynamicMessage g = (DynamicMessage) model.getField(graphF);
    java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
    DynamicMessage.Builder gb = g.toBuilder().clearField(initF);
    for (Object o : (List<?>) g.getField(initF)) {
      DynamicMessage t = (DynamicMessage) o;
      byte[] raw = ((com.google.protobuf.ByteString) t.getField(Onnx.field(OnnxSchema.TENSOR, "raw_data"))).toByteArray();
      data.write(new byte[8]);
      long offset = data.size();
      data.write(raw);
      gb.addRepeatedField(initF, io.q16.onnx.OnnxRewrite.withData(t,
          (Integer) t.getField(Onnx.field(OnnxSchema.TENSOR, "data_type")),
          io.q16.onnx.OnnxRewrite.Data.external(bin, offset, raw.length)));
    }
    Files.write(dir.resolve(bin), data.toByteArray());
    return model.toBuilder().setField(graphF, gb.build()).build();
  }

  /** {@code model} with initializer {@code name}'s external data location set to {@code location}. */
  public static DynamicMessage relocate(DynamicMessage model, String name, String location) {
    com.google.protobuf.Descriptors.FieldDescriptor graphF = Onnx.field(OnnxSchema.MODEL, "graph");
    com.google.protobuf.Descriptors.FieldDescriptor initF = Onnx.field(OnnxSchema.GRAPH, "initializer");
    DynamicMessage g = (DynamicMessage) model.getField(graphF);
    DynamicMessage.Builder gb = g.toBuilder().clearField(initF);
    for (DynamicMessage t : initializers(model).values()) {
      if (t.getField(Onnx.field(OnnxSchema.TENSOR, "name")).equals(name)) {
        com.google.protobuf.Descriptors.FieldDescriptor ext = Onnx.field(OnnxSchema.TENSOR, "external_data");
        DynamicMessage.Builder tb = t.toBuilder().clearField(ext);
        for (Object o : (List<?>) t.getField(ext)) {
          DynamicMessage e = (DynamicMessage) o;
          if (e.getField(Onnx.field(OnnxSchema.ENTRY, "key")).equals("location")) {
            e = e.toBuilder().setField(Onnx.field(OnnxSchema.ENTRY, "value"), location).build();
          }
          tb.addRepeatedField(ext, e);
        }
        t = tb.build();
      }
      gb.addRepeatedField(initF, t);
    }
    return model.toBuilder().setField(graphF, gb.build()).build();
  }

  /** The model at {@code path} parsed against Q16's schema. */
  public static DynamicMessage read(Path path) throws IOException {
    return DynamicMessage.parseFrom(OnnxSchema.MODEL, Files.readAllBytes(path));
  }

  /** A tensor's raw_data as little-endian float32 or int16 values ({@code float[]} or {@code short[]}). */
  public static Object rawValues(DynamicMessage tensor) {
    java.nio.ByteBuffer b = ((com.google.protobuf.ByteString) tensor.getField(Onnx.field(OnnxSchema.TENSOR, "raw_data")))
        .asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int type = (Integer) tensor.getField(Onnx.field(OnnxSchema.TENSOR, "data_type"));
    if (type == OnnxSchema.FLOAT) {
      float[] f = new float[b.remaining() / 4];
      b.asFloatBuffer().get(f);
      return f;
    }
    short[] s = new short[b.remaining() / 2];
    b.asShortBuffer().get(s);
    return s;
  }

  /** The graph's initializers by name. */
  public static Map<String, DynamicMessage> initializers(DynamicMessage model) {
    DynamicMessage g = (DynamicMessage) model.getField(Onnx.field(OnnxSchema.MODEL, "graph"));
    Map<String, DynamicMessage> out = new LinkedHashMap<>();
    for (Object o : (List<?>) g.getField(Onnx.field(OnnxSchema.GRAPH, "initializer"))) {
      DynamicMessage t = (DynamicMessage) o;
      out.put((String) t.getField(Onnx.field(OnnxSchema.TENSOR, "name")), t);
    }
    return out;
  }

  /** {@code model} with extra graph outputs (float32, given shapes or, for null, none): intermediate values become observable. */
  public static DynamicMessage withOutputs(DynamicMessage model, Map<String, long[]> outputs) {
    com.google.protobuf.Descriptors.FieldDescriptor graphF = Onnx.field(OnnxSchema.MODEL, "graph");
    DynamicMessage.Builder g = ((DynamicMessage) model.getField(graphF)).toBuilder();
    outputs.forEach((name, shape) -> g.addRepeatedField(Onnx.field(OnnxSchema.GRAPH, "output"), shape != null
        ? Onnx.valueInfo(name, OnnxSchema.FLOAT, shape)
        : DynamicMessage.newBuilder(OnnxSchema.VALUE_INFO)
            .setField(Onnx.field(OnnxSchema.VALUE_INFO, "name"), name)
            .setField(Onnx.field(OnnxSchema.VALUE_INFO, "type"), DynamicMessage.newBuilder(OnnxSchema.TYPE)
                .setField(Onnx.field(OnnxSchema.TYPE, "tensor_type"), DynamicMessage.newBuilder(OnnxSchema.TYPE_TENSOR)
                    .setField(Onnx.field(OnnxSchema.TYPE_TENSOR, "elem_type"), OnnxSchema.FLOAT).build()).build())
            .build()));
    return model.toBuilder().setField(graphF, g.build()).build();
  }

  public static DynamicMessage ints(String name, long... v) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(OnnxSchema.ATTRIBUTE)
        .setField(Onnx.field(OnnxSchema.ATTRIBUTE, "name"), name)
        .setField(Onnx.field(OnnxSchema.ATTRIBUTE, "type"), 7);
    for (long x : v) {
      b.addRepeatedField(Onnx.field(OnnxSchema.ATTRIBUTE, "ints"), x);
    }
    return b.build();
  }

  public static Path write(Path file, DynamicMessage model) throws IOException {
    Files.write(file, model.toByteArray());
    return file;
  }

  /** {@code n} seeded standard-normal float inputs of {@code shape}, one sample each. */
  public static List<Map<String, OrtModel.Tensor>> floatInputs(String name, long[] shape, int n, long seed) {
    Random r = new Random(seed);
    int size = 1;
    for (long d : shape) {
      size *= (int) d;
    }
    List<Map<String, OrtModel.Tensor>> out = new ArrayList<>();
    for (int s = 0; s < n; s++) {
      float[] x = new float[size];
      for (int i = 0; i < size; i++) {
        x[i] = (float) r.nextGaussian();
      }
      Map<String, OrtModel.Tensor> m = new LinkedHashMap<>();
      m.put(name, new OrtModel.Tensor(shape, x));
      out.add(m);
    }
    return out;
  }

  /** Cosine similarity of two equally long vectors, in double. */
  public static double cosine(float[] a, float[] b) {
    double ab = 0;
    double aa = 0;
    double bb = 0;
    for (int i = 0; i < a.length; i++) {
      ab += (double) a[i] * b[i];
      aa += (double) a[i] * a[i];
      bb += (double) b[i] * b[i];
    }
    return ab / Math.sqrt(aa * bb);
  }

  public static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }
}
