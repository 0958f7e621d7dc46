package io.q16.spark;

import io.q16.format.ShardReader;
import io.q16.quant.ChunkQuantizer;
import io.q16.quant.Codes;
import io.q16.quant.QuantParams;
import io.q16.quant.RoundTripStats;
import io.q16.quant.TensorSpec;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;

/**
 * Executor side of the quantize pass: one task per shard, reading its chunks one at a time and
 * emitting one row of int16 codes per chunk into Spark's Parquet writer (or, for a tensor an
 * incremental run reuses, the chunk's row of the previous output). Rows are produced
 * lazily, so a task holds one chunk at a time (plus what the writer buffers for a row group).
 */
final class QuantizeFunction implements MapPartitionsFunction<ShardTask, Row> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<TensorSpec[]> specs;
  private final Broadcast<QuantParams[]> params;
  private final Broadcast<float[]> absmax;
  private final CollectionAccumulator<ChunkOutcome> outcomes;

  /**
   * @param specs per tensor id: layout, scheme, storage and global per-unit parameters
   * @param params per tensor id: the per-tensor parameters (null for per-unit tensors)
   * @param absmax per tensor id: max |x| over its finite values, the top of its report histogram
   */
  QuantizeFunction(
      Broadcast<HadoopConf> conf,
      Broadcast<TensorSpec[]> specs,
      Broadcast<QuantParams[]> params,
      Broadcast<float[]> absmax,
      CollectionAccumulator<ChunkOutcome> outcomes) {
    this.conf = conf;
    this.specs = specs;
    this.params = params;
    this.absmax = absmax;
    this.outcomes = outcomes;
  }

  /**
   * Test-only fault injection: with the system property {@code q16.test.failTensor} set to a
   * tensor name, the task that quantizes its chunk {@code q16.test.failChunk} (default 0) fails,
   * as a task meeting a corrupt chunk would. Read on the executor, so it reaches local-mode tests
   * only; unset in production.
   */
  static void injectFailure(ChunkTask task) {
    String tensor = System.getProperty("q16.test.failTensor");
    if (tensor != null && tensor.equals(task.getTensor())
        && task.getChunk() == Integer.getInteger("q16.test.failChunk", 0)) {
      throw io.q16.Errors.badTensor(task.getFile(), task.getTensor(), "injected failure at chunk " + task.getChunk()
          + " (q16.test.failTensor)");
    }
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
    float[] histTop = absmax.value();
    CRC32C crc = new CRC32C();
    return new Iterator<>() {
      private short[] codes = new short[0];
      private float[] decoded = new float[0];

      @Override
      public boolean hasNext() {
        return chunks.hasNext();
      }

      /** The previous shard's rows being copied (quantize --incremental), and whose they are. */
      private ShardReader previous;
      private String previousKey;

      @Override
      public Row next() {
        ChunkTask task = chunks.next();
        if (task.getPreviousShard() != null) {
          return reused(task);
        }
        injectFailure(task);
        int n = task.getCount();
        float[] x = source.readFloats(task);
        if (codes.length < n) {
          codes = new short[n];
        }
        int t = task.getTensorId();
        TensorSpec spec = specOf[t];
        ChunkQuantizer.Params p = ChunkQuantizer.params(spec, x, n, task.getElemOffset());
        if (spec.nonlinear() != null && decoded.length < n) {
          decoded = new float[n];
        }
        // The report's error figures and histogram, measured by the kernel as it quantizes rather
        // than in another pass over the source.
        RoundTripStats roundTrip = new RoundTripStats(histTop[t], RoundTripStats.REPORT_BINS);
        long clipped = ChunkQuantizer.quantize(spec, byTensor[t], p, x, n, task.getElemOffset(), codes, roundTrip,
            decoded);
        // A fresh array per row: the writer may still reference the previous one.
        byte[] out = new byte[2 * n];
        Codes.pack(codes, n, out, spec.unsigned());
        crc.reset();
        crc.update(out);
        float scaleMin = Float.NaN;
        float scaleMax = Float.NaN;
        if (p != null) {
          for (float sc : p.scales()) {
            scaleMin = Float.isNaN(scaleMin) ? sc : Math.min(scaleMin, sc);
            scaleMax = Float.isNaN(scaleMax) ? sc : Math.max(scaleMax, sc);
          }
        }
        outcomes.add(new ChunkOutcome(task.getId(), clipped, (int) crc.getValue(), roundTrip, scaleMin, scaleMax));
        byte[] scales = p == null ? null : Codes.floats(p.scales());
        byte[] zeroPoints = p == null ? null : Codes.ints(p.zeroPoints(), spec.unsigned() ? Codes.UNSIGNED_OFFSET : 0);
        return RowFactory.create(
            task.getTensor(), task.getChunk(), task.getElemOffset(), n, out, scales, zeroPoints);
      }

      /**
       * An unchanged tensor's chunk: its row of the previous output, copied as it is (the same
       * codes and parameters a new quantization would give), with no read of the source. Its codes'
       * CRC goes to the driver, which checks it against the previous manifest's.
       */
      private Row reused(ChunkTask task) {
        String file = task.getPreviousShard();
        String key = task.getTensor() + "\0" + file;
        try {
          if (!key.equals(previousKey)) {
            if (previous != null) {
              previous.close();
            }
            previous = new ShardReader(task.getTensor(), List.of(file), conf.value().get(), task.getChunk());
            previousKey = key;
            TaskContext ctx = TaskContext.get();
            ShardReader opened = previous;
            if (ctx != null) {
              ctx.addTaskCompletionListener((TaskContext c) -> closeQuietly(opened));
            }
          }
          ShardReader.Row r = previous.hasNext() ? previous.next() : null;
          if (r == null || r.chunk() != task.getChunk() || r.offset() != task.getElemOffset()
              || r.count() != task.getCount() || r.codes().length != 2 * task.getCount()) {
            throw io.q16.Errors.badFile(file, "tensor '" + task.getTensor() + "': previous shard has no row for chunk "
                + task.getChunk() + " (" + task.getCount() + " values at " + task.getElemOffset()
                + "): it is not what its manifest says; re-run without --incremental");
          }
          crc.reset();
          crc.update(r.codes());
          outcomes.add(new ChunkOutcome(task.getId(), 0, (int) crc.getValue(), null, Float.NaN, Float.NaN));
          return RowFactory.create(task.getTensor(), task.getChunk(), task.getElemOffset(), task.getCount(), r.codes(),
              r.scales(), r.zeroPoints());
        } catch (java.io.IOException e) {
          throw io.q16.Errors.badFile(file, "cannot read the previous rows of tensor '" + task.getTensor() + "': "
              + e.getMessage(), e);
        }
      }
    };
  }

  private static void closeQuietly(ShardReader r) {
    try {
      r.close();
    } catch (java.io.IOException ignored) {
      // A reader of the previous output: nothing is lost if its close fails.
    }
  }
}
