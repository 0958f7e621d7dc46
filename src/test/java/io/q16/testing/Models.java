package io.q16.testing;

import io.q16.format.SafetensorsWriter;
import io.q16.tensor.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Builds safetensors test models from seeded data biased toward the values that break kernels. */
public final class Models {
  private Models() {}

  /** A tensor to write: its dtype, shape and little-endian bytes. */
  public record T(String name, DType dtype, long[] shape, byte[] bytes) {
    public float[] floats() {
      float[] out = new float[bytes.length / dtype.size()];
      io.q16.tensor.Decode.toFloat(dtype, bytes, 0, out, 0, out.length);
      return out;
    }
  }

  public static T f32(String name, float[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new T(name, DType.F32, shape, b.array());
  }

  /** Random half-precision bit patterns (finite only): normals, subnormals, ±0. */
  public static T f16(String name, long seed, long... shape) {
    return halfLike(name, DType.F16, seed, shape, 0x7C00);
  }

  /** Random bfloat16 bit patterns of weight-like magnitude (exponent range around 2^-12..2^2). */
  public static T bf16(String name, long seed, long... shape) {
    int n = (int) elements(shape);
    Random r = new Random(seed);
    ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      float v = (float) (r.nextGaussian() * 0.05);
      b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
    }
    return new T(name, DType.BF16, shape, b.array());
  }

  private static T halfLike(String name, DType dtype, long seed, long[] shape, int expMask) {
    int n = (int) elements(shape);
    Random r = new Random(seed);
    ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      int bits;
      do {
        bits = r.nextInt(1 << 16);
      } while ((bits & expMask) == expMask); // no Inf or NaN
      b.putShort((short) bits);
    }
    return new T(name, dtype, shape, b.array());
  }

  public static T i64(String name, long... shape) {
    int n = (int) elements(shape);
    ByteBuffer b = ByteBuffer.allocate(8 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putLong(i);
    }
    return new T(name, DType.I64, shape, b.array());
  }

  /** Gaussian weights with a few outliers, exact .5 ties, ±0, a subnormal and the extremes. */
  public static float[] weights(long seed, int n, double std) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (r.nextGaussian() * std);
    }
    if (n > 16) {
      x[1] = -0f;
      x[2] = 0f;
      x[3] = Float.MIN_VALUE;
      x[4] = (float) (12 * std); // outlier: sets max|x|
      x[5] = (float) (-9 * std);
    }
    return x;
  }

  public static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /**
   * Raw safetensors bytes, for corrupt files: an 8-byte length (as given, true or not), the header
   * bytes and {@code dataBytes} zero bytes.
   */
  public static byte[] rawFile(long declaredLength, byte[] header, int dataBytes) {
    return java.nio.ByteBuffer.allocate(8 + header.length + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putLong(declaredLength).put(header).array();
  }

  /** As {@link #rawFile(long, byte[], int)} with the header's true UTF-8 length. */
  public static byte[] rawFile(String header, int dataBytes) {
    byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return rawFile(h.length, h, dataBytes);
  }

  /** Writes {@code tensors} (in the given order) as one safetensors file. */
  public static Path write(Path file, List<T> tensors) throws IOException {
    List<SafetensorsWriter.Entry> entries = new ArrayList<>();
    for (T t : tensors) {
      entries.add(new SafetensorsWriter.Entry(t.name(), t.dtype(), t.shape(), SafetensorsWriter.bytes(t.bytes())));
    }
    Files.createDirectories(file.getParent());
    try (OutputStream out = Files.newOutputStream(file)) {
      SafetensorsWriter.write(out, entries, Map.of("producer", "q16 tests"));
    }
    return file;
  }

  /** Writes {@code tensors} as a sharded model: shard i gets every tensor whose index % shards == i. */
  public static Path writeSharded(Path dir, List<T> tensors, int shards) throws IOException {
    Map<String, String> weightMap = new LinkedHashMap<>();
    for (int s = 0; s < shards; s++) {
      String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
      List<T> part = new ArrayList<>();
      for (int i = s; i < tensors.size(); i += shards) {
        part.add(tensors.get(i));
        weightMap.put(tensors.get(i).name(), name);
      }
      write(dir.resolve(name), part);
    }
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(index, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(
        Map.of("metadata", Map.of("total_size", 0), "weight_map", weightMap)));
    return index;
  }

  /** A small model with every case the spine must handle. */
  public static List<T> mixed() {
    List<T> ts = new ArrayList<>();
    ts.add(f32("attn.q.weight", weights(1, 64 * 48, 0.02), 64, 48));
    ts.add(f32("attn.o.weight", weights(2, 48 * 64, 0.05), 48, 64));
    ts.add(f32("mlp.down.weight", weights(3, 3000, 0.1), 3000));
    ts.add(f32("norm.weight", constantPlus(48, 1.0f), 48));
    ts.add(f32("bias.zero", new float[40], 40));
    ts.add(f32("scalar", new float[] {-3.25f}));
    ts.add(f32("empty", new float[0], 0, 7));
    ts.add(f16("emb.f16", 7, 100, 16));
    ts.add(bf16("head.bf16", 8, 16, 100));
    ts.add(i64("position_ids", 1, 33));
    return ts;
  }

  private static float[] constantPlus(int n, float c) {
    float[] x = new float[n];
    java.util.Arrays.fill(x, c);
    x[n / 2] = 2.5f;
    return x;
  }
}
