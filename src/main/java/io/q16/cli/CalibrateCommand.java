package io.q16.cli;

import io.q16.format.Calibration;
import io.q16.quant.NanPolicy;
import io.q16.spark.CalibrateJob;
import io.q16.spark.Sessions;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q16 calibrate MODEL --out DIR}, or {@code q16 calibrate [MODEL] --activations PATH --out DIR}. */
@Command(
    name = "calibrate",
    mixinStandardHelpOptions = true,
    description = {
      "Choose a clipping threshold per weight tensor of MODEL from exact statistics: pass 1 merges ranges,"
          + " pass 2 merges |x| histograms whose bins the driver fixed from pass 1 (integer counts: the result"
          + " does not depend on executors, partitions or chunk sizes), and each tensor's search runs on an"
          + " executor. Writes DIR/calibration.json, which quantize --calibration reads.",
      "",
      "Each tensor records the resolution its search used: a histogram whose bins are wider than the int16"
          + " step cannot see int16 rounding error, and the note says so rather than pretending.",
      "",
      "With --activations PATH, calibrates the activation tensors recorded in that Parquet dataset instead"
          + " (rows: tensor STRING, sample BIGINT, values ARRAY<FLOAT>, optionally shape ARRAY<INT>), streamed"
          + " through executors in the same two passes; MODEL is then optional and recorded as the model the"
          + " activations came from. The result is the artefact for activation quantization (QDQ export), not"
          + " for quantize --calibration.",
      "",
      "With MODEL.onnx --activations INPUTS, INPUTS holds the model's inputs instead (one row per sample, one"
          + " ARRAY column per graph input named as the input, optionally <input>__shape ARRAY<BIGINT>; see generate"
          + " onnx-inputs). Each executor task runs the model in ONNX Runtime (one session per task) with the float32"
          + " activations entering and leaving Conv, ConvTranspose, Gemm and MatMul as extra outputs, and folds them"
          + " into the statistics batch by batch: no activation is kept. The model runs once per pass, so three"
          + " times over the inputs (ranges; histograms and searches; measured errors); each pass prints its"
          + " samples/s and the share of task time spent in ONNX Runtime and in statistics. Entries are named by"
          + " ONNX value names; ort_calibration.json is ONNX Runtime's calibration table.",
      ""
    })
final class CalibrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ConfigOption config;

  @Parameters(paramLabel = "MODEL", arity = "0..1",
      description = "A .safetensors file, a *.safetensors.index.json, a directory, or a .onnx model. Optional with"
          + " --activations (a recorded activation dataset); a .onnx MODEL with --activations is run on its inputs.")
  String model;

  @Option(names = "--activations", paramLabel = "PATH",
      description = "Calibrate activations: a Parquet file or directory of recorded activations (any Hadoop path).")
  String activations;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
  String out;

  @Option(names = "--method", paramLabel = "NAME", defaultValue = "minmax",
      description = "minmax (T = max|x|), percentile (--percentile of |x|), mse (least expected squared int16"
          + " error from the histogram), kl (entropy search, see --kl-profile), auto (per tensor, the method whose"
          + " threshold gives the least squared error measured on the data). Every method is searched and measured"
          + " either way; the report shows them all. Default: ${DEFAULT-VALUE}.")
  String method;

  @Option(names = "--tensor-method", paramLabel = "GLOB=METHOD",
      description = "Method for the tensors whose name matches GLOB ('*' any run, '?' one character);"
          + " repeatable, the first match wins, other tensors get --method.")
  java.util.List<String> tensorMethods = new java.util.ArrayList<>();

  @Option(names = "--kl-profile", paramLabel = "NAME", defaultValue = "int16",
      description = "int16: KL over the full histogram with 32768 levels, candidates only where bins are at least"
          + " 4 per level, and a note when KL cannot tell candidates apart. trt: TensorRT / ONNX Runtime's search"
          + " (2048 bins, 128 levels), an int8 threshold, for comparison with those tools. Default: ${DEFAULT-VALUE}.")
  String klProfile;

  @Option(names = "--scheme", paramLabel = "NAME", defaultValue = "symmetric",
      description = "The linear scheme the thresholds are measured with (quantize --scheme): symmetric,"
          + " symmetric-restricted or asymmetric. Default: ${DEFAULT-VALUE}.")
  String scheme;

  @Option(names = "--percentile", paramLabel = "P", defaultValue = "99.999",
      description = "Percentile of |x| for --method percentile, in [50, 100] (asymmetric: of each tail)."
          + " Default: ${DEFAULT-VALUE}.")
  double percentile;

  @Option(names = "--granularity", paramLabel = "KIND", defaultValue = "tensor",
      description = "tensor, or channel: pass 1 also records every channel's range along --axis (tensors of rank"
          + " >= 2), and quantize --granularity channel clips each channel at the tensor's threshold."
          + " Thresholds and measured errors are per tensor. Default: ${DEFAULT-VALUE}.")
  String granularity;

  @Option(names = "--axis", paramLabel = "N", defaultValue = "0",
      description = "Channel axis for --granularity channel. Default: ${DEFAULT-VALUE}.")
  int axis;

  @Option(names = "--bins", paramLabel = "N", defaultValue = "262144",
      description = "Histogram bins over [0, max|x|], a power of two from 2048 to 1048576; a tensor gets at most"
          + " as many as it has values. 262144 is 8 bins per int16 step at max|x|. Default: ${DEFAULT-VALUE}.")
  int bins;

  @Option(names = "--chunk-mb", paramLabel = "MiB", defaultValue = "16",
      description = "Source bytes per chunk of a model's weights (activations are read by rows: see --partitions"
          + " and --batch). Default: ${DEFAULT-VALUE}.")
  double chunkMb;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0", description = "Tasks per pass; 0: three per core (activations: about N, split at Parquet row groups;"
          + " 0: Spark's file split; ONNX model inputs: at least N, rows spread over tasks when the files split"
          + " into fewer, 0: two per core).")
  int partitions;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "1",
      description = "ONNX models: samples per ONNX Runtime run at most, concatenated along axis 0 (which must be"
          + " the batch axis) when their shapes allow. 1 keeps every result independent of partitioning; larger"
          + " batches are bit-identical only if the model's kernels give a sample the same bits in any batch."
          + " Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--nan", paramLabel = "POLICY", defaultValue = "error",
      description = "error: refuse NaN, naming the tensor; zero: ignore NaN. Default: ${DEFAULT-VALUE}.")
  String nan;

  @Override
  public Integer call() throws Exception {
    if (model == null && activations == null) {
      throw io.q16.Errors.usage("calibrate needs MODEL, or --activations PATH");
    }
    // Options of a model's weights would be silently ignored with --activations: refused instead.
    for (String weightsOnly : List.of("--chunk-mb", "--granularity", "--axis")) {
      if (activations != null && spec.commandLine().getParseResult().hasMatchedOption(weightsOnly)) {
        throw io.q16.Errors.usage(weightsOnly + " applies to a model's weights; activations are read by rows, per"
            + " tensor (--partitions, --batch)");
      }
    }
    NanPolicy policy;
    io.q16.quant.Scheme linear;
    io.q16.quant.Granularity g;
    try {
      policy = NanPolicy.parse(nan);
      linear = io.q16.quant.Scheme.parse(scheme);
      if (!granularity.equals("tensor") && !granularity.equals("channel")) {
        throw new IllegalArgumentException("--granularity " + granularity + " (calibrate takes tensor or channel)");
      }
      g = granularity.equals("channel") ? io.q16.quant.Granularity.channel(axis) : io.q16.quant.Granularity.TENSOR;
    } catch (IllegalArgumentException e) {
      throw io.q16.Errors.usage(e.getMessage());
    }
    Calibration c = CalibrateJob.run(Sessions.get("q16 calibrate"), new CalibrateJob.Options(model, out, method,
        percentile, bins, QuantizeCommand.mib("--chunk-mb", chunkMb), partitions, policy, linear, klProfile,
        tensorMethods, g, activations, batch), System.err);
    PrintWriter w = spec.commandLine().getOut();
    int width = Math.max(6, c.tensors().stream().mapToInt(e -> e.name().length()).max().orElse(6));
    w.printf(Locale.ROOT, "%-" + width + "s  %-14s  %12s  %12s  %9s  %8s  %s%n", "tensor", "method", "threshold",
        "max|x|", "clipped", "SQNR dB", "note");
    for (Calibration.Entry e : c.tensors()) {
      w.printf(Locale.ROOT, "%-" + width + "s  %-14s  %12.6g  %12.6g  %8.5f%%  %8s  %s%n", e.name(), e.method(),
          e.threshold(), e.absmax(), 100 * e.clippedFraction(),
          e.sqnrDb() == null ? "exact" : String.format(Locale.ROOT, "%.2f", e.sqnrDb()), e.note() == null ? "" : e.note());
    }
    w.printf(Locale.ROOT, "q16 calibrate: %s, %d tensors, method %s -> %s/%s%n", c.source(), c.tensors().size(),
        c.method(), out, Calibration.FILE_NAME);
    return 0;
  }
}
