package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.q16.testing.Reference;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The quantize pass's round-trip statistics: the fast path against the scalar reference and
 * against sums computed plainly in double here, merging, and the edges (non-finite values, all
 * zero, subnormal maxima, the histogram's last bin).
 */
class RoundTripStatsTest {
  /** Seeded values biased toward the awkward ones: ±0, subnormals, large, and (optionally) NaN and ±Inf. */
  private static float[] values(long seed, int n, boolean nonFinite) {
    return values(seed, n, nonFinite, nonFinite);
  }

  private static float[] values(long seed, int n, boolean nan, boolean inf) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      int k = r.nextInt(40);
      x[i] = switch (k) {
        case 0 -> 0f;
        case 1 -> -0f;
        case 2 -> Float.MIN_VALUE * (1 + r.nextInt(100));
        case 3 -> nan ? Float.NaN : 0.5f;
        case 4 -> inf ? (r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY) : -0.5f;
        case 5 -> (r.nextBoolean() ? 1 : -1) * 3.0f;
        default -> (float) (r.nextGaussian() * 0.4);
      };
    }
    return x;
  }

  private static float absmax(float[] x) {
    float m = 0;
    for (float v : x) {
      if (Float.isFinite(v)) {
        m = Math.max(m, Math.abs(v));
      }
    }
    return m;
  }

  /** Σx², Σ(x - x̂)², max |x - x̂| and the count of finite x, with x̂ = (q - zp) · scale in float32. */
  private static double[] plain(float[] x, short[] q, float scale, int zp) {
    float[] xhat = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      xhat[i] = (float) (q[i] - zp) * scale;
    }
    return Reference.errorSums(x, xhat);
  }

  @ParameterizedTest(name = "NaN {0}, Inf {1}")
  @CsvSource({"false, false", "false, true", "true, true"})
  void measuringKernelKeepsItsCodesAndAgreesWithTheReferenceAndPlainDoubleSums(boolean nan, boolean inf) {
    int n = 3 * RoundTripBlocks.BLOCK * RoundTripBlocks.FLUSH_BLOCKS + 777; // several flushes, a ragged tail
    float[] x = values(nan ? 11 : inf ? 12 : 13, n, nan, inf);
    float hi = absmax(x);
    // A threshold below max|x|, as calibration gives: the largest values clip.
    QuantParams p = QuantParams.of(Scheme.ASYMMETRIC, -hi, hi * 0.9f, hi * 0.9f);
    short[] plainCodes = new short[n];
    long plainClipped = LinearKernel.quantize(x, 0, plainCodes, 0, n, p);
    short[] q = new short[n + 5];
    RoundTripStats fast = new RoundTripStats(hi, 256);
    assertThat(LinearKernel.quantize(x, 0, q, 5, n, p, fast)).isEqualTo(plainClipped);
    assertThat(Arrays.copyOfRange(q, 5, n + 5)).isEqualTo(plainCodes);

    RoundTripStats ref = new RoundTripStats(hi, 256).addLinearReference(x, 0, q, 5, n, p.scale(), p.zeroPoint());
    double[] d = plain(x, plainCodes, p.scale(), p.zeroPoint());
    assertThat(fast.count()).isEqualTo(ref.count()).isEqualTo((long) d[3]);
    assertThat(fast.bins()).isEqualTo(ref.bins());
    assertThat(Arrays.stream(fast.bins()).sum()).isEqualTo(fast.count());
    assertThat(ref.sumX2()).isCloseTo(d[0], within(d[0] * 1e-12));
    assertThat(ref.sumE2()).isCloseTo(d[1], within(d[1] * 1e-12));
    assertThat(ref.maxAbsErr()).isEqualTo(d[2]);
    assertThat(fast.sumX2()).isCloseTo(d[0], within(d[0] * 1e-6));
    assertThat(fast.sumE2()).isCloseTo(d[1], within(d[1] * 1e-6));
    assertThat(fast.maxAbsErr()).isCloseTo(d[2], within(d[2] * 0x1p-23));
    assertThat(fast.sqnrDb()).isCloseTo(10 * Math.log10(d[0] / d[1]), within(1e-5));
    assertThat(fast.mse()).isCloseTo(d[1] / d[3], within(d[1] / d[3] * 1e-6));
  }

  @Test
  void unclippedErrorsAreExactInFloat32SoTheMaximumIsExact() {
    float[] x = values(13, 50_000, false);
    QuantParams p = QuantParams.minMax(Scheme.SYMMETRIC_RESTRICTED, -absmax(x), absmax(x), Overflow.SATURATE);
    short[] q = new short[x.length];
    RoundTripStats fast = new RoundTripStats(absmax(x), 64);
    LinearKernel.quantize(x, 0, q, 0, x.length, p, fast);
    assertThat(fast.maxAbsErr()).isEqualTo(plain(x, q, p.scale(), 0)[2]);
    assertThat(fast.maxAbsErr()).isLessThanOrEqualTo(p.scale() / 2.0 * (1 + 1e-6));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"group of 7 (short runs, one quantizer per element)", "channels along axis 0 (long runs)"})
  void perUnitMeasuringKernelKeepsItsCodesAndAgreesWithTheReference(String what) {
    boolean groups = what.startsWith("group");
    long[] shape = groups ? new long[] {37, 300} : new long[] {20, 1000};
    int n = (int) (shape[0] * shape[1]);
    UnitLayout layout = UnitLayout.of(shape, groups ? Granularity.group(7) : Granularity.channel(0));
    float[] x = values(14, n, false);
    int units = (int) layout.units();
    float[] scales = new float[units];
    int[] zps = new int[units];
    Random r = new Random(3);
    for (int u = 0; u < units; u++) {
      scales[u] = (float) (1e-5 * (1 + r.nextInt(50)));
      zps[u] = r.nextInt(201) - 100;
    }
    // Elements [first, n) of the tensor, as a chunk holds them: from offset 0.
    long first = 3 * shape[1] + (groups ? 5 : 0);
    int m = n - (int) first;
    float[] cx = Arrays.copyOfRange(x, (int) first, n);
    long base = layout.unitOf(first);
    float[] cs = Arrays.copyOfRange(scales, (int) base, units);
    int[] cz = Arrays.copyOfRange(zps, (int) base, units);
    short[] plainCodes = new short[m];
    long plainClipped = GranularKernel.quantize(cx, 0, plainCodes, 0, m, first, layout, cs, cz, base, -32768, 32767);
    short[] q = new short[m];
    float hi = absmax(cx);
    RoundTripStats fast = new RoundTripStats(hi, 256);
    assertThat(GranularKernel.quantize(cx, 0, q, 0, m, first, layout, cs, cz, base, -32768, 32767, fast))
        .isEqualTo(plainClipped);
    assertThat(q).isEqualTo(plainCodes);
    RoundTripStats ref = new RoundTripStats(hi, 256).addUnitsReference(cx, 0, q, 0, m, first, layout, cs, cz, base);
    assertThat(fast.bins()).isEqualTo(ref.bins());
    assertThat(fast.count()).isEqualTo(ref.count()).isEqualTo(m);
    assertThat(fast.sumE2()).isCloseTo(ref.sumE2(), within(ref.sumE2() * 1e-6));
    assertThat(fast.sumX2()).isCloseTo(ref.sumX2(), within(ref.sumX2() * 1e-6));
    assertThat(fast.maxAbsErr()).isCloseTo(ref.maxAbsErr(), within(ref.maxAbsErr() * 0x1p-23));
  }

  @Test
  void mergingChunksGivesTheWholeTensorsCountsExactlyAndItsSumsToDoubleRounding() {
    int n = 100_003;
    float[] x = values(15, n, true);
    float hi = absmax(x);
    QuantParams p = QuantParams.minMax(Scheme.SYMMETRIC, -hi, hi, Overflow.SATURATE);
    short[] q = new short[n];
    RoundTripStats whole = new RoundTripStats(hi, 256);
    LinearKernel.quantize(x, 0, q, 0, n, p, whole);
    RoundTripStats merged = new RoundTripStats(hi, 256);
    for (int off = 0; off < n; off += 9_999) {
      int m = Math.min(9_999, n - off);
      RoundTripStats part = new RoundTripStats(hi, 256);
      LinearKernel.quantize(x, off, q, off, m, p, part);
      merged.merge(part);
    }
    assertThat(merged.bins()).isEqualTo(whole.bins());
    assertThat(merged.count()).isEqualTo(whole.count());
    assertThat(merged.maxAbsErr()).isEqualTo(whole.maxAbsErr());
    assertThat(merged.sqnrDb()).isCloseTo(whole.sqnrDb(), within(1e-6));
  }

  @Test
  void histogramBinsAreEqualWidthOverZeroToHi() {
    float[] x = {0f, -0f, 0.49f, 0.51f, -1f, 1f, 3.99f, -4f, Float.NaN};
    short[] q = new short[x.length];
    RoundTripStats s = new RoundTripStats(4f, 8).addLinearReference(x, 0, q, 0, x.length, 1f, 0);
    // Bins of width 0.5: [0, .5) holds 0, -0, .49; [.5, 1) holds .51; [1, 1.5) holds ±1; the last holds 3.99 and 4.
    assertThat(s.bins()).containsExactly(3, 1, 2, 0, 0, 0, 0, 2);
    assertThat(s.count()).isEqualTo(8);
  }

  @Test
  void degenerateTensors() {
    // All zero: exact, no signal, everything in bin 0.
    float[] zeros = new float[5000];
    RoundTripStats z = new RoundTripStats(0f, 256);
    LinearKernel.quantize(zeros, 0, new short[zeros.length], 0, zeros.length, QuantParams.of(Scheme.SYMMETRIC, 0, 0, 0), z);
    assertThat(z.bins()[0]).isEqualTo(5000);
    assertThat(z.sqnrDb()).isNaN();
    assertThat(z.mse()).isZero();
    // A subnormal maximum: the fast path cannot scale by 1/hi, the reference measures it.
    float[] tiny = {Float.MIN_VALUE, -3 * Float.MIN_VALUE, 0f};
    RoundTripStats t = new RoundTripStats(3 * Float.MIN_VALUE, 4);
    LinearKernel.quantize(tiny, 0, new short[3], 0, 3, QuantParams.of(Scheme.SYMMETRIC, tiny[1], -tiny[1], -tiny[1]), t);
    assertThat(t.count()).isEqualTo(3);
    assertThat(t.sqnrDb()).isGreaterThan(0);
    // Exact round trip of a non-zero tensor: infinite SQNR.
    RoundTripStats exact = new RoundTripStats(2f, 4).addLinearReference(new float[] {1f, 2f}, 0, new short[] {1, 2}, 0,
        2, 1f, 0);
    assertThat(exact.sqnrDb()).isEqualTo(Double.POSITIVE_INFINITY);
    // Nothing measured.
    RoundTripStats empty = new RoundTripStats(0f, 4);
    LinearKernel.quantize(new float[0], 0, new short[0], 0, 0, QuantParams.of(Scheme.SYMMETRIC, 0, 0, 0), empty);
    assertThat(empty.count()).isZero();
    assertThat(empty.mse()).isZero();
  }

  @Test
  void decodedPairsAsForNonLinearCodecs() {
    float[] x = {1f, -2f, Float.POSITIVE_INFINITY, 0.25f};
    float[] xhat = {1.0625f, -2f, 3f, 0.25f};
    RoundTripStats s = new RoundTripStats(2f, 4).add(x, xhat, 0, 4);
    assertThat(s.count()).isEqualTo(3);
    assertThat(s.maxAbsErr()).isEqualTo(0.0625);
    assertThat(s.sqnrDb()).isCloseTo(10 * Math.log10((1 + 4 + 0.0625) / (0.0625 * 0.0625)), within(1e-12));

    float[] big = values(16, 100_000, false);
    float[] dec = new float[big.length];
    for (int i = 0; i < big.length; i++) {
      dec[i] = big[i] * (1 + 0x1p-10f);
    }
    RoundTripStats fast = new RoundTripStats(absmax(big), 256).add(big, dec, 0, big.length);
    RoundTripStats ref = new RoundTripStats(absmax(big), 256).addReference(big, dec, 0, big.length);
    assertThat(fast.bins()).isEqualTo(ref.bins());
    assertThat(fast.sumE2()).isCloseTo(ref.sumE2(), within(ref.sumE2() * 1e-6));
    assertThat(fast.maxAbsErr()).isEqualTo(ref.maxAbsErr());
  }
}
