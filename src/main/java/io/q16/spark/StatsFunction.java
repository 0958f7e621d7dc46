package io.q16.spark;

import io.q16.calib.RangeStats;
import io.q16.tensor.DType;
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

  StatsFunction(Broadcast<HadoopConf> conf) {
    this.conf = conf;
  }

  @Override
  public Iterator<ChunkStats> call(Iterator<ChunkTask> tasks) {
    ChunkSource source = ChunkSource.forTask(conf.value().get());
    CRC32C crc = new CRC32C();
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
        return new ChunkStats(task.getId(), stats, (int) crc.getValue());
      }
    };
  }
}
