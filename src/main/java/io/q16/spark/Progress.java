package io.q16.spark;

import java.io.PrintStream;
import java.util.HashSet;
import io.q16.Units;
import io.q16.tensor.Chunk;
import io.q16.tensor.Plan;
import java.util.TreeSet;
import java.util.Locale;
import java.util.Set;
import org.apache.spark.SparkContext;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Progress lines for one Spark action, on stderr: stage, tensors and bytes done, throughput.
 *
 * <p>The driver knows what each partition covers (from the plan), so a finished task is
 * translated into tensors and bytes. Only jobs in this action's job group count; a retried
 * partition counts once. Lines are rate-limited to one per second.
 */
final class Progress extends SparkListener implements AutoCloseable {
  private static final long INTERVAL_NANOS = 1_000_000_000L;

  private final SparkContext sc;
  private final String stage;
  private final String group;
  private final long[] partitionBytes;
  private final int[][] partitionTensors;
  private final int[] pendingPartsOfTensor;
  private final int tensorCount;
  private final long totalBytes;
  private final PrintStream out;
  private final long start = System.nanoTime();
  private final Set<Integer> stages = new HashSet<>();
  private final Set<Integer> donePartitions = new HashSet<>();
  private long doneBytes;
  private int doneTensors;
  private long lastPrint;

  /**
   * @param partitionBytes source bytes each partition reads
   * @param partitionTensors tensor ids each partition touches
   * @param tensorCount number of tensors in the plan
   */
  Progress(
      SparkContext sc,
      String stage,
      long[] partitionBytes,
      int[][] partitionTensors,
      int tensorCount,
      PrintStream out) {
    this.sc = sc;
    this.stage = stage;
    this.group = "q16-" + stage + "-" + System.nanoTime();
    this.partitionBytes = partitionBytes;
    this.partitionTensors = partitionTensors;
    this.tensorCount = tensorCount;
    this.out = out;
    this.pendingPartsOfTensor = new int[tensorCount];
    long total = 0;
    for (int p = 0; p < partitionBytes.length; p++) {
      total += partitionBytes[p];
      for (int t : partitionTensors[p]) {
        pendingPartsOfTensor[t]++;
      }
    }
    this.totalBytes = total;
    // Tensors without any chunk (empty tensors) are done from the start.
    for (int t = 0; t < tensorCount; t++) {
      if (pendingPartsOfTensor[t] == 0) {
        doneTensors++;
      }
    }
    sc.setJobGroup(group, "q16 " + stage, false);
    sc.addSparkListener(this);
  }

  @Override
  public synchronized void onJobStart(SparkListenerJobStart job) {
    if (job.properties() != null && group.equals(job.properties().getProperty("spark.jobGroup.id"))) {
      scala.collection.Iterator<Object> it = job.stageIds().iterator();
      while (it.hasNext()) {
        stages.add((Integer) it.next());
      }
    }
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
    if (!stages.contains(end.stageId()) || end.reason() != Success$.MODULE$) {
      return;
    }
    int p = (int) end.taskInfo().partitionId();
    if (p < 0 || p >= partitionBytes.length || !donePartitions.add(p)) {
      return;
    }
    doneBytes += partitionBytes[p];
    for (int t : partitionTensors[p]) {
      if (--pendingPartsOfTensor[t] == 0) {
        doneTensors++;
      }
    }
    long now = System.nanoTime();
    if (now - lastPrint >= INTERVAL_NANOS && donePartitions.size() < partitionBytes.length) {
      lastPrint = now;
      print(now);
    }
  }

  private void print(long now) {
    double secs = (now - start) / 1e9;
    double rate = secs > 0 ? doneBytes / secs : 0;
    String eta =
        rate > 0 && doneBytes < totalBytes
            ? String.format(Locale.ROOT, "  eta %.0fs", (totalBytes - doneBytes) / rate)
            : "";
    out.printf(
        Locale.ROOT,
        "[%s] %d/%d tensors  %s/%s  %s/s  %.1fs%s%n",
        stage,
        doneTensors,
        tensorCount,
        Units.bytes(doneBytes),
        Units.bytes(totalBytes),
        Units.bytes((long) rate),
        secs,
        eta);
  }

  /** Prints the final line and detaches from the context. */
  @Override
  public synchronized void close() {
    sc.removeSparkListener(this);
    sc.clearJobGroup();
    print(System.nanoTime());
  }

  /** Progress of an action whose partition p covers the chunk ids {@code partitionChunks[p]} of {@code plan}. */
  static Progress of(SparkContext sc, String stage, Plan plan, int[][] partitionChunks, PrintStream out) {
    long[] bytes = new long[partitionChunks.length];
    int[][] tensors = new int[partitionChunks.length][];
    for (int p = 0; p < partitionChunks.length; p++) {
      TreeSet<Integer> ts = new TreeSet<>();
      for (int id : partitionChunks[p]) {
        Chunk c = plan.chunks().get(id);
        bytes[p] += plan.sourceBytes(c);
        ts.add(c.tensor());
      }
      tensors[p] = ts.stream().mapToInt(Integer::intValue).toArray();
    }
    return new Progress(sc, stage, bytes, tensors, plan.tensors().size(), out);
  }

  /**
   * Progress of a scan whose partition p reads {@code partitionBytes[p]} bytes holding values of any
   * of {@code tensorCount} tensors (an activation dataset): a tensor is done when the scan is.
   */
  static Progress ofScan(SparkContext sc, String stage, long[] partitionBytes, int tensorCount, PrintStream out) {
    int[] all = new int[tensorCount];
    for (int t = 0; t < tensorCount; t++) {
      all[t] = t;
    }
    int[][] tensors = new int[partitionBytes.length][];
    java.util.Arrays.fill(tensors, all);
    return new Progress(sc, stage, partitionBytes, tensors, tensorCount, out);
  }
}
