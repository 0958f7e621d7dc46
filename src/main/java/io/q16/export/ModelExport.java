package io.q16.export;

import io.q16.Errors;
import io.q16.format.ByteSource;
import io.q16.format.Manifest;
import io.q16.format.SafetensorsWriter;
import io.q16.format.ShardReader;
import io.q16.fs.HadoopFs;
import io.q16.quant.Codes;
import io.q16.quant.GranularKernel;
import io.q16.quant.Granularity;
import io.q16.quant.LinearKernel;
import io.q16.quant.LogParams;
import io.q16.quant.MinifloatParams;
import io.q16.quant.NonlinearParams;
import io.q16.quant.Scheme;
import io.q16.quant.TensorSpec;
import io.q16.quant.UnitLayout;
import io.q16.tensor.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Writes a Q16 output back out as a safetensors file that the safetensors libraries load as they
 * are, streaming each tensor from its shard rows (memory: one row):
 *
 * <ul>
 *   <li>{@link Kind#INT16}: {@code <name>} holds the codes (I16, or U16 for uint16 storage),
 *       {@code <name>.scale} (F32) and {@code <name>.zero_point} (I32) the parameters, so that
 *       x = (q - zero_point) · scale. Their shape says the granularity: [] per tensor, [dim] per
 *       channel, [rows, groups per row] per group; {@code __metadata__} names it per tensor.
 *   <li>{@link Kind#FAKE_QUANT}: every quantized tensor as float32 dequantize(quantize(x)), under
 *       its own name and shape, for QAT fine-tuning or accuracy evaluation in any framework.
 * </ul>
 *
 * Tensors Q16 skipped (integer dtypes) are copied from the source model unchanged.
 */
public final class ModelExport {
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  /** What the exported tensors hold: int16 safetensors, fake-quant safetensors, or Arrow IPC (see {@link ArrowExport}). */
  public enum Kind { INT16, FAKE_QUANT, ARROW }

  private ModelExport() {}

  /** Bytes the output file takes for {@code t}'s tensors (headers aside). */
  public static long outputBytes(Manifest.TensorEntry t, Kind kind) {
    if (!Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
      return t.sourceBytes();
    }
    if (kind == Kind.FAKE_QUANT) {
      return 4 * t.elements();
    }
    return t.codec() != null ? 2 * t.elements() : 2 * t.elements() + 8 * t.units();
  }

  /**
   * Writes a safetensors file holding {@code tensors} (manifest entries, in the order given) to
   * {@code out}, reading their rows from {@code shardFiles} (indexed like the manifest's shards).
   */
  public static void write(OutputStream out, Manifest m, List<Manifest.TensorEntry> tensors, Kind kind,
      List<String> shardFiles, Configuration conf) throws IOException {
    List<SafetensorsWriter.Entry> entries = new ArrayList<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put("q16.kind", kind == Kind.INT16 ? "int16" : "fake-quant");
    metadata.put("q16.source_fingerprint", m.source().fingerprint());
    for (Manifest.TensorEntry t : tensors) {
      long[] shape = t.shape().stream().mapToLong(Long::longValue).toArray();
      if (!Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
        entries.add(new SafetensorsWriter.Entry(t.name(), DType.valueOf(t.dtype()), shape,
            o -> copySource(t, o, conf)));
        continue;
      }
      TensorSpec spec = spec(t);
      List<String> files = t.shards().stream().map(shardFiles::get).toList();
      if (kind == Kind.FAKE_QUANT) {
        entries.add(new SafetensorsWriter.Entry(t.name(), DType.F32, shape, o -> fakeQuant(t, spec, files, o, conf)));
        continue;
      }
      metadata.put("q16.scheme." + t.name(), t.scheme() + ", " + spec.granularity());
      if (t.codec() != null) {
        // Non-linear codes carry their codec in the metadata instead of scale tensors.
        metadata.put("q16.codec." + t.name(), JSON.writeValueAsString(t.codec()));
        entries.add(new SafetensorsWriter.Entry(t.name(), DType.I16, shape, o -> codes(t, spec, files, null, o, conf)));
        continue;
      }
      Params params = new Params((int) (long) t.units());
      entries.add(new SafetensorsWriter.Entry(t.name(), "uint16".equals(t.storage()) ? DType.U16 : DType.I16, shape,
          o -> codes(t, spec, files, params, o, conf)));
      long[] unitShape = unitShape(shape, spec.granularity());
      entries.add(new SafetensorsWriter.Entry(t.name() + ".scale", DType.F32, unitShape,
          o -> o.write(Codes.floats(params.scales))));
      entries.add(new SafetensorsWriter.Entry(t.name() + ".zero_point", DType.I32, unitShape,
          o -> o.write(Codes.ints(params.zeroPoints, 0))));
    }
    SafetensorsWriter.write(out, entries, metadata);
  }

  /** The layout of a manifest entry's codes (shape, granularity, scheme, storage). */
  public static TensorSpec spec(Manifest.TensorEntry t) {
    Granularity g = switch (t.granularity() == null ? "tensor" : t.granularity()) {
      case "channel" -> Granularity.channel(t.axis());
      case "group" -> Granularity.group(t.groupSize());
      default -> Granularity.TENSOR;
    };
    TensorSpec spec = new TensorSpec(t.shape().stream().mapToLong(Long::longValue).toArray(), g,
        Scheme.parse(t.scheme()), "uint16".equals(t.storage()));
    Manifest.TensorEntry.Codec c = t.codec();
    if (c != null) {
      spec.withNonlinear("log".equals(c.kind())
          ? NonlinearParams.of(new LogParams(c.absmax(), c.codesPerOctave()))
          : NonlinearParams.of(new MinifloatParams(c.exponentBits(), c.bias())));
    }
    return spec;
  }

  /** Shape of the scale and zero point tensors: [] per tensor, [dim] per channel, [rows, groups] per group. */
  static long[] unitShape(long[] shape, Granularity g) {
    return switch (g.kind()) {
      case TENSOR -> new long[0];
      case CHANNEL -> new long[] {shape[g.axis()]};
      case GROUP -> {
        long last = shape[shape.length - 1];
        long rows = last == 0 ? 0 : java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b) / last;
        yield new long[] {rows, (last + g.groupSize() - 1) / g.groupSize()};
      }
    };
  }

  /** Per-unit parameters gathered while the codes stream past, in storage terms. */
  static final class Params {
    final float[] scales;
    final int[] zeroPoints;

    Params(int units) {
      scales = new float[units];
      zeroPoints = new int[units];
    }
  }

  static void codes(Manifest.TensorEntry t, TensorSpec spec, List<String> files, Params params,
      OutputStream o, Configuration conf) throws IOException {
    UnitLayout layout = spec.layout();
    try (ShardReader rows = new ShardReader(t.name(), files, conf)) {
      while (rows.hasNext()) {
        ShardReader.Row r = rows.next();
        o.write(r.codes());
        if (params == null) {
          continue;
        }
        if (r.scales() == null) {
          params.scales[0] = t.scale();
          params.zeroPoints[0] = t.zeroPoint();
        } else {
          float[] s = Codes.floats(r.scales());
          int[] z = Codes.ints(r.zeroPoints(), 0);
          int base = spec.localUnits() && r.count() > 0 ? (int) layout.unitOf(r.offset()) : 0;
          System.arraycopy(s, 0, params.scales, base, s.length);
          System.arraycopy(z, 0, params.zeroPoints, base, z.length);
        }
      }
    }
    if (params != null && t.elements() == 0 && t.scale() != null) {
      params.scales[0] = t.scale();
      params.zeroPoints[0] = t.zeroPoint();
    }
  }

  static void fakeQuant(Manifest.TensorEntry t, TensorSpec spec, List<String> files, OutputStream o,
      Configuration conf) throws IOException {
    int shift = spec.unsigned() ? Codes.UNSIGNED_OFFSET : 0;
    short[] q = new short[0];
    float[] x = new float[0];
    try (ShardReader rows = new ShardReader(t.name(), files, conf)) {
      while (rows.hasNext()) {
        ShardReader.Row r = rows.next();
        int n = r.count();
        if (q.length < n) {
          q = new short[n];
          x = new float[n];
        }
        Codes.unpack(r.codes(), q, n, spec.unsigned());
        if (spec.nonlinear() != null) {
          spec.nonlinear().decode(q, 0, x, 0, n);
        } else if (r.scales() == null) {
          LinearKernel.dequantize(q, 0, x, 0, n, t.scale(), t.zeroPoint() - shift);
        } else {
          long base = spec.localUnits() ? spec.layout().unitOf(r.offset()) : 0;
          GranularKernel.dequantize(q, 0, x, 0, n, r.offset(), spec.layout(), Codes.floats(r.scales()),
              Codes.ints(r.zeroPoints(), -shift), base);
        }
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(x, 0, n);
        o.write(b.array());
      }
    }
  }

  static void copySource(Manifest.TensorEntry t, OutputStream o, Configuration conf) throws IOException {
    try (ByteSource src = HadoopFs.open(t.sourceFile(), conf)) {
      if (t.sourceOffset() + t.sourceBytes() > src.size()) {
        throw Errors.badFile(t.sourceFile(), "tensor '" + t.name() + "': the source changed since quantization");
      }
      byte[] buf = new byte[1 << 20];
      for (long done = 0; done < t.sourceBytes(); ) {
        int n = (int) Math.min(buf.length, t.sourceBytes() - done);
        src.readFully(t.sourceOffset() + done, buf, 0, n);
        o.write(buf, 0, n);
        done += n;
      }
    }
  }
}
