package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.q16.calib.Histogram;
import io.q16.calib.Thresholds;
import io.q16.cli.CliTestAccess;
import io.q16.format.Calibration;
import io.q16.format.Manifest;
import io.q16.testing.Golden;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calibration on Spark: the golden calibration tensors as a model. The distributed histograms equal
 * numpy's, so thresholds equal the searches run on the reference counts, match the reference
 * thresholds within a bin, and are bit-identical for any partitioning and chunking.
 */
class CalibrateTest extends SparkTestBase {
  @TempDir Path tmp;

  private static final Golden.File INPUTS = new Golden.File("/golden/calibration/inputs.safetensors");
  private static final String[] NAMES = {"laplace_64k", "normal_64k", "normal_with_outliers_64k", "student_t3_64k"};

  private Path model() throws IOException {
    Path p = tmp.resolve("calibration-inputs.safetensors");
    try (InputStream in = getClass().getResourceAsStream("/golden/calibration/inputs.safetensors")) {
      Files.copy(in, p);
    }
    return p;
  }

  private Calibration calibrate(Path model, String out, String method, String... more) throws IOException {
    String[] base = {"calibrate", model.toString(), "--out", tmp.resolve(out).toString(), "--method", method};
    String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(more))
        .toArray(String[]::new);
    assertThat(CliTestAccess.q16(args)).isZero();
    return Calibration.fromJson(Files.readAllBytes(tmp.resolve(out).resolve("calibration.json")));
  }

  @Test
  void thresholdsEqualTheSearchesOnTheReferenceHistograms() throws IOException {
    Path model = model();
    JsonNode expected = Golden.json("/golden/calibration/expected.json").get("cases");
    // TensorRT's resolution, so that the golden thresholds (computed on 2048 bins) apply.
    Calibration kl = calibrate(model, "kl", "kl", "--chunk-mb", "0.05", "--partitions", "3", "--kl-profile", "trt",
        "--bins", "2048");
    Calibration pct = calibrate(model, "pct", "percentile", "--percentile", "99.99", "--bins", "2048");
    Calibration mse = calibrate(model, "mse", "mse", "--bins", "2048");
    assertThat(kl.tensors()).hasSize(4); // the I64 histograms are not weights to calibrate
    org.w3c.dom.Document page = io.q16.testing.Html.parse(tmp.resolve("kl").resolve("report/index.html"));
    String text = page.getDocumentElement().getTextContent();
    for (String name : NAMES) {
      assertThat(text).contains(name);
    }
    // The SQNR-per-layer chart and one histogram per tensor.
    assertThat(page.getElementsByTagNameNS("http://www.w3.org/2000/svg", "svg").getLength()).isEqualTo(1 + 4);
    assertThat(tmp.resolve("kl").resolve("report/report.json")).exists();
    JsonNode ort = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(tmp.resolve("kl").resolve("ort_calibration.json").toFile());
    for (String name : NAMES) {
      float t = kl.tensor(name).threshold();
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (float v : INPUTS.floats(name)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      assertThat(ort.get(name).get(0).floatValue()).isEqualTo(Math.max(lo, -t));
      assertThat(ort.get(name).get(1).floatValue()).isEqualTo(Math.min(hi, t));
    }
    for (JsonNode c : expected) {
      String name = c.get("input").asText();
      float absmax = (float) c.get("absmax").asDouble();
      double bin = absmax / 2048.0;
      Histogram reference = Histogram.of(0, absmax, INPUTS.longs(name + ".abs_hist_2048"));
      Calibration.Entry k = kl.tensor(name);
      assertThat((double) k.threshold()).isEqualTo((double) (float) Thresholds.klTensorRt(reference, 128).threshold());
      assertThat((double) k.threshold()).isCloseTo(c.get("kl_trt_2048_128").get("threshold").asDouble(), within(bin));
      assertThat(k.absmax()).isEqualTo(absmax);
      assertThat(k.clippedFraction()).isBetween(0.0, 0.05);
      assertThat((double) pct.tensor(name).threshold())
          .isEqualTo((double) (float) Thresholds.percentile(reference, 99.99));
      // At int16 on 2048 bins the MSE search sees only clipping: it keeps max|x| and says why.
      Calibration.Entry m = mse.tensor(name);
      assertThat(m.threshold()).isEqualTo(absmax);
      assertThat((double) m.threshold()).isCloseTo(c.get("mse_exact_16bit_2048").get("threshold").asDouble(),
          within(bin));
      assertThat(m.binsPerInt16Step()).isLessThan(1);
      assertThat(m.note()).contains("cannot resolve int16 rounding error");
      assertMeasuredErrorsMatchAReference(kl.tensor(name), INPUTS.floats(name));
    }
  }

  /**
   * Every candidate's recorded error equals quantizing the tensor with that threshold one value at
   * a time (the scalar reference) and summing the squared errors in double-double arithmetic
   * (error-free products by fma, error-free sums): an independent, near-exact sum.
   */
  private static void assertMeasuredErrorsMatchAReference(Calibration.Entry e, float[] x) {
    assertThat(e.candidates()).extracting(Calibration.Candidate::method)
        .containsExactly("minmax", "mse", "kl", "percentile");
    for (Calibration.Candidate k : e.candidates()) {
      float scale = io.q16.testing.Reference.symmetricScale(k.threshold());
      double hi = 0;
      double lo = 0;
      long clipped = 0;
      for (float v : x) {
        int q = io.q16.testing.Reference.quantize(v, scale, 0, -32768, 32767);
        clipped += io.q16.testing.Reference.clipped(v, scale, 0, -32768, 32767) ? 1 : 0;
        // The difference of two floats this close is exact in double; its square is p + pe exactly.
        double err = (double) v - io.q16.testing.Reference.dequantize(q, scale, 0);
        double p = err * err;
        double pe = Math.fma(err, err, -p);
        double t = hi + p;
        double te = (hi - (t - (t - hi))) + (p - (t - hi));
        hi = t;
        lo += te + pe;
      }
      double mse = (hi + lo) / x.length;
      assertThat(k.clipped()).as(e.name() + " " + k.method()).isEqualTo(clipped);
      assertThat(k.mse()).as(e.name() + " " + k.method()).isCloseTo(mse, org.assertj.core.api.Assertions.withinPercentage(1e-9));
    }
  }

  /** A 512K-value tensor with rare large outliers: fine enough for an int16 KL search. */
  private Path outlierModel() throws IOException {
    float[] x = outlierValues();
    return io.q16.testing.Models.write(tmp.resolve("outliers.safetensors"), java.util.List.of(
        io.q16.testing.Models.f32("outliers", x, x.length),
        io.q16.testing.Models.f32("small", java.util.Arrays.copyOf(x, 4096), 4096)));
  }

  @Test
  void int16KlSearchesAtInt16ResolutionOrSaysItCannot() throws IOException {
    Path model = outlierModel();
    Calibration kl = calibrate(model, "kl16", "kl", "--bins", "1048576");
    Calibration.Entry big = kl.tensor("outliers");
    // 2^19 values get the 2^20 bins asked for: 32 per level at max|x|; the search ran and discriminated.
    assertThat(big.bins()).isEqualTo(1 << 20);
    assertThat(big.note()).isNull();
    assertThat(big.resolution()).contains("int16: 1048576 bins, 32768 levels");
    assertThat(big.threshold()).isLessThanOrEqualTo(big.absmax());
    // 4096 values get 16384 bins: under 4 per level everywhere, so KL cannot tell candidates apart
    // and says so instead of silently returning max|x|.
    Calibration.Entry small = kl.tensor("small");
    assertThat(small.threshold()).isEqualTo(small.absmax());
    assertThat(small.note()).contains("KL cannot discriminate");
    // TensorRT's profile on the same data is an int8 threshold: far below max|x|, and its
    // measured error at int16 is far worse than min/max's (the trap the report makes visible).
    Calibration trt = calibrate(model, "trt", "kl", "--kl-profile", "trt");
    Calibration.Entry t = trt.tensor("outliers");
    assertThat(t.threshold()).isLessThan(big.absmax() / 2);
    assertThat(t.mse()).isGreaterThan(100 * t.candidates().get(0).mse());
  }

  @Test
  void autoKeepsTheLeastMeasuredErrorAndOverridesApplyByGlob() throws IOException {
    Path model = outlierModel();
    Calibration auto = calibrate(model, "auto", "auto", "--percentile", "99.9", "--tensor-method", "sm*=percentile");
    Calibration.Entry big = auto.tensor("outliers");
    Calibration.Candidate least = big.candidates().stream()
        .min(java.util.Comparator.comparingDouble(Calibration.Candidate::mse)).orElseThrow();
    assertThat(big.method()).isEqualTo("auto:" + least.method());
    assertThat(big.threshold()).isEqualTo(least.threshold());
    assertThat(big.mse()).isEqualTo(least.mse());
    // Percentile 99.9 clips the outliers: measured, it loses to the others at int16.
    assertThat(big.candidates().get(3).mse()).isGreaterThan(least.mse());
    assertMeasuredErrorsMatchAReference(big, outlierValues());
    Calibration.Entry small = auto.tensor("small");
    assertThat(small.method()).isEqualTo("percentile");
    assertThat(small.threshold()).isEqualTo(small.candidates().get(3).threshold());
    String page = Files.readString(tmp.resolve("auto").resolve("report/index.html"));
    assertThat(page).contains("Measured SQNR of every method").contains("SQNR per layer");
    io.q16.testing.Html.parse(tmp.resolve("auto").resolve("report/index.html"));
  }

  @Test
  void asymmetricPercentileCutsEachTailAndQuantizeKeepsThatRange() throws IOException {
    // A skewed activation-like tensor: exponential on the right, a thin tail on the left.
    java.util.Random r = new java.util.Random(5);
    float[] x = new float[100_000];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (i % 50 == 0 ? -0.3 * r.nextDouble() * r.nextDouble() : -Math.log(1 - r.nextDouble()));
    }
    Path model = io.q16.testing.Models.write(tmp.resolve("skew.safetensors"),
        java.util.List.of(io.q16.testing.Models.f32("act", x, x.length)));
    Calibration c = calibrate(model, "skew", "percentile", "--scheme", "asymmetric", "--percentile", "99.9",
        "--chunk-mb", "0.1", "--partitions", "3");
    Calibration.Entry e = c.tensor("act");
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (float v : x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // The reference: numpy-binned signed histogram over [min, max] built here, cut by the rule.
    Histogram signed = new Histogram(lo, hi, e.bins()).add(x, 0, x.length);
    double[] cuts = Thresholds.percentileTails(signed, 99.9);
    assertThat(e.clipMin()).isEqualTo((float) Math.max(cuts[0], lo));
    assertThat(e.clipMax()).isEqualTo((float) Math.min(cuts[1], hi));
    assertThat(e.clipMin()).isGreaterThan(lo).isNegative();
    assertThat(e.clipMax()).isLessThan(hi);
    assertThat(e.threshold()).isEqualTo(Math.max(-e.clipMin(), e.clipMax()));
    JsonNode ort = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(tmp.resolve("skew").resolve("ort_calibration.json").toFile());
    assertThat(ort.get("act").get(0).floatValue()).isEqualTo(e.clipMin());
    assertThat(ort.get("act").get(1).floatValue()).isEqualTo(e.clipMax());
    Path q = tmp.resolve("skew-q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--scheme", "asymmetric",
        "--calibration", tmp.resolve("skew").toString())).isZero();
    Manifest.TensorEntry t = Outputs.manifest(q).tensor("act");
    io.q16.quant.QuantParams want = io.q16.quant.QuantParams.of(io.q16.quant.Scheme.ASYMMETRIC, e.clipMin(),
        e.clipMax(), 0f);
    assertThat(t.scale()).isEqualTo(want.scale());
    assertThat(t.zeroPoint()).isEqualTo(want.zeroPoint());
    long clipped = 0;
    for (float v : x) {
      clipped += io.q16.testing.Reference.clipped(v, want.scale(), want.zeroPoint(), -32768, 32767) ? 1 : 0;
    }
    assertThat(t.clipped()).isEqualTo(clipped).isEqualTo(e.candidates().get(3).clipped()).isPositive();
    assertThat(CliTestAccess.q16("verify", q.toString())).isZero();
  }

  private static float[] outlierValues() {
    java.util.Random r = new java.util.Random(7);
    float[] x = new float[1 << 19];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextGaussian() * (r.nextInt(20000) == 0 ? 40 : 1));
    }
    return x;
  }

  @Test
  void calibrationIsBitIdenticalForAnyPartitioningAndChunking() throws IOException {
    Path model = model();
    Calibration a = calibrate(model, "a", "auto", "--partitions", "1", "--chunk-mb", "16");
    Calibration b = calibrate(model, "b", "auto", "--partitions", "7", "--chunk-mb", "0.013");
    assertThat(b.tensors()).isEqualTo(a.tensors());
    assertThat(b.sourceFingerprint()).isEqualTo(a.sourceFingerprint());
  }

  @Test
  void quantizeWithACalibrationClipsAtTheThresholdAndVerifies() throws IOException {
    Path model = model();
    Calibration pct = calibrate(model, "pct", "percentile", "--percentile", "99.9");
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--calibration",
        tmp.resolve("pct").toString())).isZero();
    Manifest m = Outputs.manifest(q);
    assertThat(m.config().calibration()).contains("calibration file");
    for (String name : NAMES) {
      float t = pct.tensor(name).threshold();
      float[] x = INPUTS.floats(name);
      Manifest.TensorEntry e = m.tensor(name);
      assertThat(e.scale()).isEqualTo(io.q16.quant.QuantParams.of(io.q16.quant.Scheme.SYMMETRIC, -t, t, t).scale());
      long beyond = 0;
      for (float v : x) {
        beyond += io.q16.testing.Reference.clipped(v, e.scale(), 0, -32768, 32767) ? 1 : 0;
      }
      assertThat(e.clipped()).isEqualTo(beyond).isPositive();
    }
    assertThat(CliTestAccess.q16("verify", q.toString())).isZero();
    // A calibration that lacks a tensor is refused, naming it.
    Files.writeString(tmp.resolve("pct").resolve("calibration.json"),
        Files.readString(tmp.resolve("pct").resolve("calibration.json")).replace("\"laplace_64k\"", "\"other\""));
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", tmp.resolve("q2").toString(), "--calibration",
        tmp.resolve("pct").toString())).isEqualTo(3);
  }
}
