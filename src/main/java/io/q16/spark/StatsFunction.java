package io.q16.spark;

import io.q16.calib.RangeStats;
import io.q16.quant.GranularKernel;
import io.q16.quant.Granularity;
import io.q16.quant.TensorSpec;
import io.q16.tensor.DType;
import java.util.Arrays;
import java.util.Iterator;
import java.util.zip.CRC32C;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * Executor side of the statistics pass: for each chunk, range statistics of its float values and
 * the CRC-32C of its source bytes. Returns one small row per chunk; the driver merges them.
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
      @Override
      public boolean hasNext() {
        return tasks.hasNext();
      }

      @Override
      public ChunkStats next() {
        ChunkTask task = tasks.next();
        float[] x = source.readFloats(task);
        crc.reset();
        crc.update(source.lastBytes(), 0, task.getCount() * DType.valueOf(task.getDtype()).size());
        RangeStats stats = new RangeStats().update(x, 0, task.getCount());
        ChunkStats out = new ChunkStats(task.getId(), stats, (int) crc.getValue());
        TensorSpec spec = specOf[task.getTensorId()];
        if (spec.granularity().kind() != Granularity.Kind.TENSOR && !spec.localUnits()) {
          int units = (int) spec.layout().units();
          float[] min = new float[units];
          float[] max = new float[units];
          Arrays.fill(min, Float.POSITIVE_INFINITY);
          Arrays.fill(max, Float.NEGATIVE_INFINITY);
          GranularKernel.ranges(x, 0, task.getCount(), task.getElemOffset(), spec.layout(), min, max, 0);
          out.withUnits(min, max);
        }
        return out;
      }
    };
  }
}
