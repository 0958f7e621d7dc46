package io.q16.cli;

import io.q16.Errors;
import io.q16.export.ModelExport;
import io.q16.spark.ExportJob;
import io.q16.spark.FileChecksum;
import io.q16.spark.Sessions;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q16 export DIR --to KIND --out OUT}. */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Write the Q16 output DIR as a model other tools load as they are.",
      "",
      "safetensors: <name> holds the int16 (or uint16) codes, <name>.scale (F32) and <name>.zero_point"
          + " (I32) the parameters, so x = (q - zero_point) * scale; their shape gives the granularity"
          + " ([] per tensor, [dim] per channel, [rows, groups] per group), __metadata__ names it.",
      "fake-quant: every quantized tensor as float32 dequantize(quantize(x)), same names and shapes,"
          + " for quantization-aware fine-tuning or accuracy evaluation in any framework.",
      "",
      "arrow: one Arrow IPC file per quantized tensor, <name>.arrow, whose codes column is an"
          + " arrow.fixed_shape_tensor of the tensor's rows (slices along axis 0) in record batches a reader"
          + " maps without copying; shape, scheme and per-tensor parameters in the schema metadata, per-channel"
          + " or per-group parameters in <name>.params.arrow.",
      "",
      "safetensors exports copy the tensors Q16 skipped from the source model. One file, or Hugging"
          + " Face-style shards and model.safetensors.index.json beyond --file-mb. OUT appears whole or not"
          + " at all.",
      ""
    })
final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ConfigOption config;

  @Parameters(paramLabel = "DIR", description = "A Q16 output directory (holding manifest.json).")
  String dir;

  @Option(names = "--to", required = true, paramLabel = "KIND", description = "safetensors, fake-quant or arrow.")
  String to;

  @Option(names = "--out", required = true, paramLabel = "OUT", description = "Output directory.")
  String out;

  @Option(names = "--file-mb", paramLabel = "MiB", defaultValue = "4096",
      description = "Largest output file before the model is split into shards. Default: ${DEFAULT-VALUE}.")
  double fileMb;

  @Option(names = "--arrow-batch-mb", paramLabel = "MiB", defaultValue = "16",
      description = "Codes per Arrow record batch (whole rows). Default: ${DEFAULT-VALUE}.")
  double arrowBatchMb;

  @Override
  public Integer call() throws Exception {
    ModelExport.Kind kind = switch (to.toLowerCase(Locale.ROOT)) {
      case "safetensors" -> ModelExport.Kind.INT16;
      case "fake-quant" -> ModelExport.Kind.FAKE_QUANT;
      case "arrow" -> ModelExport.Kind.ARROW;
      default -> throw Errors.usage("unknown --to '" + to + "' (safetensors, fake-quant or arrow)");
    };
    List<FileChecksum> files = ExportJob.run(Sessions.get("q16 export"),
        new ExportJob.Options(dir, out, kind, QuantizeCommand.mib("--file-mb", fileMb),
            QuantizeCommand.mib("--arrow-batch-mb", arrowBatchMb)), System.err);
    long bytes = files.stream().mapToLong(FileChecksum::getBytes).sum();
    spec.commandLine().getOut().printf(Locale.ROOT, "q16 export: %s (%s) -> %s: %d file%s, %s%n", dir, to, out,
        files.size(), files.size() == 1 ? "" : "s", io.q16.Units.bytes(bytes));
    return 0;
  }
}
