package io.q16.spark;

import io.q16.Errors;
import io.q16.export.ModelExport;
import io.q16.format.Crc32c;
import io.q16.format.Manifest;
import io.q16.format.Model;
import io.q16.format.ModelReader;
import io.q16.fs.HadoopFs;
import io.q16.fs.OutputDir;
import io.q16.quant.Codes;
import io.q16.quant.ErrorStats;
import io.q16.quant.QuantParams;
import io.q16.quant.TensorSpec;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 verify}: reads the shards back on executors, dequantizes, compares with the source,
 * and checks everything the manifest promises: every element present once, codes checksums,
 * shard checksums, clipped counts and the round-trip bound.
 */
public final class VerifyJob {
  public static final String REPORT_FILE = "verify.json";
  public static final String HTML_FILE = "verify.html";

  /**
   * One tensor's verdict.
   *
   * @param problems what failed, empty when the tensor passes
   */
  public record TensorReport(
      String name,
      long elements,
      float scale,
      int zeroPoint,
      double maxAbsErr,
      double maxErrOverHalfScale,
      double mse,
      double sqnrDb,
      double cosine,
      long clipped,
      long boundViolations,
      List<String> problems) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  /** The whole verdict; {@link #ok()} only if every tensor and every shard passes. */
  public record Report(String output, String source, List<TensorReport> tensors, List<String> problems, double seconds) {
    public boolean ok() {
      return problems.isEmpty() && tensors.stream().allMatch(TensorReport::ok);
    }
  }

  private VerifyJob() {}

  public static Report run(SparkSession spark, String dir, String sourceOverride, PrintStream progress)
      throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Manifest manifest = readManifest(dir, conf);
    Map<String, Long> sourceSizes = new HashMap<>();
    for (Manifest.SourceFile f : manifest.source().files()) {
      sourceSizes.put(f.path(), f.size());
    }
    Model override = sourceOverride == null ? null : ModelReader.read(sourceOverride, conf);
    Map<String, TensorInfo> overrideByName = new HashMap<>();
    if (override != null) {
      for (TensorInfo info : override.tensors()) {
        overrideByName.put(info.name(), info);
      }
    }
    List<String> problems = new ArrayList<>();
    Map<String, VerifyFunction.TensorRef> refs = new HashMap<>();
    for (Manifest.TensorEntry t : manifest.tensors()) {
      if (!Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
        continue;
      }
      String file = t.sourceFile();
      long dataStart = t.sourceOffset();
      if (override != null) {
        TensorInfo info = overrideByName.get(t.name());
        if (info == null) {
          throw Errors.badTensor(sourceOverride, t.name(), "is in the manifest but not in this model");
        }
        file = info.file();
        dataStart = info.dataStart();
      } else {
        checkSourceUnchanged(file, sourceSizes.get(file), conf);
      }
      refs.put(t.name(), tensorRef(t, file, dataStart));
    }

    List<String> shardPaths = new ArrayList<>();
    for (Manifest.Shard s : manifest.shards()) {
      String p = new Path(dir, s.path()).toString();
      if (HadoopFs.statusOrNull(p, conf) == null) {
        throw Errors.badFile(p, "shard listed in the manifest is missing");
      }
      shardPaths.add(p);
    }
    Broadcast<HadoopConf> hconf = jsc.broadcast(new HadoopConf(conf));
    List<VerifyRow> rows = new ArrayList<>();
    if (!shardPaths.isEmpty()) {
      List<FileChecksum> sums =
          spark.createDataset(jsc.parallelize(shardPaths, shardPaths.size()).rdd(), Encoders.STRING())
              .map(new FileChecksumFunction(hconf, false), FileChecksum.ENCODER)
              .collectAsList();
      // A damaged shard is reported and not read: its bytes may not even parse as Parquet, and its
      // tensors then report their missing rows instead of the job dying on a reader error.
      List<String> intact = new ArrayList<>();
      for (int i = 0; i < sums.size(); i++) {
        Manifest.Shard s = manifest.shards().get(i);
        FileChecksum c = sums.get(i);
        if (c.getBytes() != s.bytes() || !Crc32c.hex(c.getCrc32c()).equals(s.crc32c())) {
          problems.add("shard " + s.path() + ": " + c.getBytes() + " bytes, crc32c " + Crc32c.hex(c.getCrc32c())
              + "; manifest says " + s.bytes() + " bytes, crc32c " + s.crc32c() + " (not read)");
        } else {
          intact.add(shardPaths.get(i));
        }
      }
      shardPaths = intact;
      Broadcast<Map<String, VerifyFunction.TensorRef>> brefs = jsc.broadcast(refs);
      long t1 = System.nanoTime();
      // A row is a whole chunk of codes (megabytes): the vectorized reader's default batch of
      // 4096 rows would grow its buffers to a row group's size several times over.
      String batchKey = "spark.sql.parquet.columnarReaderBatchSize";
      String previousBatch = spark.conf().get(batchKey, null);
      spark.conf().set(batchKey, "1");
      try {
        rows = shardPaths.isEmpty() ? new ArrayList<>() : spark.read()
            .parquet(shardPaths.toArray(new String[0]))
            .select(ShardSchema.TENSOR, ShardSchema.CHUNK, ShardSchema.OFFSET, ShardSchema.COUNT, ShardSchema.CODES,
                ShardSchema.SCALES, ShardSchema.ZERO_POINTS)
            .mapPartitions(new VerifyFunction(hconf, brefs), Encoders.bean(VerifyRow.class))
            .collectAsList();
      } finally {
        if (previousBatch == null) {
          spark.conf().unset(batchKey);
        } else {
          spark.conf().set(batchKey, previousBatch);
        }
      }
      progress.printf("[verify] %s from %s compared with the source in %.1fs%n",
          io.q16.Units.count(rows.size(), "row"), io.q16.Units.count(shardPaths.size(), "shard"),
          (System.nanoTime() - t1) / 1e9);
    }

    Map<String, List<VerifyRow>> byTensor = new HashMap<>();
    for (VerifyRow r : rows) {
      byTensor.computeIfAbsent(r.getTensor(), k -> new ArrayList<>()).add(r);
    }
    List<TensorReport> reports = new ArrayList<>();
    for (Manifest.TensorEntry t : manifest.tensors()) {
      if (Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
        reports.add(tensorReport(t, byTensor.remove(t.name())));
      }
    }
    for (String extra : byTensor.keySet()) {
      problems.add("shards hold rows for tensor '" + extra + "', which the manifest does not list");
    }
    return new Report(dir, sourceOverride != null ? sourceOverride : manifest.source().location(),
        reports, problems, (System.nanoTime() - t0) / 1e9);
  }

  private static VerifyFunction.TensorRef tensorRef(Manifest.TensorEntry t, String file, long dataStart) {
    TensorSpec spec = ModelExport.spec(t);
    int shift = spec.unsigned() ? Codes.UNSIGNED_OFFSET : 0;
    QuantParams params = t.scale() == null ? null
        : new QuantParams(t.scale(), t.zeroPoint() - shift, t.qmin() - shift, t.qmax() - shift);
    return new VerifyFunction.TensorRef(file, dataStart, t.dtype(), params, spec);
  }

  private static TensorReport tensorReport(Manifest.TensorEntry t, List<VerifyRow> rows) {
    List<String> problems = new ArrayList<>();
    ErrorStats stats = new ErrorStats();
    if (rows == null) {
      rows = new ArrayList<>(); // an empty tensor has no rows
    }
    rows.sort(Comparator.comparingInt(VerifyRow::getChunk));
    long next = 0;
    int crc = 0;
    long crcBytes = 0;
    for (int i = 0; i < rows.size(); i++) {
      VerifyRow r = rows.get(i);
      if (r.getChunk() != i || r.getOffset() != next) {
        problems.add("chunk " + r.getChunk() + " at element " + r.getOffset() + " where chunk " + i
            + " at element " + next + " was expected (missing or duplicate rows)");
        break;
      }
      next += r.getCount();
      crc = crcBytes == 0 ? r.getCodesCrc32c() : Crc32c.combine(crc, r.getCodesCrc32c(), 2L * r.getCount());
      crcBytes += 2L * r.getCount();
      stats.merge(r.stats());
    }
    if (problems.isEmpty() && next != t.elements()) {
      problems.add("shards hold " + next + " elements, the tensor has " + t.elements());
    }
    if (problems.isEmpty() && t.elements() > 0 && !Crc32c.hex(crc).equals(t.codesCrc32c())) {
      problems.add("codes crc32c " + Crc32c.hex(crc) + " differs from the manifest's " + t.codesCrc32c());
    }
    if (stats.boundViolations() > 0) {
      problems.add(stats.boundViolations() + " values farther than scale/2 from the source");
    }
    long expectedClipped = stats.clipped() + t.posInf() + t.negInf();
    if (problems.isEmpty() && expectedClipped != t.clipped()) {
      problems.add("measured " + expectedClipped + " clipped values, the manifest says " + t.clipped());
    }
    return new TensorReport(t.name(), t.elements(), t.scale() == null ? Float.NaN : t.scale(),
        t.zeroPoint() == null ? 0 : t.zeroPoint(), stats.maxAbsErr(),
        stats.maxErrOverHalfScale(), stats.mse(), stats.sqnrDb(), stats.cosine(), t.clipped(),
        stats.boundViolations(), problems);
  }

  static Manifest readManifest(String dir, Configuration conf) throws IOException {
    String path = new Path(dir, Manifest.FILE_NAME).toString();
    if (HadoopFs.statusOrNull(dir, conf) == null) {
      throw Errors.missing(dir);
    }
    if (HadoopFs.statusOrNull(path, conf) == null) {
      throw Errors.badFile(dir, "no " + Manifest.FILE_NAME + ": not a Q16 output, or an incomplete one");
    }
    try {
      Manifest m = Manifest.fromJson(HadoopFs.readSmall(path, conf, 64L << 20, "manifest"));
      if (!Manifest.FORMAT.equals(m.format()) || m.formatVersion() > Manifest.FORMAT_VERSION) {
        throw Errors.badFile(path, "format " + m.format() + " version " + m.formatVersion()
            + " is not one this Q16 reads (" + Manifest.FORMAT + " <= " + Manifest.FORMAT_VERSION + ")");
      }
      return m;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw Errors.badFile(path, "manifest is not valid: " + e.getOriginalMessage());
    }
  }

  private static void checkSourceUnchanged(String file, Long size, Configuration conf) throws IOException {
    var status = HadoopFs.statusOrNull(file, conf);
    if (status == null) {
      throw Errors.badFile(file, "source file named by the manifest is missing (use --source to point at the model)");
    }
    if (size != null && status.getLen() != size) {
      throw Errors.badFile(file, "source file is " + status.getLen() + " bytes, the manifest recorded " + size
          + ": the model changed since quantization");
    }
  }

  /**
   * Writes report/verify.html: SQNR per layer and the per-tensor errors (the same data as
   * {@link #writeReport}'s verify.json). Beside quantize's report/index.html, which it leaves alone.
   */
  public static void writeHtml(Report report, Configuration conf) throws IOException {
    io.q16.report.HtmlReport r = new io.q16.report.HtmlReport("Q16 verify: " + report.output());
    r.paragraph((report.ok() ? "PASSED" : "FAILED") + ": " + report.tensors().size() + " tensors compared with "
        + report.source() + ". err/bound is max |x - x^| over the scheme's bound (scale/2 for linear schemes)."
        + " The quantize report (thresholds, histograms) is index.html beside this page.");
    List<String> labels = new ArrayList<>();
    double[] sqnr = new double[report.tensors().size()];
    List<List<String>> rows = new ArrayList<>();
    int i = 0;
    for (TensorReport t : report.tensors()) {
      labels.add(t.name());
      sqnr[i++] = t.sqnrDb();
      rows.add(List.of(t.name(), Float.isNaN(t.scale()) ? "per unit" : String.format(java.util.Locale.ROOT, "%.5e", t.scale()),
          String.format(java.util.Locale.ROOT, "%.5e", t.maxAbsErr()),
          String.format(java.util.Locale.ROOT, "%.6f", t.maxErrOverHalfScale()),
          String.format(java.util.Locale.ROOT, "%.5e", t.mse()), String.format(java.util.Locale.ROOT, "%.2f", t.sqnrDb()),
          String.format(java.util.Locale.ROOT, "%.10f", t.cosine()), Long.toString(t.clipped()),
          t.ok() ? "ok" : "FAIL: " + String.join("; ", t.problems())));
    }
    r.sqnrByLayer("SQNR per layer (dB), measured against the source", labels, sqnr);
    r.table(List.of("tensor", "scale", "max|x-x^|", "err/bound", "MSE", "SQNR dB", "cosine", "clipped", "status"), rows);
    for (String p : report.problems()) {
      r.paragraph("FAIL: " + p);
    }
    writeInto(report.output(), QuantizeJob.REPORT_DIR + "/" + HTML_FILE, r.toBytes(), conf);
  }

  /** Writes a report file into an existing output directory, atomically. */
  private static void writeInto(String dir, String name, byte[] bytes, Configuration conf) throws IOException {
    Path target = new Path(dir, name);
    org.apache.hadoop.fs.FileSystem fs = HadoopFs.fileSystem(target, conf);
    fs.mkdirs(target.getParent());
    OutputDir.writeAtomically(fs, target, bytes);
  }

  /** Writes the report as JSON next to the manifest (atomically). */
  public static void writeReport(Report report, Configuration conf) throws IOException {
    Path target = new Path(report.output(), REPORT_FILE);
    byte[] json = new com.fasterxml.jackson.databind.ObjectMapper()
        .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
        .writeValueAsBytes(report);
    OutputDir.writeAtomically(HadoopFs.fileSystem(target, conf), target, json);
  }
}
