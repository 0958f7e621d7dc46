package io.q16.cli;

import io.q16.Errors;
import io.q16.Units;
import io.q16.format.Manifest;
import io.q16.quant.Granularity;
import io.q16.quant.NanPolicy;
import io.q16.quant.Overflow;
import io.q16.quant.Scheme;
import io.q16.spark.QuantizeJob;
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

/** {@code q16 quantize MODEL --out DIR}. */
@Command(
    name = "quantize",
    mixinStandardHelpOptions = true,
    description = {
      "Convert every float tensor of MODEL (F32, F16, BF16, F64) to int16: Parquet shards under"
          + " DIR/shards and DIR/manifest.json, written last. Integer tensors are listed as skipped.",
      "",
      "ONNX models: only the weights of Conv, ConvTranspose, Gemm and MatMul are quantized by default (per"
          + " channel on their output-channel axis), plus the tensors --include names; biases and every other"
          + " float tensor stay float32, listed in the manifest as kept-float with the reason.",
      "",
      "DIR appears whole or not at all: a previous Q16 output there is replaced only once the new"
          + " one is complete; a directory that is not a Q16 output is never touched.",
      "",
      "Scheduled re-quantization: --incremental reuses a previous output (--previous, default DIR itself)."
          + " Every source tensor is still read once to checksum it; the quantize pass reads only the tensors"
          + " whose CRC-32C or quantization differs from the previous manifest, copies the other tensors' rows"
          + " (whole shards where they line up) and checks them against its checksums. The result is byte for"
          + " byte what a full run writes, and its manifest stands alone.",
      ""
    })
final class QuantizeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ConfigOption config;

  @Parameters(paramLabel = "MODEL",
      description = "A .safetensors file, a *.safetensors.index.json, a directory holding one, or a .onnx model.")
  String model;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (any Hadoop path).")
  String out;

  @Option(names = "--scheme", paramLabel = "NAME", defaultValue = "symmetric",
      description = "symmetric (scale = 2T/65535, codes -32768..32767; PyTorch), symmetric-restricted"
          + " (T/32767, -32767..32767; ONNX Runtime, TensorRT), asymmetric (integer zero point), log (sign +"
          + " logarithmic magnitude: bounded relative error, more codes near zero for long tails) or"
          + " minifloat (sign, --exponent-bits, the rest mantissa, per-tensor bias). Default: ${DEFAULT-VALUE}.")
  String scheme;

  @Option(names = "--granularity", paramLabel = "KIND", defaultValue = "auto",
      description = "auto: per channel on the output-channel axis for the Conv/Gemm/MatMul weights of an ONNX"
          + " model, per tensor for everything else (every safetensors tensor); tensor: one scale per tensor;"
          + " channel: one per index of --axis (tensors of rank >= 2; others stay per tensor); group: one per"
          + " --group-size consecutive elements along the last axis. Default: ${DEFAULT-VALUE}.")
  String granularity;

  @Option(names = "--axis", paramLabel = "N", defaultValue = "0",
      description = "Channel axis for --granularity channel (0: output channels of a [out, in] weight)."
          + " Default: ${DEFAULT-VALUE}.")
  int axis;

  @Option(names = "--group-size", paramLabel = "N", defaultValue = "128",
      description = "Elements per group for --granularity group. Default: ${DEFAULT-VALUE}.")
  int groupSize;

  @Option(names = "--storage", paramLabel = "TYPE", defaultValue = "int16",
      description = "int16, or uint16 (q + 32768, zero point shifted alike) for runtimes that want"
          + " unsigned codes. Default: ${DEFAULT-VALUE}.")
  String storage;

  @Option(names = "--overflow", paramLabel = "POLICY", defaultValue = "saturate",
      description = "saturate: clamp codes outside the range and count them; rescale: widen the scale until no"
          + " finite value clips (±Inf still saturate, counted). Default: ${DEFAULT-VALUE}.")
  String overflow;

  @Option(names = "--exponent-bits", paramLabel = "E", defaultValue = "5",
      description = "Exponent bits of --scheme minifloat (1..8; mantissa 15 - E): 5 is float16-like, 7 the seed's"
          + " layout (exponent in the high byte, mantissa in the low byte). Default: ${DEFAULT-VALUE}.")
  int exponentBits;

  @Option(names = "--keep-float", paramLabel = "GLOB",
      description = "Keep tensors whose name matches (* any run, ? one character) in their float dtype,"
          + " unquantized; repeatable. The manifest names them and the pattern.")
  java.util.List<String> keepFloat = new java.util.ArrayList<>();

  @Option(names = "--include", paramLabel = "GLOB",
      description = "ONNX models: also quantize the float tensors whose name matches (for example embedding"
          + " tables feeding Gather), per tensor; repeatable. --keep-float wins over it.")
  java.util.List<String> include = new java.util.ArrayList<>();

  @Option(names = "--calibration", paramLabel = "FILE",
      description = "Per-tensor thresholds from q16 calibrate (its calibration.json, or the directory holding it);"
          + " linear schemes, per tensor. Without it: min/max.")
  String calibration;

  @Option(names = "--nan", paramLabel = "POLICY", defaultValue = "error",
      description = "error: refuse a tensor holding NaN, naming it and the count; zero: map NaN to 0 and"
          + " count it. Default: ${DEFAULT-VALUE}.")
  String nan;

  @Option(names = "--chunk-mb", paramLabel = "MiB", defaultValue = "16",
      description = "Source bytes per chunk, the unit of executor work and memory (fractions allowed)."
          + " Default: ${DEFAULT-VALUE}.")
  double chunkMb;

  @Option(names = "--shard-mb", paramLabel = "MiB", defaultValue = "64",
      description = "Target int16 bytes per output shard, one Spark task each: smaller shards balance"
          + " load across cores, larger ones make fewer files. Default: ${DEFAULT-VALUE}.")
  double shardMb;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
      description = "Tasks of the statistics pass; 0 picks three per core. Default: ${DEFAULT-VALUE}.")
  int partitions;

  @Option(names = "--compression", paramLabel = "CODEC", defaultValue = "none",
      description = "Parquet codec: none, zstd, snappy, gzip, lz4. int16 codes of trained weights barely"
          + " compress: zstd saves about 14%% for about 25%% more quantize time, snappy nothing."
          + " Default: ${DEFAULT-VALUE}.")
  String compression;

  @Option(names = "--incremental",
      description = "Reuse the previous output's codes for tensors whose source and quantization are unchanged"
          + " (see above). Without a previous output it is a full run.")
  boolean incremental;

  @Option(names = "--previous", paramLabel = "DIR",
      description = "The previous Q16 output --incremental reuses (default: --out). Must be a Q16 output.")
  String previous;

  @Override
  public Integer call() throws Exception {
    QuantizeJob.Options o = new QuantizeJob.Options(
        model, out, parse(() -> Scheme.parse(scheme)), parse(this::granularity), parse(this::unsigned),
        parse(() -> Overflow.parse(overflow)), exponentBits(), List.copyOf(keepFloat), calibration,
        parse(() -> NanPolicy.parse(nan)),
        mib("--chunk-mb", chunkMb), mib("--shard-mb", shardMb), partitions, codec(compression),
        List.copyOf(include), granularity.equalsIgnoreCase("auto"));
    if (previous != null && !incremental) {
      throw Errors.usage("--previous needs --incremental");
    }
    if (incremental) {
      o = o.incremental(previous != null ? previous : out, previous != null);
    }
    PrintWriter w = spec.commandLine().getOut();
    QuantizeJob.Result r = QuantizeJob.run(Sessions.get("q16 quantize"), o, System.err);
    printSummary(r, w);
    return 0;
  }

  private void printSummary(QuantizeJob.Result r, PrintWriter w) {
    Manifest m = r.manifest();
    Manifest.Totals t = m.totals();
    long shardBytes = m.shards().stream().mapToLong(Manifest.Shard::bytes).sum();
    w.printf(Locale.ROOT, "q16 quantize: done in %.1fs (plan %.1fs, stats %.1fs, quantize %.1fs, commit %.1fs)%n",
        r.totalSeconds(), r.planSeconds(), r.statsSeconds(), r.quantizeSeconds(), r.commitSeconds());
    w.printf(Locale.ROOT, "  model       %s (%s, %s of tensors)%n", model,
        Units.count(m.source().files().size(), "file"), Units.bytes(t.sourceBytes()));
    w.printf(Locale.ROOT, "  output      %s (%s, %s, %s)%n", out, Manifest.FILE_NAME,
        Units.count(m.shards().size(), "shard"), Units.bytes(shardBytes));
    long kept = m.tensors().stream().filter(e -> Manifest.TensorEntry.KEPT_FLOAT.equals(e.status())).count();
    w.printf(Locale.ROOT, "  tensors     %d quantized (%s, %s, %s, %s), %d not quantized (%d kept float)%n",
        t.quantized(), m.config().scheme(), m.config().granularity(), m.config().calibration(), m.config().overflow(),
        t.skipped(), kept);
    w.printf(Locale.ROOT, "  elements    %,d  (clipped %,d)%n", t.elements(), t.clipped());
    if (r.reuse() != null) {
      QuantizeJob.Reuse u = r.reuse();
      w.printf(Locale.ROOT, "  reused      %s from %s (%s copied, %s copied); %d re-quantized (%s read from the"
          + " source)%n", Units.count(u.tensorsReused(), "tensor"), u.previous(), Units.count(u.shardsCopied(), "shard"),
          Units.count(u.rowsReused(), "row"), u.requantized().size(), Units.count(u.chunksQuantized(), "chunk"));
    }
    w.printf(Locale.ROOT, "  throughput  %s/s of input end to end%n",
        Units.bytes((long) (t.sourceBytes() / Math.max(1e-9, r.totalSeconds()))));
    long nan = m.tensors().stream().filter(e -> e.nan() != null).mapToLong(Manifest.TensorEntry::nan).sum();
    if (nan > 0) {
      w.printf(Locale.ROOT, "  NaN         %,d values mapped to 0 (--nan zero)%n", nan);
    }
    w.printf(Locale.ROOT, "  report      %s%n", new org.apache.hadoop.fs.Path(out, "report/index.html"));
    w.printf(Locale.ROOT, "  next        jobs/q16 verify %s%n", out);
  }

  private Granularity granularity() {
    return switch (granularity.toLowerCase(Locale.ROOT)) {
      case "tensor", "auto" -> Granularity.TENSOR;
      case "channel" -> Granularity.channel(axis);
      case "group" -> Granularity.group(groupSize);
      default -> throw new IllegalArgumentException(
          "unknown --granularity '" + granularity + "' (auto, tensor, channel or group)");
    };
  }

  private int exponentBits() {
    if (exponentBits < 1 || exponentBits > 8) {
      throw Errors.usage("--exponent-bits " + exponentBits + " is outside 1..8");
    }
    return exponentBits;
  }

  private boolean unsigned() {
    return switch (storage.toLowerCase(Locale.ROOT)) {
      case "int16" -> false;
      case "uint16" -> true;
      default -> throw new IllegalArgumentException("unknown --storage '" + storage + "' (int16 or uint16)");
    };
  }

  static long mib(String option, double mb) {
    if (!(mb > 0) || mb > 1 << 20) {
      throw Errors.usage(option + " " + mb + " is not a size in MiB between 0 and 1048576");
    }
    return Math.max(1, (long) (mb * (1 << 20)));
  }

  static String codec(String c) {
    String lower = c.toLowerCase(Locale.ROOT);
    return switch (lower) {
      case "none", "uncompressed" -> "none";
      case "snappy", "zstd", "gzip", "lz4" -> lower;
      default -> throw Errors.usage("unknown --compression '" + c + "' (none, snappy, zstd, gzip, lz4)");
    };
  }

  private static <T> T parse(java.util.function.Supplier<T> s) {
    try {
      return s.get();
    } catch (IllegalArgumentException e) {
      throw Errors.usage(e.getMessage());
    }
  }
}
