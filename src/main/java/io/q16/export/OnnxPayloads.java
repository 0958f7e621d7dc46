package io.q16.export;

import io.q16.Errors;
import io.q16.format.Manifest;
import io.q16.quant.Granularity;
import io.q16.quant.TensorSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * The bytes the ONNX exports write for one tensor, streamed from its shard rows (memory: one row
 * and the per-unit parameters), in parts that each start at a multiple of {@link #ALIGN} from
 * the tensor's first byte:
 *
 * <ul>
 *   <li>{@link Kind#QDQ}: the codes (int16 or uint16, little-endian, row-major), the float32
 *       scales and the 16-bit zero points, one per unit (in storage terms), as DequantizeLinear
 *       takes them;
 *   <li>{@link Kind#FAKE_QUANT}: float32 dequantize(quantize(x)), as Q16 dequantizes;
 *   <li>{@link Kind#COPY}: the source tensor's bytes, unchanged.
 * </ul>
 */
public final class OnnxPayloads {
  /** Parts start at multiples of 64 bytes, so runtimes that map external data find them aligned. */
  public static final int ALIGN = 64;

  /** What is written for a tensor. */
  public enum Kind { QDQ, FAKE_QUANT, COPY }

  private OnnxPayloads() {}

  public static long align(long n) {
    return (n + ALIGN - 1) / ALIGN * ALIGN;
  }

  /** The byte length of each part. */
  public static long[] parts(Manifest.TensorEntry t, Kind kind) {
    return switch (kind) {
      case QDQ -> new long[] {2 * t.elements(), 4 * t.units(), 2 * t.units()};
      case FAKE_QUANT -> new long[] {4 * t.elements()};
      case COPY -> new long[] {t.sourceBytes()};
    };
  }

  /** Each part's offset from the tensor's first byte. */
  public static long[] offsets(long[] parts) {
    long[] off = new long[parts.length];
    long at = 0;
    for (int i = 0; i < parts.length; i++) {
      off[i] = align(at);
      at = off[i] + parts[i];
    }
    return off;
  }

  /** Bytes the tensor takes, its last part unpadded. */
  public static long size(long[] parts) {
    long[] off = offsets(parts);
    return off[off.length - 1] + parts[parts.length - 1];
  }

  /**
   * Writes {@code t}'s parts to {@code o} (padding between them with zeros); {@code shardFiles}
   * are the output's shards indexed like the manifest's.
   */
  public static void write(Manifest.TensorEntry t, Kind kind, List<String> shardFiles, Configuration conf,
      OutputStream o) throws IOException {
    long[] parts = parts(t, kind);
    long[] off = offsets(parts);
    if (kind == Kind.COPY) {
      ModelExport.copySource(t, o, conf);
      return;
    }
    TensorSpec spec = ModelExport.spec(t);
    List<String> files = t.shards().stream().map(shardFiles::get).toList();
    if (kind == Kind.FAKE_QUANT) {
      ModelExport.fakeQuant(t, spec, files, o, conf);
      return;
    }
    if (t.codec() != null) {
      throw Errors.usage("tensor '" + t.name() + "' uses the " + t.codec().kind() + " codec, which DequantizeLinear cannot"
          + " express: export it --to onnx-fake-quant, or quantize with a linear scheme");
    }
    ModelExport.Params params = new ModelExport.Params((int) (long) t.units());
    ModelExport.codes(t, spec, files, params, o, conf);
    pad(o, off[1] - parts[0]);
    o.write(io.q16.quant.Codes.floats(params.scales));
    pad(o, off[2] - (off[1] + parts[1]));
    byte[] z = new byte[2 * params.zeroPoints.length];
    for (int i = 0; i < params.zeroPoints.length; i++) {
      z[2 * i] = (byte) params.zeroPoints[i];
      z[2 * i + 1] = (byte) (params.zeroPoints[i] >> 8);
    }
    o.write(z);
  }

  /** The parts of {@code t}, computed in memory (for models small enough to be written inline). */
  public static byte[][] inMemory(Manifest.TensorEntry t, Kind kind, List<String> shardFiles, Configuration conf)
      throws IOException {
    long[] parts = parts(t, kind);
    long[] off = offsets(parts);
    ByteArrayOutputStream b = new ByteArrayOutputStream((int) size(parts));
    write(t, kind, shardFiles, conf, b);
    byte[] all = b.toByteArray();
    byte[][] out = new byte[parts.length][];
    for (int i = 0; i < parts.length; i++) {
      out[i] = java.util.Arrays.copyOfRange(all, (int) off[i], (int) (off[i] + parts[i]));
    }
    return out;
  }

  /** Zero bytes. */
  public static void pad(OutputStream o, long n) throws IOException {
    for (long i = 0; i < n; i++) {
      o.write(0);
    }
  }

  /**
   * The dims of the scale and zero-point tensors of DequantizeLinear: [] per tensor, [C] per
   * channel, the tensor's shape with its last dimension counted in groups per group (blocked
   * quantization along the last axis, opset 21).
   */
  public static long[] unitDims(long[] shape, Granularity g) {
    return switch (g.kind()) {
      case TENSOR -> new long[0];
      case CHANNEL -> new long[] {shape[g.axis()]};
      case GROUP -> {
        long[] d = shape.clone();
        d[d.length - 1] = (d[d.length - 1] + g.groupSize() - 1) / g.groupSize();
        yield d;
      }
    };
  }
}
