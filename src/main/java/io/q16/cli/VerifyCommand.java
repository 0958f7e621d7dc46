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

  @Override
  public Integer call() throws Exception {
    SparkSession spark = Sessions.get("q16 verify");
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
}
