package io.q16.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.q16.format.Manifest;
import io.q16.format.ShardReader;
import io.q16.quant.Codes;
import io.q16.quant.TensorSpec;
import io.q16.quant.UnitLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Arrow IPC export of one tensor: {@code codes} is an {@code arrow.fixed_shape_tensor} column
 * (the canonical extension type: FixedSizeList&lt;int16&gt; storage, {"shape": [...]}) whose rows
 * are the tensor's slices along axis 0, written in record batches of whole rows, so a reader maps
 * each batch without copying and the writer holds one batch, never the tensor. Rank 0 and 1
 * tensors are one row of their own shape. Shape, scheme, granularity, storage and per-tensor
 * parameters are in the schema metadata; per-channel or per-group parameters go to a companion
 * {@code .params.arrow} file (columns scale float32, zero_point int32, one row per unit in unit
 * order).
 */
public final class ArrowExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ArrowExport() {}

  /** Row shape: shape[1..] for rank >= 2, else the shape itself (one row). */
  static long[] rowShape(long[] shape) {
    if (shape.length >= 2) {
      return java.util.Arrays.copyOfRange(shape, 1, shape.length);
    }
    return shape.length == 0 ? new long[] {1} : shape.clone();
  }

  /** Per-unit parameters gathered while the codes stream past, in storage terms. */
  public record Params(float[] scales, int[] zeroPoints) {}

  /**
   * Writes {@code t}'s codes to {@code codesOut} in batches of about {@code batchBytes}.
   *
   * @return the per-unit parameters for {@link #writeParams}, or null for a per-tensor scale
   */
  public static Params write(Manifest.TensorEntry t, List<String> shardFiles, org.apache.hadoop.conf.Configuration conf,
      OutputStream codesOut, long batchBytes) throws IOException {
    TensorSpec spec = ModelExport.spec(t);
    long[] shape = spec.shape();
    long[] row = rowShape(shape);
    long rowElems = 1;
    for (long d : row) {
      rowElems *= d;
    }
    // A tensor without elements has no rows, whatever one row's claimed size ([0, 2^31 - 1]).
    if (rowElems > Integer.MAX_VALUE / 2 && t.elements() > 0) {
      throw new IOException("tensor '" + t.name() + "': a row of " + rowElems + " elements is too large for Arrow");
    }
    int perRow = (int) Math.min(rowElems, Integer.MAX_VALUE);
    int rowsPerBatch = (int) Math.max(1, Math.min(Integer.MAX_VALUE / Math.max(1, perRow), batchBytes / Math.max(1, 2L * perRow)));

    Map<String, String> ext = new LinkedHashMap<>();
    ext.put("ARROW:extension:name", "arrow.fixed_shape_tensor");
    ext.put("ARROW:extension:metadata", JSON.writeValueAsString(Map.of("shape", row)));
    Field child = new Field("item", FieldType.notNullable(new ArrowType.Int(16, true)), null);
    Field codes = new Field("codes", new FieldType(false, new ArrowType.FixedSizeList(perRow), null, ext), List.of(child));
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("q16.tensor", t.name());
    meta.put("q16.shape", JSON.writeValueAsString(shape));
    meta.put("q16.dtype", t.dtype());
    meta.put("q16.scheme", t.scheme());
    meta.put("q16.granularity", String.valueOf(spec.granularity()));
    meta.put("q16.storage", t.storage());
    meta.put("q16.dequantize", "x = (q - zero_point) * scale in float32");
    if (t.codec() != null) {
      meta.put("q16.codec", JSON.writeValueAsString(t.codec()));
    }
    if (t.scale() != null) {
      meta.put("q16.scale", Float.toString(t.scale()));
      meta.put("q16.zero_point", Integer.toString(t.zeroPoint()));
    }
    Schema schema = new Schema(List.of(codes), meta);

    boolean perUnit = t.scale() == null && t.codec() == null;
    float[] unitScales = perUnit ? new float[(int) (long) t.units()] : null;
    int[] unitZps = perUnit ? new int[(int) (long) t.units()] : null;
    UnitLayout layout = spec.layout();
    try (BufferAllocator alloc = new RootAllocator();
        VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc);
        ArrowFileWriter writer = new ArrowFileWriter(root, null, Channels.newChannel(codesOut));
        ShardReader rows = new ShardReader(t.name(), t.shards().stream().map(shardFiles::get).toList(), conf)) {
      writer.start();
      FixedSizeListVector list = (FixedSizeListVector) root.getVector(0);
      SmallIntVector values = (SmallIntVector) list.getDataVector();
      short[] q = new short[0];
      int inBatch = 0; // elements in the current batch
      int batchCap = rowsPerBatch * perRow;
      allocate(list, values, rowsPerBatch, batchCap);
      while (rows.hasNext()) {
        ShardReader.Row r = rows.next();
        if (unitScales != null && r.scales() != null) {
          float[] s = Codes.floats(r.scales());
          int[] z = Codes.ints(r.zeroPoints(), 0);
          int base = spec.localUnits() && r.count() > 0 ? (int) layout.unitOf(r.offset()) : 0;
          System.arraycopy(s, 0, unitScales, base, s.length);
          System.arraycopy(z, 0, unitZps, base, z.length);
        }
        int n = r.count();
        if (q.length < n) {
          q = new short[n];
        }
        // Stored codes, as they are in the shard (uint16 storage stays q + 32768).
        Codes.unpack(r.codes(), q, n, false);
        for (int i = 0; i < n; ) {
          int take = Math.min(n - i, batchCap - inBatch);
          for (int j = 0; j < take; j++) {
            values.set(inBatch + j, q[i + j]);
          }
          inBatch += take;
          i += take;
          if (inBatch == batchCap) {
            flush(root, list, values, inBatch / perRow, inBatch, writer);
            inBatch = 0;
            allocate(list, values, rowsPerBatch, batchCap);
          }
        }
      }
      if (inBatch > 0 || t.elements() == 0) {
        flush(root, list, values, inBatch / Math.max(1, perRow), inBatch, writer);
      }
      writer.end();
    }
    return unitScales == null ? null : new Params(unitScales, unitZps);
  }

  private static void allocate(FixedSizeListVector list, SmallIntVector values, int rows, int elements) {
    list.setInitialCapacity(rows);
    list.allocateNew();
    values.setInitialCapacity(elements);
    values.allocateNew(elements);
  }

  private static void flush(VectorSchemaRoot root, FixedSizeListVector list, SmallIntVector values, int rows,
      int elements, ArrowFileWriter writer) throws IOException {
    for (int r = 0; r < rows; r++) {
      list.setNotNull(r);
    }
    values.setValueCount(elements);
    list.setValueCount(rows);
    root.setRowCount(rows);
    writer.writeBatch();
  }

  /** Writes the companion {@code .params.arrow} file: one row (scale, zero_point) per unit. */
  public static void writeParams(Manifest.TensorEntry t, Params p, OutputStream out) throws IOException {
    float[] scales = p.scales();
    int[] zps = p.zeroPoints();
    Map<String, String> meta = Map.of("q16.tensor", t.name(), "q16.granularity",
        String.valueOf(ModelExport.spec(t).granularity()), "q16.storage", String.valueOf(t.storage()));
    Schema schema = new Schema(List.of(
        new Field("scale", FieldType.notNullable(new ArrowType.FloatingPoint(
            org.apache.arrow.vector.types.FloatingPointPrecision.SINGLE)), null),
        new Field("zero_point", FieldType.notNullable(new ArrowType.Int(32, true)), null)), meta);
    try (BufferAllocator alloc = new RootAllocator();
        VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc);
        ArrowFileWriter writer = new ArrowFileWriter(root, null, Channels.newChannel(out))) {
      writer.start();
      Float4Vector s = (Float4Vector) root.getVector(0);
      IntVector z = (IntVector) root.getVector(1);
      s.allocateNew(scales.length);
      z.allocateNew(zps.length);
      for (int i = 0; i < scales.length; i++) {
        s.set(i, scales[i]);
        z.set(i, zps[i]);
      }
      root.setRowCount(scales.length);
      writer.writeBatch();
      writer.end();
    }
  }

  /** A file-system-safe name for a tensor: characters outside [A-Za-z0-9._-] percent-encoded. */
  public static String fileName(String tensor) {
    StringBuilder b = new StringBuilder();
    for (byte c : tensor.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      char ch = (char) (c & 0xFF);
      if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'
          || ch == '-') {
        b.append(ch);
      } else {
        b.append('%').append(String.format("%02X", c & 0xFF));
      }
    }
    // Never a hidden file, "." or "..".
    return b.charAt(0) == '.' ? "%2E" + b.substring(1) : b.toString();
  }
}
