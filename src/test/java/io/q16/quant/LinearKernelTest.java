package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.calib.RangeStats;
import io.q16.testing.Reference;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LinearKernelTest {
  /** Seeded data biased toward what breaks kernels: ±0, subnormals, extremes, ties, ±Inf, NaN. */
  static float[] nasty(long seed, int n, float scale, boolean nonFinite) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = switch (r.nextInt(12)) {
        case 0 -> 0f;
        case 1 -> -0f;
        case 2 -> Float.MIN_VALUE * r.nextInt(1000);
        case 3 -> (r.nextInt(65536) - 32768 + 0.5f) * scale; // ties before the float division
        case 4 -> (r.nextInt(65536) - 32768) * scale;
        case 5 -> nonFinite ? (r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY) : 1f;
        case 6 -> nonFinite ? Float.NaN : -1f;
        case 7 -> (r.nextBoolean() ? 1 : -1) * 40000f * scale; // beyond the range: clipped
        default -> (float) (r.nextGaussian() * 8000 * scale);
      };
    }
    return x;
  }

  @ParameterizedTest
  @EnumSource(value = Scheme.class, names = {"SYMMETRIC", "SYMMETRIC_RESTRICTED", "ASYMMETRIC"})
  void matchesTheExactScalarReferenceBitForBit(Scheme scheme) {
    for (long seed = 1; seed <= 4; seed++) {
      float nominal = (float) Math.scalb(1.0, (int) (seed * 7) - 20);
      float[] x = nasty(seed, 20_000, nominal, true);
      RangeStats r = new RangeStats().update(x, 0, x.length);
      QuantParams p = QuantParams.of(scheme, r.min(), r.max(), r.absmax() * 0.8f);
      short[] q = new short[x.length + 3];
      short[] scalar = new short[x.length + 3];
      long clipped = LinearKernel.quantize(x, 0, q, 3, x.length, p);
      long scalarClipped = LinearKernel.quantizeReference(x, 0, scalar, 3, x.length, p);
      long refClipped = 0;
      for (int i = 0; i < x.length; i++) {
        int want = Reference.quantize(x[i], p.scale(), p.zeroPoint(), p.qmin(), p.qmax());
        assertThat((int) q[3 + i]).as("x=%s (bits %08x) scale=%s", x[i], Float.floatToRawIntBits(x[i]), p.scale())
            .isEqualTo(want);
        assertThat((int) scalar[3 + i]).as("scalar kernel, x=%s", x[i]).isEqualTo(want);
        if (Reference.clipped(x[i], p.scale(), p.zeroPoint(), p.qmin(), p.qmax())) {
          refClipped++;
        }
      }
      assertThat(clipped).isEqualTo(refClipped).isPositive();
      assertThat(scalarClipped).isEqualTo(refClipped);
      float[] back = new float[x.length];
      LinearKernel.dequantize(q, 3, back, 0, x.length, p);
      for (int i = 0; i < x.length; i++) {
        assertThat(Float.floatToRawIntBits(back[i]))
            .isEqualTo(Float.floatToRawIntBits(Reference.dequantize(q[3 + i], p.scale(), p.zeroPoint())));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = Scheme.class, names = {"SYMMETRIC", "SYMMETRIC_RESTRICTED", "ASYMMETRIC"})
  void fastPathAloneMatchesTheExactReferenceWithoutNaN(Scheme scheme) {
    // Without NaN the fast path must not need the scalar fallback: check it on its own.
    for (long seed = 5; seed <= 8; seed++) {
      float nominal = (float) Math.scalb(1.0, (int) (seed * 5) - 30);
      float[] x = nasty(seed, 20_000, nominal, false);
      x[7] = Float.POSITIVE_INFINITY;
      x[8] = Float.NEGATIVE_INFINITY;
      RangeStats r = new RangeStats().update(x, 0, x.length);
      QuantParams p = QuantParams.of(scheme, r.min(), r.max(), r.absmax() * 0.7f);
      short[] q = new short[x.length];
      long clipped = LinearKernel.fast(x, 0, q, 0, x.length, p.scale(), p.zeroPoint(), p.qmin(), p.qmax());
      long refClipped = 0;
      for (int i = 0; i < x.length; i++) {
        assertThat((int) q[i]).as("x=%s", x[i]).isEqualTo(Reference.quantize(x[i], p.scale(), p.zeroPoint(), p.qmin(),
            p.qmax()));
        refClipped += Reference.clipped(x[i], p.scale(), p.zeroPoint(), p.qmin(), p.qmax()) ? 1 : 0;
      }
      assertThat(clipped).isEqualTo(refClipped).isPositive();
    }
  }

  @Test
  void exactTiesRoundHalfToEven() {
    // scale 0.5: x / scale is exact, so these are true .5 ties of rint.
    QuantParams p = new QuantParams(0.5f, 0, -32768, 32767);
    float[] x = {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 16383.75f, -16383.75f, 16383.25f};
    short[] q = new short[x.length];
    LinearKernel.quantize(x, 0, q, 0, x.length, p);
    assertThat(q).containsExactly((short) 0, (short) 2, (short) 2, (short) 0, (short) -2, (short) 32767,
        (short) -32768, (short) 32766);
    // 16383.75 / 0.5 = 32767.5 rounds to the even 32768, which is clipped.
    assertThat(LinearKernel.quantize(new float[] {16383.75f}, 0, new short[1], 0, 1, p)).isEqualTo(1);
  }

  @Test
  void symmetricFullRangeScaleIsTheSeedFormula() {
    QuantParams p = QuantParams.of(Scheme.SYMMETRIC, -10f, 10f, 10f);
    assertThat(p.scale()).isEqualTo(Reference.symmetricScale(10f)).isEqualTo((float) (20.0 / 65535));
    short[] q = new short[1];
    LinearKernel.quantize(new float[] {5.6f}, 0, q, 0, 1, p);
    assertThat(q[0]).isEqualTo((short) 18350); // DESIGN.md §3: the seed's example, corrected
  }

  @Test
  void degenerateRangesNeverDivideByZero() {
    for (Scheme s : new Scheme[] {Scheme.SYMMETRIC, Scheme.SYMMETRIC_RESTRICTED, Scheme.ASYMMETRIC}) {
      QuantParams zero = QuantParams.of(s, 0f, 0f, 0f);
      assertThat(zero.scale()).isEqualTo(1f);
      assertThat(zero.zeroPoint()).isEqualTo(s == Scheme.ASYMMETRIC ? -32768 : 0);
      QuantParams none = QuantParams.of(s, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f);
      assertThat(none.scale()).isEqualTo(1f);
      QuantParams tiny = QuantParams.of(s, -Float.MIN_VALUE, Float.MIN_VALUE, Float.MIN_VALUE);
      assertThat(tiny.scale()).isPositive();
      short[] q = new short[2];
      LinearKernel.quantize(new float[] {0f, -0f}, 0, q, 0, 2, zero);
      float[] back = new float[2];
      LinearKernel.dequantize(q, 0, back, 0, 2, zero);
      assertThat(back).containsExactly(0f, 0f);
    }
  }
}
