package io.q16.spark;

import io.q16.Errors;
import io.q16.calib.RangeStats;
import io.q16.format.Crc32c;
import io.q16.quant.NanPolicy;
import io.q16.quant.TensorSpec;
import io.q16.tensor.Chunk;
import io.q16.tensor.Plan;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;

/**
 * The statistics pass, shared by quantize and calibrate: per chunk range statistics and source
 * CRCs on executors, merged per tensor on the driver in chunk order.
 */
final class StatsPass {
  private StatsPass() {}

  static TensorStats[] run(SparkSession spark, Plan plan, Broadcast<HadoopConf> conf, Broadcast<TensorSpec[]> specs,
      int partitionOption, PrintStream progress) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<ChunkTask> tasks = new ArrayList<>(plan.chunks().size());
    for (int i = 0; i < plan.chunks().size(); i++) {
      tasks.add(ChunkTask.of(plan, i));
    }
    int partitions = partitions(spark, plan, partitionOption);
    List<ChunkStats> rows;
    try (Progress p = Progress.of(spark.sparkContext(), "stats", plan, contiguousSlices(plan.chunks().size(), partitions),
        progress)) {
      Dataset<ChunkTask> ds = spark.createDataset(jsc.parallelize(tasks, Math.max(1, partitions)).rdd(), QuantizeJob.CHUNK_TASK);
      rows = ds.mapPartitions(new StatsFunction(conf, specs), QuantizeJob.CHUNK_STATS).collectAsList();
    }
    ChunkStats[] byId = new ChunkStats[plan.chunks().size()];
    for (ChunkStats s : rows) {
      byId[s.getId()] = s;
    }
    TensorStats[] out = new TensorStats[plan.tensors().size()];
    for (int t = 0; t < out.length; t++) {
      out[t] = new TensorStats();
    }
    // Chunk order: merging min/max/counts is exact in any order; CRCs must combine in order.
    for (int i = 0; i < byId.length; i++) {
      Chunk c = plan.chunks().get(i);
      TensorStats ts = out[c.tensor()];
      ts.range.merge(byId[i].range());
      ts.mergeUnits(byId[i].getUnitMin(), byId[i].getUnitMax());
      ts.minNonZero = Math.min(ts.minNonZero, byId[i].getMinNonZero());
      long len = plan.sourceBytes(c);
      ts.crc = ts.crcBytes == 0 ? byId[i].getCrc32c() : Crc32c.combine(ts.crc, byId[i].getCrc32c(), len);
      ts.crcBytes += len;
    }
    return out;
  }

  static int partitions(SparkSession spark, Plan plan, int option) {
    if (option > 0) {
      return Math.min(option, Math.max(1, plan.chunks().size()));
    }
    // A few tasks per core balances uneven chunks without drowning in task overhead.
    return Math.max(1, Math.min(plan.chunks().size(), 3 * spark.sparkContext().defaultParallelism()));
  }

  /** The chunk ids of each partition when Spark's parallelize slices {@code n} items into {@code p}. */
  static int[][] contiguousSlices(int n, int p) {
    p = Math.max(1, p);
    int[][] out = new int[p][];
    for (int i = 0; i < p; i++) {
      int start = (int) ((long) i * n / p);
      int end = (int) ((long) (i + 1) * n / p);
      out[i] = new int[end - start];
      for (int j = start; j < end; j++) {
        out[i][j - start] = j;
      }
    }
    return out;
  }

  /** Refuses NaN under --nan error, naming the first tensor holding any and the count. */
  static void checkNan(Plan plan, TensorStats[] stats, NanPolicy policy, String verb) {
    List<String> files = new ArrayList<>();
    List<String> names = new ArrayList<>();
    RangeStats[] ranges = new RangeStats[stats.length];
    for (int t = 0; t < stats.length; t++) {
      files.add(plan.tensors().get(t).file());
      names.add(plan.tensors().get(t).name());
      ranges[t] = stats[t].range;
    }
    checkNan(files, names, ranges, policy, verb);
  }

  /** As above, for tensor t named {@code names[t]} in {@code files[t]}. */
  static void checkNan(List<String> files, List<String> names, RangeStats[] ranges, NanPolicy policy, String verb) {
    if (policy != NanPolicy.ERROR) {
      return;
    }
    int bad = 0;
    int first = -1;
    for (int t = 0; t < ranges.length; t++) {
      if (ranges[t].nan() > 0) {
        if (first < 0) {
          first = t;
        }
        bad++;
      }
    }
    if (first >= 0) {
      long firstCount = ranges[first].nan();
      throw Errors.badTensor(
          files.get(first), names.get(first),
          firstCount + " NaN value" + (firstCount == 1 ? "" : "s")
              + (bad > 1 ? " (and " + (bad - 1) + " more tensor" + (bad > 2 ? "s" : "") + " with NaN)" : "")
              + "; refusing to " + verb + " (--nan zero maps NaN to 0 and counts them)");
    }
  }
}
