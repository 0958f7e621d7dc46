package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.q16.calib.MagnitudeStats;
import io.q16.testing.Distributions;
import io.q16.testing.NonlinearReference;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

class LogCodecTest {
  /** Parameter sets that reach every branch: wide and narrow spans, the floor, extremes of float32. */
  static List<LogParams> paramSets() {
    return List.of(
        LogParams.fromStats(0.73f, 2.1e-7f), // a typical weight tensor, ~21.7 octaves
        LogParams.fromStats(1e-30f, Float.MIN_VALUE), // span capped at 64 octaves: the floor flushes
        LogParams.fromStats(3.5f, 3.5f), // one magnitude: k = 2^22, the cap
        LogParams.fromStats(Float.MAX_VALUE, Float.MIN_VALUE, 256), // all of float32; value(1) subnormal
        LogParams.fromStats(2e-39f, Float.MIN_VALUE), // a subnormal tensor: codes decode to subnormals
        new LogParams(2f, 1000.5)); // exact log-domain ties exist (A/2 is half-way between two codes)
  }

  /** Seeded data biased toward what breaks this codec: ties in both domains, the clip edge, tails, zeros. */
  static float[] nasty(long seed, int n, LogParams p) {
    Random r = new Random(seed);
    float a = p.absmax();
    double k = p.codesPerOctave();
    float v1 = p.minPositive();
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      float sign = r.nextBoolean() ? 1f : -1f;
      x[i] = sign * switch (r.nextInt(16)) {
        case 0 -> 0f;
        case 1 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NaN;
        case 2, 3 -> { // next to a log-domain tie between codes m and m+1
          int m = 1 + r.nextInt(32766);
          float g = (float) (a * Math.pow(2, (m + 0.5 - 32767) / k));
          yield switch (r.nextInt(3)) {
            case 0 -> Math.nextDown(g);
            case 1 -> Math.nextUp(g);
            default -> g;
          };
        }
        case 4 -> (float) (a * Math.pow(2, (1 + r.nextInt(32767) - 32767) / k)); // on a code
        case 5 -> switch (r.nextInt(3)) { // the flush tie value(1)/2, and the log half-way to code 1
          case 0 -> v1 / 2;
          case 1 -> Math.nextUp(v1 / 2);
          default -> (float) (a * Math.pow(2, (0.5 - 32767) / k));
        };
        case 6 -> switch (r.nextInt(4)) { // the clip edge: A, and A · 2^(1/(2k))
          case 0 -> a;
          case 1 -> Math.nextUp(a);
          case 2 -> (float) (a * Math.pow(2, 0.5 / k));
          default -> Math.nextUp((float) (a * Math.pow(2, 0.5 / k)));
        };
        case 7 -> Float.MIN_VALUE * r.nextInt(1 << 23); // subnormals
        case 8 -> (float) (a * Math.pow(2, -80 * r.nextDouble())); // tiny magnitudes, below the floor too
        case 9 -> Math.abs(Float.intBitsToFloat(r.nextInt())); // any float: NaN, Inf, far outside
        case 10 -> (float) (a / 4 * Math.log(r.nextDouble())); // Laplace
        case 11 -> (float) (a / 64 * Distributions.studentT2(r)); // Student-t, 2 dof: some clip
        default -> (float) (r.nextGaussian() * a / 4);
      };
    }
    return x;
  }


  @Test
  void matchesTheIndependentReferenceBitForBit() {
    long seed = 1;
    for (LogParams p : paramSets()) {
      NonlinearReference.Log ref = new NonlinearReference.Log(p.absmax(), p.codesPerOctave());
      float[] x = nasty(seed++, 6000, p);
      short[] q = new short[x.length + 5];
      long clipped = LogCodec.encode(x, 0, q, 5, x.length, p);
      long refClipped = 0;
      int nearTies = 0;
      for (int i = 0; i < x.length; i++) {
        NonlinearReference.Code want = ref.encode(x[i]);
        if (want.nearTie()) {
          nearTies++;
          assertThat(Math.abs(q[5 + i] - want.code())).as("%s near a tie: x=%s", p, x[i]).isLessThanOrEqualTo(1);
          continue;
        }
        assertThat((int) q[5 + i]).as("%s x=%s (bits %08x)", p, x[i], Float.floatToRawIntBits(x[i]))
            .isEqualTo(want.code());
        assertThat(p.clips(x[i])).as("%s clips(%s)", p, x[i]).isEqualTo(want.clipped());
        refClipped += want.clipped() ? 1 : 0;
      }
      // Only exact log ties (k = 1000.5) come that close: a float32 next to a transcendental tie
      // is at least ~k·2^-25 code away from it.
      assertThat(nearTies).as("%s", p).isLessThan(p.codesPerOctave() == 1000.5 ? 200 : 1);
      assertThat(clipped).as("%s", p).isGreaterThanOrEqualTo(refClipped).isLessThanOrEqualTo(refClipped + nearTies);
      assertThat(clipped).isPositive();

      float[] back = new float[x.length + 2];
      LogCodec.decode(q, 5, back, 2, x.length, p);
      for (int i = 0; i < x.length; i++) {
        assertThat(Float.floatToRawIntBits(back[2 + i])).as("%s code %d", p, q[5 + i])
            .isEqualTo(Float.floatToRawIntBits(ref.decode(q[5 + i])));
      }
    }
  }

  @Test
  void everyCodeDecodesAsTheReferenceAndInOrder() {
    List<LogParams> sets = paramSets();
    for (int s = 0; s < sets.size(); s++) {
      LogParams p = sets.get(s);
      NonlinearReference.Log ref = new NonlinearReference.Log(p.absmax(), p.codesPerOctave());
      short[] q = new short[65536];
      for (int i = 0; i < q.length; i++) {
        q[i] = (short) (i - 32768);
      }
      float[] out = new float[q.length];
      LogCodec.decode(q, 0, out, 0, q.length, p);
      // Every code of the typical set; a sample of the others (the reference costs ~30 µs a code).
      for (int m = 1; m <= 32767; m += s == 0 ? 1 : 61) {
        assertThat(out[32768 + m]).as("%s value(%d)", p, m).isEqualTo(ref.value(m));
      }
      for (int m = 1; m <= 32767; m++) {
        assertThat(out[32768 - m]).isEqualTo(-out[32768 + m]);
      }
      assertThat(Float.floatToRawIntBits(out[32768])).isZero(); // code 0 is +0.0
      assertThat(out[0]).isEqualTo(-p.absmax()); // -32768 decodes as -32767
      assertThat(out[65535]).isEqualTo(p.absmax());
      for (int i = 32769; i < 65536; i++) {
        assertThat(out[i]).isGreaterThanOrEqualTo(out[i - 1]).isFinite();
      }
    }
  }

  @Test
  void atTheCapEveryCodeIsItsOwnFloat() {
    // k = 2^22: adjacent codes differ by more than float32's widest relative step.
    LogParams p = LogParams.fromStats(1.5f, 1.5f);
    assertThat(p.codesPerOctave()).isEqualTo(LogParams.MAX_CODES_PER_OCTAVE);
    short[] q = new short[32767];
    for (int i = 0; i < q.length; i++) {
      q[i] = (short) (i + 1);
    }
    float[] out = new float[q.length];
    LogCodec.decode(q, 0, out, 0, q.length, p);
    for (int i = 1; i < out.length; i++) {
      assertThat(out[i]).isGreaterThan(out[i - 1]);
    }
  }

  @Test
  void roundTripStaysWithinTheStatedBounds() {
    Random r = new Random(42);
    int n = 200_000;
    short[] q = new short[n];
    float[] back = new float[n];
    double worstRatio = 0;
    String[] kinds = {"gaussian", "laplace", "student-t2", "tiny", "subnormal", "nasty"};
    for (LogParams p : paramSets()) {
      double half = Math.pow(2, 1 / (2 * p.codesPerOctave())) - 1;
      double rel = half + 0x1p-23;
      assertThat(p.relativeErrorBound()).isCloseTo(rel, org.assertj.core.data.Offset.offset(1e-15));
      float a = p.absmax();
      float v1 = p.minPositive();
      for (String kind : kinds) {
        float[] x = kind.equals("nasty") ? nasty(r.nextLong(), n, p) : new float[n];
        if (!kind.equals("nasty")) {
          for (int i = 0; i < n; i++) {
            x[i] = switch (kind) {
              case "gaussian" -> (float) (r.nextGaussian() * a / 5);
              case "laplace" -> (float) ((r.nextBoolean() ? a : -a) / 20 * Math.log(r.nextDouble()));
              case "student-t2" -> (float) (a / 100 * Distributions.studentT2(r));
              case "tiny" -> (float) ((r.nextBoolean() ? a : -a) * Math.pow(2, -70 * r.nextDouble()));
              default -> (r.nextBoolean() ? 1 : -1) * Float.MIN_VALUE * r.nextInt(1 << 24);
            };
          }
          System.arraycopy(new float[] {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}, 0, x, 0, 5);
        }
        long clipped = LogCodec.encode(x, 0, q, 0, n, p);
        LogCodec.decode(q, 0, back, 0, n, p);
        long counted = 0;
        for (int i = 0; i < n; i++) {
          float v = x[i];
          float y = back[i];
          boolean ok;
          if (Float.isNaN(v)) {
            ok = Float.floatToRawIntBits(y) == 0;
          } else if (p.clips(v)) {
            counted++;
            ok = y == (v > 0 ? a : -a);
          } else {
            // The bounds spelled out again, independently of withinBound.
            double err = Math.abs((double) v - y);
            double av = Math.abs((double) v);
            if (av >= v1) {
              ok = err <= rel * av + 0x1p-150;
              if (av >= 0x1p-100) {
                worstRatio = Math.max(worstRatio, err / (half * av));
              }
            } else {
              ok = err <= v1 / 2.0 && (y == 0f || Math.abs(y) == v1);
            }
            ok &= y == 0f || Math.signum(y) == Math.signum(v);
          }
          if (!ok || !p.withinBound(v, y)) {
            throw new AssertionError(String.format("%s %s: x=%s x̂=%s (code %d) out of bounds", p, kind, v, y, q[i]));
          }
        }
        assertThat(clipped).isEqualTo(counted);
      }
    }
    // Measured 1.00024: the nearest code alone reaches 1.0000 of 2^(1/(2k)) - 1, and float32
    // rounding adds up to 2^-24 |x̂| on top (2^-23 in the bound).
    System.out.println("log codec: worst |x - x̂| / ((2^(1/(2k)) - 1)|x|) = " + worstRatio);
    assertThat(worstRatio).isGreaterThan(0.99);
  }

  @Test
  void zeroAndSignsRoundTrip() {
    LogParams p = LogParams.fromStats(1f, 1e-6f);
    float[] x = {0f, -0f, 1f, -1f, 1e-6f, -1e-6f, 1e-30f, -1e-30f, Float.NaN, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, 0.5f, -0.5f};
    short[] q = new short[x.length];
    assertThat(LogCodec.encode(x, 0, q, 0, x.length, p)).isEqualTo(2);
    assertThat(q).containsExactly((short) 0, (short) 0, (short) 32767, (short) -32767, (short) 1, (short) -1,
        (short) 0, (short) 0, (short) 0, (short) 32767, (short) -32767, q[11], (short) -q[11]);
    float[] back = new float[x.length];
    LogCodec.decode(q, 0, back, 0, x.length, p);
    assertThat(Float.floatToRawIntBits(back[1])).isZero(); // -0.0 decodes as +0.0: one zero code
    assertThat(back[2]).isEqualTo(1f);
    assertThat(back[3]).isEqualTo(-1f);
    assertThat(back[11]).isEqualTo(-back[12]).isCloseTo(0.5f, org.assertj.core.data.Percentage.withPercentage(0.05));
  }

  @Test
  void parametersFromStatisticsPlaceAOnTheTopCodeAndFOnTheFirst() {
    Random r = new Random(3);
    for (int i = 0; i < 300; i++) {
      float a = (float) Math.pow(2, 160 * r.nextDouble() - 60); // f stays a normal float32
      float f = (float) (a * Math.pow(2, -0.01 - 60 * r.nextDouble())); // 0.01: below, k is capped
      MagnitudeStats stats = new MagnitudeStats().update(new float[] {f, -a, 0f, -(f + a) / 2}, 0, 4);
      LogParams p = LogParams.fromStats(stats.absmax(), stats.minNonZero());
      double octaves = Math.log((double) a / f) / Math.log(2);
      assertThat(p.codesPerOctave()).isCloseTo(32766 / octaves, org.assertj.core.data.Percentage.withPercentage(1e-9));
      short[] q = new short[2];
      LogCodec.encode(new float[] {a, -f}, 0, q, 0, 2, p);
      assertThat(q).containsExactly((short) 32767, (short) -1);
      float[] back = new float[2];
      LogCodec.decode(q, 0, back, 0, 2, p);
      assertThat(back[0]).isEqualTo(a); // exact
      assertThat((double) Math.abs(back[1] + f) / f).isLessThanOrEqualTo(p.relativeErrorBound());
    }
  }

  @Test
  void hugeSpansAreFlooredAndDegenerateOnesCapped() {
    LogParams wide = LogParams.fromStats(1f, 1e-30f);
    assertThat(wide.codesPerOctave()).isCloseTo(32766.0 / 64, org.assertj.core.data.Offset.offset(1e-9));
    assertThat((double) wide.minPositive()).isCloseTo(0x1p-64, org.assertj.core.data.Percentage.withPercentage(1e-6));
    assertThat(wide.relativeErrorBound()).isCloseTo(6.77e-4, org.assertj.core.data.Offset.offset(1e-6));
    short[] q = new short[3];
    long clipped = LogCodec.encode(new float[] {1e-30f, 0x1p-65f, Math.nextUp(0x1p-65f)}, 0, q, 0, 3, wide);
    assertThat(clipped).isZero();
    // 2^-65 is within a hair of value(1) / 2 (value(1) is 2^-64 up to rounding): 0 or 1.
    assertThat(q[0]).isZero();
    assertThat(q[2]).isEqualTo((short) 1);

    assertThat(LogParams.fromStats(5f, 5f).codesPerOctave()).isEqualTo(LogParams.MAX_CODES_PER_OCTAVE);
    assertThat(LogParams.fromStats(5f, Float.POSITIVE_INFINITY).codesPerOctave()).isEqualTo(LogParams.MAX_CODES_PER_OCTAVE);
    assertThat(LogParams.fromStats(5f, 4.9999995f).codesPerOctave()).isEqualTo(LogParams.MAX_CODES_PER_OCTAVE);
    assertThat(LogParams.fromStats(Float.MAX_VALUE, Float.MIN_VALUE, 256).codesPerOctave())
        .isCloseTo(LogParams.MIN_CODES_PER_OCTAVE, org.assertj.core.data.Offset.offset(1e-9));

    LogParams none = LogParams.fromStats(0f, Float.POSITIVE_INFINITY);
    assertThat(none.absmax()).isEqualTo(1f);
    float[] x = {0f, -0f, Float.NaN, Float.NEGATIVE_INFINITY};
    short[] codes = new short[4];
    assertThat(LogCodec.encode(x, 0, codes, 0, 4, none)).isEqualTo(1);
    assertThat(codes).containsExactly((short) 0, (short) 0, (short) 0, (short) -32767);

    assertThatThrownBy(() -> LogParams.fromStats(-1f, 1f)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LogParams.fromStats(Float.NaN, 1f)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LogParams.fromStats(Float.POSITIVE_INFINITY, 1f)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LogParams.fromStats(1f, 0.5f, 257)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LogParams(0f, 1000)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LogParams(1f, 100)).hasMessageContaining("codes per octave");
    assertThatThrownBy(() -> new LogParams(1f, 0x1p23)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LogParams(1f, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * The point of the codec. Student-t with 2 degrees of freedom (1M values, seed 11: max|x| = 886.3,
   * min |x| 4.3e-7), its 10% smallest magnitudes (|x| < 0.142). Measured median relative error of
   * those: symmetric linear int16 (scale 0.027) 9.6e-2; log (k = 1050.06) 1.65e-4; for comparison
   * minifloat E=5 1.69e-4 and E=7 6.74e-4. Near max|x| linear is the better code (2^-16 relative).
   */
  @Test
  void onAHeavyTailedTensorLogBeatsLinearOnSmallValues() {
    Random r = new Random(11);
    int n = 1_000_000;
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) Distributions.studentT2(r);
    }
    MagnitudeStats stats = new MagnitudeStats().update(x, 0, n);
    float[] sorted = new float[n];
    for (int i = 0; i < n; i++) {
      sorted[i] = Math.abs(x[i]);
    }
    Arrays.sort(sorted);
    float smallLimit = sorted[n / 10];

    QuantParams lin = QuantParams.minMax(Scheme.SYMMETRIC, -stats.absmax(), stats.absmax());
    short[] q = new short[n];
    float[] back = new float[n];
    LinearKernel.quantize(x, 0, q, 0, n, lin);
    LinearKernel.dequantize(q, 0, back, 0, n, lin);
    double linear = medianRelativeErrorBelow(x, back, smallLimit);

    LogParams lp = LogParams.fromStats(stats.absmax(), stats.minNonZero());
    assertThat(LogCodec.encode(x, 0, q, 0, n, lp)).isZero();
    LogCodec.decode(q, 0, back, 0, n, lp);
    double log = medianRelativeErrorBelow(x, back, smallLimit);

    double[] mini = new double[2];
    for (int j = 0; j < 2; j++) {
      MinifloatParams mp = MinifloatParams.fromStats(j == 0 ? 5 : 7, stats.absmax());
      MinifloatCodec.encode(x, 0, q, 0, n, mp);
      MinifloatCodec.decode(q, 0, back, 0, n, mp);
      mini[j] = medianRelativeErrorBelow(x, back, smallLimit);
    }
    System.out.printf("student-t2: absmax %s, small |x| < %s, k %s; median relative error of small values:"
            + " linear %.3g, log %.3g, minifloat E=5 %.3g, E=7 %.3g%n",
        stats.absmax(), smallLimit, lp.codesPerOctave(), linear, log, mini[0], mini[1]);
    assertThat(log).isLessThan(linear / 100).isLessThan(lp.relativeErrorBound());
  }

  static double medianRelativeErrorBelow(float[] x, float[] back, float limit) {
    double[] e = new double[x.length];
    int m = 0;
    for (int i = 0; i < x.length; i++) {
      double a = Math.abs((double) x[i]);
      if (a > 0 && a < limit) {
        e[m++] = Math.abs((double) x[i] - back[i]) / a;
      }
    }
    Arrays.sort(e, 0, m);
    return e[m / 2];
  }

  @Test
  void parametersSurviveJavaAndKryoSerialization() throws Exception {
    SerializerInstance kryo = new KryoSerializer(new SparkConf().set("spark.kryo.registrationRequired", "false"))
        .newInstance();
    for (LogParams p : paramSets()) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
        out.writeObject(p);
      }
      LogParams back;
      try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
        back = (LogParams) in.readObject();
      }
      LogParams viaKryo = (LogParams) kryo.deserialize(kryo.serialize(p, ClassTag$.MODULE$.AnyRef()), ClassTag$.MODULE$.AnyRef());
      for (LogParams b : new LogParams[] {back, viaKryo}) {
        assertThat(b).isEqualTo(p).hasSameHashCodeAs(p);
        assertThat(b.minPositive()).isEqualTo(p.minPositive());
        assertThat(b.relativeErrorBound()).isEqualTo(p.relativeErrorBound());
        float[] x = nasty(5, 1000, p);
        short[] q1 = new short[x.length];
        short[] q2 = new short[x.length];
        LogCodec.encode(x, 0, q1, 0, x.length, p);
        LogCodec.encode(x, 0, q2, 0, x.length, b);
        assertThat(q2).isEqualTo(q1);
      }
    }
  }
}
