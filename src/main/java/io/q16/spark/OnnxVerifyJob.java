package io.q16.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.q16.Errors;
import io.q16.format.Model;
import io.q16.format.OnnxReader;
import io.q16.fs.HadoopFs;
import io.q16.fs.OutputDir;
import io.q16.onnx.InputGenerator;
import io.q16.onnx.OutputComparison;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 verify EXPORT} for an ONNX export: runs the float source model and the exported
 * model in ONNX Runtime on the same held-out inputs (a Parquet dataset of model inputs, or seeded
 * generated ones) on executors, and reports per model output max |diff|, cosine similarity (over
 * all samples, and the lowest of any sample) and, for [rows, classes] outputs, top-1 agreement.
 * Tasks return one accumulator per output; the driver merges them in partition order.
 */
public final class OnnxVerifyJob {
  public static final String REPORT_FILE = "verify.json";

  /** What to compare on. */
  public record Options(String dir, String inputs, long generate, long seed, Map<String, Long> dims,
      Map<String, long[]> ranges, int partitions, double minCosine) {}

  /** One output's figures. */
  public record OutputReport(String name, long samples, long elements, double maxAbsDiff, double cosine,
      double minSampleCosine, Double top1Agreement, long top1Rows, long nonFinite, boolean ok) {}

  /** The verdict: ok when every output's cosine reaches {@code minCosine}. */
  public record Report(String export, String kind, String floatModel, String quantizedModel, String inputs,
      long samples, double minCosine, List<OutputReport> outputs, double seconds) {
    public boolean ok() {
      return !outputs.isEmpty() && outputs.stream().allMatch(OutputReport::ok);
    }
  }

  private OnnxVerifyJob() {}

  /** True when {@code dir} holds an ONNX export (its q16-export.json says onnx-qdq or onnx-fake-quant). */
  public static boolean isOnnxExport(String dir, Configuration conf) throws IOException {
    String marker = new Path(dir, ExportJob.MARKER).toString();
    if (HadoopFs.statusOrNull(marker, conf) == null) {
      return false;
    }
    return readMarker(marker, conf).path("kind").asText().startsWith("onnx-");
  }

  private static JsonNode readMarker(String marker, Configuration conf) throws IOException {
    try {
      return new ObjectMapper().readTree(HadoopFs.readSmall(marker, conf, 64L << 20, "export record"));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw Errors.badFile(marker, "is not valid JSON: " + e.getOriginalMessage());
    }
  }

  public static Report run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    String markerPath = new Path(o.dir(), ExportJob.MARKER).toString();
    JsonNode marker = readMarker(markerPath, conf);
    String source = marker.path("source").asText(null);
    if (source == null) {
      throw Errors.badFile(markerPath, "names no source model");
    }
    if ((o.inputs() == null) == (o.generate() <= 0)) {
      throw Errors.usage("verify of an ONNX export needs --inputs PATH or --generate-inputs N (one of them)");
    }
    io.q16.format.OnnxModel srcModel = OnnxReader.read(source, conf);
    Model src = srcModel.model();
    List<String> srcPaths = new ArrayList<>();
    List<String> srcRel = new ArrayList<>();
    URI base = new Path(src.files().get(0).path()).getParent().toUri();
    for (Model.SourceFile f : src.files()) {
      srcPaths.add(f.path());
      srcRel.add(base.relativize(new Path(f.path()).toUri()).getPath());
    }
    List<String> qPaths = new ArrayList<>();
    List<String> qRel = new ArrayList<>();
    for (JsonNode f : marker.path("files")) {
      String rel = f.path("path").asText();
      String p = new Path(o.dir(), rel).toString();
      if (HadoopFs.statusOrNull(p, conf) == null) {
        throw Errors.badFile(p, "listed in " + ExportJob.MARKER + " is missing");
      }
      qPaths.add(p);
      qRel.add(rel);
    }
    int model = qRel.indexOf(OnnxExportJob.MODEL_FILE);
    if (model < 0) {
      throw Errors.badFile(markerPath, "lists no " + OnnxExportJob.MODEL_FILE);
    }
    // The .onnx goes first.
    qPaths.add(0, qPaths.remove(model));
    qRel.add(0, qRel.remove(model));
    OnnxCompare.ModelFiles floatFiles = new OnnxCompare.ModelFiles(srcPaths, srcRel);
    OnnxCompare.ModelFiles quantFiles = new OnnxCompare.ModelFiles(qPaths, qRel);
    Broadcast<HadoopConf> hconf = jsc.broadcast(new HadoopConf(conf));
    int parallelism = o.partitions() > 0 ? o.partitions() : spark.sparkContext().defaultParallelism();
    List<OutputComparison> parts;
    String inputs;
    if (o.inputs() != null) {
      inputs = o.inputs();
      // The same reader, checks and errors as calibrate's model inputs: one line naming the file,
      // row and column of a bad sample.
      io.q16.format.OnnxActivations acts = io.q16.format.OnnxActivations.of(source, srcModel, conf);
      OnnxInputs in = OnnxInputs.open(spark, o.inputs(), acts.path(), acts.inputs(), o.partitions());
      try {
        parts = in.rows(parallelism)
            .mapPartitionsWithIndex(new OnnxCompare.Rows(hconf, floatFiles, quantFiles, in.spec(1)), false)
            .collect();
      } finally {
        in.release();
      }
    } else {
      inputs = o.generate() + " generated samples (seed " + o.seed() + ")";
      InputGenerator gen = new InputGenerator(o.seed(), o.dims(), o.ranges());
      // Sample ids made on the executors, not N boxed longs shipped from the driver.
      parts = spark.range(0, o.generate(), 1, (int) Math.max(1, Math.min(parallelism, o.generate()))).javaRDD()
          .mapPartitionsWithIndex(new OnnxCompare.Generated(hconf, floatFiles, quantFiles, gen), false)
          .collect();
    }
    // Merged in partition order: the same partitions give the same figures, whichever task ended first.
    List<OutputComparison> sorted = new ArrayList<>(parts);
    sorted.sort(Comparator.comparingInt(OutputComparison::partition));
    Map<String, OutputComparison> merged = new LinkedHashMap<>();
    for (OutputComparison c : sorted) {
      OutputComparison m = merged.get(c.name());
      if (m == null) {
        merged.put(c.name(), c);
      } else {
        m.merge(c);
      }
    }
    List<OutputReport> outputs = new ArrayList<>();
    long samples = 0;
    for (OutputComparison c : merged.values()) {
      samples = Math.max(samples, c.samples());
      outputs.add(new OutputReport(c.name(), c.samples(), c.elements(), c.maxAbsDiff(), c.cosine(), c.minSampleCosine(),
          c.top1Rows() == 0 ? null : c.top1Agreement(), c.top1Rows(), c.nonFinite(),
          c.cosine() >= o.minCosine() && c.nonFinite() == 0));
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    progress.printf(Locale.ROOT, "[verify] %d samples through %s and %s in ONNX Runtime, %.1fs%n", samples, source,
        qPaths.get(0), seconds);
    return new Report(o.dir(), marker.path("kind").asText(), source, qPaths.get(0), inputs, samples, o.minCosine(),
        outputs, seconds);
  }

  /** Writes EXPORT/verify.json and EXPORT/report/index.html (atomically each). */
  public static void writeReport(Report r, Configuration conf) throws IOException {
    Path target = new Path(r.export(), REPORT_FILE);
    org.apache.hadoop.fs.FileSystem fs = HadoopFs.fileSystem(target, conf);
    OutputDir.writeAtomically(fs, target, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValueAsBytes(r));
    io.q16.report.HtmlReport h = new io.q16.report.HtmlReport("Q16 verify: " + r.export());
    h.paragraph((r.ok() ? "PASSED" : "FAILED") + ": " + r.kind() + " model " + r.quantizedModel() + " against the float model "
        + r.floatModel() + " in ONNX Runtime on " + r.inputs() + "; each output's cosine must reach " + r.minCosine() + ".");
    List<List<String>> rows = new ArrayList<>();
    for (OutputReport o : r.outputs()) {
      rows.add(List.of(o.name(), Long.toString(o.samples()), String.format(Locale.ROOT, "%.3e", o.maxAbsDiff()),
          String.format(Locale.ROOT, "%.9f", o.cosine()), String.format(Locale.ROOT, "%.9f", o.minSampleCosine()),
          o.top1Agreement() == null ? "-" : String.format(Locale.ROOT, "%.4f of %d", o.top1Agreement(), o.top1Rows()),
          Long.toString(o.nonFinite()), o.ok() ? "ok" : "FAIL"));
    }
    h.table(List.of("output", "samples", "max|diff|", "cosine", "min sample cosine", "top-1 agreement", "non-finite",
        "status"), rows);
    Path html = new Path(r.export(), "report/index.html");
    fs.mkdirs(html.getParent());
    OutputDir.writeAtomically(fs, html, h.toBytes());
  }
}
