package io.q16.testing;

import com.google.protobuf.DynamicMessage;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A small ONNX model the tests build themselves, and its forward pass in double:
 * {@code x [N, 16] → MatMul(W1 [16, 32]) = h1 → Relu = r1 → Gemm(r1, W2 [32, 8], b2) = g →
 * MatMul(W3 [8, 4]) = y}. Its activations (float values entering or leaving MatMul / Gemm) are
 * {@link #ACTIVATIONS}: x, h1, r1, g and y.
 */
public final class OnnxMlp {
  public static final int IN = 16;
  public static final int HIDDEN = 32;
  public static final int GEMM = 8;
  public static final int OUT = 4;
  /** Sorted, as calibration ids them. */
  public static final List<String> ACTIVATIONS = List.of("g", "h1", "r1", "x", "y");

  private OnnxMlp() {}

  public static float[] w1() {
    return gaussian(11, IN * HIDDEN, 1 / Math.sqrt(IN));
  }

  public static float[] w2() {
    return gaussian(12, HIDDEN * GEMM, 1 / Math.sqrt(HIDDEN));
  }

  public static float[] b2() {
    return gaussian(13, GEMM, 0.1);
  }

  public static float[] w3() {
    return gaussian(14, GEMM * OUT, 1 / Math.sqrt(GEMM));
  }

  private static float[] gaussian(long seed, int n, double std) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (r.nextGaussian() * std);
    }
    return x;
  }

  /**
   * The model with its input declared as {@code xDims} (-1: symbolic; of rank 3 and more the Gemm
   * is a MatMul with output gm and an Add), weights inline or, with
   * {@code external}, W1 and W2 in the external file {@code weights/w.bin} beside the model.
   */
  public static Path write(Path file, boolean external, long... xDims) throws IOException {
    return write(file, external, false, xDims);
  }

  /** As above; with {@code exposed}, h1, r1 and g are graph outputs too (for reference runs). */
  public static Path write(Path file, boolean external, boolean exposed, long... xDims) throws IOException {
    DynamicMessage w1;
    DynamicMessage w2;
    if (external) {
      Path data = file.resolveSibling("weights").resolve("w.bin");
      Files.createDirectories(data.getParent());
      byte[] a = le(w1());
      byte[] b = le(w2());
      byte[] both = new byte[a.length + b.length];
      System.arraycopy(a, 0, both, 0, a.length);
      System.arraycopy(b, 0, both, a.length, b.length);
      Files.write(data, both);
      w1 = externalTensor("W1", new long[] {IN, HIDDEN}, "weights/w.bin", 0, a.length);
      w2 = externalTensor("W2", new long[] {HIDDEN, GEMM}, "weights/w.bin", a.length, b.length);
    } else {
      w1 = Onnx.floats("W1", new long[] {IN, HIDDEN}, w1());
      w2 = Onnx.floats("W2", new long[] {HIDDEN, GEMM}, w2());
    }
    long[] yDims = xDims.clone();
    yDims[yDims.length - 1] = OUT;
    // Gemm takes rank 2 only: inputs of higher rank get MatMul (output gm) and Add instead.
    List<DynamicMessage> layer2 = xDims.length == 2
        ? List.of(Onnx.node("Gemm", "gemm", List.of("r1", "W2", "b2"), List.of("g")))
        : List.of(Onnx.node("MatMul", "mm2", List.of("r1", "W2"), List.of("gm")),
            Onnx.node("Add", "add", List.of("gm", "b2"), List.of("g")));
    List<DynamicMessage> nodes = new java.util.ArrayList<>();
    nodes.add(Onnx.node("MatMul", "mm1", List.of("x", "W1"), List.of("h1")));
    nodes.add(Onnx.node("Relu", "relu", List.of("h1"), List.of("r1")));
    nodes.addAll(layer2);
    nodes.add(Onnx.node("MatMul", "mm3", List.of("g", "W3"), List.of("y")));
    DynamicMessage graph = Onnx.graph("mlp", nodes,
        List.of(w1, w2, Onnx.floats("b2", new long[] {GEMM}, b2()), Onnx.floats("W3", new long[] {GEMM, OUT}, w3())),
        List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, xDims)), exposed
            ? List.of(Onnx.valueInfo("y", OnnxSchema.FLOAT, yDims), floatOutput("h1"), floatOutput("r1"),
                floatOutput("g"))
            : List.of(Onnx.valueInfo("y", OnnxSchema.FLOAT, yDims)));
    Files.write(file, Onnx.model(graph, 17).toByteArray());
    return file;
  }

  /** A float32 value of undeclared shape. */
  private static DynamicMessage floatOutput(String name) {
    DynamicMessage tensorType = DynamicMessage.newBuilder(OnnxSchema.TYPE_TENSOR)
        .setField(Onnx.field(OnnxSchema.TYPE_TENSOR, "elem_type"), OnnxSchema.FLOAT).build();
    return DynamicMessage.newBuilder(OnnxSchema.VALUE_INFO).setField(Onnx.field(OnnxSchema.VALUE_INFO, "name"), name)
        .setField(Onnx.field(OnnxSchema.VALUE_INFO, "type"), DynamicMessage.newBuilder(OnnxSchema.TYPE)
            .setField(Onnx.field(OnnxSchema.TYPE, "tensor_type"), tensorType).build())
        .build();
  }

  private static byte[] le(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return bb.array();
  }

  /** A float32 tensor whose {@code length} bytes are at {@code offset} of the external file {@code location}. */
  public static DynamicMessage externalTensor(String name, long[] dims, String location, long offset, long length) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(OnnxSchema.TENSOR)
        .setField(Onnx.field(OnnxSchema.TENSOR, "name"), name)
        .setField(Onnx.field(OnnxSchema.TENSOR, "data_type"), OnnxSchema.FLOAT)
        .setField(Onnx.field(OnnxSchema.TENSOR, "data_location"), 1);
    for (long d : dims) {
      b.addRepeatedField(Onnx.field(OnnxSchema.TENSOR, "dims"), d);
    }
    String[][] entries = {{"location", location}, {"offset", Long.toString(offset)}, {"length", Long.toString(length)}};
    for (String[] e : entries) {
      b.addRepeatedField(Onnx.field(OnnxSchema.TENSOR, "external_data"), DynamicMessage.newBuilder(OnnxSchema.ENTRY)
          .setField(Onnx.field(OnnxSchema.ENTRY, "key"), e[0]).setField(Onnx.field(OnnxSchema.ENTRY, "value"), e[1])
          .build());
    }
    return b.build();
  }

  /**
   * The forward pass of rows of {@code x} (each {@link #IN} values) in double: per activation of
   * {@link #ACTIVATIONS} (same order), all its values, row after row.
   */
  public static double[][] forward(float[] x) {
    int n = x.length / IN;
    double[] in = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      in[i] = x[i];
    }
    double[] h1 = matmul(in, n, IN, w1(), HIDDEN, null);
    double[] r1 = new double[h1.length];
    for (int i = 0; i < h1.length; i++) {
      r1[i] = Math.max(0, h1[i]);
    }
    double[] g = matmul(r1, n, HIDDEN, w2(), GEMM, b2());
    double[] y = matmul(g, n, GEMM, w3(), OUT, null);
    return new double[][] {g, h1, r1, in, y};
  }

  private static double[] matmul(double[] a, int rows, int k, float[] w, int cols, float[] bias) {
    double[] out = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        double s = bias == null ? 0 : bias[c];
        for (int j = 0; j < k; j++) {
          s += a[r * k + j] * w[j * cols + c];
        }
        out[r * cols + c] = s;
      }
    }
    return out;
  }
}
