package io.q16.tensor;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The driver's plan: every tensor to convert, split into chunks of bounded size, and chunks
 * assigned to output shards. Built from headers only; it holds descriptors, never data.
 *
 * <p>The plan depends only on the tensors (in name order), the chunk size and the shard size, never
 * on the cluster, so the output layout is the same on any number of executors.
 */
public record Plan(List<TensorInfo> tensors, List<Chunk> chunks, int shardCount, long chunkBytes)
    implements Serializable {

  /** Largest chunk: the int16 codes of a chunk must fit one Java array and one Parquet value. */
  public static final long MAX_CHUNK_BYTES = 1L << 30;

  /**
   * Splits {@code tensors} into chunks of at most {@code chunkBytes} source bytes (at least one
   * element), and groups consecutive chunks into shards of about {@code shardBytes} output bytes
   * (int16 codes). A shard closes before the chunk that would take it past {@code shardBytes}; a
   * shard always holds at least one chunk.
   */
  public static Plan of(List<TensorInfo> tensors, long chunkBytes, long shardBytes) {
    return of(tensors, chunkBytes, shardBytes, new long[tensors.size()]);
  }

  /**
   * As {@link #of(List, long, long)}, with chunk sizes of tensor t a multiple of
   * {@code align[t]} elements when it is positive (so that channels or groups never straddle two
   * chunks); a unit larger than the chunk size makes a chunk of one unit.
   */
  public static Plan of(List<TensorInfo> tensors, long chunkBytes, long shardBytes, long[] align) {
    if (chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          "chunk size " + chunkBytes + " bytes is outside (0, " + MAX_CHUNK_BYTES + "]");
    }
    if (shardBytes <= 0) {
      throw new IllegalArgumentException("shard size " + shardBytes + " bytes must be positive");
    }
    List<Chunk> chunks = new ArrayList<>();
    int shard = 0;
    long inShard = 0;
    for (int t = 0; t < tensors.size(); t++) {
      TensorInfo info = tensors.get(t);
      long perChunk = Math.max(1, chunkBytes / info.dtype().size());
      if (align[t] > 0) {
        perChunk = Math.max(align[t], perChunk / align[t] * align[t]);
      }
      // A tensor without elements has no chunks, whatever its shape says its units are.
      if (perChunk > Integer.MAX_VALUE - 8 && info.elements() > 0) {
        throw new IllegalArgumentException(
            "tensor '" + info.name() + "': one channel or group of " + perChunk + " elements exceeds a chunk's limit");
      }
      long elements = info.elements();
      int index = 0;
      for (long off = 0; off < elements; off += perChunk, index++) {
        int n = (int) Math.min(perChunk, elements - off);
        long out = 2L * n;
        if (inShard > 0 && inShard + out > shardBytes) {
          shard++;
          inShard = 0;
        }
        inShard += out;
        chunks.add(new Chunk(t, index, off, n, shard));
      }
    }
    int shardCount = chunks.isEmpty() ? 0 : shard + 1;
    return new Plan(List.copyOf(tensors), List.copyOf(chunks), shardCount, chunkBytes);
  }

  /** Absolute byte offset in the source file of {@code c}'s first element. */
  public long sourceOffset(Chunk c) {
    TensorInfo t = tensors.get(c.tensor());
    return t.dataStart() + c.elemOffset() * t.dtype().size();
  }

  /** Source bytes of {@code c}. */
  public long sourceBytes(Chunk c) {
    return (long) c.elemCount() * tensors.get(c.tensor()).dtype().size();
  }
}
