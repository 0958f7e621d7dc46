package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import scala.reflect.ClassTag$;

/**
 * The fast log and minifloat kernels against their scalar references ({@code encodeReference},
 * {@code decodeReference}), bit for bit (codes, clipped counts, decoded float bits), on tens of
 * millions of seeded inputs across hundreds of parameter sets: any float bit pattern, NaN payloads
 * of both signs, ±0, float32 and format subnormals, decision boundaries of the log codec (from its
 * table and, independently, from the formula) and the floats beside them, ties between minifloat
 * codes and their neighbours, exact codes, the clip edge, ±Inf and values far above the largest
 * code, at every offset and length around the block size. (The references themselves are checked
 * against the independent BigDecimal references in {@link LogCodecTest} and {@link MinifloatCodecTest}.)
 */
class CodecExactnessTest {
  private static final int BLOCK = CodecBlocks.BLOCK;
  /** Values compared per encoding test; a few seconds each. */
  private static final long ELEMENTS = 24_000_000;

  // ---- log -------------------------------------------------------------------------------------

  private static LogParams logParams(SplittableRandom r) {
    switch (r.nextInt(8)) {
      case 0 -> { // any A and k: value(1) may underflow to 0, codes may be subnormal
        float a = Float.intBitsToFloat(r.nextInt(1, 0x7F800000));
        double k = Math.exp(r.nextDouble(Math.log(LogParams.MIN_CODES_PER_OCTAVE), Math.log(LogParams.MAX_CODES_PER_OCTAVE)));
        return new LogParams(a, k);
      }
      case 1 -> { // from statistics, any span and floor, anywhere in float32
        float a = Float.intBitsToFloat(r.nextInt(0x00800000, 0x7F800000));
        float f = (float) (a * Math.pow(2, -r.nextDouble(0, 300)));
        return LogParams.fromStats(a, f, 1 + r.nextInt(256));
      }
      case 2 -> { // tiny tensors: codes among float32 subnormals, buckets with several boundaries
        float a = Float.intBitsToFloat(r.nextInt(1, 0x0C000000));
        return LogParams.fromStats(a, Float.MIN_VALUE, 1 + r.nextInt(256));
      }
      case 3 -> { // exact log-domain ties: A = 2^j, k a half-integer or integer
        float a = Math.scalb(1f, r.nextInt(-100, 100));
        return new LogParams(a, r.nextInt(129, 5000) + (r.nextBoolean() ? 0.5 : 0));
      }
      case 4 -> { // near the cap: one code per float32 or so
        float a = (float) Math.exp(r.nextDouble(-20, 20));
        return new LogParams(a, LogParams.MAX_CODES_PER_OCTAVE / (1 + r.nextInt(8)));
      }
      default -> { // weights as calibration sees them
        float a = (float) Math.exp(r.nextDouble(-8, 4));
        float f = (float) (a * Math.pow(2, -r.nextDouble(1, 80)));
        return r.nextInt(4) == 0 ? LogParams.fromStats(a, f, 1 + r.nextInt(256)) : LogParams.fromStats(a, f);
      }
    }
  }

  /** A value that exercises the log encoder under {@code p}, whose boundaries are {@code b}. */
  private static float logValue(SplittableRandom r, LogParams p, int[] b, boolean nan) {
    float sign = r.nextBoolean() ? 1f : -1f;
    float a = p.absmax();
    double k = p.codesPerOctave();
    return sign * switch (r.nextInt(16)) {
      case 0, 1 -> { // any bit pattern
        float v = Math.abs(Float.intBitsToFloat(r.nextInt()));
        yield nan || v == v ? v : 0.5f * a;
      }
      case 2, 3, 4 -> { // a boundary from the table and its neighbours
        int u = b[1 + r.nextInt(LogCodec.CLIPPED)] + r.nextInt(-2, 2);
        yield Float.intBitsToFloat(Math.max(0, Math.min(0x7F800000, u)));
      }
      case 5, 6 -> { // the formula's half-way point between codes, independently of the table
        int m = r.nextInt(0, 32768);
        float g = (float) (a * Math.pow(2, (m + 0.5 - 32767) / k));
        yield Float.intBitsToFloat(Math.max(0, Float.floatToRawIntBits(g) + r.nextInt(-3, 4)));
      }
      case 7 -> (float) (a * Math.pow(2, (1 + r.nextInt(32767) - 32767) / k)); // on a code
      case 8 -> switch (r.nextInt(4)) { // the flush edge value(1) / 2 and the clip edge
        case 0 -> Float.intBitsToFloat(Float.floatToRawIntBits(p.minPositive() / 2) + r.nextInt(-2, 3));
        case 1 -> Float.intBitsToFloat(Float.floatToRawIntBits(a) + r.nextInt(-2, 3));
        default -> Float.intBitsToFloat(Float.floatToRawIntBits((float) (a * Math.pow(2, 0.5 / k))) + r.nextInt(-2, 3));
      };
      case 9 -> r.nextBoolean() ? 0f : -0f;
      case 10 -> Float.intBitsToFloat(r.nextInt(1, 0x00800000)); // float32 subnormals
      case 11 -> {
        if (nan) {
          yield Float.intBitsToFloat(0x7F800001 + r.nextInt(0x7FFFFF)); // NaN payloads (either sign)
        }
        yield Float.POSITIVE_INFINITY;
      }
      case 12 -> Float.intBitsToFloat(r.nextInt(Float.floatToRawIntBits(a), 0x7F800000)); // above A, to MAX_VALUE
      case 13 -> (float) (a * Math.pow(2, -r.nextDouble(0, 32766 / k + 4))); // anywhere in the span
      default -> (float) (r.nextGaussian() * a / 4);
    };
  }

  @Test
  void logEncodersMatchTheReference() {
    SplittableRandom r = new SplittableRandom(20240612);
    float[] x = new float[3 * BLOCK + 64];
    short[] fast = new short[x.length];
    short[] ref = new short[x.length];
    long elements = 0;
    long blockElements = 0;
    long crowdedElements = 0;
    long clippedSeen = 0;
    int paramSets = 0;
    while (elements < ELEMENTS) {
      LogParams p = logParams(r);
      int[] b = LogTables.boundaries(p);
      LogTables.Encoder t = LogTables.encoder(p, b);
      if (p.minPositive() >= 0x1p-125f) {
        assertThat(t.crowded).as("%s: crowded, but its codes are float32 normals", p).isFalse();
      }
      paramSets++;
      for (int batch = 0; batch < 16; batch++) {
        boolean nan = r.nextInt(4) == 0;
        int n = length(r);
        int xOff = r.nextInt(33);
        int qOff = r.nextInt(33);
        for (int i = 0; i < n; i++) {
          x[xOff + i] = logValue(r, p, b, nan);
        }
        Arrays.fill(ref, (short) 0x5A5A);
        long want = LogCodec.encodeReference(x, xOff, ref, qOff, n, p);
        Arrays.fill(fast, (short) 0x5A5A);
        check("log table", p, x, xOff, qOff, fast, ref, LogCodec.encodeTable(x, xOff, fast, qOff, n, t, p), want);
        if (!t.crowded) {
          Arrays.fill(fast, (short) 0x5A5A);
          check("log blocks", p, x, xOff, qOff, fast, ref, LogCodec.encodeBlocks(x, xOff, fast, qOff, n, t), want);
          blockElements += n;
        } else {
          crowdedElements += n;
        }
        Arrays.fill(fast, (short) 0x5A5A);
        check("log encode", p, x, xOff, qOff, fast, ref, LogCodec.encode(x, xOff, fast, qOff, n, p), want);
        elements += n;
        clippedSeen += want;
      }
    }
    System.out.printf("log encoders: %d values, %d parameter sets (%d values with crowded tables)%n", elements,
        paramSets, crowdedElements);
    assertThat(blockElements).isGreaterThan(ELEMENTS / 2);
    assertThat(crowdedElements).isGreaterThan(ELEMENTS / 20);
    assertThat(clippedSeen).isGreaterThan(ELEMENTS / 20);
  }

  @Test
  void logDecodeTablesMatchTheReferenceForEveryCode() {
    SplittableRandom r = new SplittableRandom(5);
    short[] q = new short[65536];
    for (int i = 0; i < q.length; i++) {
      q[i] = (short) (i - 32768);
    }
    float[] fast = new float[q.length];
    float[] ref = new float[q.length];
    List<LogParams> sets = new ArrayList<>(LogCodecTest.paramSets());
    while (sets.size() < 150) {
      sets.add(logParams(r));
    }
    for (LogParams p : sets) {
      LogCodec.decodeReference(q, 0, ref, 0, q.length, p);
      LogCodec.decodeFast(q, 0, fast, 0, q.length, LogTables.decoder(p));
      checkFloats("log decode", p, q, fast, ref);
      Arrays.fill(fast, Float.NaN);
      LogCodec.decode(q, 0, fast, 0, q.length, p); // through the parameters' own table
      checkFloats("log decode", p, q, fast, ref);
    }
  }

  // ---- minifloat -------------------------------------------------------------------------------

  private static MinifloatParams minifloatParams(SplittableRandom r) {
    int e = 1 + r.nextInt(8);
    return switch (r.nextInt(4)) {
      case 0 -> new MinifloatParams(e, r.nextBoolean() ? MinifloatParams.minBias(e) : MinifloatParams.maxBias(e));
      case 1 -> MinifloatParams.fromStats(e, (float) Math.exp(r.nextDouble(-10, 5)));
      default -> new MinifloatParams(e, r.nextInt(MinifloatParams.minBias(e), MinifloatParams.maxBias(e) + 1));
    };
  }

  /** A value that exercises the minifloat encoder under {@code p}, whose decoded magnitudes are {@code v}. */
  private static float minifloatValue(SplittableRandom r, MinifloatParams p, float[] v, boolean nan) {
    float sign = r.nextBoolean() ? 1f : -1f;
    // Codes in the format's subnormal range half the time.
    int c = Math.min(0x7FFE, r.nextBoolean() ? r.nextInt(0x7FFF) : r.nextInt(2 << p.mantissaBits()));
    return sign * switch (r.nextInt(16)) {
      case 0, 1 -> { // any bit pattern
        float f = Math.abs(Float.intBitsToFloat(r.nextInt()));
        yield nan || f == f ? f : v[c];
      }
      case 2, 3, 4 -> { // the tie between codes c and c+1 (exact in double), or the floats beside it
        float mid = (float) (((double) v[c] + v[c + 1]) / 2);
        yield Float.intBitsToFloat(Math.max(0, Float.floatToRawIntBits(mid) + r.nextInt(-2, 3)));
      }
      case 5 -> v[c]; // exactly a code
      case 6 -> { // the largest value and the clip edge (the tie max + step/2 clips)
        float edge = (float) (v[0x7FFF] + ((double) v[0x7FFF] - v[0x7FFE]) / 2);
        float at = r.nextBoolean() ? v[0x7FFF] : edge;
        yield Float.intBitsToFloat(Math.min(0x7F800000, Float.floatToRawIntBits(at) + r.nextInt(-2, 3)));
      }
      case 7 -> Math.scalb(1f, r.nextInt(-149, 128)); // powers of two over all of float32
      case 8 -> Float.intBitsToFloat(r.nextInt(1, 0x00800000)); // float32 subnormals
      case 9 -> p.minPositive() * (float) r.nextDouble(0, 2 << p.mantissaBits()); // format subnormals
      case 10 -> r.nextBoolean() ? 0f : -0f;
      case 11 -> {
        if (nan) {
          yield Float.intBitsToFloat(0x7F800001 + r.nextInt(0x7FFFFF)); // NaN payloads (either sign)
        }
        yield Float.POSITIVE_INFINITY;
      }
      case 12 -> Float.intBitsToFloat(r.nextInt(Float.floatToRawIntBits(v[0x7FFF]), 0x7F800001)); // above max
      default -> (float) (r.nextGaussian() * v[0x7FFF] / 8);
    };
  }

  @Test
  void minifloatEncoderMatchesTheReference() {
    SplittableRandom r = new SplittableRandom(424242);
    float[] x = new float[3 * BLOCK + 64];
    short[] fast = new short[x.length];
    short[] ref = new short[x.length];
    short[] all = new short[0x8000];
    for (int i = 0; i < all.length; i++) {
      all[i] = (short) i;
    }
    float[] v = new float[all.length];
    long elements = 0;
    long clippedSeen = 0;
    int paramSets = 0;
    while (elements < ELEMENTS) {
      MinifloatParams p = minifloatParams(r);
      MinifloatCodec.decodeReference(all, 0, v, 0, all.length, p);
      paramSets++;
      for (int batch = 0; batch < 8; batch++) {
        boolean nan = r.nextInt(4) == 0;
        int n = length(r);
        int xOff = r.nextInt(33);
        int qOff = r.nextInt(33);
        for (int i = 0; i < n; i++) {
          x[xOff + i] = minifloatValue(r, p, v, nan);
        }
        Arrays.fill(ref, (short) 0x5A5A);
        long want = MinifloatCodec.encodeReference(x, xOff, ref, qOff, n, p);
        Arrays.fill(fast, (short) 0x5A5A);
        check("minifloat", p, x, xOff, qOff, fast, ref, MinifloatCodec.encode(x, xOff, fast, qOff, n, p), want);
        elements += n;
        clippedSeen += want;
      }
    }
    System.out.printf("minifloat encoder: %d values, %d parameter sets%n", elements, paramSets);
    assertThat(clippedSeen).isGreaterThan(ELEMENTS / 20);
  }

  @Test
  void minifloatDecodeMatchesTheReferenceForEveryCodeOfEveryParameterSet() {
    short[] q = new short[65536];
    for (int i = 0; i < q.length; i++) {
      q[i] = (short) i;
    }
    float[] fast = new float[q.length];
    float[] ref = new float[q.length];
    int sets = 0;
    for (int e = 1; e <= 8; e++) {
      for (int bias = MinifloatParams.minBias(e); bias <= MinifloatParams.maxBias(e); bias++) {
        MinifloatParams p = new MinifloatParams(e, bias);
        MinifloatCodec.decodeReference(q, 0, ref, 0, q.length, p);
        Arrays.fill(fast, Float.NaN);
        MinifloatCodec.decode(q, 0, fast, 0, q.length, p);
        checkFloats("minifloat decode", p, q, fast, ref);
        sets++;
      }
    }
    assertThat(sets).isEqualTo(1638); // every valid (E, bias)
  }

  // ---- tables and serialization ------------------------------------------------------------------

  @Test
  void tablesAreBuiltOnceLazilyAndRebuiltAfterJavaAndKryoSerialization() throws Exception {
    SerializerInstance kryo = new KryoSerializer(new SparkConf().set("spark.kryo.registrationRequired", "false"))
        .newInstance();
    SplittableRandom r = new SplittableRandom(9);
    LogParams p = LogParams.fromStats(0.37f, 1e-9f);
    float[] x = new float[LogCodec.TABLE_THRESHOLD];
    int[] b = LogTables.boundaries(p);
    for (int i = 0; i < x.length; i++) {
      x[i] = logValue(r, p, b, true);
    }
    short[] want = new short[x.length];
    long wantClipped = LogCodec.encodeReference(x, 0, want, 0, x.length, p);
    float[] wantBack = new float[x.length];
    LogCodec.decodeReference(want, 0, wantBack, 0, x.length, p);

    // Short calls do not build the tables; the first long one does, and later calls reuse them.
    short[] q = new short[x.length];
    assertThat(LogCodec.encode(x, 0, q, 0, 100, p)).isEqualTo(LogCodec.encodeReference(x, 0, want, 0, 100, p));
    assertThat(p.encoder(false)).isNull();
    assertThat(LogCodec.encode(x, 0, q, 0, x.length, p)).isEqualTo(wantClipped);
    LogTables.Encoder built = p.encoder(false);
    assertThat(built).isNotNull();
    LogCodec.encode(x, 0, q, 0, 10, p);
    assertThat(p.encoder(true)).isSameAs(built);
    float[] back = new float[x.length];
    LogCodec.decode(want, 0, back, 0, x.length, p);
    assertThat(p.decoder(false)).isNotNull();

    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(p);
    }
    LogParams viaJava;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      viaJava = (LogParams) in.readObject();
    }
    byte[] kryoBytes = kryo.serialize(p, ClassTag$.MODULE$.AnyRef()).array();
    assertThat(kryoBytes.length).as("tables are not serialized").isLessThan(1000);
    assertThat(bytes.size()).as("tables are not serialized").isLessThan(1000);
    LogParams viaKryo = (LogParams) kryo.deserialize(java.nio.ByteBuffer.wrap(kryoBytes), ClassTag$.MODULE$.AnyRef());
    for (LogParams d : new LogParams[] {viaJava, viaKryo}) {
      assertThat(d).isEqualTo(p);
      assertThat(d.encoder(false)).isNull();
      assertThat(d.decoder(false)).isNull();
      Arrays.fill(q, (short) 0);
      assertThat(LogCodec.encode(x, 0, q, 0, x.length, d)).isEqualTo(wantClipped);
      assertThat(q).isEqualTo(want);
      Arrays.fill(back, Float.NaN);
      LogCodec.decode(want, 0, back, 0, x.length, d);
      assertThat(Arrays.equals(back, wantBack)).isTrue();
      assertThat(d.encoder(false)).isNotNull();
      assertThat(d.decoder(false)).isNotNull();
    }

    MinifloatParams m = MinifloatParams.fromStats(5, 0.37f);
    short[] codes = new short[65536];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = (short) i;
    }
    float[] mref = new float[codes.length];
    MinifloatCodec.decodeReference(codes, 0, mref, 0, codes.length, m);
    MinifloatCodec.decode(codes, 0, new float[codes.length], 0, codes.length, m);
    MinifloatParams mk = (MinifloatParams) kryo.deserialize(kryo.serialize(m, ClassTag$.MODULE$.AnyRef()),
        ClassTag$.MODULE$.AnyRef());
    float[] mback = new float[codes.length];
    MinifloatCodec.decode(codes, 0, mback, 0, codes.length, mk);
    checkFloats("minifloat via Kryo", mk, codes, mback, mref);
  }

  /**
   * Every one of the 2^32 float bit patterns, for 3 log and 10 minifloat parameter sets: about a
   * minute per set on one core (13 minutes in all), so off by default. Run
   * with {@code mvn test -Dtest=CodecExactnessTest -Dq16.exhaustive=true}.
   */
  @Test
  @EnabledIfSystemProperty(named = "q16.exhaustive", matches = "true")
  void everyFloatBitPattern() {
    int chunk = 1 << 24;
    float[] x = new float[chunk];
    short[] fast = new short[chunk];
    short[] ref = new short[chunk];
    List<Object> sets = new ArrayList<>();
    sets.add(LogParams.fromStats(0.73f, 2.1e-7f));
    sets.add(LogParams.fromStats(2e-39f, Float.MIN_VALUE)); // crowded table
    sets.add(new LogParams(2f, 1000.5)); // exact ties
    for (int e : new int[] {1, 5, 7, 8}) { // the extremes of E, and the two the job offers
      sets.add(new MinifloatParams(e, MinifloatParams.minBias(e)));
      sets.add(new MinifloatParams(e, MinifloatParams.maxBias(e)));
      if (e == 5 || e == 7) {
        sets.add(MinifloatParams.fromStats(e, 0.37f));
      }
    }
    for (Object o : sets) {
      LogTables.Encoder t = o instanceof LogParams lp ? LogTables.encoder(lp) : null;
      for (long start = 0; start < 1L << 32; start += chunk) {
        for (int i = 0; i < chunk; i++) {
          x[i] = Float.intBitsToFloat((int) (start + i));
        }
        if (o instanceof LogParams p) {
          long want = LogCodec.encodeReference(x, 0, ref, 0, chunk, p);
          check("log table", p, x, 0, 0, fast, ref, LogCodec.encodeTable(x, 0, fast, 0, chunk, t, p), want);
          if (!t.crowded) {
            check("log blocks", p, x, 0, 0, fast, ref, LogCodec.encodeBlocks(x, 0, fast, 0, chunk, t), want);
          }
        } else {
          MinifloatParams p = (MinifloatParams) o;
          long want = MinifloatCodec.encodeReference(x, 0, ref, 0, chunk, p);
          check("minifloat", p, x, 0, 0, fast, ref, MinifloatCodec.encode(x, 0, fast, 0, chunk, p), want);
        }
      }
      System.out.println("every float bit pattern: " + o);
    }
  }

  private static void check(String what, Object p, float[] x, int xOff, int qOff, short[] fast, short[] ref, long got,
      long want) {
    if (got == want && Arrays.equals(fast, ref)) {
      return;
    }
    int i = Arrays.mismatch(fast, ref);
    float xi = i >= qOff && i - qOff + xOff < x.length ? x[xOff + i - qOff] : Float.NaN;
    fail("%s %s: clipped %d vs reference %d; first code difference at element %d: x=%s (bits %08x), fast %d,"
        + " reference %d", what, p, got, want, i - qOff, xi, Float.floatToRawIntBits(xi), i >= 0 ? fast[i] : 0,
        i >= 0 ? ref[i] : 0);
  }

  private static void checkFloats(String what, Object p, short[] q, float[] fast, float[] ref) {
    for (int i = 0; i < q.length; i++) {
      if (Float.floatToRawIntBits(fast[i]) != Float.floatToRawIntBits(ref[i])) {
        fail("%s %s: code %d decodes to %s (bits %08x), reference %s (bits %08x)", what, p, q[i], fast[i],
            Float.floatToRawIntBits(fast[i]), ref[i], Float.floatToRawIntBits(ref[i]));
      }
    }
  }

  /** Call lengths: short, around one or two blocks, or anything up to three blocks. */
  private static int length(SplittableRandom r) {
    return switch (r.nextInt(6)) {
      case 0 -> r.nextInt(33);
      case 1 -> BLOCK * (1 + r.nextInt(2)) + r.nextInt(-1, 2);
      default -> r.nextInt(3 * BLOCK);
    };
  }
}
