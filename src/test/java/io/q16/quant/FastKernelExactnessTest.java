package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The fast kernels against the scalar reference kernels, bit for bit, on tens of millions of
 * seeded random inputs: any float bit pattern, exact and near .5 ties, ±0, subnormals, ±Inf, NaN,
 * values far outside the range, across many scales, zero points and code ranges, at every offset
 * and length around the block size. (The reference itself is checked against the exact BigDecimal
 * reference in {@link LinearKernelTest} and against the golden vectors.)
 */
class FastKernelExactnessTest {
  private static final int BLOCK = LinearBlocks.BLOCK;
  /** Elements compared per test method; a few seconds each. */
  private static final long ELEMENTS = 24_000_000;

  /** A quantizer to test: scale, zero point, code range. */
  private record Params(float scale, int zp, int qmin, int qmax) {}

  private static Params params(SplittableRandom r) {
    int qmin;
    int qmax;
    switch (r.nextInt(8)) {
      case 0 -> {
        qmin = -32767;
        qmax = 32767;
      }
      case 1 -> {
        qmin = 0; // a plain unsigned range (uint16 storage itself flips int16 codes)
        qmax = 65535;
      }
      case 2 -> {
        qmin = -r.nextInt(1 << 20);
        qmax = qmin + r.nextInt(1 << 20);
      }
      default -> {
        qmin = -32768;
        qmax = 32767;
      }
    }
    int zp = switch (r.nextInt(6)) {
      case 0, 1 -> Math.max(qmin, Math.min(qmax, 0));
      case 2 -> qmin;
      case 3 -> qmax;
      default -> qmin + r.nextInt(qmax - qmin + 1);
    };
    float scale = switch (r.nextInt(10)) {
      case 0 -> Float.intBitsToFloat(r.nextInt(0x7F800000)); // any positive float, subnormals too
      case 1 -> (float) Math.scalb(1.0, r.nextInt(-149, 128)); // powers of two: exact quotients
      case 2 -> Float.intBitsToFloat(r.nextInt(1, 0x00800000)); // subnormal
      case 3 -> new float[] {1f, Float.MIN_VALUE, Float.MAX_VALUE, Float.MIN_NORMAL}[r.nextInt(4)];
      default -> {
        // As calibration makes them, from a random range.
        Scheme scheme = Scheme.LINEAR.get(r.nextInt(Scheme.LINEAR.size()));
        float a = (float) (r.nextDouble(-1, 1) * Math.scalb(1.0, r.nextInt(-40, 40)));
        float b = (float) (r.nextDouble(-1, 1) * Math.scalb(1.0, r.nextInt(-40, 40)));
        yield QuantParams.minMax(scheme, Math.min(a, b), Math.max(a, b)).scale();
      }
    };
    return new Params(scale, zp, qmin, qmax);
  }

  /** A value that exercises the kernel under {@code p}: ties, neighbours, boundaries, specials. */
  private static float value(SplittableRandom r, Params p, boolean nan) {
    float s = p.scale;
    int lq = p.qmin - p.zp;
    int hq = p.qmax - p.zp;
    switch (r.nextInt(16)) {
      case 0, 1 -> {
        float v = Float.intBitsToFloat(r.nextInt());
        return nan || v == v ? v : 0.5f;
      }
      case 2, 3 -> {
        // Near a .5 tie of the quotient, on either side of it.
        float x = (r.nextInt(lq - 4, hq + 5) + 0.5f) * s;
        return switch (r.nextInt(3)) {
          case 0 -> Math.nextDown(x);
          case 1 -> Math.nextUp(x);
          default -> x;
        };
      }
      case 4 -> {
        // Just inside and outside the clipping boundaries.
        int k = r.nextBoolean() ? hq : lq;
        float x = (k + (r.nextBoolean() ? 0.5f : -0.5f) + (float) r.nextDouble(-0.01, 0.01)) * s;
        return r.nextBoolean() ? x : Math.nextUp(x);
      }
      case 5 -> {
        return r.nextInt(lq - 2, hq + 3) * s;
      }
      case 6 -> {
        return r.nextBoolean() ? 0f : -0f;
      }
      case 7 -> {
        return Float.intBitsToFloat(r.nextInt(0x00800000) | (r.nextBoolean() ? 0x80000000 : 0));
      }
      case 8 -> {
        return r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
      }
      case 9 -> {
        // Far outside the range, up to the largest floats.
        return (float) (r.nextBoolean() ? 1 : -1) * Float.intBitsToFloat(r.nextInt(0x4B000000, 0x7F800000));
      }
      case 10 -> {
        if (nan) {
          return r.nextBoolean() ? Float.NaN : Float.intBitsToFloat(0xFF800001 + r.nextInt(0x7FFFFE));
        }
        return (float) r.nextGaussian() * s * 20000;
      }
      default -> {
        return (float) (r.nextGaussian() * s * (hq - lq) / 6);
      }
    }
  }

  @Test
  void linearKernelMatchesTheScalarReference() {
    SplittableRandom r = new SplittableRandom(20240611);
    float[] x = new float[4 * BLOCK + 64];
    short[] fast = new short[x.length];
    short[] ref = new short[x.length];
    long elements = 0;
    long fastPathElements = 0;
    long clippedSeen = 0;
    int batches = 0;
    while (elements < ELEMENTS) {
      Params p = params(r);
      boolean nan = r.nextInt(8) == 0;
      int n = switch (r.nextInt(6)) {
        case 0 -> r.nextInt(33);
        case 1 -> BLOCK * (1 + r.nextInt(3)) + r.nextInt(-1, 2);
        default -> r.nextInt(4 * BLOCK);
      };
      int xOff = r.nextInt(33);
      int qOff = r.nextInt(33);
      for (int i = 0; i < n; i++) {
        x[xOff + i] = value(r, p, nan);
      }
      Arrays.fill(fast, (short) 0x5A5A);
      Arrays.fill(ref, (short) 0x5A5A);
      long want = LinearKernel.quantizeReference(x, xOff, ref, qOff, n, p.scale, p.zp, p.qmin, p.qmax);
      long got = LinearKernel.quantize(x, xOff, fast, qOff, n, p.scale, p.zp, p.qmin, p.qmax);
      check(x, xOff, qOff, fast, ref, p, got, want);
      if (!nan) {
        // Without NaN the fast path must answer by itself, not through the reference.
        Arrays.fill(fast, (short) 0x5A5A);
        long alone = LinearKernel.fast(x, xOff, fast, qOff, n, p.scale, p.zp, p.qmin, p.qmax);
        assertThat(alone).as("fast path refused %s", p).isEqualTo(want);
        check(x, xOff, qOff, fast, ref, p, alone, want);
        fastPathElements += n;
      }
      elements += n;
      clippedSeen += want;
      batches++;
    }
    assertThat(fastPathElements).isGreaterThan(ELEMENTS * 3 / 4);
    assertThat(clippedSeen).isGreaterThan(ELEMENTS / 20);
    assertThat(batches).isGreaterThan(5000);
  }

  @Test
  void granularKernelMatchesTheScalarReference() {
    SplittableRandom r = new SplittableRandom(77);
    long elements = 0;
    long fastPathElements = 0;
    while (elements < ELEMENTS / 2) {
      long[] shape = switch (r.nextInt(5)) {
        case 0 -> new long[] {1 + r.nextInt(40), 1 + r.nextInt(3000)};
        case 1 -> new long[] {1 + r.nextInt(8), 1 + r.nextInt(8), 1 + r.nextInt(300)};
        case 2 -> new long[] {1 + r.nextInt(4000)};
        case 3 -> new long[] {1 + r.nextInt(6), 512 + r.nextInt(3000)};
        default -> new long[] {1 + r.nextInt(300), 1 + r.nextInt(40)};
      };
      Granularity g = switch (r.nextInt(3)) {
        case 0 -> Granularity.channel(r.nextInt(shape.length));
        case 1 -> Granularity.group(new int[] {1, 2, 3, 32, 128, 129, 600}[r.nextInt(7)]);
        default -> Granularity.TENSOR;
      };
      UnitLayout layout = UnitLayout.of(shape, g);
      long total = 1;
      for (long d : shape) {
        total *= d;
      }
      int units = (int) layout.units();
      // One code range per call (the scheme's); per-unit scales and zero points.
      Params base = params(r);
      float[] scales = new float[units];
      int[] zps = new int[units];
      for (int u = 0; u < units; u++) {
        Params p = params(r);
        scales[u] = p.scale;
        zps[u] = base.qmin + r.nextInt(base.qmax - base.qmin + 1);
      }
      if (r.nextInt(3) == 0) {
        Arrays.fill(zps, Math.max(base.qmin, Math.min(base.qmax, 0)));
      }
      // A chunk of the tensor: [first, first + n).
      long first = r.nextLong(total);
      int n = (int) Math.min(total - first, r.nextInt(1, 3 * BLOCK));
      boolean nan = r.nextInt(8) == 0;
      int xOff = r.nextInt(9);
      float[] x = new float[xOff + n];
      for (int i = 0; i < n; i++) {
        int u = (int) layout.unitOf(first + i);
        x[xOff + i] = value(r, new Params(scales[u], zps[u], base.qmin, base.qmax), nan);
      }
      short[] fast = new short[n + 5];
      short[] ref = new short[n + 5];
      long want = GranularKernel.quantizeReference(x, xOff, ref, 5, n, first, layout, scales, zps, 0,
          base.qmin, base.qmax);
      long got = GranularKernel.quantize(x, xOff, fast, 5, n, first, layout, scales, zps, 0,
          base.qmin, base.qmax);
      if (got != want || !Arrays.equals(fast, ref)) {
        int i = Arrays.mismatch(fast, ref) - 5;
        fail("shape %s %s first %d n %d: clipped %d vs %d; first difference at %d: x=%s fast %d ref %d",
            Arrays.toString(shape), g, first, n, got, want, i, i >= 0 && i < n ? x[xOff + i] : null,
            i >= 0 && i < n ? fast[5 + i] : null, i >= 0 && i < n ? ref[5 + i] : null);
      }
      if (!nan) {
        Arrays.fill(fast, (short) 0);
        assertThat(GranularKernel.fast(x, xOff, fast, 5, n, first, layout, scales, zps, 0, base.qmin, base.qmax))
            .isEqualTo(want);
        assertThat(fast).isEqualTo(ref);
        fastPathElements += n;
      }
      elements += n;
    }
    assertThat(fastPathElements).isGreaterThan(ELEMENTS / 4);
  }

  @Test
  void parametersOutsideTheFastDomainFallBackToTheReference() {
    float[] x = {1e9f, -3f, 0.5f, Float.NaN, Float.NEGATIVE_INFINITY, 7.5f};
    int[][] ranges = {{5, -5, 0}, {-(1 << 23), 1 << 23, 0}, {-32768, 32767, 1 << 24}, {Integer.MIN_VALUE, 0, 0}};
    for (int[] qr : ranges) {
      short[] fast = new short[x.length];
      short[] ref = new short[x.length];
      assertThat(LinearKernel.fast(x, 0, fast, 0, x.length, 0.5f, qr[2], qr[0], qr[1])).isEqualTo(-1);
      assertThat(LinearKernel.quantize(x, 0, fast, 0, x.length, 0.5f, qr[2], qr[0], qr[1]))
          .isEqualTo(LinearKernel.quantizeReference(x, 0, ref, 0, x.length, 0.5f, qr[2], qr[0], qr[1]));
      assertThat(fast).isEqualTo(ref);
    }
  }

  /**
   * Every one of the 2^32 float bit patterns, for four parameter sets: about 25 s per set on one
   * core, so off by default. Run with
   * {@code mvn test -Dtest=FastKernelExactnessTest -Dq16.exhaustive=true}.
   */
  @Test
  @EnabledIfSystemProperty(named = "q16.exhaustive", matches = "true")
  void everyFloatBitPattern() {
    Params[] sets = {
      new Params(QuantParams.minMax(Scheme.SYMMETRIC, -0.11f, 0.1f).scale(), 0, -32768, 32767),
      new Params(QuantParams.minMax(Scheme.SYMMETRIC_RESTRICTED, -3f, 7f).scale(), 0, -32767, 32767),
      new Params(QuantParams.minMax(Scheme.ASYMMETRIC, -0.5f, 2f).scale(),
          QuantParams.minMax(Scheme.ASYMMETRIC, -0.5f, 2f).zeroPoint(), -32768, 32767),
      new Params(1f, 0, -32768, 32767),
    };
    int chunk = 1 << 24;
    float[] x = new float[chunk];
    short[] fast = new short[chunk];
    short[] ref = new short[chunk];
    for (Params p : sets) {
      for (long start = 0; start < 1L << 32; start += chunk) {
        for (int i = 0; i < chunk; i++) {
          x[i] = Float.intBitsToFloat((int) (start + i));
        }
        long want = LinearKernel.quantizeReference(x, 0, ref, 0, chunk, p.scale, p.zp, p.qmin, p.qmax);
        long got = LinearKernel.quantize(x, 0, fast, 0, chunk, p.scale, p.zp, p.qmin, p.qmax);
        check(x, 0, 0, fast, ref, p, got, want);
        long last = start + chunk - 1;
        if ((last >= 0x7F800001L && start <= 0x7FFFFFFFL) || last >= 0xFF800001L) {
          continue; // a chunk with NaN goes through the reference; the others must not need it
        }
        assertThat(LinearKernel.fast(x, 0, fast, 0, chunk, p.scale, p.zp, p.qmin, p.qmax)).isEqualTo(want);
        check(x, 0, 0, fast, ref, p, want, want);
      }
    }
  }

  private static void check(float[] x, int xOff, int qOff, short[] fast, short[] ref, Params p, long got, long want) {
    if (got == want && Arrays.equals(fast, ref)) {
      return;
    }
    int i = Arrays.mismatch(fast, ref);
    float xi = i >= 0 ? x[xOff + i - qOff] : Float.NaN;
    fail("%s: clipped %d vs reference %d; first code difference at element %d: x=%s (bits %08x), fast %d,"
        + " reference %d", p, got, want, i - qOff, xi, Float.floatToRawIntBits(xi), i >= 0 ? fast[i] : 0,
        i >= 0 ? ref[i] : 0);
  }
}
