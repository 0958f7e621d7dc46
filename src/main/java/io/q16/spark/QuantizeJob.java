package io.q16.spark;

import io.q16.Errors;
import io.q16.Units;
import io.q16.calib.RangeStats;
import io.q16.format.Calibration;
import io.q16.format.Crc32c;
import io.q16.format.Manifest;
import io.q16.format.Model;
import io.q16.format.ModelReader;
import io.q16.fs.OutputDir;
import io.q16.quant.Codes;
import io.q16.quant.Granularity;
import io.q16.quant.NanPolicy;
import io.q16.quant.NonlinearParams;
import io.q16.quant.Overflow;
import io.q16.quant.QuantParams;
import io.q16.quant.RoundTripStats;
import io.q16.quant.Scheme;
import io.q16.quant.TensorSpec;
import io.q16.report.QuantizeReport;
import io.q16.tensor.Chunk;
import io.q16.tensor.DType;
import io.q16.tensor.Plan;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;

/**
 * {@code q16 quantize}: plan on the driver from headers, statistics on executors, parameters on
 * the driver, int16 shards on executors through Spark's writer, and the manifest last.
 */
public final class QuantizeJob {
  public static final String VERSION = "0.1.0";
  static final String SHARDS_DIR = "shards";
  /** The report's directory inside the output: index.html and report.json (verify adds its own pages). */
  public static final String REPORT_DIR = "report";
  static final Encoder<ChunkTask> CHUNK_TASK = Encoders.bean(ChunkTask.class);
  static final Encoder<ShardTask> SHARD_TASK = Encoders.bean(ShardTask.class);
  static final Encoder<ChunkStats> CHUNK_STATS = Encoders.bean(ChunkStats.class);

  /** What to quantize and how. */
  public record Options(
      String model,
      String out,
      Scheme scheme,
      Granularity granularity,
      boolean unsigned,
      Overflow overflow,
      int exponentBits,
      List<String> keepFloat,
      String calibration,
      NanPolicy nanPolicy,
      long chunkBytes,
      long shardBytes,
      int partitions,
      String compression,
      List<String> include,
      boolean autoGranularity,
      String previous,
      boolean previousRequired) {

    /** Not incremental. */
    public Options(String model, String out, Scheme scheme, Granularity granularity, boolean unsigned,
        Overflow overflow, int exponentBits, List<String> keepFloat, String calibration, NanPolicy nanPolicy,
        long chunkBytes, long shardBytes, int partitions, String compression, List<String> include,
        boolean autoGranularity) {
      this(model, out, scheme, granularity, unsigned, overflow, exponentBits, keepFloat, calibration, nanPolicy,
          chunkBytes, shardBytes, partitions, compression, include, autoGranularity, null, false);
    }

    /**
     * These options, incremental: reuse what {@code previousDir} holds of unchanged tensors. When
     * {@code required} is false a missing previous output means a full run (a schedule's first).
     */
    public Options incremental(String previousDir, boolean required) {
      return new Options(model, out, scheme, granularity, unsigned, overflow, exponentBits, keepFloat, calibration,
          nanPolicy, chunkBytes, shardBytes, partitions, compression, include, autoGranularity, previousDir, required);
    }
  }

  /**
   * What an incremental run took from the previous output: tensors reused, the others with why they
   * were quantized again (manifest order), shards copied whole and written, rows copied into
   * written shards, and chunks read from the source by the quantize pass.
   */
  public record Reuse(String previous, int tensorsReused, Map<String, String> requantized, int shardsCopied,
      int shardsWritten, int rowsReused, int chunksQuantized) {}

  /** The committed manifest and where the time went. */
  public record Result(Manifest manifest, double planSeconds, double statsSeconds, double quantizeSeconds, double commitSeconds,
      Reuse reuse) {
    public double totalSeconds() {
      return planSeconds + statsSeconds + quantizeSeconds + commitSeconds;
    }
  }

  private final SparkSession spark;
  private final JavaSparkContext jsc;
  private final Options options;
  private final PrintStream progress;
  private final List<Pattern> keepFloat;
  /** The ONNX model's selection (weights by role, --include), or null for safetensors. */
  private io.q16.onnx.OnnxSelection onnx;

  private QuantizeJob(SparkSession spark, Options options, PrintStream progress) {
    this.spark = spark;
    this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.options = options;
    this.progress = progress;
    this.keepFloat = options.keepFloat().stream().map(io.q16.Glob::compile).toList();
  }

  /** Runs the whole job; on any failure nothing is left at {@code options.out()} but what was there. */
  public static Result run(SparkSession spark, Options options, PrintStream progress) throws IOException {
    return new QuantizeJob(spark, options, progress).run();
  }

  private Result run() throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Model model = ModelReader.read(options.model(), conf);
    onnx = io.q16.onnx.OnnxSelection.read(options.model(), conf, options.include());
    List<TensorInfo> toQuantize = new ArrayList<>();
    for (TensorInfo t : model.tensors()) {
      switch (t.dtype().kind()) {
        case FLOAT -> {
          if (keepReason(t.name()) == null) {
            toQuantize.add(t);
          }
        }
        case INTEGER -> { }
        case UNSUPPORTED -> throw Errors.badTensor(
            t.file(), t.name(),
            "dtype " + t.dtype() + " cannot be quantized to int16 (an 8-bit float holds less than int16 codes)");
      }
    }
    if (!options.scheme().linear()
        && (options.granularity().kind() != Granularity.Kind.TENSOR || options.unsigned())) {
      throw Errors.usage("--scheme " + options.scheme() + " is per tensor with int16 storage: drop --granularity"
          + " and --storage");
    }
    TensorSpec[] specs = new TensorSpec[toQuantize.size()];
    long[] align = new long[specs.length];
    for (int t = 0; t < specs.length; t++) {
      specs[t] = new TensorSpec(toQuantize.get(t).shape(), granularityOf(toQuantize.get(t)), options.scheme(),
          options.unsigned(), options.overflow());
      align[t] = specs[t].layout().localAlignment();
    }
    Plan plan = Plan.of(toQuantize, options.chunkBytes(), options.shardBytes(), align);
    Calibration calibration = readCalibration(conf, toQuantize);
    Map<String, Calibration.Entry> thresholds = calibration == null ? Map.of() : calibration.byName();
    for (int t = 0; t < specs.length && calibration != null; t++) {
      // Per channel or group: every unit's range is clipped at the tensor's calibrated threshold.
      if (specs[t].granularity().kind() != Granularity.Kind.TENSOR) {
        specs[t].withClip(thresholds.get(toQuantize.get(t).name()).threshold());
      }
    }
    String runId = OutputDir.newRunId();
    progress.printf("[plan] %s: %s (%d to quantize), %s, %s, %s%n",
        options.model(), Units.count(model.tensors().size(), "tensor"), toQuantize.size(),
        Units.bytes(model.totalBytes()), Units.count(plan.chunks().size(), "chunk"),
        Units.count(plan.shardCount(), "shard"));

    try (OutputDir out = OutputDir.create(options.out(), conf, runId)) {
      Broadcast<HadoopConf> hadoopConf = jsc.broadcast(new HadoopConf(conf));
      long t1 = System.nanoTime();
      TensorStats[] stats = StatsPass.run(spark, plan, hadoopConf, jsc.broadcast(specs), options.partitions(), progress);
      StatsPass.checkNan(plan, stats, options.nanPolicy(), "quantize");
      QuantParams[] params = new QuantParams[plan.tensors().size()];
      float[] absmax = new float[params.length];
      float[] threshold = new float[params.length];
      for (int t = 0; t < params.length; t++) {
        RangeStats r = stats[t].range;
        absmax[t] = r.absmax();
        threshold[t] = calibration == null ? absmax[t]
            : Math.min(thresholds.get(plan.tensors().get(t).name()).threshold(), absmax[t]);
        if (!options.scheme().linear()) {
          specs[t].withNonlinear(NonlinearParams.fromStats(options.scheme(), options.exponentBits(), r.absmax(),
              stats[t].minNonZero));
        } else if (calibration != null && specs[t].granularity().kind() == Granularity.Kind.TENSOR) {
          Calibration.Entry e = thresholds.get(plan.tensors().get(t).name());
          params[t] = e.clipMin() != null && e.clipMax() != null
              ? QuantParams.clipped(options.scheme(), r.min(), r.max(), e.clipMin(), e.clipMax())
              : calibrated(r, threshold[t]);
        } else if (specs[t].granularity().kind() == Granularity.Kind.TENSOR) {
          params[t] = QuantParams.minMax(options.scheme(), r.min(), r.max(), options.overflow());
        } else if (!specs[t].localUnits()) {
          int units = (int) specs[t].layout().units();
          float[] scales = new float[units];
          int[] zps = new int[units];
          for (int u = 0; u < units; u++) {
            // A tensor without elements has no chunk statistics: its units hold nothing.
            float lo = stats[t].unitMin == null ? Float.POSITIVE_INFINITY : stats[t].unitMin[u];
            float hi = stats[t].unitMax == null ? Float.NEGATIVE_INFINITY : stats[t].unitMax[u];
            QuantParams p = specs[t].unitParams(lo, hi);
            scales[u] = p.scale();
            zps[u] = p.zeroPoint();
          }
          specs[t].withParams(scales, zps);
        }
      }
      Float[] calibrated = new Float[params.length];
      for (int t = 0; t < params.length && calibration != null; t++) {
        calibrated[t] = threshold[t];
      }
      Incremental previous = options.previous() == null ? null
          : Incremental.load(options.previous(), conf, options.previousRequired(), VERSION, config(), progress);
      boolean[] reused = new boolean[params.length];
      Map<String, String> requantized = new java.util.LinkedHashMap<>();
      if (previous != null) {
        int[] chunks = chunkCounts(plan);
        for (int t = 0; t < params.length; t++) {
          Manifest.TensorEntry draft = quantizedEntry(plan.tensors().get(t), stats[t], params[t], specs[t],
              calibrated[t], 0, null, chunks[t], null, null, null);
          Incremental.Reason why = previous.compare(draft);
          reused[t] = why == null;
          if (why != null) {
            requantized.put(plan.tensors().get(t).name(), why.text);
          }
        }
        progress.printf("[incremental] %s: %d of %d tensors unchanged; quantizing %d%s%n", previous.dir(),
            params.length - requantized.size(), params.length, requantized.size(), describe(requantized));
      }
      int[] copyOf = new int[plan.shardCount()];
      java.util.Arrays.fill(copyOf, -1);
      List<List<Integer>> chunksOf = chunksByShard(plan);
      for (int s = 0; s < copyOf.length && previous != null; s++) {
        copyOf[s] = previous.copyOf(plan, chunksOf.get(s), reused, options.compression());
      }
      long t2 = System.nanoTime();
      ChunkOutcome[] outcomes =
          quantizePass(plan, chunksOf, hadoopConf, specs, params, absmax, out, previous, reused, copyOf);
      long t3 = System.nanoTime();
      List<Manifest.Shard> shards = commitShards(plan, chunksOf, out, hadoopConf, previous, copyOf);
      Measured measured = Measured.of(plan, outcomes, absmax, reused, previous);
      Manifest manifest = manifest(model, plan, specs, stats, params, calibrated, outcomes, shards, measured, previous,
          reused);
      Reuse reuse = previous == null ? null : reuse(plan, previous, reused, requantized, copyOf, chunksOf);
      if (reuse != null) {
        progress.printf("[incremental] %s copied, %d written (%s copied from %s, %s quantized from the source)%n",
            Units.count(reuse.shardsCopied(), "shard"), reuse.shardsWritten(), Units.count(reuse.rowsReused(), "row"),
            previous.dir(), Units.count(reuse.chunksQuantized(), "chunk"));
      }
      QuantizeReport.Report report = report(manifest, plan, threshold, measured);
      out.writeAtomically(REPORT_DIR + "/index.html", QuantizeReport.html(report));
      out.writeAtomically(REPORT_DIR + "/report.json", QuantizeReport.json(report));
      out.writeAtomically(Manifest.FILE_NAME, manifest.toJson());
      out.commit();
      long t4 = System.nanoTime();
      return new Result(manifest, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9, reuse);
    }
  }

  /**
   * The calibration file's thresholds, checked to cover every tensor to quantize; null without
   * --calibration. Thresholds are per tensor and for the linear schemes.
   */
  private Calibration readCalibration(Configuration conf, List<TensorInfo> tensors) throws IOException {
    if (options.calibration() == null) {
      return null;
    }
    if (!options.scheme().linear()) {
      throw Errors.usage("--calibration applies to the linear schemes (symmetric, symmetric-restricted, asymmetric)");
    }
    String path = options.calibration();
    var status = io.q16.fs.HadoopFs.statusOrNull(path, conf);
    if (status != null && status.isDirectory()) {
      path = new Path(path, Calibration.FILE_NAME).toString();
    }
    Calibration c;
    try {
      c = Calibration.fromJson(io.q16.fs.HadoopFs.readSmall(path, conf, 256L << 20, "calibration"));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw Errors.badFile(path, "calibration is not valid: " + e.getOriginalMessage());
    }
    if (!Calibration.FORMAT.equals(c.format()) || c.formatVersion() > Calibration.FORMAT_VERSION) {
      throw Errors.badFile(path, "format " + c.format() + " version " + c.formatVersion() + " is not one this Q16 reads");
    }
    if (c.source() != null && c.source().startsWith(CalibrateJob.ACTIVATIONS)) {
      throw Errors.badFile(path, "holds thresholds of activations (" + c.source() + "), not of this model's"
          + " weights: calibrate MODEL without --activations for quantize");
    }
    Map<String, Calibration.Entry> byName = c.byName();
    for (TensorInfo t : tensors) {
      if (!byName.containsKey(t.name())) {
        throw Errors.badTensor(path, t.name(), "missing from the calibration (the model has it): calibrate again");
      }
    }
    return c;
  }

  /**
   * Linear parameters from a calibrated threshold T (already at most max|x|): symmetric schemes use
   * T for max|x|; asymmetric clips the range to [max(min, -T), min(max, T)]. Values beyond clip
   * and are counted.
   */
  private QuantParams calibrated(RangeStats r, float threshold) {
    return QuantParams.calibrated(options.scheme(), r.min(), r.max(), threshold);
  }

  static long roundUpToMib(long bytes) {
    long mib = 1L << 20;
    return (bytes + mib - 1) / mib * mib;
  }

  /** The --keep-float pattern {@code name} matches, or null. Globs: '*' any run, '?' one character. */
  private String keepFloatPattern(String name) {
    for (int i = 0; i < keepFloat.size(); i++) {
      if (keepFloat.get(i).matcher(name).matches()) {
        return options.keepFloat().get(i);
      }
    }
    return null;
  }

  /** Why a float tensor stays float (a --keep-float pattern, or its ONNX role), or null to quantize it. */
  private String keepReason(String name) {
    String keep = keepFloatPattern(name);
    if (keep != null) {
      return "matches --keep-float '" + keep + "': kept in its source dtype, not quantized";
    }
    return onnx == null ? null : onnx.keepReason(name);
  }

  /**
   * The granularity a tensor gets: per channel needs rank >= 2, per group rank >= 1, and either
   * needs elements.
   */
  private Granularity granularityOf(TensorInfo t) {
    // log and minifloat are per tensor: auto leaves them so.
    Granularity g = onnx != null && options.autoGranularity() && options.scheme().linear()
        ? onnx.auto(t.name(), t.shape(), options.granularity()) : options.granularity();
    int rank = t.shape().length;
    if (t.elements() == 0) {
      // Nothing to scale: per tensor, so that no reader of the manifest allocates parameters for
      // the units its shape claims ([0, 2^31 - 1] by channel has 2^31 - 1 of them; HardeningTest).
      return Granularity.TENSOR;
    }
    return switch (g.kind()) {
      case TENSOR -> g;
      case CHANNEL -> rank >= 2 && g.axis() < rank ? g : Granularity.TENSOR;
      case GROUP -> rank >= 1 ? g : Granularity.TENSOR;
    };
  }




  /**
   * Writes the shards not copied whole ({@code copyOf[s] < 0}) through Spark's writer, one task
   * each, partition i holding the i-th of them; chunks of reused tensors are rows copied from the
   * previous output, the others are read and quantized. Outcomes by chunk id; null for the chunks
   * of copied shards.
   */
  private ChunkOutcome[] quantizePass(Plan plan, List<List<Integer>> chunksOf, Broadcast<HadoopConf> conf,
      TensorSpec[] specs, QuantParams[] params, float[] absmax, OutputDir out, Incremental previous, boolean[] reused,
      int[] copyOf) {
    ChunkOutcome[] byId = new ChunkOutcome[plan.chunks().size()];
    List<ShardTask> shards = new ArrayList<>();
    for (int s = 0; s < chunksOf.size(); s++) {
      if (copyOf[s] >= 0) {
        continue;
      }
      List<ChunkTask> tasks = new ArrayList<>();
      for (int id : chunksOf.get(s)) {
        ChunkTask task = ChunkTask.of(plan, id);
        if (reused[task.getTensorId()]) {
          task.setPreviousShard(previous.location(task.getTensor(), task.getChunk()).path());
        }
        tasks.add(task);
      }
      shards.add(new ShardTask(s, tasks));
    }
    if (shards.isEmpty()) {
      return byId;
    }
    CollectionAccumulator<ChunkOutcome> acc = spark.sparkContext().collectionAccumulator("q16 chunk outcomes");
    Broadcast<QuantParams[]> bparams = jsc.broadcast(params);
    // Rounded up to whole MiB: Parquet passes the row group size to HDFS as the file's block size,
    // which must be a multiple of dfs.bytes-per-checksum (512) (found by HdfsTest).
    long rowGroupBytes = roundUpToMib(Math.max(1L << 20, 4 * 2 * (plan.chunkBytes() / 2)));
    int[][] slices = new int[shards.size()][];
    for (int i = 0; i < slices.length; i++) {
      slices[i] = shards.get(i).getChunks().stream().mapToInt(ChunkTask::getId).toArray();
    }
    try (Progress p = Progress.of(spark.sparkContext(), "quantize", plan, slices, progress)) {
      // One partition per shard: parallelize slices n elements into n partitions of one.
      Dataset<ShardTask> ds = spark.createDataset(jsc.parallelize(shards, shards.size()).rdd(), SHARD_TASK);
      Dataset<Row> rows = ds.mapPartitions(
          new QuantizeFunction(conf, jsc.broadcast(specs), bparams, jsc.broadcast(absmax), acc),
          Encoders.row(ShardSchema.SCHEMA));
      rows.write()
          .option("compression", options.compression())
          // Row groups of a few chunks keep the writer's buffer, and a reader's, O(chunk). Parquet
          // only measures its buffers every 100 records by default: with rows of megabytes it
          // would buffer a whole shard, so measure after every row.
          .option("parquet.block.size", Long.toString(rowGroupBytes))
          // No padding of row groups to the file system's blocks: it would make a shard's bytes
          // depend on where it is written (HDFS with 1 MiB blocks padded them by 3x; HdfsTest).
          .option("parquet.writer.max-padding", "0")
          .option("parquet.page.size.row.check.min", "1")
          .option("parquet.page.size.row.check.max", "1")
          // Dictionaries cannot help int16 payloads and would be built, then dropped, per chunk.
          .option("parquet.enable.dictionary", "false")
          .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
          .parquet(new Path(out.staging(), SHARDS_DIR).toString());
    }
    for (ChunkOutcome o : acc.value()) {
      byId[o.id()] = o; // a retried task reports the same outcome again: same id, same values
    }
    for (ShardTask shard : shards) {
      for (ChunkTask c : shard.getChunks()) {
        if (byId[c.getId()] == null) {
          throw new IllegalStateException("chunk " + c.getId() + " reported no outcome");
        }
      }
    }
    return byId;
  }

  /**
   * Gives Spark's part files their plan names and checksums them on executors; copies the shards
   * an incremental run reuses whole, checking each against the previous manifest's checksum.
   */
  private List<Manifest.Shard> commitShards(Plan plan, List<List<Integer>> chunksOf, OutputDir out,
      Broadcast<HadoopConf> conf, Incremental previous, int[] copyOf) throws IOException {
    if (plan.shardCount() == 0) {
      return List.of();
    }
    FileSystem fs = out.fileSystem();
    Path dir = new Path(out.staging(), SHARDS_DIR);
    List<Integer> written = new ArrayList<>();
    List<ShardCopy> copies = new ArrayList<>();
    for (int s = 0; s < copyOf.length; s++) {
      if (copyOf[s] < 0) {
        written.add(s);
      } else {
        copies.add(new ShardCopy(new Path(previous.dir(), previous.manifest().shards().get(copyOf[s]).path()).toString(),
            new Path(dir, shardName(s, plan.shardCount())).toString()));
      }
    }
    FileChecksum[] sums = new FileChecksum[plan.shardCount()];
    if (written.isEmpty()) {
      fs.mkdirs(dir);
    } else {
      Map<Integer, Path> parts = PartFiles.list(fs, dir);
      if (parts.size() != written.size()) {
        throw new IllegalStateException("expected " + written.size() + " part files in " + dir + ", found " + parts.size());
      }
      List<String> full = new ArrayList<>();
      for (Map.Entry<Integer, Path> e : parts.entrySet()) {
        int s = written.get(e.getKey());
        String name = shardName(s, plan.shardCount());
        if (!fs.rename(e.getValue(), new Path(dir, name))) {
          throw Errors.output(options.out(), "cannot rename " + e.getValue() + " to " + name);
        }
        full.add(new Path(dir, name).toString());
      }
      List<FileChecksum> checked =
          spark.createDataset(jsc.parallelize(full, full.size()).rdd(), Encoders.STRING())
              .map(new FileChecksumFunction(conf, true), FileChecksum.ENCODER)
              .collectAsList();
      for (int i = 0; i < checked.size(); i++) {
        sums[written.get(i)] = checked.get(i);
      }
    }
    if (!copies.isEmpty()) {
      List<FileChecksum> copied = jsc.parallelize(copies, copies.size()).map(new ShardCopy.Copier(conf)).collect();
      int i = 0;
      for (int s = 0; s < copyOf.length; s++) {
        if (copyOf[s] < 0) {
          continue;
        }
        Manifest.Shard was = previous.manifest().shards().get(copyOf[s]);
        FileChecksum sum = copied.get(i++);
        if (sum.getBytes() != was.bytes() || !Crc32c.hex(sum.getCrc32c()).equals(was.crc32c())) {
          throw Errors.badFile(new Path(previous.dir(), was.path()).toString(), "previous shard has " + sum.getBytes()
              + " bytes with CRC-32C " + Crc32c.hex(sum.getCrc32c()) + " where its manifest records " + was.bytes()
              + " bytes with " + was.crc32c() + ": the previous output was modified; re-run without --incremental");
        }
        sums[s] = sum;
      }
    }
    List<Manifest.Shard> shards = new ArrayList<>();
    for (int s = 0; s < sums.length; s++) {
      shards.add(new Manifest.Shard(SHARDS_DIR + "/" + shardName(s, plan.shardCount()), sums[s].getBytes(),
          Crc32c.hex(sums[s].getCrc32c()), chunksOf.get(s).size()));
    }
    return shards;
  }

  /** Chunk ids per shard, in shard order. */
  private static List<List<Integer>> chunksByShard(Plan plan) {
    List<List<Integer>> out = new ArrayList<>();
    for (int s = 0; s < plan.shardCount(); s++) {
      out.add(new ArrayList<>());
    }
    for (int i = 0; i < plan.chunks().size(); i++) {
      out.get(plan.chunks().get(i).shard()).add(i);
    }
    return out;
  }

  private static int[] chunkCounts(Plan plan) {
    int[] n = new int[plan.tensors().size()];
    for (Chunk c : plan.chunks()) {
      n[c.tensor()]++;
    }
    return n;
  }

  /** ": 'a' (source changed), 'b' (new), ..." for the first few. */
  private static String describe(Map<String, String> requantized) {
    StringBuilder b = new StringBuilder();
    int shown = 0;
    for (Map.Entry<String, String> e : requantized.entrySet()) {
      if (shown == 5) {
        b.append(", ...");
        break;
      }
      b.append(shown++ == 0 ? ": " : ", ").append('\'').append(e.getKey()).append("' (").append(e.getValue()).append(')');
    }
    return b.toString();
  }

  private static Reuse reuse(Plan plan, Incremental previous, boolean[] reused, Map<String, String> requantized,
      int[] copyOf, List<List<Integer>> chunksOf) {
    int copied = 0;
    int rows = 0;
    int quantized = 0;
    for (int s = 0; s < copyOf.length; s++) {
      if (copyOf[s] >= 0) {
        copied++;
        continue;
      }
      for (int id : chunksOf.get(s)) {
        if (reused[plan.chunks().get(id).tensor()]) {
          rows++;
        } else {
          quantized++;
        }
      }
    }
    return new Reuse(previous.dir(), reused.length - requantized.size(), java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(requantized)), copied,
        copyOf.length - copied, rows, quantized);
  }

  private String granularityName() {
    if (!options.autoGranularity() || onnx == null || !options.scheme().linear()) {
      return options.granularity().toString();
    }
    return "auto: channel(output-channel axis) for Conv/Gemm/MatMul"
        + " weights, " + options.granularity() + " for the others";
  }

  private String calibrationName() {
    return options.calibration() == null ? "minmax" : "calibration file " + options.calibration();
  }

  private static Manifest.TensorEntry.Codec codec(NonlinearParams p) {
    if (p == null) {
      return null;
    }
    if (p.log() != null) {
      return new Manifest.TensorEntry.Codec("log", p.log().absmax(), p.log().codesPerOctave(), null, null,
          p.log().relativeErrorBound(), p.log().absoluteErrorBound());
    }
    return new Manifest.TensorEntry.Codec("minifloat", null, null, p.minifloat().exponentBits(), p.minifloat().bias(),
        p.minifloat().relativeErrorBound(), p.minifloat().absoluteErrorBound());
  }

  private static List<Long> shape(TensorInfo t) {
    return java.util.Arrays.stream(t.shape()).boxed().toList();
  }

  static String shardName(int shard, int count) {
    return String.format("shard-%05d-of-%05d.parquet", shard, count);
  }

  private Manifest.Config config() {
    return new Manifest.Config(
        options.scheme().cliName(), granularityName() + (options.unsigned() ? ", uint16" : ""),
        calibrationName(), options.nanPolicy().toString(), options.overflow().toString(),
        options.chunkBytes(), options.shardBytes(), options.compression());
  }

  /**
   * A quantized tensor's manifest entry. With the measured fields (clipped, codes CRC, shards, SQNR,
   * MSE) zero or null it is the draft an incremental run compares with the previous entry.
   *
   * @param calibrated the calibrated threshold its range was clipped at, null for min/max
   */
  private Manifest.TensorEntry quantizedEntry(TensorInfo info, TensorStats s, QuantParams p, TensorSpec spec,
      Float calibrated, long clipped, String codesCrc, int chunks, List<Integer> shards, Double sqnrDb, Double mse) {
    Granularity g = spec.granularity();
    int shift = options.unsigned() ? Codes.UNSIGNED_OFFSET : 0;
    return new Manifest.TensorEntry(
        info.name(), info.dtype().name(), shape(info), Manifest.TensorEntry.QUANTIZED, null,
        info.elements(), options.scheme().cliName(), g.cliName(),
        g.kind() == Granularity.Kind.CHANNEL ? g.axis() : null,
        g.kind() == Granularity.Kind.GROUP ? g.groupSize() : null,
        spec.layout().units(), options.unsigned() ? "uint16" : "int16",
        p == null ? null : p.scale(), p == null ? null : p.zeroPoint() + shift,
        options.scheme().qmin() + shift, options.scheme().qmax() + shift,
        s.range.finite() > 0 ? s.range.min() : null, s.range.finite() > 0 ? s.range.max() : null,
        clipped, s.range.nan(), s.range.posInf(), s.range.negInf(),
        info.file(), info.dataStart(), info.byteLength(), Crc32c.hex(s.crc), codesCrc,
        chunks, shards, codec(spec.nonlinear()), sqnrDb, mse, calibrated);
  }

  private Manifest manifest(
      Model model,
      Plan plan,
      TensorSpec[] specs,
      TensorStats[] stats,
      QuantParams[] params,
      Float[] calibrated,
      ChunkOutcome[] outcomes,
      List<Manifest.Shard> shards,
      Measured measured,
      Incremental previous,
      boolean[] reused) {
    int n = plan.tensors().size();
    long[] clipped = new long[n];
    int[] codesCrc = new int[n];
    long[] codesBytes = new long[n];
    int[] chunkCount = new int[n];
    boolean[] copied = new boolean[n];
    List<TreeSet<Integer>> shardsOf = new ArrayList<>();
    for (int t = 0; t < n; t++) {
      shardsOf.add(new TreeSet<>());
    }
    for (int i = 0; i < outcomes.length; i++) {
      Chunk c = plan.chunks().get(i);
      int t = c.tensor();
      chunkCount[t]++;
      shardsOf.get(t).add(c.shard());
      if (outcomes[i] == null) {
        copied[t] = true; // in a shard copied whole, checked by its file checksum
        continue;
      }
      clipped[t] += outcomes[i].clipped();
      long len = 2L * c.elemCount();
      codesCrc[t] = codesBytes[t] == 0 ? outcomes[i].codesCrc32c() : Crc32c.combine(codesCrc[t], outcomes[i].codesCrc32c(), len);
      codesBytes[t] += len;
    }
    String[] codesHex = new String[n];
    for (int t = 0; t < n; t++) {
      codesHex[t] = Crc32c.hex(codesCrc[t]);
      if (!reused[t]) {
        continue;
      }
      Manifest.TensorEntry was = previous.entry(plan.tensors().get(t).name());
      if (!copied[t] && !codesHex[t].equals(was.codesCrc32c())) {
        throw Errors.badTensor(previous.dir(), was.name(), "the previous output's rows of this tensor have codes with"
            + " CRC-32C " + codesHex[t] + " where its manifest records " + was.codesCrc32c()
            + ": the previous output was modified; re-run without --incremental");
      }
      clipped[t] = was.clipped();
      codesHex[t] = was.codesCrc32c();
    }
    Map<String, Integer> index = new TreeMap<>();
    for (int t = 0; t < n; t++) {
      index.put(plan.tensors().get(t).name(), t);
    }
    List<Manifest.TensorEntry> entries = new ArrayList<>();
    long elements = 0;
    long codeBytes = 0;
    long clippedTotal = 0;
    int skipped = 0;
    MessageDigest fingerprint = sha256();
    for (Model.SourceFile f : model.files()) {
      update(fingerprint, new Path(f.path()).getName() + "\0" + f.size() + "\0" + Crc32c.hex(f.headerCrc32c()) + "\n");
    }
    for (TensorInfo info : model.tensors()) {
      Integer t = index.get(info.name());
      if (t == null) {
        skipped++;
        String keep = keepReason(info.name());
        boolean kept = info.dtype().quantizable() && keep != null;
        entries.add(new Manifest.TensorEntry(
            info.name(), info.dtype().name(), shape(info),
            kept ? Manifest.TensorEntry.KEPT_FLOAT : Manifest.TensorEntry.SKIPPED,
            kept ? keep
                : "integer dtype " + info.dtype() + ": not quantized, kept in the source model",
            info.elements(), null, null, null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, info.file(), info.dataStart(), info.byteLength(), null, null, null, null, null, null, null,
            null));
        continue;
      }
      update(fingerprint, info.name() + "\0" + Crc32c.hex(stats[t].crc) + "\n");
      entries.add(quantizedEntry(info, stats[t], params[t], specs[t], calibrated[t], clipped[t], codesHex[t],
          chunkCount[t], List.copyOf(shardsOf.get(t)), finiteOrNull(measured.roundTrip[t].sqnrDb()),
          measured.roundTrip[t].mse()));
      elements += info.elements();
      codeBytes += 2 * info.elements();
      clippedTotal += clipped[t];
    }
    List<Manifest.SourceFile> files = new ArrayList<>();
    for (Model.SourceFile f : model.files()) {
      files.add(new Manifest.SourceFile(f.path(), f.size(), Crc32c.hex(f.headerCrc32c())));
    }
    return new Manifest(
        Manifest.FORMAT,
        Manifest.FORMAT_VERSION,
        new Manifest.Tool("q16", VERSION),
        Instant.now().toString(),
        new Manifest.Source(options.model(), HexFormat.of().formatHex(fingerprint.digest()), files),
        config(),
        new Manifest.Totals(
            model.tensors().size(), model.tensors().size() - skipped, skipped, elements,
            model.totalBytes(), codeBytes, clippedTotal),
        shards,
        entries);
  }



  /**
   * What the quantize pass measured, merged per tensor in chunk order (so the sums do not depend on
   * which executor reported first): round-trip error and |x| histogram, and the range of the
   * per-unit scales (NaN where the parameters are per tensor).
   */
  private static final class Measured {
    final RoundTripStats[] roundTrip;
    final float[] scaleMin;
    final float[] scaleMax;

    private Measured(int tensors) {
      roundTrip = new RoundTripStats[tensors];
      scaleMin = new float[tensors];
      scaleMax = new float[tensors];
    }

    /** Reused tensors (quantize --incremental) have what the previous run measured. */
    static Measured of(Plan plan, ChunkOutcome[] outcomes, float[] absmax, boolean[] reused, Incremental previous) {
      Measured m = new Measured(absmax.length);
      for (int t = 0; t < absmax.length; t++) {
        m.roundTrip[t] = new RoundTripStats(absmax[t], RoundTripStats.REPORT_BINS);
        m.scaleMin[t] = Float.NaN;
        m.scaleMax[t] = Float.NaN;
        if (reused[t]) {
          String name = plan.tensors().get(t).name();
          m.roundTrip[t] = previous.roundTrip(name);
          QuantizeReport.Tensor was = previous.reported(name);
          m.scaleMin[t] = was.scaleMin() == null ? Float.NaN : was.scaleMin();
          m.scaleMax[t] = was.scaleMax() == null ? Float.NaN : was.scaleMax();
        }
      }
      for (int i = 0; i < outcomes.length; i++) {
        int t = plan.chunks().get(i).tensor();
        if (reused[t]) {
          continue;
        }
        ChunkOutcome o = outcomes[i];
        m.roundTrip[t].merge(o.roundTrip());
        if (!Float.isNaN(o.scaleMin())) {
          m.scaleMin[t] = Float.isNaN(m.scaleMin[t]) ? o.scaleMin() : Math.min(m.scaleMin[t], o.scaleMin());
          m.scaleMax[t] = Float.isNaN(m.scaleMax[t]) ? o.scaleMax() : Math.max(m.scaleMax[t], o.scaleMax());
        }
      }
      return m;
    }
  }

  /** The report of the quantized tensors, in manifest order, from the manifest and what was measured. */
  private QuantizeReport.Report report(Manifest manifest, Plan plan, float[] threshold, Measured measured) {
    Map<String, Integer> index = new java.util.HashMap<>();
    for (int t = 0; t < plan.tensors().size(); t++) {
      index.put(plan.tensors().get(t).name(), t);
    }
    List<QuantizeReport.Tensor> tensors = new ArrayList<>();
    List<QuantizeReport.Skipped> skipped = new ArrayList<>();
    double sumX2 = 0;
    double sumE2 = 0;
    for (Manifest.TensorEntry e : manifest.tensors()) {
      Integer t = index.get(e.name());
      if (t == null) {
        skipped.add(new QuantizeReport.Skipped(e.name(), e.dtype(), e.status(), e.reason()));
        continue;
      }
      RoundTripStats rt = measured.roundTrip[t];
      sumX2 += rt.sumX2();
      sumE2 += rt.sumE2();
      boolean perUnit = !Float.isNaN(measured.scaleMin[t]);
      tensors.add(new QuantizeReport.Tensor(e.name(), e.dtype(), e.scheme(), e.granularity(),
          options.calibration() == null ? "minmax" : "calibration file", threshold[t], rt.hi(), e.scale(),
          perUnit ? measured.scaleMin[t] : null, perUnit ? measured.scaleMax[t] : null, perUnit ? e.units() : null,
          e.elements(), rt.count(), e.clipped(), e.elements() == 0 ? 0 : (double) e.clipped() / e.elements(),
          e.sqnrDb(), rt.mse(), rt.maxAbsErr(), new QuantizeReport.Histogram(rt.hi(), rt.bins()), rt.sumX2(),
          rt.sumE2()));
    }
    return new QuantizeReport.Report(QuantizeReport.FORMAT, QuantizeReport.FORMAT_VERSION, options.out(),
        options.model(), options.scheme().cliName(), manifest.config().granularity(), calibrationName(),
        manifest.totals().elements(), manifest.totals().clipped(),
        finiteOrNull(io.q16.quant.ErrorStats.sqnrDb(sumX2, sumE2)), tensors, skipped);
  }

  private static Double finiteOrNull(double v) {
    return Double.isFinite(v) ? v : null;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void update(MessageDigest md, String s) {
    md.update(s.getBytes(StandardCharsets.UTF_8));
  }
}
