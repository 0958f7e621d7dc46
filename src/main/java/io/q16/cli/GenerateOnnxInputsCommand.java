package io.q16.cli;

import io.q16.Units;
import io.q16.spark.GenerateOnnxInputsJob;
import io.q16.spark.Sessions;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code q16 generate onnx-inputs MODEL.onnx --out PATH}: a seeded dataset of model inputs. */
@Command(
    name = "onnx-inputs",
    mixinStandardHelpOptions = true,
    description = {
      "Write a seeded dataset of inputs for MODEL.onnx to PATH (a Parquet directory, any Hadoop path) in the format"
          + " calibrate MODEL.onnx --activations reads: one row per sample, one ARRAY column per graph input named"
          + " as the input, <input>__shape ARRAY<BIGINT> where the input has symbolic axes after the first, and"
          + " sample (BIGINT). Each sample has the declared shape with the leading symbolic (batch) axis 1 and"
          + " every later symbolic axis --seq-len. Values: float inputs Gaussian; integer inputs named *mask* ones,"
          + " *type* zeros (one segment), *position* the position along the last axis, *ids* uniform in"
          + " [0, --vocab), others zeros; bool inputs named *mask* true. Rows are computed on executors from the"
          + " seed and the sample number: the same arguments give the same rows.",
      ""
    })
final class GenerateOnnxInputsCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  @Parameters(paramLabel = "MODEL", description = "The .onnx model whose declared inputs are generated.")
  String model;

  @Option(names = "--out", required = true, paramLabel = "PATH", description = "The directory to write (must not exist).")
  String out;

  @Option(names = "--samples", paramLabel = "N", defaultValue = "64", description = "Samples (rows). Default: ${DEFAULT-VALUE}.")
  long samples;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--seq-len", paramLabel = "L", defaultValue = "128",
      description = "Size of every symbolic axis after the first (sequence length). Default: ${DEFAULT-VALUE}.")
  int seqLen;

  @Option(names = "--vocab", paramLabel = "V", defaultValue = "1000",
      description = "Token ids are uniform in [0, V): at most the model's vocabulary (30522 for BERT's)."
          + " Default: ${DEFAULT-VALUE}.")
  long vocab;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
      description = "Files (one task each); 0: one per core.")
  int partitions;

  @Override
  public Integer call() throws Exception {
    GenerateOnnxInputsJob.Result r = GenerateOnnxInputsJob.run(Sessions.get("q16 generate onnx-inputs"),
        new GenerateOnnxInputsJob.Options(model, out, samples, seed, seqLen, vocab, partitions), System.err);
    System.err.printf(Locale.ROOT, "q16 generate onnx-inputs: %s, %d samples, %s in %s in %.1fs%n", r.out(), r.rows(),
        Units.bytes(r.bytes()), Units.count(r.files(), "file"), r.seconds());
    return 0;
  }
}
