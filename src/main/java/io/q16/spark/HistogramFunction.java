package io.q16.spark;

import io.q16.calib.Histogram;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Executor side of the histogram pass: |x| histograms over [0, max|x|] with the bins the driver
 * fixed from pass 1, folded over the partition's chunks of each tensor, one (tensor, counts) pair
 * per tensor touched. Counts are integers, so merging is exact in any order.
 */
final class HistogramFunction implements PairFlatMapFunction<Iterator<ChunkTask>, Integer, long[]> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<float[]> absmax;
  private final int bins;

  /** @param absmax per tensor id: the upper edge of its histogram */
  HistogramFunction(Broadcast<HadoopConf> conf, Broadcast<float[]> absmax, int bins) {
    this.conf = conf;
    this.absmax = absmax;
    this.bins = bins;
  }

  @Override
  public Iterator<Tuple2<Integer, long[]>> call(Iterator<ChunkTask> tasks) {
    ChunkSource source = ChunkSource.forTask(conf.value().get());
    float[] hi = absmax.value();
    List<Tuple2<Integer, long[]>> out = new ArrayList<>();
    int current = -1;
    Histogram h = null;
    while (tasks.hasNext()) {
      ChunkTask task = tasks.next();
      if (task.getTensorId() != current) {
        if (h != null) {
          out.add(new Tuple2<>(current, h.counts()));
        }
        current = task.getTensorId();
        h = new Histogram(0, hi[current], bins);
      }
      h.addAbs(source.readFloats(task), 0, task.getCount());
    }
    if (h != null) {
      out.add(new Tuple2<>(current, h.counts()));
    }
    return out.iterator();
  }
}
