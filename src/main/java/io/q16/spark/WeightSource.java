package io.q16.spark;

import io.q16.calib.Fold;
import io.q16.tensor.Plan;
import io.q16.tensor.TensorInfo;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/** A model's weights as calibration values: the chunks of the plan, read by positioned reads. */
final class WeightSource implements ValueSource {
  private final SparkSession spark;
  private final Plan plan;
  private final Broadcast<HadoopConf> conf;
  private final int partitions;
  private final PrintStream progress;

  WeightSource(SparkSession spark, Plan plan, Broadcast<HadoopConf> conf, int partitionOption, PrintStream progress) {
    this.spark = spark;
    this.plan = plan;
    this.conf = conf;
    this.partitions = StatsPass.partitions(spark, plan, partitionOption);
    this.progress = progress;
  }

  @Override
  public List<String> names() {
    List<String> out = new ArrayList<>();
    for (TensorInfo t : plan.tensors()) {
      out.add(t.name());
    }
    return out;
  }

  @Override
  public <F extends Fold<F>, R> List<R> fold(String pass, Broadcast<? extends FoldFactory<F>> factory,
      Function<Tuple2<Integer, F>, R> finish) {
    if (plan.chunks().isEmpty()) {
      return List.of();
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<ChunkTask> tasks = new ArrayList<>();
    for (int i = 0; i < plan.chunks().size(); i++) {
      tasks.add(ChunkTask.of(plan, i));
    }
    try (Progress p = Progress.of(spark.sparkContext(), pass, plan,
        StatsPass.contiguousSlices(plan.chunks().size(), partitions), progress)) {
      return jsc.parallelize(tasks, partitions)
          .mapPartitionsToPair(new ChunkFold<F>(conf, factory))
          .reduceByKey((a, b) -> a.merge(b))
          .map(finish)
          .collect();
    }
  }

  /**
   * Executor side: folds the partition's chunks into one statistic per tensor touched. Chunks of a
   * tensor are contiguous in plan order, so one fold is live at a time.
   */
  static final class ChunkFold<F extends Fold<F>> implements PairFlatMapFunction<Iterator<ChunkTask>, Integer, F> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<HadoopConf> conf;
    private final Broadcast<? extends FoldFactory<F>> factory;

    ChunkFold(Broadcast<HadoopConf> conf, Broadcast<? extends FoldFactory<F>> factory) {
      this.conf = conf;
      this.factory = factory;
    }

    @Override
    public Iterator<Tuple2<Integer, F>> call(Iterator<ChunkTask> tasks) {
      ChunkSource source = ChunkSource.forTask(conf.value().get());
      FoldFactory<F> make = factory.value();
      List<Tuple2<Integer, F>> out = new ArrayList<>();
      int current = -1;
      F fold = null;
      while (tasks.hasNext()) {
        ChunkTask task = tasks.next();
        if (task.getTensorId() != current) {
          if (fold != null) {
            out.add(new Tuple2<>(current, fold));
          }
          current = task.getTensorId();
          fold = make.create(current);
        }
        fold.accept(source.readFloats(task), 0, task.getCount());
      }
      if (fold != null) {
        out.add(new Tuple2<>(current, fold));
      }
      return out.iterator();
    }
  }
}
