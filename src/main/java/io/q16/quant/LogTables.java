package io.q16.quant;

/**
 * The lookup tables behind {@link LogCodec#encode} and {@link LogCodec#decode}, computed once per
 * {@link LogParams} from the scalar reference itself, so that the table kernels give its results
 * bit for bit without a logarithm or a power per element.
 *
 * <p><b>Decoding</b> is a table of the 32767 values value(m), each computed by {@link
 * LogCodec#magnitude} as the reference does.
 *
 * <p><b>Encoding.</b> Let mag(u) be the magnitude code (0 to 32768, 32768 for clipped) that
 * {@link LogCodec#encodeOne} gives the non-negative float whose bits are u, for u from 0 (+0.0) to
 * 0x7F800000 (+Inf). mag is non-decreasing in u, that is in |x|, because every step of the reference is:
 * <ul>
 *   <li>|x| / A, then · (k / ln 2), then + 32767 are correctly rounded operations with positive
 *       constants, and rint, non-decreasing;
 *   <li>StrictMath.log is within 1 ulp of ln, and its results for two different float32 magnitudes
 *       are in order: the quotients |x| / A differ by a factor of at least 1 + 2^-24 - 2^-52, so their
 *       logarithms differ by more than 2^-25, while |ln| < 193 (float32 spans 2^-149 to 2^128, A
 *       too) puts each result within 2^-45 of the true value;
 *   <li>below code 1 the rule 2|x| > value(1) is non-decreasing, gives at most 1, and the log
 *       rule gives at least 1 above it.
 * </ul>
 * So mag is fixed by its 32768 decision boundaries B[m] = min{u : mag(u) ≥ m}, and mag(u) = #{m :
 * B[m] ≤ u}. {@link #boundaries} finds each B[m] by evaluating the reference itself: a guess from
 * the formula, then a galloping search and bisection on the bit patterns. Whatever the double
 * evaluation of t does near a tie, the boundary is where the reference changes its answer.
 *
 * <p>The encoder splits the bit patterns from B[2] (rounded down) to past B[32768] into buckets of
 * 2^shift patterns, shift chosen so that a bucket spans under 0.99 code in the log domain wherever
 * float32 is normal (so it holds at most one boundary there). Each bucket stores, in one int, the
 * code of its first pattern (high 16 bits) and the offset of the one boundary inside it (low 16
 * bits; 2^shift if none, 0 if more than one). Patterns below the table can only be at or above
 * B[1] (code 1) or below (code 0); above the table every pattern clips. A bucket can hold several
 * boundaries only where float32 is subnormal (its steps there span many codes): a table with such
 * a bucket is "crowded", and {@link LogCodec#encodeTable} sends those buckets' values to the
 * reference. That needs codes below 2^-125 (value(1) that small), which no weight tensor has.
 * Tables have at most about 96 000 buckets (384 KiB) whatever k: the span in octaves, 32766 / k,
 * times 2^(23 - shift) < 2.92 k buckets per octave.
 */
final class LogTables {
  private LogTables() {}

  private static final int INF_BITS = 0x7F800000;
  private static final int MAX_SHIFT = 15; // offsets up to 2^15 fit in 16 bits
  private static final int MAX_BUCKETS = 1 << 17;

  /** The encoding table: see the class comment. */
  static final class Encoder {
    /** Per bucket: code of its first pattern {@code << 16 |} offset of its boundary (2^shift: none; 0: several). */
    final int[] buckets;
    /** Bits of the first pattern of bucket 0. */
    final int lo;
    /** Patterns covered minus 1: u - lo is clamped to [0, last]. */
    final int last;
    final int shift;
    /** B[1]: the smallest bits that encode to a non-zero magnitude. */
    final int first;
    /** True if some bucket holds several boundaries (offset 0). */
    final boolean crowded;

    Encoder(int[] buckets, int lo, int last, int shift, int first) {
      this.buckets = buckets;
      this.lo = lo;
      this.last = last;
      this.shift = shift;
      this.first = first;
      boolean several = false;
      for (int e : buckets) {
        several |= (e & 0xFFFF) == 0;
      }
      this.crowded = several;
    }
  }

  /** The float32 bits of value(m) at index m in [1, 32767], 0 (+0.0) at index 0. */
  static int[] decoder(LogParams p) {
    double a = p.absmax();
    double k = p.codesPerOctave();
    int[] values = new int[LogParams.MAX_CODE + 1];
    for (int m = 1; m <= LogParams.MAX_CODE; m++) {
      values[m] = Float.floatToRawIntBits(LogCodec.magnitude(m, a, k));
    }
    return values;
  }

  static Encoder encoder(LogParams p) {
    return encoder(p, boundaries(p));
  }

  /** The encoder from the boundaries {@code b} of {@code p} ({@link #boundaries}). */
  static Encoder encoder(LogParams p, int[] b) {
    int top = LogCodec.CLIPPED;
    // Buckets that span under 0.99 code where a float32 binade holds 2^23 patterns: a bucket of
    // 2^s patterns at the bottom of a binade spans k · log2(1 + 2^(s-23)) < k · 2^(s-23) / ln 2 codes.
    double widest = 0.99 * 0x1p23 * LogParams.LN2 / p.codesPerOctave();
    int shift = Math.max(0, Math.min(MAX_SHIFT, Math.getExponent(widest)));
    int lo;
    long hi;
    while (true) {
      int mask = (1 << shift) - 1;
      lo = b[2] & ~mask;
      hi = ((long) b[top] | mask) + 1;
      if ((hi - lo) >>> shift <= MAX_BUCKETS || shift == MAX_SHIFT) {
        break;
      }
      shift++; // not reached for valid parameters (see the class comment); coarser is still exact
    }
    int width = 1 << shift;
    int count = (int) ((hi - lo) >>> shift);
    int[] buckets = new int[count];
    int m = 0; // boundaries at or below the bucket's first pattern
    for (int j = 0; j < count; j++) {
      long start = lo + ((long) j << shift);
      while (m < top && b[m + 1] <= start) {
        m++;
      }
      int inside = 0;
      while (m + inside < top && b[m + inside + 1] < start + width) {
        inside++;
      }
      int off = switch (inside) {
        case 0 -> width;
        case 1 -> (int) (b[m + 1] - start);
        default -> 0;
      };
      buckets[j] = m << 16 | off;
    }
    return new Encoder(buckets, lo, (int) (hi - lo - 1), shift, b[1]);
  }

  /**
   * B[m] for m in [1, 32768] (index 0 unused): the smallest bits u in [0, 0x7F800000] whose
   * non-negative float {@link LogCodec#encodeOne} encodes to magnitude m or more (32768: clipped).
   * About two evaluations of the reference per boundary.
   */
  static int[] boundaries(LogParams p) {
    double a = p.absmax();
    double kl = p.kOverLn2();
    double v1 = p.minPositive();
    double k = p.codesPerOctave();
    int top = LogCodec.CLIPPED;
    int[] b = new int[top + 1];
    int below = 0; // mag(below) < m: +0.0 encodes to 0
    for (int m = 1; m <= top; m++) {
      // The boundary is near the log-domain half-way point (code 1: the linear half-way point).
      double guess = m == 1 ? v1 / 2 : a * Math.pow(2, (m - 0.5 - LogParams.MAX_CODE) / k);
      int g = Math.max(below + 1, Math.min(INF_BITS, Float.floatToRawIntBits((float) guess)));
      int lo; // mag(lo) < m
      int hi; // mag(hi) >= m
      if (mag(g, a, kl, v1) >= m) {
        hi = g;
        for (int step = 1; ; step <<= 1) {
          int c = hi - step;
          if (c <= below) {
            lo = below;
            break;
          }
          if (mag(c, a, kl, v1) < m) {
            lo = c;
            break;
          }
          hi = c;
        }
      } else {
        lo = g;
        for (int step = 1; ; step <<= 1) {
          long c = (long) lo + step;
          if (c >= INF_BITS) {
            hi = INF_BITS; // +Inf clips: mag = 32768
            break;
          }
          if (mag((int) c, a, kl, v1) >= m) {
            hi = (int) c;
            break;
          }
          lo = (int) c;
        }
      }
      while (hi - lo > 1) {
        int mid = (lo + hi) >>> 1;
        if (mag(mid, a, kl, v1) >= m) {
          hi = mid;
        } else {
          lo = mid;
        }
      }
      b[m] = hi;
      below = hi - 1;
    }
    return b;
  }

  private static int mag(int bits, double a, double kl, double v1) {
    return LogCodec.encodeOne(Float.intBitsToFloat(bits), a, kl, v1);
  }
}
