package io.q16.quant;

/**
 * The fast linear quantizer behind {@link LinearKernel} and {@link GranularKernel}: blocks of
 * {@link #BLOCK} elements go through two passes over a scratch array that stays in L1 cache.
 *
 * <ol>
 *   <li>{@link #round}: float32 arithmetic only, in a loop shape that HotSpot C2 (JDK 17)
 *       vectorizes: the division, clamping, rounding and clipping test of 8 or 16 elements per
 *       instruction. Each element becomes a float whose bit pattern holds its code, and its
 *       clipped flag is added to a per-lane float counter.
 *   <li>{@link #store}: a scalar loop that takes each code out of those bits into the short[].
 * </ol>
 *
 * <p>Why two passes and these tricks: JDK 17's C2 vectorizes float division, add, abs, min and
 * max, but not float-to-int conversion, {@code Float.floatToRawIntBits}, int min/max, narrowing
 * stores to short[], nor loops that read and write arrays at two different variable offsets. So
 * every step that can be float arithmetic is, the one conversion per element is a plain bit copy
 * in the second pass, and each block is first copied to offset 0 of the scratch. The incubating
 * Vector API would need {@code --add-modules} in every JVM (Spark executors included), and on
 * JDK 17 a straightforward version of this kernel ran slower than the scalar reference.
 *
 * <p>Exactness (every step is exact, so codes and clipped count equal {@link
 * LinearKernel#quantizeReference} bit for bit). Let v = fl(x / scale), lq = qmin - zp, hq = qmax - zp.
 *
 * <ul>
 *   <li><b>Clamp, then round.</b> For integers L ≤ H, rint(clamp(v, L, H)) = clamp(rint(v), L, H):
 *       rint is non-decreasing and maps integers to themselves. With L = lq - 1 and H = hq + 1,
 *       rint(v) > hq ⇔ rint(v) ≥ H ⇔ rint(clamp(v)) = H, likewise below; so the clamped value
 *       gives the same code and the same clipped decision, and ±Inf and huge values need no
 *       special case. {@code Math.max/min} propagate NaN.
 *   <li><b>Round half to even in float.</b> For |c| ≤ 2^22, c + 1.5·2^23 lies in [2^23, 2^24],
 *       where floats are the integers: the sum rounds to the nearest integer, ties to even, and
 *       1.5·2^23 is even, so fl(fl(c + 1.5·2^23) - 1.5·2^23) = rint(c) (the subtraction is exact).
 *       {@link #supports} keeps |L|, |H| ≤ 2^22.
 *   <li><b>Clamp and flag without branches.</b> For an integer r in [lq - 1, hq + 1], with
 *       a = |r - lq| and b = |r - hq|: a - b = 2·clamp(r, lq, hq) - lq - hq, and
 *       a + b - (hq - lq) = 2 if r is outside [lq, hq], else 0. All are integers below 2^24: exact.
 *   <li><b>The code in the bits.</b> y = (a - b) + (qmin + qmax + 1.5·2^23) = 2q + 1.5·2^23 with
 *       q = clamp(r) + zp. For |q| < 2^21 it lies in [2^23, 2^24), where floats are the integers
 *       (so the sum is exact), and its bits are 0x4B400000 + 2q: {@code (short) (bits >> 1)} is q,
 *       as 0x25A00000 has zero low 16 bits.
 *   <li><b>Counting.</b> Lane j of {@code acc} adds 0 or 2 per block: at most 2·⌈n / BLOCK⌉ ≤ 2^21
 *       for any int n, exact in float. A NaN quotient (x NaN, 0/0, Inf/Inf) poisons its lane, and
 *       {@link #clipped} then returns -1: the caller redoes the call with the reference.
 * </ul>
 *
 * <p>Per-unit parameters ({@link #roundUnits}) use the same steps with the zero point added after
 * rounding: the clamp bounds are then the same for every unit, [qmin - qmax - 1, qmax - qmin + 1],
 * which preserves the decisions as long as every zero point lies in [qmin, qmax] (as {@link
 * QuantParams} guarantees; callers check it), and the flag is min(a + b - (qmax - qmin), 2).
 */
final class LinearBlocks {
  /** Elements per block: the scratch arrays (8 KiB each) stay in a 48 KiB L1 data cache. */
  static final int BLOCK = 2048;

  private static final float RINT = 0x1.8p23f; // 1.5 * 2^23: adding and subtracting it rounds
  static final float BIAS = 0x1.8p23f; // 2q + BIAS: puts q into the bits of a float

  private final float[] y;
  private final float[] acc;
  private float[] scales; // per element, for roundUnits
  private float[] zeroPoints;

  /** Scratch for a call of {@code n} elements. */
  LinearBlocks(int n) {
    int size = Math.min(n, BLOCK);
    y = new float[size];
    acc = new float[size];
  }

  /**
   * True if the fast path is exact for these parameters: qmin ≤ qmax, codes within ±2^21 and
   * clamp bounds within ±2^22 (int16 and uint16 storage are far inside).
   */
  static boolean supports(int zeroPoint, int qmin, int qmax) {
    long lo = (long) qmin - zeroPoint - 1;
    long hi = (long) qmax - zeroPoint + 1;
    return qmin <= qmax && qmin >= -(1 << 21) && qmax < (1 << 21) && lo >= -(1 << 22) && hi <= (1 << 22);
  }

  /** Copies {@code x[xOff..xOff+m)} to scratch {@code [at..at+m)}. */
  void load(float[] x, int xOff, int at, int m) {
    System.arraycopy(x, xOff, y, at, m);
  }

  /** Pass 1 for scratch {@code [at..at+m)} with one quantizer (same index for y and acc: vectorizes). */
  void round(int at, int m, float scale, int zeroPoint, int qmin, int qmax) {
    final float[] y = this.y;
    final float[] acc = this.acc;
    final float lq = qmin - zeroPoint;
    final float hq = qmax - zeroPoint;
    final float lo = lq - 1;
    final float hi = hq + 1;
    final float width = hq - lq;
    final float bias = (float) qmin + qmax + BIAS;
    for (int j = at, end = at + m; j < end; j++) {
      float r = (Math.min(Math.max(y[j] / scale, lo), hi) + RINT) - RINT;
      float a = Math.abs(r - lq);
      float b = Math.abs(r - hq);
      y[j] = (a - b) + bias;
      acc[j] += (a + b) - width;
    }
  }

  /** Sets the quantizer of scratch {@code [at..at+m)} for {@link #roundUnits}. */
  void unit(int at, int m, float scale, int zeroPoint) {
    if (scales == null) {
      scales = new float[y.length];
      zeroPoints = new float[y.length];
    }
    final float[] s = scales;
    final float[] z = zeroPoints;
    final float zp = zeroPoint;
    for (int j = at, end = at + m; j < end; j++) {
      s[j] = scale;
      z[j] = zp;
    }
  }

  /**
   * Pass 1 for scratch {@code [0..m)}, each element with the quantizer set by {@link #unit}; every
   * zero point must lie in [qmin, qmax].
   */
  void roundUnits(int m, int qmin, int qmax) {
    final float[] y = this.y;
    final float[] acc = this.acc;
    final float[] s = scales;
    final float[] z = zeroPoints;
    final float fmin = qmin;
    final float fmax = qmax;
    final float lo = (float) qmin - qmax - 1;
    final float hi = (float) qmax - qmin + 1;
    final float width = (float) qmax - qmin;
    final float bias = (float) qmin + qmax + BIAS;
    for (int j = 0; j < m; j++) {
      float r = ((Math.min(Math.max(y[j] / s[j], lo), hi) + RINT) - RINT) + z[j];
      float a = Math.abs(r - fmin);
      float b = Math.abs(r - fmax);
      y[j] = (a - b) + bias;
      acc[j] += Math.min((a + b) - width, 2f);
    }
  }

  /**
   * The scratch after {@link #round} or {@link #roundUnits}: element j holds 2q + {@link #BIAS}
   * exactly (q the full code), which {@link RoundTripBlocks} reads to measure the round trip.
   */
  float[] codes() {
    return y;
  }

  /** The per-element scales set by {@link #unit}. */
  float[] unitScales() {
    return scales;
  }

  /** The per-element zero points set by {@link #unit}, as floats. */
  float[] unitZeroPoints() {
    return zeroPoints;
  }

  /** Pass 2: the codes of scratch {@code [0..m)} into {@code q[qOff..qOff+m)}. */
  void store(short[] q, int qOff, int m) {
    final float[] y = this.y;
    for (int j = 0; j < m; j++) {
      q[qOff + j] = (short) (Float.floatToRawIntBits(y[j]) >> 1);
    }
  }

  /** Clipped values so far, or -1 if a quotient was NaN (then the caller must use the reference). */
  long clipped() {
    long twice = 0;
    for (float a : acc) {
      if (a != a) {
        return -1;
      }
      twice += (long) a;
    }
    return twice >> 1;
  }
}
