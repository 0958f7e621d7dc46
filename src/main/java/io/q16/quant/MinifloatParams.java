package io.q16.quant;

import java.io.Serializable;
import java.lang.ref.SoftReference;

/**
 * The parameters of the 16-bit minifloat codec ({@link MinifloatCodec}): E exponent bits
 * (M = 15 - E mantissa bits) and the per-tensor exponent bias.
 *
 * <p>The bias is limited to [{@link #minBias(int)}, {@link #maxBias(int)}] so that every code is
 * a finite float32, exactly: the largest value stays below 2^128 and the smallest step,
 * 2^(1 - bias - M), is at least float32's 2^-149.
 *
 * <p>A final class rather than a record: it is broadcast to executors, and the Kryo that Spark
 * ships cannot serialize records. The derived fields are ordinary (not transient) fields, since
 * Kryo's field serializer skips transient ones and calls no constructor. The decoding table
 * (128 KiB, well under a millisecond to build) is transient: built on first use, after any
 * deserialization too, and held through a soft reference, as {@link LogParams}' tables are.
 */
public final class MinifloatParams implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int exponentBits;
  private final int bias;
  private final int mantissaBits;
  private final float maxValue;
  private transient volatile SoftReference<int[]> decoder;

  /**
   * Parameters E = {@code exponentBits} in [1, 8] and {@code bias} in [minBias(E), maxBias(E)].
   * E = 7 is the seed's layout (sign and exponent in the high byte, mantissa in the low byte);
   * E = 5 with bias 15 is float16 without Inf and NaN; E = 8 is bfloat16 with 7 mantissa bits.
   *
   * @throws IllegalArgumentException outside those ranges
   */
  public MinifloatParams(int exponentBits, int bias) {
    checkExponentBits(exponentBits);
    if (bias < minBias(exponentBits) || bias > maxBias(exponentBits)) {
      throw new IllegalArgumentException("minifloat: bias for " + exponentBits + " exponent bits must be in ["
          + minBias(exponentBits) + ", " + maxBias(exponentBits) + "], got " + bias);
    }
    this.exponentBits = exponentBits;
    this.bias = bias;
    this.mantissaBits = 15 - exponentBits;
    this.maxValue = (float) maxValue(exponentBits, bias);
  }

  /**
   * The smallest bias for E exponent bits, 2^E - 128: the largest value,
   * (2 - 2^-M) · 2^(2^E - 1 - bias), is then below float32's 2^128.
   */
  public static int minBias(int exponentBits) {
    checkExponentBits(exponentBits);
    return (1 << exponentBits) - 128;
  }

  /**
   * The largest bias for E exponent bits, 150 - M = 135 + E: the smallest step (and smallest
   * subnormal), 2^(1 - bias - M), is then float32's smallest subnormal 2^-149.
   */
  public static int maxBias(int exponentBits) {
    checkExponentBits(exponentBits);
    return 135 + exponentBits;
  }

  /**
   * Parameters for a tensor whose values lie within ±{@code absmax} (max |x| over finite values, or
   * a calibrated threshold): the largest bias whose largest value is ≥ absmax, so that absmax
   * does not clip and every other value gets the finest steps that allow it.
   *
   * <p>The bias is limited to [minBias(E), maxBias(E)]: absmax = 0 (no non-zero finite value) or
   * one below the largest value at maxBias gives maxBias; one above (2 - 2^-M) · 2^127 (the largest
   * value at minBias, only a hair below Float.MAX_VALUE) gives minBias, and values that large clip.
   *
   * @throws IllegalArgumentException if E is out of range, or absmax is negative, NaN or infinite
   */
  public static MinifloatParams fromStats(int exponentBits, float absmax) {
    checkExponentBits(exponentBits);
    if (!(absmax >= 0) || Float.isInfinite(absmax)) {
      throw new IllegalArgumentException("minifloat: absmax must be finite and >= 0, got " + absmax);
    }
    int bias = maxBias(exponentBits);
    // maxValue doubles with each step down: at most 270 steps, once per tensor on the driver.
    while (bias > minBias(exponentBits) && maxValue(exponentBits, bias) < absmax) {
      bias--;
    }
    return new MinifloatParams(exponentBits, bias);
  }

  /** (2^(M+1) - 1) · 2^(2^E - 1 - bias - M): exact in double for every valid E and bias. */
  static double maxValue(int exponentBits, int bias) {
    int m = 15 - exponentBits;
    return Math.scalb((double) ((1 << (m + 1)) - 1), (1 << exponentBits) - 1 - bias - m);
  }

  private static void checkExponentBits(int exponentBits) {
    if (exponentBits < 1 || exponentBits > 8) {
      throw new IllegalArgumentException("minifloat: exponent bits must be in [1, 8], got " + exponentBits);
    }
  }

  /** E: exponent bits. */
  public int exponentBits() {
    return exponentBits;
  }

  /** M = 15 - E: mantissa bits. */
  public int mantissaBits() {
    return mantissaBits;
  }

  public int bias() {
    return bias;
  }

  /** The largest value, code 0x7FFF: (2 - 2^-M) · 2^(2^E - 1 - bias), exactly. */
  public float maxValue() {
    return maxValue;
  }

  /** The smallest positive value, code 0x0001: 2^(1 - bias - M), exactly. */
  public float minPositive() {
    return Math.scalb(1f, 1 - bias - mantissaBits);
  }

  /** The float32 bits of the magnitude of codes 0..0x7FFF ({@link MinifloatCodec#magnitudes}), built on first use. */
  int[] decoder() {
    SoftReference<int[]> r = decoder;
    int[] t = r == null ? null : r.get();
    return t != null ? t : buildDecoder();
  }

  // Synchronized so that tasks sharing broadcast parameters build the table once.
  private synchronized int[] buildDecoder() {
    int[] t = decoder == null ? null : decoder.get();
    if (t == null) {
      t = MinifloatCodec.magnitudes(this);
      decoder = new SoftReference<>(t);
    }
    return t;
  }

  /** 1 - bias: the exponent of the smallest normal value, 2^(1 - bias). */
  int minNormalExponent() {
    return 1 - bias;
  }

  /**
   * 2^-(M+1): for |x| ≥ 2^(1 - bias) (normal) that does not clip, |x - x̂| ≤ 2^-(M+1) · |x|, half a
   * step of x's binade. Decoding adds no error.
   */
  public double relativeErrorBound() {
    return Math.scalb(1.0, -(mantissaBits + 1));
  }

  /**
   * 2^(-bias - M), half the subnormal step: for |x| < 2^(1 - bias), |x - x̂| ≤ this (it may be
   * below float32's smallest subnormal, hence a double).
   */
  public double absoluteErrorBound() {
    return Math.scalb(1.0, -bias - mantissaBits);
  }

  /**
   * True if {@link MinifloatCodec#encode} clips {@code x}: rounded to nearest even with an unbounded
   * exponent, |x| would exceed {@link #maxValue()} (|x| ≥ max + half its step, ±Inf included).
   * Values between max and that point round to max without clipping. NaN does not clip.
   */
  public boolean clips(float x) {
    return MinifloatCodec.encodeOne(x, mantissaBits, minNormalExponent()) > 0xFFFF;
  }

  /**
   * True if {@code xhat} is a decoding of {@code x} that this codec's promises allow: for NaN, +0.0;
   * otherwise the sign bit of x (so -0.0 gives -0.0), and for a clipped x exactly ±max, else
   * |x - x̂| ≤ max(2^-(M+1) · |x|, 2^(-bias - M)).
   */
  public boolean withinBound(float x, float xhat) {
    if (x != x) {
      return Float.floatToRawIntBits(xhat) == 0;
    }
    if ((Float.floatToRawIntBits(x) ^ Float.floatToRawIntBits(xhat)) < 0) {
      return false;
    }
    if (clips(x)) {
      return Math.abs(xhat) == maxValue;
    }
    double ax = Math.abs((double) x);
    return Math.abs((double) x - xhat) <= Math.max(relativeErrorBound() * ax, absoluteErrorBound());
  }

  /** Java serialization calls no constructor: validate and recompute the derived fields. */
  private Object readResolve() {
    return new MinifloatParams(exponentBits, bias);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MinifloatParams p && exponentBits == p.exponentBits && bias == p.bias;
  }

  @Override
  public int hashCode() {
    return exponentBits * 31 + bias;
  }

  @Override
  public String toString() {
    return "MinifloatParams[exponentBits=" + exponentBits + ", mantissaBits=" + mantissaBits + ", bias=" + bias + "]";
  }
}
