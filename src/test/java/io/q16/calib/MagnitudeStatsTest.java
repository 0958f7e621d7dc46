package io.q16.calib;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MagnitudeStatsTest {
  @Test
  void mergingPartsEqualsComputingOnTheWhole() {
    Random r = new Random(5);
    float[] x = new float[20_000];
    for (int i = 0; i < x.length; i++) {
      x[i] = switch (r.nextInt(8)) {
        case 0 -> r.nextBoolean() ? 0f : -0f;
        case 1 -> Float.NaN;
        case 2 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
        default -> (float) (r.nextGaussian() * 3);
      };
    }
    x[777] = -Float.MIN_VALUE * 3; // a subnormal is a non-zero magnitude
    x[778] = -1e30f;
    MagnitudeStats whole = new MagnitudeStats().update(x, 0, x.length);
    MagnitudeStats merged = new MagnitudeStats();
    for (int off = 0; off < x.length; ) {
      int n = Math.min(x.length - off, r.nextInt(500));
      merged.merge(new MagnitudeStats().update(x, off, n));
      off += n;
    }
    assertThat(merged).isEqualTo(whole);
    assertThat(whole.absmax()).isEqualTo(1e30f);
    assertThat(whole.minNonZero()).isEqualTo(Float.MIN_VALUE * 3);
    assertThat(MagnitudeStats.of(whole.absmax(), whole.minNonZero())).isEqualTo(whole);
  }

  @Test
  void nothingNonZeroAndFiniteMeansZeroAndInfinity() {
    MagnitudeStats s = new MagnitudeStats().update(new float[] {0f, -0f, Float.NaN, Float.NEGATIVE_INFINITY}, 0, 4);
    assertThat(s.absmax()).isZero();
    assertThat(s.minNonZero()).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(s).isEqualTo(new MagnitudeStats());
  }
}
