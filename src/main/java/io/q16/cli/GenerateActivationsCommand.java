package io.q16.cli;

import io.q16.Units;
import io.q16.spark.GenerateActivationsJob;
import io.q16.spark.Sessions;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code q16 generate activations --out PATH}: a seeded synthetic activation dataset. */
@Command(
    name = "activations",
    mixinStandardHelpOptions = true,
    description = {
      "Write a seeded synthetic activation dataset to PATH (a Parquet directory, any Hadoop path) in the"
          + " format calibrate --activations reads: one row per (sample, tensor), columns tensor, sample,"
          + " values (ARRAY<FLOAT>) and shape. Tensors alternate layers.L.attn.out (Gaussian with two outlier"
          + " channels and rare spikes) and layers.L.mlp.act (GELU with a stretched tail). Rows are computed on"
          + " executors from the seed and their coordinates and written by Spark's Parquet writer: the same"
          + " arguments give the same rows in the same files.",
      ""
    })
final class GenerateActivationsCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  @Option(names = "--out", required = true, paramLabel = "PATH", description = "The directory to write (must not exist).")
  String out;

  @Option(names = "--tensors", paramLabel = "N", defaultValue = "4", description = "Tensors. Default: ${DEFAULT-VALUE}.")
  int tensors;

  @Option(names = "--samples", paramLabel = "S", defaultValue = "64",
      description = "Samples (rows per tensor). Default: ${DEFAULT-VALUE}.")
  long samples;

  @Option(names = "--values-per-sample", paramLabel = "V", defaultValue = "4096",
      description = "float32 values per row. Default: ${DEFAULT-VALUE}.")
  int values;

  @Option(names = "--seed", defaultValue = "1", description = "Seed. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
      description = "Files (one task each); 0: about one per 128 MiB.")
  int partitions;

  @Option(names = "--row-group-mb", paramLabel = "MiB", defaultValue = "16",
      description = "Parquet row group size: what a reader holds per task. Default: ${DEFAULT-VALUE}.")
  double rowGroupMb;

  @Option(names = "--compression", paramLabel = "CODEC", defaultValue = "snappy",
      description = "Parquet codec (none, snappy, zstd, ...). Default: ${DEFAULT-VALUE}.")
  String compression;

  @Override
  public Integer call() throws Exception {
    GenerateActivationsJob.Result r = GenerateActivationsJob.run(Sessions.get("q16 generate activations"),
        new GenerateActivationsJob.Options(out, tensors, samples, values, seed, partitions,
            QuantizeCommand.mib("--row-group-mb", rowGroupMb), QuantizeCommand.codec(compression)), System.err);
    System.err.printf(Locale.ROOT, "q16 generate activations: %s, %d rows, %s in %s in %.1fs%n", r.out(), r.rows(),
        Units.bytes(r.bytes()), Units.count(r.files(), "file"), r.seconds());
    return 0;
  }
}
