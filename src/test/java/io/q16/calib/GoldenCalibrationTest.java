package io.q16.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import io.q16.testing.Golden;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The calibration reference vectors (golden/calibration): histograms of |x| rebuilt from the
 * tensors equal the reference counts, and percentile, KL (TensorRT profile) and MSE thresholds
 * match within one bin width (max|x| / 2048), as the golden README asks.
 */
class GoldenCalibrationTest {
  private static final Golden.File INPUTS = new Golden.File("/golden/calibration/inputs.safetensors");

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : Golden.json("/golden/calibration/expected.json").get("cases")) {
      out.add(Arguments.of(c.get("input").asText(), c));
    }
    return out.stream();
  }

  private static float absmax(float[] x) {
    float m = 0;
    for (float v : x) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void histogramEqualsTheReferenceCounts(String name, JsonNode c) {
    float[] x = INPUTS.floats(name);
    float a = absmax(x);
    assertThat((double) a).isEqualTo(c.get("absmax").asDouble());
    Histogram h = new Histogram(0, a, 2048).addAbs(x, 0, x.length);
    assertThat(h.counts()).isEqualTo(INPUTS.longs(name + ".abs_hist_2048"));
    // Merging halves equals the whole.
    Histogram left = new Histogram(0, a, 2048).addAbs(x, 0, 1000);
    Histogram right = new Histogram(0, a, 2048).addAbs(x, 1000, x.length - 1000);
    assertThat(left.merge(right).counts()).isEqualTo(h.counts());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void thresholdsMatchWithinOneBin(String name, JsonNode c) {
    float[] x = INPUTS.floats(name);
    float a = absmax(x);
    double bin = a / 2048.0;
    Histogram zeroBased = Histogram.of(0, a, INPUTS.longs(name + ".abs_hist_2048"));

    float lo = Float.POSITIVE_INFINITY;
    for (float v : x) {
      lo = Math.min(lo, Math.abs(v));
    }
    Histogram ort = new Histogram(lo, a, 2048).addAbs(x, 0, x.length);
    for (String p : new String[] {"99.9", "99.99", "99.999"}) {
      assertThat(Thresholds.percentile(ort, Double.parseDouble(p))).as("percentile %s", p)
          .isCloseTo(c.get("percentile_" + p + "_ort_2048").asDouble(), within(bin));
    }

    Thresholds.Kl kl = Thresholds.klTensorRt(zeroBased, 128);
    assertThat(kl.threshold()).as("kl").isCloseTo(c.get("kl_trt_2048_128").get("threshold").asDouble(), within(bin));
    assertThat(kl.divergence()).isGreaterThanOrEqualTo(0);

    // 8 bits: the histogram estimate lands near the optimum; the exact data pass over the
    // candidates around it finds the reference's argmin.
    Thresholds.Mse mse8 = Thresholds.mse(zeroBased, 127, 128);
    JsonNode want8 = c.get("mse_exact_8bit_2048");
    assertThat(mse8.mse()).isCloseTo(want8.get("mse").asDouble(), withinPercentage(0.2));
    double[] edges = zeroBased.edges();
    int from = Math.max(128, mse8.index() - 8);
    int to = Math.min(2047, mse8.index() + 8);
    double[] candidates = new double[to - from + 1];
    for (int k = 0; k < candidates.length; k++) {
      candidates[k] = edges[from + k + 1];
    }
    double[] sums = new double[candidates.length];
    Thresholds.addSquaredErrors(x, 0, x.length, candidates, 127, sums);
    int best = 0;
    for (int k = 1; k < sums.length; k++) {
      if (sums[k] < sums[best]) {
        best = k;
      }
    }
    assertThat(candidates[best]).as("mse 8 bit").isCloseTo(want8.get("threshold").asDouble(), within(bin));
    assertThat(sums[best] / x.length).isCloseTo(want8.get("mse").asDouble(), withinPercentage(1e-6));
    Thresholds.Mse mse16 = Thresholds.mse(zeroBased, 32767, 128);
    assertThat(mse16.threshold()).as("mse 16 bit")
        .isCloseTo(c.get("mse_exact_16bit_2048").get("threshold").asDouble(), within(bin));
  }
}
