package io.q16.calib;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RangeStatsTest {
  @Test
  void mergingPartsEqualsComputingOnTheWhole() {
    Random r = new Random(7);
    float[] x = new float[10_000];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    x[17] = Float.NaN;
    x[18] = Float.POSITIVE_INFINITY;
    x[19] = Float.NEGATIVE_INFINITY;
    x[20] = Float.NaN;
    x[21] = 40f;
    RangeStats whole = new RangeStats().update(x, 0, x.length);
    RangeStats merged = new RangeStats();
    for (int off = 0; off < x.length; ) {
      int n = Math.min(x.length - off, 1 + r.nextInt(999));
      merged.merge(new RangeStats().update(x, off, n));
      off += n;
    }
    for (RangeStats s : new RangeStats[] {whole, merged}) {
      assertThat(s.nan()).isEqualTo(2);
      assertThat(s.posInf()).isEqualTo(1);
      assertThat(s.negInf()).isEqualTo(1);
      assertThat(s.finite()).isEqualTo(x.length - 4);
      assertThat(s.max()).isEqualTo(40f);
      assertThat(s.count()).isEqualTo(x.length);
    }
    assertThat(merged.min()).isEqualTo(whole.min());
    assertThat(merged.absmax()).isEqualTo(40f);
  }

  @Test
  void noFiniteValueMeansZeroAbsmax() {
    RangeStats s = new RangeStats().update(new float[] {Float.NaN, Float.POSITIVE_INFINITY}, 0, 2);
    assertThat(s.absmax()).isZero();
    assertThat(new RangeStats().absmax()).isZero();
  }
}
