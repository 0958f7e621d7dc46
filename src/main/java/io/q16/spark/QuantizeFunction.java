package io.q16.spark;

import io.q16.quant.Codes;
import io.q16.quant.ChunkQuantizer;
import io.q16.quant.QuantParams;
import io.q16.quant.TensorSpec;
import java.util.Collections;
import java.util.Iterator;
import java.util.zip.CRC32C;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;

/**
 * Executor side of the quantize pass: one task per shard, reading its chunks one at a time and
 * emitting one row of int16 codes per chunk into Spark's Parquet writer. Rows are produced
 * lazily, so a task holds one chunk at a time (plus what the writer buffers for a row group).
 */
final class QuantizeFunction implements MapPartitionsFunction<ShardTask, Row> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<TensorSpec[]> specs;
  private final Broadcast<QuantParams[]> params;
  private final CollectionAccumulator<ChunkOutcome> outcomes;

  /**
   * @param specs per tensor id: layout, scheme, storage and global per-unit parameters
   * @param params per tensor id: the per-tensor parameters (null for per-unit tensors)
   */
  QuantizeFunction(
      Broadcast<HadoopConf> conf,
      Broadcast<TensorSpec[]> specs,
      Broadcast<QuantParams[]> params,
      CollectionAccumulator<ChunkOutcome> outcomes) {
    this.conf = conf;
    this.specs = specs;
    this.params = params;
    this.outcomes = outcomes;
  }

  @Override
  public Iterator<Row> call(Iterator<ShardTask> shards) {
    if (!shards.hasNext()) {
      return Collections.emptyIterator();
    }
    Iterator<ChunkTask> chunks = shards.next().getChunks().iterator();
    if (shards.hasNext()) {
      throw new IllegalStateException("a quantize partition must hold exactly one shard");
    }
    ChunkSource source = ChunkSource.forTask(conf.value().get());
    QuantParams[] byTensor = params.value();
    TensorSpec[] specOf = specs.value();
    CRC32C crc = new CRC32C();
    return new Iterator<>() {
      private short[] codes = new short[0];

      @Override
      public boolean hasNext() {
        return chunks.hasNext();
      }

      @Override
      public Row next() {
        ChunkTask task = chunks.next();
        int n = task.getCount();
        float[] x = source.readFloats(task);
        if (codes.length < n) {
          codes = new short[n];
        }
        TensorSpec spec = specOf[task.getTensorId()];
        ChunkQuantizer.Params p = ChunkQuantizer.params(spec, x, n, task.getElemOffset());
        long clipped = ChunkQuantizer.quantize(spec, byTensor[task.getTensorId()], p, x, n, task.getElemOffset(), codes);
        // A fresh array per row: the writer may still reference the previous one.
        byte[] out = new byte[2 * n];
        Codes.pack(codes, n, out, spec.unsigned());
        crc.reset();
        crc.update(out);
        outcomes.add(new ChunkOutcome(task.getId(), clipped, (int) crc.getValue()));
        byte[] scales = p == null ? null : Codes.floats(p.scales());
        byte[] zeroPoints = p == null ? null : Codes.ints(p.zeroPoints(), spec.unsigned() ? Codes.UNSIGNED_OFFSET : 0);
        return RowFactory.create(
            task.getTensor(), task.getChunk(), task.getElemOffset(), n, out, scales, zeroPoints);
      }
    };
  }
}
