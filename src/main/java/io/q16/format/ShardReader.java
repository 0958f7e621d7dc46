package io.q16.format;

import io.q16.Errors;
import java.io.Closeable;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.filter2.compat.FilterCompat;
import org.apache.parquet.filter2.predicate.FilterApi;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.io.api.Binary;

/**
 * Reads one tensor's rows back from Q16 shards without Spark (for executor-side exports), in
 * chunk order, one row at a time: memory is a Parquet row group, never the tensor.
 */
public final class ShardReader implements Iterator<ShardReader.Row>, Closeable {
  /** One shard row: a chunk's codes and, per channel or group, its parameters (else null). */
  public record Row(int chunk, long offset, int count, byte[] codes, byte[] scales, byte[] zeroPoints) {}

  private final String tensor;
  private final Configuration conf;
  private final Iterator<String> files;
  private ParquetReader<Group> reader;
  private String file;
  private Row next;
  private int expectedChunk;

  /** Rows of {@code tensor} from {@code shardFiles}, which must be in shard order. */
  public ShardReader(String tensor, List<String> shardFiles, Configuration conf) {
    this(tensor, shardFiles, conf, 0);
  }

  /**
   * Rows of {@code tensor} from chunk {@code firstChunk} on: the rest of a tensor whose earlier
   * chunks are in earlier shards (row groups before it are skipped by their statistics).
   */
  public ShardReader(String tensor, List<String> shardFiles, Configuration conf, int firstChunk) {
    this.tensor = tensor;
    this.conf = conf;
    this.files = shardFiles.iterator();
    this.expectedChunk = firstChunk;
  }

  @Override
  public boolean hasNext() {
    try {
      while (next == null) {
        if (reader == null) {
          if (!files.hasNext()) {
            return false;
          }
          file = files.next();
          reader = ParquetReader.builder(new GroupReadSupport(), new Path(file))
              .withConf(conf)
              .withFilter(FilterCompat.get(FilterApi.and(
                  FilterApi.eq(FilterApi.binaryColumn("tensor"), Binary.fromString(tensor)),
                  FilterApi.gtEq(FilterApi.intColumn("chunk"), expectedChunk))))
              .build();
        }
        Group g = reader.read();
        if (g == null) {
          reader.close();
          reader = null;
          continue;
        }
        Row r = new Row(g.getInteger("chunk", 0), g.getLong("offset", 0), g.getInteger("count", 0),
            g.getBinary("codes", 0).getBytes(), optional(g, "scales"), optional(g, "zero_points"));
        if (r.chunk() != expectedChunk) {
          throw Errors.badFile(file, "tensor '" + tensor + "': chunk " + r.chunk() + " where chunk "
              + expectedChunk + " was expected (missing or reordered rows)");
        }
        expectedChunk++;
        next = r;
      }
      return true;
    } catch (IOException e) {
      throw Errors.badFile(file, "cannot read shard rows of tensor '" + tensor + "': " + e.getMessage(), e);
    }
  }

  private static byte[] optional(Group g, String field) {
    return g.getFieldRepetitionCount(field) == 0 ? null : g.getBinary(field, 0).getBytes();
  }

  @Override
  public Row next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    Row r = next;
    next = null;
    return r;
  }

  @Override
  public void close() throws IOException {
    if (reader != null) {
      reader.close();
      reader = null;
    }
  }
}
