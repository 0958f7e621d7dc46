package io.q16.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The allocation-free KL of the int16 search against TensorRT's algorithm as written in
 * {@link Thresholds#klTensorRt} (itself checked against the golden thresholds), and the int16
 * search's refusal to pretend when it cannot tell candidates apart.
 */
class KlFineTest {
  private static Histogram histogram(int bins, int n, long seed, double outlierScale) {
    Random r = new Random(seed);
    float[] x = new float[n];
    float max = 0;
    for (int i = 0; i < n; i++) {
      x[i] = (float) (r.nextGaussian() * (r.nextInt(5000) == 0 ? outlierScale : 1));
      max = Math.max(max, Math.abs(x[i]));
    }
    return new Histogram(0, max, bins, true).addAbs(x, 0, n);
  }

  @Test
  void divergenceAtEachCandidateIsTensorRtsDivergence() {
    Histogram h = histogram(2048, 200_000, 3, 20);
    long[] hist = h.counts();
    long[] suffix = new long[hist.length + 1];
    for (int i = hist.length - 1; i >= 0; i--) {
      suffix[i] = suffix[i + 1] + hist[i];
    }
    // klTensorRt's minimum over all end bins, recomputed candidate by candidate with klAt.
    Thresholds.Kl trt = Thresholds.klTensorRt(h, 128);
    double best = Double.POSITIVE_INFINITY;
    int bestI = -1;
    for (int i = 128; i <= 2048; i++) {
      double d = Thresholds.klAt(hist, suffix, i, 128);
      if (d < best) {
        best = d;
        bestI = i;
      }
    }
    assertThat(bestI).isEqualTo(trt.index());
    assertThat(best).isCloseTo(trt.divergence(), withinPercentage(1e-9));
  }

  @Test
  void int16SearchNeedsFourBinsPerLevelAndSaysWhenItCannotDiscriminate() {
    // 2^16 bins are 2 per int16 level at most: no candidate qualifies.
    Histogram h16 = histogram(1 << 16, 100_000, 5, 20);
    Thresholds.KlFine coarse = Thresholds.klFine(h16, 32768, 128);
    assertThat(coarse.discriminates()).isFalse();
    assertThat(coarse.candidates()).isZero();
    assertThat(coarse.threshold()).isEqualTo(h16.hi());
    // An empty histogram (every P and Q smooths to nothing): no candidate has a finite divergence.
    Thresholds.KlFine empty = Thresholds.klFine(Histogram.of(0, 1, new long[1 << 18]), 32768, 128);
    assertThat(empty.discriminates()).isFalse();
    assertThat(empty.threshold()).isEqualTo(1.0);
    // Fine bins on a real distribution: the search runs and chooses.
    Thresholds.KlFine fine = Thresholds.klFine(histogram(1 << 18, 2_000_000, 7, 20), 32768, 128);
    assertThat(fine.discriminates()).isTrue();
    assertThat(fine.candidates()).isGreaterThan(100);
    assertThat(fine.binsPerLevel()).isGreaterThanOrEqualTo(Thresholds.MIN_BINS_PER_LEVEL);
  }
}
