package io.q16.quant;

/**
 * The fast encoders of the non-linear codecs ({@link LogCodec#encode}, {@link MinifloatCodec#encode}):
 * blocks of {@link #BLOCK} values go through several short passes over int scratch arrays that
 * stay in L1 cache, as in {@link LinearBlocks}.
 *
 * <p>Why passes: both codecs work on the bits of each float. JDK 17's C2 moves a float's bits into
 * an int ({@code Float.floatToRawIntBits}) and narrows ints to short[] only one element at a time,
 * but vectorizes int arithmetic (add, and, or, xor, shifts) over int[], provided the loop body is
 * small: C2 unrolls, and so vectorizes, only loops under LoopUnrollLimit (60 IR nodes by default);
 * a larger body runs one element per iteration (measured: two 5 G/s loops joined ran at 0.4 G/s).
 * So the scalar steps (bits in, table reads, codes out) are tiny loops of their own, and the
 * arithmetic is split into a few small loops without branches (selects are masks from sign bits).
 * One fused loop doing the same work ran at 50% (minifloat) to 80% (log) of this speed.
 *
 * <p>Each pass's exactness argument is in its comment; together they compute exactly the
 * reference's codes, which {@code CodecExactnessTest} checks on tens of millions of inputs.
 */
final class CodecBlocks {
  /** Values per block: the scratch arrays (8 KiB each) stay in a 48 KiB L1 data cache. */
  static final int BLOCK = 2048;

  private static final int INF_BITS = 0x7F800000;

  /** Float bits in, then codes (low 16 bits, and flags above them) out. */
  private final int[] bits;
  private final int[] work;
  private final int[] entries;
  /** Per lane: clipped values counted by the vector passes. */
  private final int[] acc;

  CodecBlocks(int n, boolean log) {
    int size = Math.min(n, BLOCK);
    bits = new int[size];
    work = new int[size];
    entries = log ? new int[size] : null;
    acc = new int[size];
  }

  /** Clipped values counted by the passes so far (at most one per lane and block: no overflow for int n). */
  long clipped() {
    long sum = 0;
    for (int a : acc) {
      sum += a;
    }
    return sum;
  }

  /** Pass 1 (scalar): the bits of {@code x[xOff..xOff+m)}. */
  void load(float[] x, int xOff, int m) {
    final int[] b = bits;
    for (int j = 0; j < m; j++) {
      b[j] = Float.floatToRawIntBits(x[xOff + j]);
    }
  }

  /** Last pass (scalar): the low 16 bits of each code into {@code q}; returns the OR of all codes (flags). */
  int store(short[] q, int qOff, int m) {
    final int[] w = work;
    int any = 0;
    for (int j = 0; j < m; j++) {
      int c = w[j];
      any |= c;
      q[qOff + j] = (short) c;
    }
    return any;
  }

  /** True if the code of lane j carries the "redo with the reference" flag (bit 16). */
  boolean flagged(int j) {
    return work[j] >>> 16 != 0;
  }

  // ---- minifloat -----------------------------------------------------------------------------

  /**
   * Minifloat pass 2: the magnitude code of every u = |bits| in [cap, Inf], 0 below cap and for
   * NaN. At or above cap = max(2^emin, 2^-126) x is a float32 normal and a minifloat normal, and
   * the code is x's exponent and top M mantissa bits rounded to nearest even at bit 23 - M (a carry
   * runs into the exponent, as the format wants: 2^(M+1) · step is the next binade's first code),
   * rebiased from float32's 127 to the format's bias: (u + 2^(22-M) - 1 + lowest kept bit) >>> (23 - M)
   * - ((127 - bias) << M). This is rint(|x| / 2^(e - M)) + ((e - emin) << M) with e = floor(log2 |x|),
   * the reference's formula. +Inf gives (128 + bias) << M ≥ 2^15, so it clips. No int overflow:
   * u + 2^22 < 2^31.
   */
  void minifloatRound(int m, int mant, int bias, int cap) {
    final int[] b = bits;
    final int[] w = work;
    final int sh = 23 - mant;
    final int round = (1 << (sh - 1)) - 1;
    final int rebias = (127 - bias) << mant;
    for (int j = 0; j < m; j++) {
      int u = b[j] & 0x7FFFFFFF;
      int c = ((u + round + ((u >>> sh) & 1)) >>> sh) - rebias;
      w[j] = c & ~(((u - cap) | (INF_BITS - u)) >> 31);
    }
  }

  /** Minifloat pass 3: codes above 0x7FFF saturate to 0x7FFF and count (per lane). */
  void minifloatSaturate(int m) {
    final int[] w = work;
    final int[] a = acc;
    for (int j = 0; j < m; j++) {
      int c = w[j];
      int over = (0x7FFF - c) >>> 31;
      a[j] += over;
      w[j] = c ^ ((c ^ 0x7FFF) & -over);
    }
  }

  /**
   * Minifloat pass 4: the sign bit of x (not for NaN, which gives +0), and the flag (bit 16) on
   * 0 < |x| < cap: values the bit rounding above does not cover (minifloat subnormals, and float32
   * subnormals), which the caller encodes with the reference.
   */
  void minifloatSign(int m, int cap) {
    final int[] b = bits;
    final int[] w = work;
    for (int j = 0; j < m; j++) {
      int v = b[j];
      int u = v & 0x7FFFFFFF;
      int sign = (v >>> 16) & 0x8000 & ~((INF_BITS - u) >> 31);
      int rare = (((u - cap) & -u) >>> 31) << 16;
      w[j] |= sign | rare;
    }
  }

  // ---- log -----------------------------------------------------------------------------------

  /**
   * Log pass 2: d = |bits| - lo clamped to [0, last], the pattern's position in the table (the
   * clamp by masks: d & ~(d >> 31) is max(d, 0); last + (g & (g >> 31)) with g = d - last is min(d,
   * last)). No overflow: |bits| and lo are in [0, 2^31).
   */
  void logIndex(int m, int lo, int last) {
    final int[] b = bits;
    final int[] w = work;
    for (int j = 0; j < m; j++) {
      int d = (b[j] & 0x7FFFFFFF) - lo;
      d &= ~(d >> 31);
      int g = d - last;
      w[j] = last + (g & (g >> 31));
    }
  }

  /** Log pass 3 (scalar): each position's bucket entry. */
  void logGather(int m, int[] buckets, int shift) {
    final int[] w = work;
    final int[] e = entries;
    for (int j = 0; j < m; j++) {
      e[j] = buckets[w[j] >>> shift];
    }
  }

  /**
   * Log pass 4: the magnitude code, the bucket's first code plus 1 if its boundary (offset off,
   * 2^shift if none) is at or below the position's offset in the bucket: the sign bit of
   * off - 1 - offset. Exact when no bucket holds two boundaries (the caller checks).
   */
  void logMagnitude(int m, int mask) {
    final int[] w = work;
    final int[] e = entries;
    for (int j = 0; j < m; j++) {
      int entry = e[j];
      w[j] = (entry >>> 16) + (((entry & 0xFFFF) - 1 - (w[j] & mask)) >>> 31);
    }
  }

  /**
   * Log pass 5: below the table (|bits| < lo) the code is 1 at or above B[1] = {@code first}, else
   * 0 (only that boundary lies below lo); NaN gives 0. Above the table the clamped position is the
   * table's last pattern, at or above B[32768]: clipped, as every larger pattern is.
   */
  void logEdges(int m, int lo, int first) {
    final int[] b = bits;
    final int[] w = work;
    for (int j = 0; j < m; j++) {
      int u = b[j] & 0x7FFFFFFF;
      int below = (u - lo) >> 31;
      int mag = (w[j] & ~below) | (((first - 1 - u) >>> 31) & below);
      w[j] = mag & ~((INF_BITS - u) >> 31);
    }
  }

  /**
   * Log pass 6: magnitude 32768 (clipped) saturates to 32767 and counts (per lane); the code gets
   * the sign of x: (mag ^ s) - s with s = 0 or -1 negates.
   */
  void logFinish(int m) {
    final int[] b = bits;
    final int[] w = work;
    final int[] a = acc;
    for (int j = 0; j < m; j++) {
      int mag = w[j];
      int over = mag >>> 15;
      a[j] += over;
      mag -= over;
      int s = b[j] >> 31;
      w[j] = (mag ^ s) - s;
    }
  }
}
