package io.q16.calib;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.SplittableRandom;
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

  /** The plain loop the fast path must equal: one value at a time. */
  private static float[] reference(float[] x, int off, int n) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    float nan = 0;
    float pos = 0;
    float neg = 0;
    for (int i = off; i < off + n; i++) {
      float v = x[i];
      if (Float.isNaN(v)) {
        nan++;
      } else if (v == Float.POSITIVE_INFINITY) {
        pos++;
      } else if (v == Float.NEGATIVE_INFINITY) {
        neg++;
      } else {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    return new float[] {lo, hi, nan, pos, neg};
  }

  @Test
  void fastPathEqualsTheOneByOneLoopBitForBit() {
    SplittableRandom r = new SplittableRandom(11);
    float[] x = new float[5000];
    for (int trial = 0; trial < 3000; trial++) {
      int n = r.nextInt(4) == 0 ? r.nextInt(8) : r.nextInt(x.length - 16);
      int off = r.nextInt(16);
      int mode = r.nextInt(4);
      for (int i = off; i < off + n; i++) {
        x[i] = switch (mode) {
          case 0 -> Float.intBitsToFloat(r.nextInt()); // anything, NaN and ±Inf included
          case 1 -> r.nextBoolean() ? 0f : -0f; // the order of ±0 decides min and max
          case 2 -> Float.intBitsToFloat(r.nextInt(0x7F800000) | (r.nextBoolean() ? 0x80000000 : 0)); // finite
          default -> (float) r.nextGaussian();
        };
      }
      if (mode >= 2 && n > 0 && r.nextInt(3) == 0) {
        x[off + r.nextInt(n)] = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[r.nextInt(3)];
      }
      float[] want = reference(x, off, n);
      RangeStats s = new RangeStats().update(x, off, n);
      assertThat(Float.floatToRawIntBits(s.min())).as("trial %d min", trial).isEqualTo(Float.floatToRawIntBits(want[0]));
      assertThat(Float.floatToRawIntBits(s.max())).as("trial %d max", trial).isEqualTo(Float.floatToRawIntBits(want[1]));
      assertThat(new long[] {s.nan(), s.posInf(), s.negInf(), s.finite()}).as("trial %d counts", trial)
          .containsExactly((long) want[2], (long) want[3], (long) want[4], n - (long) (want[2] + want[3] + want[4]));
    }
  }
}
