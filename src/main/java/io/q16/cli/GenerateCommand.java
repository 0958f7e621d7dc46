package io.q16.cli;

import io.q16.Errors;
import io.q16.Units;
import io.q16.format.SyntheticModel;
import io.q16.fs.HadoopFs;
import java.io.OutputStream;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code q16 generate FILE --size-mb N}: a seeded synthetic model for trials and benchmarks;
 * {@code q16 generate activations ...}: an activation dataset.
 */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    subcommands = {GenerateActivationsCommand.class, GenerateOnnxInputsCommand.class},
    description = {
      "Write a seeded synthetic F32 safetensors model of about SIZE MiB to FILE (any Hadoop path),"
          + " in constant memory: for trying Q16 at scale and for benchmarks. The same arguments"
          + " always give the same bytes. FILE is written under a temporary name and renamed when"
          + " complete.",
      "",
      "generate activations --out PATH writes a synthetic activation dataset instead, generate onnx-inputs MODEL.onnx"
          + " --out PATH a dataset of inputs for an ONNX model (each has its own --help).",
      ""
    })
final class GenerateCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  // Not required to picocli, which would demand them of `generate activations` too: checked in call().
  @Parameters(paramLabel = "FILE", arity = "0..1", description = "The .safetensors file to write (must not exist).")
  String file;

  @Option(names = "--size-mb", paramLabel = "MiB", description = "Total tensor bytes (required).")
  Double sizeMb;

  @Option(names = "--tensor-mb", paramLabel = "MiB", defaultValue = "64",
      description = "Bytes per tensor (the last may be smaller). Default: ${DEFAULT-VALUE}.")
  double tensorMb;

  @Option(names = "--seed", defaultValue = "1", description = "Seed. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Override
  public Integer call() throws Exception {
    if (file == null || sizeMb == null) {
      throw Errors.usage("generate needs FILE and --size-mb MiB (or: generate activations --out PATH)");
    }
    long total = QuantizeCommand.mib("--size-mb", sizeMb);
    long perTensor = QuantizeCommand.mib("--tensor-mb", tensorMb);
    Configuration conf = new Configuration();
    Path target = new Path(file);
    FileSystem fs = HadoopFs.fileSystem(target, conf);
    if (fs.exists(target)) {
      throw Errors.output(file, "exists; refusing to overwrite it");
    }
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
    long t0 = System.nanoTime();
    try (OutputStream out = fs.create(tmp, true)) {
      SyntheticModel.write(out, total, perTensor, seed);
    } catch (RuntimeException | java.io.IOException e) {
      fs.delete(tmp, false);
      throw e;
    }
    if (!fs.rename(tmp, target)) {
      throw Errors.output(file, "cannot rename " + tmp + " into place");
    }
    System.err.printf("q16 generate: %s, %s in %.1fs%n", file, Units.bytes(fs.getFileStatus(target).getLen()),
        (System.nanoTime() - t0) / 1e9);
    return 0;
  }
}
