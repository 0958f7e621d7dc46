package io.q16.cli;

import io.q16.Q16Exception;
import io.q16.spark.Sessions;
import io.q16.spark.VerifyJob;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q16 verify DIR}. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Read DIR's shards back, dequantize, compare with the source model and check what the"
          + " manifest promises: every element present once, shard and codes checksums, clipped"
          + " counts, and |x - x^| <= scale/2 for every unclipped value (plus the float32 rounding"
          + " of x/scale and q*scale: 2^-24 (|x| + |x^|)).",
      "",
      "Prints per tensor max|x - x^|, MSE, SQNR and cosine, writes DIR/verify.json, and exits 1"
          + " if anything fails.",
      "",
      "DIR may also be an ONNX export (export --to onnx-qdq|onnx-fake-quant): the float source model and the"
          + " exported model then run in ONNX Runtime on executors on the same inputs (--inputs or"
          + " --generate-inputs), and each model output's max |diff|, cosine similarity and, for [rows, classes]"
          + " outputs, top-1 agreement go to DIR/verify.json and DIR/report/; exit 1 if a cosine is below"
          + " --min-cosine.",
      ""
    })
final class VerifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ConfigOption config;

  @Parameters(paramLabel = "DIR", description = "A Q16 output directory (holding manifest.json).")
  String dir;

  @Option(names = "--source", paramLabel = "MODEL",
      description = "The source model, if it moved since quantization (default: the manifest's).")
  String source;

  @Option(names = "--no-report", description = "Do not write DIR/verify.json and DIR/report/.")
  boolean noReport;

  @Option(names = "--inputs", paramLabel = "PATH",
      description = "ONNX exports: a Parquet dataset of model inputs, one row per sample, one column per model input"
          + " (its values as a flat array, row-major) and optionally <input>__shape (its shape; the format calibrate and generate onnx-inputs use).")
  String inputs;

  @Option(names = "--generate-inputs", paramLabel = "N", defaultValue = "0",
      description = "ONNX exports: N seeded samples generated from the model's declared inputs (float32 standard"
          + " normal, integers uniform in --input-range, default [0, 1]).")
  long generate;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of --generate-inputs.")
  long seed;

  @Option(names = "--dim", paramLabel = "NAME=N",
      description = "ONNX exports: the size of a symbolic input dimension for --generate-inputs (default 1); repeatable.")
  java.util.Map<String, Long> dims = new java.util.LinkedHashMap<>();

  @Option(names = "--input-range", paramLabel = "INPUT=LO:HI",
      description = "ONNX exports: the inclusive range of an integer input for --generate-inputs (token ids:"
          + " input_ids=0:30521); repeatable.")
  java.util.Map<String, String> ranges = new java.util.LinkedHashMap<>();

  @Option(names = "--min-cosine", paramLabel = "C", defaultValue = "0.999",
      description = "ONNX exports: the cosine every output must reach. Default: ${DEFAULT-VALUE}.")
  double minCosine;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
      description = "ONNX exports: tasks that run the models (each opens both once); 0: Spark's default parallelism.")
  int partitions;

  @Override
  public Integer call() throws Exception {
    SparkSession spark = Sessions.get("q16 verify");
    if (io.q16.spark.OnnxVerifyJob.isOnnxExport(dir, spark.sparkContext().hadoopConfiguration())) {
      return onnx(spark);
    }
    if (inputs != null || generate > 0) {
      throw io.q16.Errors.usage("--inputs and --generate-inputs verify an ONNX export (export --to onnx-qdq); "
          + dir + " is not one");
    }
    VerifyJob.Report r = VerifyJob.run(spark, dir, source, System.err);
    PrintWriter w = spec.commandLine().getOut();
    int nameWidth = Math.max(6, r.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(6));
    String head = "%-" + nameWidth + "s  %12s  %12s  %9s  %12s  %9s  %12s  %s%n";
    w.printf(Locale.ROOT, head, "tensor", "scale", "max|x-x^|", "err/bound", "MSE", "SQNR dB", "cosine", "status");
    for (VerifyJob.TensorReport t : r.tensors()) {
      w.printf(Locale.ROOT, "%-" + nameWidth + "s  %12s  %12.5e  %9.6f  %12.5e  %9.2f  %12.10f  %s%n",
          t.name(), Float.isNaN(t.scale()) ? "per unit" : String.format(Locale.ROOT, "%.5e", t.scale()),
          t.maxAbsErr(), t.maxErrOverHalfScale(), t.mse(), t.sqnrDb(), t.cosine(),
          t.ok() ? "ok" : "FAIL: " + String.join("; ", t.problems()));
    }
    for (String p : r.problems()) {
      w.println("FAIL: " + p);
    }
    long failed = r.tensors().stream().filter(t -> !t.ok()).count();
    w.printf(Locale.ROOT, "q16 verify: %s: %d tensors, %d failed, %d other problems (%.1fs)%n",
        r.ok() ? "PASSED" : "FAILED", r.tensors().size(), failed, r.problems().size(), r.seconds());
    if (!noReport) {
      VerifyJob.writeReport(r, spark.sparkContext().hadoopConfiguration());
      VerifyJob.writeHtml(r, spark.sparkContext().hadoopConfiguration());
    }
    return r.ok() ? 0 : Q16Exception.Kind.VERIFY_FAILED.exitCode();
  }

  private int onnx(SparkSession spark) throws java.io.IOException {
    java.util.Map<String, long[]> parsed = new java.util.LinkedHashMap<>();
    ranges.forEach((k, v) -> {
      String[] lohi = v.split(":", -1);
      try {
        if (lohi.length != 2) {
          throw new NumberFormatException();
        }
        parsed.put(k, new long[] {Long.parseLong(lohi[0].trim()), Long.parseLong(lohi[1].trim())});
      } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
        throw io.q16.Errors.usage("--input-range " + k + "=" + v + " is not LO:HI");
      }
    });
    io.q16.spark.OnnxVerifyJob.Report r = io.q16.spark.OnnxVerifyJob.run(spark, new io.q16.spark.OnnxVerifyJob.Options(
        dir, inputs, generate, seed, dims, parsed, partitions, minCosine), System.err);
    PrintWriter w = spec.commandLine().getOut();
    int width = Math.max(6, r.outputs().stream().mapToInt(o -> o.name().length()).max().orElse(6));
    w.printf(Locale.ROOT, "%-" + width + "s  %8s  %12s  %14s  %14s  %16s  %s%n", "output", "samples", "max|diff|",
        "cosine", "min cosine", "top-1 agreement", "status");
    for (io.q16.spark.OnnxVerifyJob.OutputReport o : r.outputs()) {
      w.printf(Locale.ROOT, "%-" + width + "s  %8d  %12.5e  %14.10f  %14.10f  %16s  %s%n", o.name(), o.samples(),
          o.maxAbsDiff(), o.cosine(), o.minSampleCosine(),
          o.top1Agreement() == null ? "-" : String.format(Locale.ROOT, "%.4f", o.top1Agreement()),
          o.ok() ? "ok" : "FAIL" + (o.nonFinite() > 0 ? " (" + o.nonFinite() + " non-finite)" : ""));
    }
    w.printf(Locale.ROOT, "q16 verify: %s: %s against %s on %s (%.1fs)%n", r.ok() ? "PASSED" : "FAILED",
        r.quantizedModel(), r.floatModel(), r.inputs(), r.seconds());
    if (!noReport) {
      io.q16.spark.OnnxVerifyJob.writeReport(r, spark.sparkContext().hadoopConfiguration());
    }
    return r.ok() ? 0 : Q16Exception.Kind.VERIFY_FAILED.exitCode();
  }
}
