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
    Calibration kl = calibrate(model, "kl", "kl", "--chunk-mb", "0.05", "--partitions", "3");
    Calibration pct = calibrate(model, "pct", "percentile", "--percentile", "99.99");
    Calibration mse = calibrate(model, "mse", "mse");
    assertThat(kl.tensors()).hasSize(4); // the I64 histograms are not weights to calibrate
    org.w3c.dom.Document page = io.q16.testing.Html.parse(tmp.resolve("kl").resolve("report/index.html"));
    String text = page.getDocumentElement().getTextContent();
    for (String name : NAMES) {
      assertThat(text).contains(name);
    }
    assertThat(page.getElementsByTagNameNS("http://www.w3.org/2000/svg", "svg").getLength()).isEqualTo(4);
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
    }
  }

  @Test
  void calibrationIsBitIdenticalForAnyPartitioningAndChunking() throws IOException {
    Path model = model();
    Calibration a = calibrate(model, "a", "kl", "--partitions", "1", "--chunk-mb", "16");
    Calibration b = calibrate(model, "b", "kl", "--partitions", "7", "--chunk-mb", "0.013");
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
