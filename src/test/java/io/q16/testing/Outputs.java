package io.q16.testing;

import io.q16.format.Manifest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/** Reads a Q16 output back the way a user would: the manifest as JSON, the shards with Spark SQL. */
public final class Outputs {
  private Outputs() {}

  public static Manifest manifest(Path dir) throws IOException {
    return Manifest.fromJson(Files.readAllBytes(dir.resolve("manifest.json")));
  }

  /** A tensor's int16 codes, reassembled from its rows in chunk order. */
  public static short[] codes(SparkSession spark, Path dir, String tensor) {
    List<Row> rows = spark.read().parquet(dir.resolve("shards").toString())
        .where(functions.col("tensor").equalTo(tensor))
        .orderBy("chunk")
        .select("offset", "count", "codes")
        .collectAsList();
    long n = 0;
    for (Row r : rows) {
      n += r.getInt(1);
    }
    short[] out = new short[(int) n];
    int at = 0;
    for (Row r : rows) {
      if (r.getLong(0) != at) {
        throw new AssertionError(tensor + ": row at element " + r.getLong(0) + ", expected " + at);
      }
      ByteBuffer.wrap((byte[]) r.get(2)).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(out, at, r.getInt(1));
      at += r.getInt(1);
    }
    return out;
  }

  /**
   * The manifest's tensor entries with the fields that depend on the layout cleared: chunks, shards,
   * and the measured SQNR and MSE (sums over other chunks round differently in the last bits).
   */
  public static List<Manifest.TensorEntry> layoutFree(Manifest m, boolean clearSource) {
    List<Manifest.TensorEntry> out = new ArrayList<>();
    for (Manifest.TensorEntry t : m.tensors()) {
      out.add(new Manifest.TensorEntry(t.name(), t.dtype(), t.shape(), t.status(), t.reason(), t.elements(),
          t.scheme(), t.granularity(), t.axis(), t.groupSize(), t.units(), t.storage(), t.scale(), t.zeroPoint(), t.qmin(), t.qmax(), t.min(), t.max(), t.clipped(), t.nan(),
          t.posInf(), t.negInf(), clearSource ? null : t.sourceFile(), clearSource ? null : t.sourceOffset(),
          t.sourceBytes(), t.sourceCrc32c(), t.codesCrc32c(), null, null, t.codec(), null, null, t.threshold()));
    }
    return out;
  }
}
