package io.q16.cli;

import io.q16.Errors;
import io.q16.export.ModelExport;
import io.q16.spark.ExportJob;
import io.q16.spark.FileChecksum;
import io.q16.spark.OnnxExportJob;
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
      "onnx-qdq (a Q16 output of an .onnx model): the source model with each quantized weight W as an int16"
          + " initializer W_quantized, a float scale and an int16 zero point feeding DequantizeLinear -> W, opset"
          + " raised to 21 (nodes whose semantics changed are converted, or the export is refused naming the node);"
          + " --activations adds QuantizeLinear -> DequantizeLinear on every calibrated activation (A16W16).",
      "onnx-fake-quant: the same graph with each quantized weight replaced by float32 dequantize(quantize(w)).",
      "ONNX exports write OUT/model.onnx, with the weights in external data files beside it when the model"
          + " would exceed --external-data-mb.",
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

  @Option(names = "--to", required = true, paramLabel = "KIND", description = "safetensors, fake-quant, arrow, onnx-qdq or onnx-fake-quant.")
  String to;

  @Option(names = "--out", required = true, paramLabel = "OUT", description = "Output directory.")
  String out;

  @Option(names = "--file-mb", paramLabel = "MiB", defaultValue = "4096",
      description = "Largest output file before the model is split into shards. Default: ${DEFAULT-VALUE}.")
  double fileMb;

  @Option(names = "--arrow-batch-mb", paramLabel = "MiB", defaultValue = "16",
      description = "Codes per Arrow record batch (whole rows). Default: ${DEFAULT-VALUE}.")
  double arrowBatchMb;

  @Option(names = "--activations", paramLabel = "CAL",
      description = "onnx-qdq: a calibration.json of activations (calibrate --activations; entries named by ONNX"
          + " value names), or the directory holding it: int16 Q/DQ on each calibrated value the graph has.")
  String activations;

  @Option(names = "--keep-float", paramLabel = "GLOB",
      description = "ONNX exports: quantized weights whose name matches stay float32 (their nodes read float"
          + " activations too); repeatable. 'auto': the weights whose SQNR, as quantize measured it (manifest"
          + " sqnrDb), is below --sqnr-budget stay float; q16-export.json names them with their SQNR.")
  List<String> keepFloat = new java.util.ArrayList<>();

  @Option(names = "--sqnr-budget", paramLabel = "DB", defaultValue = "60",
      description = "With --keep-float auto: the least SQNR in dB a weight may have and still be int16."
          + " Default: ${DEFAULT-VALUE}.")
  double sqnrBudget;

  @Option(names = "--keep-first-last",
      description = "ONNX exports: the weights of the first and last Conv/Gemm/MatMul of the main graph stay float32.")
  boolean keepFirstLast;

  @Option(names = "--external-data-mb", paramLabel = "MiB", defaultValue = "1024",
      description = "ONNX exports: a model larger than this keeps its weights in external data files beside"
          + " model.onnx, written by executors (files of about --file-mb). Default: ${DEFAULT-VALUE}.")
  double externalDataMb;

  @Override
  public Integer call() throws Exception {
    String lower = to.toLowerCase(Locale.ROOT);
    if (lower.equals("onnx-qdq") || lower.equals("onnx-fake-quant")) {
      OnnxExportJob.Result r = OnnxExportJob.run(Sessions.get("q16 export"), new OnnxExportJob.Options(dir, out,
          lower.equals("onnx-qdq"), activations, List.copyOf(keepFloat), keepFirstLast,
          QuantizeCommand.mib("--external-data-mb", externalDataMb), QuantizeCommand.mib("--file-mb", fileMb),
          sqnrBudget),
          System.err);
      long bytes = r.files().stream().mapToLong(FileChecksum::getBytes).sum();
      spec.commandLine().getOut().printf(Locale.ROOT, "q16 export: %s (%s) -> %s: opset %d -> %d, %d weights int16,"
          + " %d kept float, %d activations with Q/DQ, %d file%s, %s%n", dir, to, r.model(), r.fromOpset(), r.toOpset(),
          r.quantized(), r.keptFloat(), r.activations(), r.files().size(), r.files().size() == 1 ? "" : "s",
          io.q16.Units.bytes(bytes));
      return 0;
    }
    if (activations != null || !keepFloat.isEmpty() || keepFirstLast) {
      throw Errors.usage("--activations, --keep-float and --keep-first-last go with --to onnx-qdq or onnx-fake-quant");
    }
    ModelExport.Kind kind = switch (to.toLowerCase(Locale.ROOT)) {
      case "safetensors" -> ModelExport.Kind.INT16;
      case "fake-quant" -> ModelExport.Kind.FAKE_QUANT;
      case "arrow" -> ModelExport.Kind.ARROW;
      default -> throw Errors.usage("unknown --to '" + to + "' (safetensors, fake-quant, arrow, onnx-qdq or onnx-fake-quant)");
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
