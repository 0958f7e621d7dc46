package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.q16.testing.Distributions;
import io.q16.testing.NonlinearReference;
import io.q16.testing.Reference;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

class MinifloatCodecTest {
  /** For every E: the extreme biases and two calibrated ones. */
  static List<MinifloatParams> paramSets() {
    List<MinifloatParams> sets = new ArrayList<>();
    for (int e = 1; e <= 8; e++) {
      sets.add(new MinifloatParams(e, MinifloatParams.minBias(e)));
      sets.add(new MinifloatParams(e, MinifloatParams.maxBias(e)));
      sets.add(MinifloatParams.fromStats(e, 0.37f));
      sets.add(MinifloatParams.fromStats(e, 6.1e-21f * e));
    }
    return sets;
  }

  /**
   * Seeded data biased toward what breaks a rounding kernel: ties between neighbouring codes and
   * the floats just beside them, subnormals of both formats, powers of two, the largest value and
   * just above it, ±0, ±Inf, NaN.
   */
  static float[] nasty(long seed, int n, MinifloatParams p, NonlinearReference.Minifloat ref) {
    Random r = new Random(seed);
    float max = p.maxValue();
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      float sign = r.nextBoolean() ? 1f : -1f;
      // Codes in the subnormal range half the time.
      int c = Math.min(0x7FFE, r.nextBoolean() ? r.nextInt(0x7FFF) : r.nextInt(2 << p.mantissaBits()));
      x[i] = sign * switch (r.nextInt(16)) {
        case 0 -> 0f;
        case 1 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NaN;
        case 2, 3, 4 -> { // the tie between codes c and c+1, or a float beside it
          float mid = Reference.nearestFloat(ref.magnitude(c).add(ref.magnitude(c + 1)).divide(BigDecimal.valueOf(2)));
          yield switch (r.nextInt(3)) {
            case 0 -> Math.nextDown(mid);
            case 1 -> Math.nextUp(mid);
            default -> mid;
          };
        }
        case 5 -> ref.decode(c); // exactly representable
        case 6 -> switch (r.nextInt(5)) { // the largest value and the clip edge
          case 0 -> max;
          case 1 -> Math.nextUp(max);
          case 2 -> max + (max - ref.decode(0x7FFE)) / 2; // the tie: clips
          case 3 -> Math.nextDown(max + (max - ref.decode(0x7FFE)) / 2);
          default -> Math.nextUp(max + (max - ref.decode(0x7FFE)) / 2);
        };
        case 7 -> Math.scalb(1f, -149 + r.nextInt(277)); // powers of two over all of float32
        case 8 -> Float.MIN_VALUE * r.nextInt(1 << 23); // float32 subnormals
        case 9 -> Math.abs(Float.intBitsToFloat(r.nextInt())); // any float
        case 10 -> p.minPositive() * (float) (r.nextDouble() * (2 << p.mantissaBits())); // minifloat subnormals
        default -> (float) (r.nextGaussian() * max / 8);
      };
    }
    return x;
  }


  @Test
  void matchesTheExactReferenceBitForBit() {
    long seed = 1;
    for (MinifloatParams p : paramSets()) {
      NonlinearReference.Minifloat ref = new NonlinearReference.Minifloat(p.exponentBits(), p.bias());
      float[] x = nasty(seed++, 4000, p, ref);
      short[] q = new short[x.length + 3];
      long clipped = MinifloatCodec.encode(x, 0, q, 3, x.length, p);
      long refClipped = 0;
      for (int i = 0; i < x.length; i++) {
        NonlinearReference.Code want = ref.encode(x[i]);
        assertThat(q[3 + i] & 0xFFFF).as("%s x=%s (bits %08x)", p, x[i], Float.floatToRawIntBits(x[i]))
            .isEqualTo(want.code());
        assertThat(p.clips(x[i])).isEqualTo(want.clipped());
        refClipped += want.clipped() ? 1 : 0;
      }
      assertThat(clipped).as("%s", p).isEqualTo(refClipped).isPositive();
    }
  }

  @Test
  void everyPatternDecodesExactlyToAFiniteFloat() {
    for (MinifloatParams p : paramSets()) {
      NonlinearReference.Minifloat ref = new NonlinearReference.Minifloat(p.exponentBits(), p.bias());
      short[] q = new short[65536];
      for (int i = 0; i < q.length; i++) {
        q[i] = (short) i;
      }
      float[] out = new float[q.length + 1];
      MinifloatCodec.decode(q, 0, out, 1, q.length, p);
      for (int i = 0; i < q.length; i++) {
        float f = out[1 + i];
        assertThat(Float.isFinite(f)).isTrue();
        assertThat(new BigDecimal(Math.abs(f))).as("%s code %04x", p, i).isEqualByComparingTo(ref.magnitude(i));
        assertThat(Float.floatToRawIntBits(f) < 0).as("%s code %04x", p, i).isEqualTo(i >= 0x8000);
        if ((i & 0x7FFF) > 0) {
          assertThat(Math.abs(f)).isGreaterThan(Math.abs(out[i])); // strictly increasing magnitudes
        }
      }
      assertThat(out[1 + 0x7FFF]).isEqualTo(p.maxValue());
      assertThat(out[1 + 1]).isEqualTo(p.minPositive());
    }
  }

  @Test
  void everyTieOfEveryCodeRoundsToTheEvenMantissa() {
    for (MinifloatParams p : paramSets()) {
      short[] q = new short[0x8000];
      for (int i = 0; i < q.length; i++) {
        q[i] = (short) i;
      }
      float[] v = new float[q.length];
      MinifloatCodec.decode(q, 0, v, 0, q.length, p);
      float[] x = new float[3];
      short[] c = new short[3];
      for (int i = 0; i < 0x7FFF; i++) {
        double mid = ((double) v[i] + v[i + 1]) / 2; // exact in double
        if ((float) mid != mid) {
          continue; // below float32's resolution (bias at its maximum): no float32 tie exists
        }
        x[0] = Math.nextDown((float) mid);
        x[1] = (float) mid;
        x[2] = Math.nextUp((float) mid);
        assertThat(MinifloatCodec.encode(x, 0, c, 0, 3, p)).isZero();
        assertThat(c).as("%s tie between %04x and %04x", p, i, i + 1)
            .containsExactly((short) i, (short) ((i & 1) == 0 ? i : i + 1), (short) (i + 1));
      }
    }
  }

  @Test
  void roundTripStaysWithinTheStatedBounds() {
    Random r = new Random(9);
    int n = 100_000;
    short[] q = new short[n];
    float[] back = new float[n];
    for (MinifloatParams p : paramSets()) {
      NonlinearReference.Minifloat ref = new NonlinearReference.Minifloat(p.exponentBits(), p.bias());
      double rel = Math.scalb(1.0, -(p.mantissaBits() + 1));
      double abs = Math.scalb(1.0, -p.bias() - p.mantissaBits());
      assertThat(p.relativeErrorBound()).isEqualTo(rel);
      assertThat(p.absoluteErrorBound()).isEqualTo(abs);
      double minNormal = Math.scalb(1.0, 1 - p.bias());
      float[] x = nasty(r.nextLong(), n, p, ref);
      for (int i = 0; i < n / 2; i++) { // and heavy tails: Student-t with 2 degrees of freedom
        x[i] = (float) (p.maxValue() / 1000 * Distributions.studentT2(r));
      }
      long clipped = MinifloatCodec.encode(x, 0, q, 0, n, p);
      MinifloatCodec.decode(q, 0, back, 0, n, p);
      long counted = 0;
      double worstRel = 0;
      for (int i = 0; i < n; i++) {
        float v = x[i];
        float y = back[i];
        boolean ok;
        if (Float.isNaN(v)) {
          ok = Float.floatToRawIntBits(y) == 0;
        } else if (p.clips(v)) {
          counted++;
          ok = y == Math.copySign(p.maxValue(), v);
        } else {
          double err = Math.abs((double) v - y);
          double av = Math.abs((double) v);
          ok = av >= minNormal ? err <= rel * av : err <= abs;
          ok &= Float.floatToRawIntBits(v) >>> 31 == Float.floatToRawIntBits(y) >>> 31;
          if (av >= minNormal) {
            worstRel = Math.max(worstRel, err / av / rel);
          }
        }
        if (!ok || !p.withinBound(v, y)) {
          throw new AssertionError(String.format("%s: x=%s x̂=%s (code %04x) out of bounds", p, v, y, q[i] & 0xFFFF));
        }
      }
      assertThat(clipped).isEqualTo(counted);
      assertThat(worstRel).isLessThanOrEqualTo(1.0);
      // Ties just above a power of two come within 2^-(M+1) of the bound, if float32 has them: with
      // E = 1 at the largest bias, the one normal binade has float32's own step and no ties.
      if (Math.scalb(1.0, (1 << p.exponentBits()) - 1 - p.bias() - p.mantissaBits()) > 0x1p-149) {
        assertThat(worstRel).as("%s: ties come close to the bound", p).isGreaterThan(0.98);
      }
    }
  }

  @Test
  void zeroAndSignsRoundTrip() {
    MinifloatParams p = new MinifloatParams(7, 63);
    float tiny = Math.scalb(1f, -80); // below half the smallest subnormal 2^-70: rounds to zero
    float[] x = {0f, -0f, 1f, -1f, tiny, -tiny, Float.NaN, Float.intBitsToFloat(0xFFC00001), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY};
    short[] q = new short[x.length];
    assertThat(MinifloatCodec.encode(x, 0, q, 0, x.length, p)).isEqualTo(2);
    // The seed's layout: sign and 7 exponent bits in the high byte, 8 mantissa bits in the low one.
    assertThat(q).containsExactly((short) 0x0000, (short) 0x8000, (short) 0x3F00, (short) 0xBF00, (short) 0x0000,
        (short) 0x8000, (short) 0, (short) 0, (short) 0x7FFF, (short) 0xFFFF);
    float[] back = new float[x.length];
    MinifloatCodec.decode(q, 0, back, 0, x.length, p);
    assertThat(Float.floatToRawIntBits(back[1])).isEqualTo(0x80000000); // -0.0 kept
    assertThat(Float.floatToRawIntBits(back[5])).isEqualTo(0x80000000);
    assertThat(Float.floatToRawIntBits(back[6])).isZero(); // NaN → +0.0
    assertThat(back[2]).isEqualTo(1f);
    assertThat(back[3]).isEqualTo(-1f);
    assertThat(back[9]).isEqualTo(-p.maxValue()).isEqualTo((float) -((2 - 0x1p-8) * 0x1p64));
  }

  @Test
  void fiveExponentBitsWithBias15IsFloat16WithoutInfOrNaN() {
    MinifloatParams p = new MinifloatParams(5, 15);
    short[] q = {0x3C00, 0x7BFF, 0x0001, 0x03FF, 0x0400, (short) 0xC000, 0x7C00, 0x7FFF, 0x3555};
    float[] out = new float[q.length];
    MinifloatCodec.decode(q, 0, out, 0, q.length, p);
    assertThat(out).containsExactly(1f, 65504f, 0x1p-24f, 0x3FFp-24f, 0x1p-14f, -2f, 65536f, 131008f, 0.333251953125f);
    short[] back = new short[q.length];
    MinifloatCodec.encode(out, 0, back, 0, out.length, p);
    assertThat(back).isEqualTo(q);
    // float16 rounds 1/3 to 0x3555 (0.33325195...), ties to even at 2049 → 2048, 2051 → 2052.
    MinifloatCodec.encode(new float[] {1f / 3, 2049f, 2051f}, 0, back, 0, 3, p);
    MinifloatCodec.decode(back, 0, out, 0, 3, p);
    assertThat(out[0]).isEqualTo(0.333251953125f);
    assertThat(out[1]).isEqualTo(2048f);
    assertThat(out[2]).isEqualTo(2052f);
  }

  @Test
  void biasFromStatisticsIsTheLargestThatDoesNotClipAbsmax() {
    Random r = new Random(17);
    for (int e = 1; e <= 8; e++) {
      for (int i = 0; i < 2000; i++) {
        float a = switch (i % 4) {
          case 0 -> Math.abs(Float.intBitsToFloat(r.nextInt(0x7F800000))); // any finite magnitude
          case 1 -> (float) MinifloatParams.maxValue(e, MinifloatParams.minBias(e) + r.nextInt(100)); // exactly a max
          case 2 -> Math.nextUp((float) MinifloatParams.maxValue(e, MinifloatParams.minBias(e) + 1 + r.nextInt(100)));
          default -> (float) Math.min(Float.MAX_VALUE, Math.pow(10, 20 * r.nextGaussian()));
        };
        MinifloatParams p = MinifloatParams.fromStats(e, a);
        boolean coverable = a <= MinifloatParams.maxValue(e, MinifloatParams.minBias(e));
        if (coverable) {
          assertThat(p.maxValue()).as("E=%d A=%s", e, a).isGreaterThanOrEqualTo(a);
          assertThat(p.clips(a)).isFalse();
          short[] q = new short[1];
          float[] back = new float[1];
          MinifloatCodec.encode(new float[] {a}, 0, q, 0, 1, p);
          MinifloatCodec.decode(q, 0, back, 0, 1, p);
          assertThat(p.withinBound(a, back[0])).isTrue();
        } else {
          assertThat(p.bias()).isEqualTo(MinifloatParams.minBias(e));
        }
        // Maximal: one more and A would not fit (or the bias is already at its limit).
        assertThat(p.bias() == MinifloatParams.maxBias(e) || MinifloatParams.maxValue(e, p.bias() + 1) < a)
            .as("E=%d A=%s bias=%d", e, a, p.bias()).isTrue();
      }
      assertThat(MinifloatParams.fromStats(e, 0f).bias()).isEqualTo(MinifloatParams.maxBias(e));
      assertThat(MinifloatParams.fromStats(e, Float.MIN_VALUE).bias()).isEqualTo(MinifloatParams.maxBias(e));
      MinifloatParams huge = MinifloatParams.fromStats(e, Float.MAX_VALUE);
      assertThat(huge.bias()).isEqualTo(MinifloatParams.minBias(e));
      assertThat(huge.maxValue()).isLessThan(Float.MAX_VALUE); // the documented corner: A clips
      assertThat(huge.clips(Float.MAX_VALUE)).isTrue();
    }
    assertThat(MinifloatParams.fromStats(5, 65504f).bias()).isEqualTo(16); // float16's max fits one bias up
    assertThat(MinifloatParams.fromStats(5, 131008f).bias()).isEqualTo(15);
    assertThat(MinifloatParams.fromStats(7, 1f).bias()).isEqualTo(127);
  }

  @Test
  void biasLimitsKeepEveryValueAFiniteFloat32() {
    for (int e = 1; e <= 8; e++) {
      int lo = MinifloatParams.minBias(e);
      int hi = MinifloatParams.maxBias(e);
      assertThat(new MinifloatParams(e, lo).maxValue()).isFinite().isGreaterThan(0x1p127f);
      assertThat(new MinifloatParams(e, hi).minPositive()).isEqualTo(Float.MIN_VALUE);
      int fe = e;
      assertThatThrownBy(() -> new MinifloatParams(fe, lo - 1)).hasMessageContaining("bias");
      assertThatThrownBy(() -> new MinifloatParams(fe, hi + 1)).hasMessageContaining("bias");
    }
    assertThat(MinifloatParams.minBias(8)).isEqualTo(128);
    assertThat(MinifloatParams.maxBias(8)).isEqualTo(143);
    assertThatThrownBy(() -> new MinifloatParams(0, 0)).hasMessageContaining("exponent bits");
    assertThatThrownBy(() -> new MinifloatParams(9, 130)).hasMessageContaining("exponent bits");
    assertThatThrownBy(() -> MinifloatParams.fromStats(5, Float.NaN)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MinifloatParams.fromStats(5, -1f)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MinifloatParams.fromStats(5, Float.POSITIVE_INFINITY))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void parametersSurviveJavaAndKryoSerialization() throws Exception {
    SerializerInstance kryo = new KryoSerializer(new SparkConf().set("spark.kryo.registrationRequired", "false"))
        .newInstance();
    for (MinifloatParams p : paramSets()) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
        out.writeObject(p);
      }
      MinifloatParams back;
      try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
        back = (MinifloatParams) in.readObject();
      }
      MinifloatParams viaKryo = (MinifloatParams) kryo.deserialize(
          kryo.serialize(p, ClassTag$.MODULE$.AnyRef()), ClassTag$.MODULE$.AnyRef());
      for (MinifloatParams b : new MinifloatParams[] {back, viaKryo}) {
        assertThat(b).isEqualTo(p).hasSameHashCodeAs(p).hasToString(p.toString());
        assertThat(b.maxValue()).isEqualTo(p.maxValue());
        assertThat(b.mantissaBits()).isEqualTo(p.mantissaBits());
        float[] x = {1f, -3e-20f, 5e10f, Float.NaN, -0f};
        short[] q1 = new short[x.length];
        short[] q2 = new short[x.length];
        MinifloatCodec.encode(x, 0, q1, 0, x.length, p);
        MinifloatCodec.encode(x, 0, q2, 0, x.length, b);
        assertThat(q2).isEqualTo(q1);
      }
    }
  }
}
