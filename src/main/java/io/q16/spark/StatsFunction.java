package io.q16.spark;

import io.q16.calib.MagnitudeStats;
import io.q16.calib.RangeStats;
import io.q16.quant.GranularKernel;
import io.q16.quant.Scheme;
import io.q16.quant.TensorSpec;
import io.q16.tensor.DType;
import java.util.Arrays;
import java.util.Iterator;
import java.util.zip.CRC32C;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * Executor side of the statistics pass: for each chunk, range statistics of its float values and
 * the CRC-32C of its source bytes. Returns one small row per chunk; the driver merges them. For
 * channels along an inner axis, per-channel ranges are folded within the partition first.
 */
final class StatsFunction implements MapPartitionsFunction<ChunkTask, ChunkStats> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<TensorSpec[]> specs;

  /** @param specs per tensor id; per-unit ranges are returned for global per-channel tensors */
  StatsFunction(Broadcast<HadoopConf> conf, Broadcast<TensorSpec[]> specs) {
    this.conf = conf;
    this.specs = specs;
  }

  @Override
  public Iterator<ChunkStats> call(Iterator<ChunkTask> tasks) {
    ChunkSource source = ChunkSource.forTask(conf.value().get());
    CRC32C crc = new CRC32C();
    TensorSpec[] specOf = specs.value();
    return new Iterator<>() {
      // Per-unit ranges of the current tensor, folded over this partition's consecutive chunks of
      // it and attached to its last one: one array per (partition, tensor) reaches the driver,
      // not one per chunk.
      private ChunkTask pending = tasks.hasNext() ? tasks.next() : null;
      private int unitsTensor = -1;
      private float[] unitMin;
      private float[] unitMax;

      @Override
      public boolean hasNext() {
        return pending != null;
      }

      @Override
      public ChunkStats next() {
        ChunkTask task = pending;
        if (task == null) {
          throw new java.util.NoSuchElementException();
        }
        pending = tasks.hasNext() ? tasks.next() : null;
        float[] x = source.readFloats(task);
        crc.reset();
        source.updateChecksum(crc, task.getCount() * DType.valueOf(task.getDtype()).size());
        RangeStats stats = new RangeStats().update(x, 0, task.getCount());
        ChunkStats out = new ChunkStats(task.getId(), stats, (int) crc.getValue());
        TensorSpec spec = specOf[task.getTensorId()];
        if (spec.scheme() == Scheme.LOG) {
          out.setMinNonZero(new MagnitudeStats().update(x, 0, task.getCount()).minNonZero());
        }
        if (spec.unitRangesWanted()) {
          if (unitsTensor != task.getTensorId()) {
            int units = (int) spec.layout().units();
            unitMin = new float[units];
            unitMax = new float[units];
            Arrays.fill(unitMin, Float.POSITIVE_INFINITY);
            Arrays.fill(unitMax, Float.NEGATIVE_INFINITY);
            unitsTensor = task.getTensorId();
          }
          GranularKernel.ranges(x, 0, task.getCount(), task.getElemOffset(), spec.layout(), unitMin, unitMax, 0);
          if (pending == null || pending.getTensorId() != unitsTensor) {
            out.withUnits(unitMin, unitMax);
            unitsTensor = -1;
          }
        }
        return out;
      }
    };
  }
}
