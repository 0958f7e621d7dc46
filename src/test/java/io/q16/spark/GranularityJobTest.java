package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.Manifest;
import io.q16.quant.GranularKernel;
import io.q16.quant.Granularity;
import io.q16.quant.QuantParams;
import io.q16.quant.Scheme;
import io.q16.quant.UnitLayout;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Per-channel and per-group quantization through the whole job: codes equal the kernel applied to
 * the whole tensor (whose per-unit kernels match the golden vectors), whatever the chunking, and
 * verify reads the per-row parameters back.
 */
class GranularityJobTest extends SparkTestBase {
  @TempDir Path tmp;

  static Stream<Arguments> configs() {
    return Stream.of(
        Arguments.of("channel", "0", "symmetric", "int16"),
        Arguments.of("channel", "1", "asymmetric", "int16"),
        Arguments.of("group", "16", "symmetric-restricted", "int16"),
        Arguments.of("group", "7", "asymmetric", "uint16"));
  }

  @ParameterizedTest(name = "{0} {1} {2} {3}")
  @MethodSource("configs")
  void codesMatchTheWholeTensorKernelForAnyChunking(String kind, String arg, String scheme, String storage)
      throws IOException {
    List<Models.T> tensors = Models.mixed();
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    String[] common = {"--granularity", kind, kind.equals("channel") ? "--axis" : "--group-size", arg,
        "--scheme", scheme, "--storage", storage};
    Path small = tmp.resolve("small");
    Path big = tmp.resolve("big");
    assertThat(run(model, small, common, "--chunk-mb", "0.0003", "--shard-mb", "0.002")).isZero();
    assertThat(run(model, big, common)).isZero();
    Manifest ms = Outputs.manifest(small);
    assertThat(Outputs.layoutFree(ms, false)).isEqualTo(Outputs.layoutFree(Outputs.manifest(big), false));
    assertThat(ms.shards().size()).isGreaterThan(3);

    boolean unsigned = storage.equals("uint16");
    Scheme s = Scheme.parse(scheme);
    for (Models.T t : tensors) {
      if (!t.dtype().quantizable() || t.shape().length == 0 || Models.elements(t.shape()) == 0) {
        continue;
      }
      Manifest.TensorEntry e = ms.tensor(t.name());
      boolean perTensor = kind.equals("channel") && t.shape().length < 2;
      assertThat(e.granularity()).as(t.name()).isEqualTo(perTensor ? "tensor" : kind);
      Granularity g = perTensor ? Granularity.TENSOR
          : kind.equals("channel") ? Granularity.channel(Integer.parseInt(arg)) : Granularity.group(Integer.parseInt(arg));
      short[] want = wholeTensor(t.floats(), t.shape(), g, s);
      short[] got = Outputs.codes(spark(), small, t.name());
      if (unsigned) {
        for (int i = 0; i < got.length; i++) {
          got[i] ^= (short) 0x8000;
        }
      }
      assertThat(got).as(t.name()).isEqualTo(want);
      assertThat(Outputs.codes(spark(), big, t.name())).isEqualTo(Outputs.codes(spark(), small, t.name()));
    }
    // Channels along axis 1 of [64, 48] differ per channel: the weights were built with one outlier.
    if (kind.equals("channel")) {
      assertThat(ms.tensor("attn.q.weight").units()).isEqualTo(arg.equals("0") ? 64 : 48);
    }
    assertThat(CliTestAccess.q16("verify", small.toString())).isZero();
    assertThat(CliTestAccess.q16("verify", big.toString())).isZero();
  }

  @org.junit.jupiter.api.Test
  void everySchemeAndGranularityGivesIdenticalOutputForAnyPartitionCount() throws IOException {
    Path model = Models.write(tmp.resolve("m.safetensors"), Models.mixed());
    String[][] configs = {
      {"--granularity", "group", "--group-size", "7", "--scheme", "asymmetric", "--storage", "uint16"},
      {"--granularity", "channel", "--axis", "1"},
      {"--scheme", "log"},
      {"--scheme", "minifloat", "--overflow", "rescale"},
    };
    for (int c = 0; c < configs.length; c++) {
      Path one = tmp.resolve("one-" + c);
      Path many = tmp.resolve("many-" + c);
      assertThat(run(model, one, configs[c], "--partitions", "1", "--chunk-mb", "0.0003", "--shard-mb", "0.002")).isZero();
      assertThat(run(model, many, configs[c], "--partitions", "7", "--chunk-mb", "0.0003", "--shard-mb", "0.002")).isZero();
      Manifest a = Outputs.manifest(one);
      Manifest b = Outputs.manifest(many);
      assertThat(b.tensors()).isEqualTo(a.tensors());
      assertThat(b.shards()).isEqualTo(a.shards());
      for (Manifest.Shard s : a.shards()) {
        assertThat(java.nio.file.Files.readAllBytes(many.resolve(s.path())))
            .isEqualTo(java.nio.file.Files.readAllBytes(one.resolve(s.path())));
      }
    }
  }

  @org.junit.jupiter.api.Test
  void perChannelCalibrationRecordsChannelRangesAndQuantizeClipsEachChannelAtTheThreshold() throws IOException {
    // Rows scaled by 1 + r/4, one outlier in row 3: the percentile threshold cuts the outlier row's
    // range and leaves the others, whose max|x| is below it.
    float[] x = Models.weights(21, 8 * 300, 0.02);
    for (int r = 0; r < 8; r++) {
      for (int c = 0; c < 300; c++) {
        x[r * 300 + c] *= 1 + r / 4f;
      }
    }
    x[3 * 300 + 7] = 5f;
    Path model = Models.write(tmp.resolve("chan.safetensors"), List.of(Models.f32("w", x, 8, 300)));
    Path cal = tmp.resolve("chan-cal");
    assertThat(CliTestAccess.q16("calibrate", model.toString(), "--out", cal.toString(), "--method", "percentile",
        "--percentile", "99.9", "--granularity", "channel", "--chunk-mb", "0.002")).isZero();
    io.q16.format.Calibration.Entry e = io.q16.format.Calibration.fromJson(
        java.nio.file.Files.readAllBytes(cal.resolve("calibration.json"))).tensor("w");
    assertThat(e.channels().axis()).isZero();
    float t = e.threshold();
    assertThat(t).isLessThan(5f);
    Path out = tmp.resolve("chan-q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", out.toString(), "--granularity", "channel",
        "--calibration", cal.toString())).isZero();
    List<org.apache.spark.sql.Row> rows = spark().read().parquet(out.resolve("shards").toString())
        .orderBy("chunk").select("scales").collectAsList();
    List<Float> scales = new java.util.ArrayList<>();
    for (org.apache.spark.sql.Row r : rows) {
      for (float f : io.q16.quant.Codes.floats((byte[]) r.get(0))) {
        scales.add(f);
      }
    }
    long clipped = 0;
    for (int r = 0; r < 8; r++) {
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < 300; c++) {
        lo = Math.min(lo, x[r * 300 + c]);
        hi = Math.max(hi, x[r * 300 + c]);
      }
      assertThat(e.channels().min()[r]).isEqualTo(lo);
      assertThat(e.channels().max()[r]).isEqualTo(hi);
      float absmax = Math.max(-lo, hi);
      float want = QuantParams.of(Scheme.SYMMETRIC, lo, hi, Math.min(t, absmax)).scale();
      assertThat(scales.get(r)).as("channel %d", r).isEqualTo(want);
      for (int c = 0; c < 300; c++) {
        clipped += io.q16.testing.Reference.clipped(x[r * 300 + c], want, 0, -32768, 32767) ? 1 : 0;
      }
    }
    assertThat(Outputs.manifest(out).tensor("w").clipped()).isEqualTo(clipped).isPositive();
    assertThat(CliTestAccess.q16("verify", out.toString())).isZero();
  }

  @org.junit.jupiter.api.Test
  void perChannelScalesFollowTheChannels() throws IOException {
    // Row r of a [16, 40] weight is scaled by 2^r: channel scales along axis 0 must double, row by row.
    float[] x = Models.weights(9, 16 * 40, 0.01);
    for (int r = 0; r < 16; r++) {
      for (int c = 0; c < 40; c++) {
        x[r * 40 + c] *= (float) Math.scalb(1.0, r);
      }
    }
    Path model = Models.write(tmp.resolve("rows.safetensors"), List.of(Models.f32("w", x, 16, 40)));
    Path out = tmp.resolve("rows");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", out.toString(), "--granularity", "channel",
        "--chunk-mb", "0.0005")).isZero();
    List<org.apache.spark.sql.Row> rows = spark().read().parquet(out.resolve("shards").toString())
        .orderBy("chunk").select("scales").collectAsList();
    List<Float> scales = new java.util.ArrayList<>();
    for (org.apache.spark.sql.Row r : rows) {
      for (float f : io.q16.quant.Codes.floats((byte[]) r.get(0))) {
        scales.add(f);
      }
    }
    assertThat(scales).hasSize(16);
    for (int r = 0; r < 16; r++) {
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < 40; c++) {
        lo = Math.min(lo, x[r * 40 + c]);
        hi = Math.max(hi, x[r * 40 + c]);
      }
      assertThat(scales.get(r)).as("channel %d", r).isEqualTo(QuantParams.minMax(Scheme.SYMMETRIC, lo, hi).scale());
    }
    // The rows' scales span the 2^15 range the weight was built with.
    assertThat(scales.get(15) / scales.get(1)).isGreaterThan(1000f);
  }

  private static short[] wholeTensor(float[] x, long[] shape, Granularity g, Scheme s) {
    UnitLayout layout = UnitLayout.of(shape, g);
    int units = (int) layout.units();
    float[] min = new float[units];
    float[] max = new float[units];
    Arrays.fill(min, Float.POSITIVE_INFINITY);
    Arrays.fill(max, Float.NEGATIVE_INFINITY);
    GranularKernel.ranges(x, 0, x.length, 0, layout, min, max, 0);
    float[] scales = new float[units];
    int[] zps = new int[units];
    for (int u = 0; u < units; u++) {
      float absmax = min[u] <= max[u] ? Math.max(Math.abs(min[u]), Math.abs(max[u])) : 0f;
      QuantParams p = QuantParams.of(s, min[u], max[u], absmax);
      scales[u] = p.scale();
      zps[u] = p.zeroPoint();
    }
    short[] q = new short[x.length];
    GranularKernel.quantize(x, 0, q, 0, x.length, 0, layout, scales, zps, 0, s.qmin(), s.qmax());
    return q;
  }

  private static int run(Path model, Path out, String[] common, String... more) {
    String[] args = Stream.concat(Stream.of("quantize", model.toString(), "--out", out.toString()),
        Stream.concat(Arrays.stream(common), Arrays.stream(more))).toArray(String[]::new);
    return CliTestAccess.q16(args);
  }
}
