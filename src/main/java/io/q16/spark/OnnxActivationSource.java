package io.q16.spark;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.q16.Errors;
import io.q16.Units;
import io.q16.calib.Fold;
import io.q16.calib.RangeStats;
import io.q16.format.OnnxActivations;
import io.q16.format.OnnxModel;
import io.q16.format.OnnxReader;
import io.q16.quant.NanPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.TaskCompletionListener;
import scala.Tuple2;

/**
 * The activations of an ONNX model as calibration values, computed by running the model in ONNX
 * Runtime on the executors over a dataset of model inputs ({@link OnnxInputs}).
 *
 * <p>Each task opens one ONNX Runtime session ({@link ShippedOnnxModel}: the model with its activations,
 * {@link OnnxActivations}, as extra graph outputs), runs it batch by batch over its rows and folds
 * every activation of the batch into that tensor's statistic at once, so no activation outlives its
 * batch; the session is closed when the task completes (or fails). The folds of a tensor are merged
 * by {@code reduceByKey} on executors, and only merged statistics (or search results) reach the
 * driver. Every pass runs the model again: calibration is three passes over the inputs (ranges,
 * histograms with searches, measured errors).
 *
 * <p>Statistics merge exactly, so the result does not depend on partitioning as long as each
 * sample's activations do not: with {@code batch} 1 (the default) a sample always runs alone. With
 * larger batches ONNX Runtime may pick other kernels for other batch sizes, and which rows share a
 * batch depends on partitioning; on all-MiniLM-L6-v2 the activations of 8 samples run alone and run
 * as one batch were found bit-identical, but that is a property of the model and its kernels.
 *
 * <p>Each task measures the time it spends creating the session, in {@code session.run}, in
 * {@code fold.accept} and in total (accumulators), so that every pass reports ONNX Runtime's share.
 */
final class OnnxActivationSource implements ValueSource, AutoCloseable {
  private final SparkSession spark;
  private final String model;
  private final OnnxActivations acts;
  private final OnnxInputs inputs;
  private final ShippedOnnxModel ort;
  private final int batch;
  private final int tasks;
  private final PrintStream progress;
  private final List<PassTime> passes = new ArrayList<>();

  private OnnxActivationSource(SparkSession spark, String model, OnnxActivations acts, OnnxInputs inputs, ShippedOnnxModel ort,
      int batch, int tasks, PrintStream progress) {
    this.spark = spark;
    this.model = model;
    this.acts = acts;
    this.inputs = inputs;
    this.ort = ort;
    this.batch = batch;
    this.tasks = tasks;
    this.progress = progress;
  }

  /**
   * Reads the model's graph, checks the input dataset against its inputs, and prepares the model
   * for the executors: everything that can be refused is refused here, before any output exists.
   *
   * @param partitions tasks per pass (0: two per core); a dataset with fewer splits is spread
   * @param batch samples per {@code session.run} at most
   * @param broadcastLimit model files up to this size are broadcast ({@link ShippedOnnxModel#BROADCAST_LIMIT})
   */
  static OnnxActivationSource open(SparkSession spark, String model, String inputsPath, int partitions, int batch,
      long broadcastLimit, PrintStream progress) throws IOException {
    if (batch < 1) {
      throw Errors.usage("--batch " + batch + " is not a positive number of samples");
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    OnnxModel m = OnnxReader.read(model, conf);
    OnnxActivations acts = OnnxActivations.of(model, m, conf);
    if (acts.names().isEmpty()) {
      throw Errors.badFile(acts.path(), "has no float32 activations entering or leaving Conv, ConvTranspose, Gemm or"
          + " MatMul to calibrate" + (acts.skipped().isEmpty() ? "" : " (not float32 or not inferred: "
          + String.join(", ", acts.skipped().keySet()) + ")"));
    }
    OnnxInputs in = OnnxInputs.open(spark, inputsPath, acts.path(), acts.inputs(), partitions);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    ShippedOnnxModel ort = ShippedOnnxModel.of(jsc, acts.path(), m, acts.exposeSuffix(acts.outputTaps()), broadcastLimit, conf);
    int tasks = partitions > 0 ? partitions : 2 * jsc.defaultParallelism();
    return new OnnxActivationSource(spark, model, acts, in, ort, batch, tasks, progress);
  }

  @Override
  public List<String> names() {
    return acts.names();
  }

  OnnxActivations activations() {
    return acts;
  }

  OnnxInputs inputs() {
    return inputs;
  }

  ShippedOnnxModel model() {
    return ort;
  }

  /** Every pass's time so far, in order. */
  List<PassTime> passes() {
    return List.copyOf(passes);
  }

  @Override
  public void close() {
    inputs.release();
  }

  @Override
  public <F extends Fold<F>, R> List<R> fold(String pass, Broadcast<? extends FoldFactory<F>> factory,
      Function<Tuple2<Integer, F>, R> finish) {
    SparkContext sc = spark.sparkContext();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
    JavaRDD<InternalRow> rows = inputs.rows(tasks);
    Clocks clocks = new Clocks(sc, pass);
    List<String> names = acts.names();
    List<String> outputs = acts.outputTaps();
    int[] inputTaps = new int[inputs.inputs().length];
    for (int i = 0; i < inputTaps.length; i++) {
      inputTaps[i] = acts.graphInputTaps().contains(inputs.inputs()[i].name())
          ? Collections.binarySearch(names, inputs.inputs()[i].name()) : -1;
    }
    int[] outputIds = new int[outputs.size()];
    for (int k = 0; k < outputIds.length; k++) {
      outputIds[k] = Collections.binarySearch(names, outputs.get(k));
    }
    ModelFold<F> fold = new ModelFold<>(ort, inputs.spec(batch), outputs.toArray(new String[0]), outputIds, inputTaps, names.size(), factory, clocks);
    int reducers = Math.max(1, Math.min(names.size(), jsc.defaultParallelism()));
    long t0 = System.nanoTime();
    List<R> out;
    try (Progress p = Progress.ofScan(sc, pass, inputs.partitionBytes(rows), names.size(), progress)) {
      out = ActivationSource.reading(inputs.path(), () -> rows.mapPartitionsToPair(fold)
          .reduceByKey((a, b) -> a.merge(b), reducers)
          .map(finish)
          .collect());
    }
    PassTime t = clocks.time(pass, System.nanoTime() - t0);
    passes.add(t);
    progress.println(t.line());
    return out;
  }

  /** Pass 1: exact ranges per activation, refusing NaN under {@code --nan error}. */
  RangeStats[] ranges(NanPolicy policy) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    RangeStats[] out = collect("ranges", jsc.broadcast(new ActivationSource.Ranges()), RangeStats.class);
    for (int t = 0; t < out.length; t++) {
      if (out[t] == null) {
        throw Errors.badTensor(acts.path(), names().get(t), "ONNX Runtime returned no values for it");
      }
    }
    StatsPass.checkNan(Collections.nCopies(out.length, acts.path()), names(), out, policy, "calibrate");
    return out;
  }

  /**
   * One pass's time: wall time on the driver, and summed over tasks the time in each part of the
   * work (nanoseconds).
   */
  record PassTime(String pass, long samples, double seconds, double modelSeconds, long sessions, long sessionNanos,
      long runNanos, long foldNanos, long copyNanos, long taskNanos) {
    /** Samples per second of the model stage (first task's start to last task's end, all executors). */
    double samplesPerSecond() {
      return modelSeconds > 0 ? samples / modelSeconds : 0;
    }

    double share(long nanos) {
      return taskNanos > 0 ? (double) nanos / taskNanos : 0;
    }

    /** Time in tasks outside the session, the run, the copies and the folds: reading and decoding rows. */
    long otherNanos() {
      return Math.max(0, taskNanos - sessionNanos - runNanos - foldNanos - copyNanos);
    }

    String line() {
      return String.format(Locale.ROOT, "[%s] %d samples through the model in %.1fs (%.1f samples/s; pass %.1fs"
          + " with merges%s); task time %.1fs: ONNX Runtime %.1f%%, statistics %.1f%%, output copies %.1f%%,"
          + " sessions %.1f%% (%s), reading inputs %.1f%%", pass, samples, modelSeconds, samplesPerSecond(), seconds,
          pass.equals("histogram") ? " and searches" : "", taskNanos / 1e9, 100 * share(runNanos),
          100 * share(foldNanos), 100 * share(copyNanos), 100 * share(sessionNanos), Units.count(sessions, "session"),
          100 * share(otherNanos()));
    }
  }

  /** The accumulators of one pass; a class (accumulators are serializable) that executors add to. */
  static final class Clocks implements Serializable {
    private static final long serialVersionUID = 1L;
    final LongAccumulator samples;
    final LongAccumulator sessions;
    final LongAccumulator sessionNanos;
    final LongAccumulator runNanos;
    final LongAccumulator foldNanos;
    final LongAccumulator copyNanos;
    final LongAccumulator taskNanos;
    /** Each task's {start, end} in epoch milliseconds: the model stage spans the earliest to the latest. */
    final CollectionAccumulator<long[]> spans;

    Clocks(SparkContext sc, String pass) {
      samples = sc.longAccumulator("q16 " + pass + " samples");
      sessions = sc.longAccumulator("q16 " + pass + " sessions");
      sessionNanos = sc.longAccumulator("q16 " + pass + " session ns");
      runNanos = sc.longAccumulator("q16 " + pass + " run ns");
      foldNanos = sc.longAccumulator("q16 " + pass + " fold ns");
      copyNanos = sc.longAccumulator("q16 " + pass + " copy ns");
      taskNanos = sc.longAccumulator("q16 " + pass + " task ns");
      spans = sc.collectionAccumulator("q16 " + pass + " task spans");
    }

    PassTime time(String pass, long wallNanos) {
      long first = Long.MAX_VALUE;
      long last = Long.MIN_VALUE;
      for (long[] s : spans.value()) {
        first = Math.min(first, s[0]);
        last = Math.max(last, s[1]);
      }
      double model = first <= last ? (last - first) / 1e3 : 0;
      return new PassTime(pass, samples.value(), wallNanos / 1e9, model, sessions.value(), sessionNanos.value(),
          runNanos.value(), foldNanos.value(), copyNanos.value(), taskNanos.value());
    }
  }

  /**
   * Executor side: one ONNX Runtime session for the task, the partition's rows run batch by batch,
   * each activation of a batch folded into its tensor's statistic as soon as the batch has run.
   * Graph inputs that are activations are folded from the decoded rows.
   */
  static final class ModelFold<F extends Fold<F>> implements PairFlatMapFunction<Iterator<InternalRow>, Integer, F> {
    private static final long serialVersionUID = 1L;
    private final ShippedOnnxModel model;
    private final OnnxInputs.Spec spec;
    private final String[] outputs;
    private final int[] outputIds;
    private final int[] inputTaps;
    private final int tensors;
    private final Broadcast<? extends FoldFactory<F>> factory;
    private final Clocks clocks;

    ModelFold(ShippedOnnxModel model, OnnxInputs.Spec spec, String[] outputs, int[] outputIds, int[] inputTaps,
        int tensors, Broadcast<? extends FoldFactory<F>> factory, Clocks clocks) {
      this.model = model;
      this.spec = spec;
      this.outputs = outputs;
      this.outputIds = outputIds;
      this.inputTaps = inputTaps;
      this.tensors = tensors;
      this.factory = factory;
      this.clocks = clocks;
    }

    @Override
    public Iterator<Tuple2<Integer, F>> call(Iterator<InternalRow> rows) throws IOException, OrtException {
      long start = System.nanoTime();
      long startMillis = System.currentTimeMillis();
      TaskContext task = TaskContext.get();
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      OrtSession session = model.open(env, task == null ? 1 : task.cpus());
      if (task != null) {
        task.addTaskCompletionListener((TaskCompletionListener) ctx -> close(session));
      }
      Task t = new Task(session, env, factory.value());
      t.sessionNanos = System.nanoTime() - start;
      try {
        OnnxInputs.Batcher batcher = spec.batcher();
        while (rows.hasNext()) {
          OnnxInputs.Sample s = batcher.decode(rows.next());
          t.samples++;
          for (int i = 0; i < inputTaps.length; i++) {
            if (inputTaps[i] >= 0) {
              float[] x = (float[]) s.data[i];
              t.fold(inputTaps[i], x, x.length);
            }
          }
          if (!batcher.fits(s)) {
            t.run(batcher);
          }
          batcher.add(s);
          if (batcher.full()) {
            t.run(batcher);
          }
        }
        if (batcher.size() > 0) {
          t.run(batcher);
        }
      } finally {
        if (task == null) {
          close(session);
        }
      }
      clocks.samples.add(t.samples);
      clocks.sessions.add(1);
      clocks.sessionNanos.add(t.sessionNanos);
      clocks.runNanos.add(t.runNanos);
      clocks.foldNanos.add(t.foldNanos);
      clocks.copyNanos.add(t.copyNanos);
      clocks.taskNanos.add(System.nanoTime() - start);
      clocks.spans.add(new long[] {startMillis, System.currentTimeMillis()});
      List<Tuple2<Integer, F>> out = new ArrayList<>();
      for (int id = 0; id < tensors; id++) {
        if (t.folds.get(id) != null) {
          out.add(new Tuple2<>(id, t.folds.get(id)));
        }
      }
      return out.iterator();
    }

    private static void close(OrtSession session) {
      try {
        session.close();
      } catch (OrtException e) {
        throw new IllegalStateException("closing an ONNX Runtime session: " + e.getMessage(), e);
      }
    }

    /** One task's session, statistics and clocks. */
    private final class Task {
      final OrtSession session;
      final OrtEnvironment env;
      final FoldFactory<F> make;
      final List<F> folds = new ArrayList<>(Collections.nCopies(tensors, null));
      final Set<String> requested = new LinkedHashSet<>(List.of(outputs));
      final Map<String, Integer> ids = new HashMap<>();
      long samples;
      long sessionNanos;
      long runNanos;
      long foldNanos;
      long copyNanos;

      Task(OrtSession session, OrtEnvironment env, FoldFactory<F> make) {
        this.session = session;
        this.env = env;
        this.make = make;
        for (int k = 0; k < outputs.length; k++) {
          ids.put(outputs[k], outputIds[k]);
        }
      }

      void fold(int id, float[] x, int n) {
        long t0 = System.nanoTime();
        F f = folds.get(id);
        if (f == null) {
          f = make.create(id);
          folds.set(id, f);
        }
        f.accept(x, 0, n);
        foldNanos += System.nanoTime() - t0;
      }

      /** Runs the batch, folds every activation it returns, closes everything and clears the batch. */
      void run(OnnxInputs.Batcher batcher) throws OrtException {
        Map<String, OnnxTensor> in = batcher.tensors(env);
        try {
          long t0 = System.nanoTime();
          try (OrtSession.Result r = session.run(in, requested)) {
            runNanos += System.nanoTime() - t0;
            for (Map.Entry<String, OnnxValue> e : r) {
              Integer id = ids.get(e.getKey());
              if (id == null) {
                continue;
              }
              if (!(e.getValue() instanceof OnnxTensor tensor) || tensor.getInfo().type != OnnxJavaType.FLOAT) {
                throw Errors.badTensor(model.path(), e.getKey(), "ONNX Runtime returned " + e.getValue().getInfo()
                    + ", not a float32 tensor");
              }
              long t1 = System.nanoTime();
              // A copy out of ONNX Runtime's memory (the result owns it and is closed below).
              float[] x = tensor.getFloatBuffer().array();
              copyNanos += System.nanoTime() - t1;
              fold(id, x, x.length);
            }
          }
        } finally {
          for (OnnxTensor t : in.values()) {
            t.close();
          }
        }
        batcher.clear();
      }
    }
  }
}
