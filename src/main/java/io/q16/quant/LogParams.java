package io.q16.quant;

import java.io.Serializable;
import java.lang.ref.SoftReference;

/**
 * The parameters of the logarithmic int16 codec ({@link LogCodec}): the largest magnitude A and
 * the codes per octave k, so that code ±m (m in [1, 32767]) stands for ±A · 2^((m - 32767) / k)
 * and code 0 for 0.0.
 *
 * <p>k is a double, not an integer: {@link #fromStats} then fits the 32766 steps exactly to the
 * tensor's span of magnitudes (an integer k would waste up to one step per octave of span, and
 * round k up to 32766 codes in one octave for near-constant tensors), and the decoding formula is
 * evaluated in double anyway. Written as {@link Double#toString} it reads back to the same k.
 *
 * <p>A final class rather than a record: it is broadcast to executors, and the Kryo that Spark
 * ships cannot serialize records. The derived fields are ordinary (not transient) fields, since
 * Kryo's field serializer skips transient ones and calls no constructor.
 *
 * <p>The lookup tables of the fast kernels ({@link LogTables}: about 0.5 MiB, a few milliseconds
 * to build) are transient: built on first use by {@link LogCodec#encode} or {@link LogCodec#decode}
 * of at least {@link LogCodec#TABLE_THRESHOLD} values, after any deserialization too, and held
 * through soft references, so that an executor holding the parameters of every tensor of a model
 * does not keep every tensor's tables when memory runs short (they are rebuilt if needed again).
 */
public final class LogParams implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The largest magnitude index: code ±32767 decodes to exactly ±A. */
  public static final int MAX_CODE = 32767;

  /**
   * At most 2^22 codes per octave: adjacent codes then differ by the factor 2^(2^-22), about
   * 1 + 1.65e-7, more than float32's widest relative spacing 2^-23, so codes in float32's normal
   * range never collapse onto one float32, and value(1/2) stays below the float32 of value(1).
   * More would add codes that float32 cannot tell apart.
   */
  public static final double MAX_CODES_PER_OCTAVE = 0x1p22;

  /**
   * At least 32766 / 256 codes per octave: codes 1..32767 span at most 256 octaves, all of
   * float32's range (277 octaves with subnormals) that a calibrated tensor can need; the slack of
   * {@link #relativeErrorBound()} is proved for k at least this.
   */
  public static final double MIN_CODES_PER_OCTAVE = 32766.0 / 256;

  /**
   * Span used by {@link #fromStats(float, float)}: magnitudes below A · 2^-64 flush to 0 or to
   * value(1), at most value(1) / 2 away, instead of spreading the codes over octaves that matter to
   * no model. 64 octaves cost a relative error of 2^(1/1024) - 1 ≈ 6.8e-4 (float16: 4.9e-4 over 40).
   */
  public static final int DEFAULT_MAX_OCTAVES = 64;

  /** The double nearest ln 2. */
  static final double LN2 = 0x1.62e42fefa39efp-1;

  private final float absmax;
  private final double codesPerOctave;
  private final double kOverLn2;
  private final float minPositive;
  private transient volatile SoftReference<LogTables.Encoder> encoder;
  private transient volatile SoftReference<int[]> decoder;

  /**
   * Parameters A = {@code absmax} (finite, > 0; subnormal allowed) and k = {@code codesPerOctave}
   * in [{@link #MIN_CODES_PER_OCTAVE}, {@link #MAX_CODES_PER_OCTAVE}].
   *
   * @throws IllegalArgumentException outside those ranges
   */
  public LogParams(float absmax, double codesPerOctave) {
    if (!(absmax > 0) || Float.isInfinite(absmax)) {
      throw new IllegalArgumentException("log codec: absmax must be finite and > 0, got " + absmax);
    }
    if (!(codesPerOctave >= MIN_CODES_PER_OCTAVE && codesPerOctave <= MAX_CODES_PER_OCTAVE)) {
      throw new IllegalArgumentException("log codec: codes per octave must be in [" + MIN_CODES_PER_OCTAVE + ", "
          + MAX_CODES_PER_OCTAVE + "], got " + codesPerOctave);
    }
    this.absmax = absmax;
    this.codesPerOctave = codesPerOctave;
    this.kOverLn2 = codesPerOctave / LN2;
    this.minPositive = LogCodec.magnitude(1, absmax, codesPerOctave);
  }

  /** As {@link #fromStats(float, float, int)} with {@link #DEFAULT_MAX_OCTAVES}. */
  public static LogParams fromStats(float absmax, float minNonZero) {
    return fromStats(absmax, minNonZero, DEFAULT_MAX_OCTAVES);
  }

  /**
   * Parameters from mergeable statistics: A = {@code absmax} (max |x| over finite values, or a
   * calibrated threshold) and F = {@code minNonZero} (min non-zero |x| over finite values).
   *
   * <p>The rule, in double: L = min(A, max(F, A · 2^-maxOctaves)) is the lowest magnitude that
   * gets its own code; k = 32766 / log2(A / L), so that value(1) = L and value(32767) = A (up to
   * rounding; when L = F, F lands on code 1, within {@link #relativeErrorBound()}); k is capped at
   * {@link #MAX_CODES_PER_OCTAVE}, which is also what a tensor of one magnitude (A = F) gets, and
   * is at least {@link #MIN_CODES_PER_OCTAVE}. log2 is {@code StrictMath.log(A / L) / ln 2}, so
   * the choice is the same on every JVM. A missing F (+Inf, what {@code MagnitudeStats} reports
   * when it saw no non-zero value) or an invalid one (NaN, ≤ 0) counts as F = A.
   *
   * <p>A = 0 (no non-zero finite value) gives A = 1 and k = 32766 / maxOctaves: every finite value
   * is then ±0 and encodes to 0, exactly; ±Inf saturate to ±1.
   *
   * @param maxOctaves the widest span of magnitudes given codes, 1 to 256
   * @throws IllegalArgumentException if A is negative, NaN or infinite, or maxOctaves is out of range
   */
  public static LogParams fromStats(float absmax, float minNonZero, int maxOctaves) {
    if (!(absmax >= 0) || Float.isInfinite(absmax)) {
      throw new IllegalArgumentException("log codec: absmax must be finite and >= 0, got " + absmax);
    }
    if (maxOctaves < 1 || maxOctaves > 256) {
      throw new IllegalArgumentException("log codec: maxOctaves must be in [1, 256], got " + maxOctaves);
    }
    if (absmax == 0) {
      return new LogParams(1f, 32766.0 / maxOctaves);
    }
    double a = absmax;
    double f = minNonZero > 0 ? minNonZero : a;
    double lowest = Math.min(a, Math.max(f, Math.scalb(a, -maxOctaves)));
    double octaves = StrictMath.log(a / lowest) / LN2;
    double k = octaves > 32766.0 / MAX_CODES_PER_OCTAVE ? 32766.0 / octaves : MAX_CODES_PER_OCTAVE;
    // log2(2^256) may round a hair above 256.
    return new LogParams(absmax, Math.max(k, MIN_CODES_PER_OCTAVE));
  }

  /** A: the magnitude of codes ±32767, exactly. */
  public float absmax() {
    return absmax;
  }

  /** k: codes per octave of magnitude. */
  public double codesPerOctave() {
    return codesPerOctave;
  }

  /** value(1) as decoded: the smallest non-zero magnitude the codec produces. */
  public float minPositive() {
    return minPositive;
  }

  double kOverLn2() {
    return kOverLn2;
  }

  /** The encoding table; built now if {@code build}, else null unless built before. */
  LogTables.Encoder encoder(boolean build) {
    SoftReference<LogTables.Encoder> r = encoder;
    LogTables.Encoder t = r == null ? null : r.get();
    return t != null || !build ? t : buildEncoder();
  }

  /** The decoding table (float32 bits of value(m) at index m); built now if {@code build}, else null unless built before. */
  int[] decoder(boolean build) {
    SoftReference<int[]> r = decoder;
    int[] t = r == null ? null : r.get();
    return t != null || !build ? t : buildDecoder();
  }

  // Synchronized so that tasks sharing broadcast parameters build each table once.
  private synchronized LogTables.Encoder buildEncoder() {
    LogTables.Encoder t = encoder == null ? null : encoder.get();
    if (t == null) {
      t = LogTables.encoder(this);
      encoder = new SoftReference<>(t);
    }
    return t;
  }

  private synchronized int[] buildDecoder() {
    int[] t = decoder == null ? null : decoder.get();
    if (t == null) {
      t = LogTables.decoder(this);
      decoder = new SoftReference<>(t);
    }
    return t;
  }

  /**
   * R = 2^(1/(2k)) - 1 + 2^-23: for |x| ≥ {@link #minPositive()} that does not clip,
   * |x - x̂| ≤ R · |x| + 2^-150.
   *
   * <p>2^(1/(2k)) - 1 is the nearest code in the log domain (half a step). The slack 2^-23 covers,
   * for k ≥ {@link #MIN_CODES_PER_OCTAVE}: the final rounding to float32 (2^-24 · |x̂|, with
   * |x̂| ≤ 1.003 |x|), the double evaluation of the exponent and of StrictMath.pow (under 2^-44
   * relative), and the double evaluation of t = k · log2(|x| / A) + 32767 (under 2^-30 in t, which
   * can pick the farther code only that close to a tie: under 2^-37 relative). 2^-150 is float32's
   * rounding of a subnormal x̂; it matters only when value(1) < 2^-126.
   */
  public double relativeErrorBound() {
    return StrictMath.expm1(LN2 / (2 * codesPerOctave)) + 0x1p-23;
  }

  /**
   * value(1) / 2: for 0 < |x| < {@link #minPositive()}, x̂ is 0 or ±value(1), whichever is nearer,
   * so |x - x̂| ≤ value(1) / 2 (x̂ = ±value(1) through t ≥ 1/2 is even closer).
   */
  public double absoluteErrorBound() {
    return minPositive / 2.0;
  }

  /**
   * True if {@link LogCodec#encode} clips {@code x}: its rounded magnitude code exceeds 32767 (it is
   * above A · 2^(1/(2k)), ±Inf included). NaN does not clip.
   */
  public boolean clips(float x) {
    int c = LogCodec.encodeOne(x, absmax, kOverLn2, minPositive);
    return c == LogCodec.CLIPPED || c == -LogCodec.CLIPPED;
  }

  /**
   * True if {@code xhat} is a decoding of {@code x} that this codec's promises allow: for NaN,
   * +0.0; for a clipped x (±Inf included), exactly ±A with the sign of x; for |x| ≥
   * {@link #minPositive()}, within {@link #relativeErrorBound()} · |x| + 2^-150; below it (±0
   * included), within {@link #absoluteErrorBound()}. The bounds imply that x̂ has the sign of x or
   * is 0 (decoding never gives -0.0).
   */
  public boolean withinBound(float x, float xhat) {
    if (x != x) {
      return Float.floatToRawIntBits(xhat) == 0;
    }
    if (clips(x)) {
      return xhat == (x > 0 ? absmax : -absmax);
    }
    double ax = Math.abs((double) x);
    double err = Math.abs((double) x - xhat);
    if (ax >= minPositive) {
      return err <= relativeErrorBound() * ax + 0x1p-150;
    }
    return err <= absoluteErrorBound();
  }

  /** Java serialization calls no constructor: validate and recompute the derived fields. */
  private Object readResolve() {
    return new LogParams(absmax, codesPerOctave);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LogParams p
        && Float.floatToRawIntBits(absmax) == Float.floatToRawIntBits(p.absmax)
        && Double.doubleToRawLongBits(codesPerOctave) == Double.doubleToRawLongBits(p.codesPerOctave);
  }

  @Override
  public int hashCode() {
    return Float.floatToRawIntBits(absmax) * 31 + Double.hashCode(codesPerOctave);
  }

  @Override
  public String toString() {
    return "LogParams[absmax=" + absmax + ", codesPerOctave=" + codesPerOctave + "]";
  }
}
