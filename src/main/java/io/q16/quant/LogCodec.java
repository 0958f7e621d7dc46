package io.q16.quant;

import java.util.Objects;

/**
 * The logarithmic int16 codec (DESIGN.md §3, seed §3): sign + logarithmic magnitude, so that small
 * values of long-tailed tensors keep a bounded relative error where a linear code has none left.
 *
 * <p>Format, for parameters A and k ({@link LogParams}): code 0 is 0.0; code ±m, m in [1, 32767],
 * is ±value(m) with value(m) = A · 2^((m - 32767) / k). Code -32768 is never produced; it decodes
 * like -32767, so that every 16-bit pattern decodes to a finite value.
 *
 * <p>Encoding ({@link #encodeReference}), in double: t = StrictMath.log(|x| / A) · (k / ln 2) + 32767
 * and m = rint(t) (half to even), the nearest code in the log domain; then
 * <ul>
 *   <li>m > 32767: saturate to ±32767 and count as clipped (|x| above A · 2^(1/(2k)), ±Inf);
 *   <li>m < 1: below the log-domain half-way point to code 1, the nearer of 0 and ±value(1) in
 *       linear terms, ties to 0 (so tiny values and subnormals flush to zero);
 *   <li>NaN: code 0, not counted (the caller's NaN policy has already refused or accepted it);
 *   <li>±0: code 0; the decoded value is +0.0 (the format has one zero, like int16 linear codes).
 * </ul>
 *
 * <p>Decoding ({@link #decodeReference}): x̂ = ±(float) (A · StrictMath.pow(2, (m - 32767) / k)),
 * each step in double, then rounded once to float32; code ±32767 gives exactly ±A.
 *
 * <p>Both use {@link StrictMath} (fdlibm), not {@link Math}: Math.log and Math.pow may be replaced
 * by intrinsics that differ in the last bit between JVMs and CPUs, and the codes and decoded values
 * must be identical wherever an executor runs. Bounds: {@link LogParams#relativeErrorBound()},
 * {@link LogParams#absoluteErrorBound()}, {@link LogParams#withinBound(float, float)}.
 *
 * <p>{@link #encode} and {@link #decode} give exactly the results of the scalar references for
 * every input, without a logarithm or power per element: they look codes and values up in tables
 * that {@link LogTables} computes once per parameters from the reference itself (see there why
 * this is exact), encoding in passes over blocks ({@link CodecBlocks}). About 15 times faster than
 * the references on one thread; {@code CodecExactnessTest} compares them on tens of millions of values.
 */
public final class LogCodec {
  private LogCodec() {}

  /** Magnitude that {@link #encodeOne} returns for a clipped value; saturated to 32767 by the kernel. */
  static final int CLIPPED = LogParams.MAX_CODE + 1;

  /**
   * Calls shorter than this use the reference loops unless the parameters' tables already exist:
   * building a table costs about as much as the reference on 50 000 to 100 000 values.
   */
  static final int TABLE_THRESHOLD = 8192;

  private static final int INF_BITS = 0x7F800000;

  /**
   * Encodes {@code x[xOff..xOff+n)} into {@code q[qOff..qOff+n)} as the class describes: the codes
   * and clipped count of {@link #encodeReference}, bit for bit, through the parameters' tables.
   * Allocates 32 KiB of scratch per call, nothing per element.
   *
   * @return the number of clipped values (NaN never counts)
   */
  public static long encode(float[] x, int xOff, short[] q, int qOff, int n, LogParams p) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    LogTables.Encoder t = p.encoder(n >= TABLE_THRESHOLD);
    if (t == null) {
      return encodeReference(x, xOff, q, qOff, n, p);
    }
    return t.crowded ? encodeTable(x, xOff, q, qOff, n, t, p) : encodeBlocks(x, xOff, q, qOff, n, t);
  }

  /**
   * The table encoder in passes over blocks ({@link CodecBlocks}), for tables whose buckets hold
   * at most one boundary each (every table whose codes stay above float32's subnormals).
   */
  static long encodeBlocks(float[] x, int xOff, short[] q, int qOff, int n, LogTables.Encoder t) {
    if (t.crowded) {
      throw new IllegalArgumentException("a bucket holds several boundaries: use encodeTable");
    }
    CodecBlocks blocks = new CodecBlocks(n, true);
    int mask = (1 << t.shift) - 1;
    for (int done = 0; done < n; done += CodecBlocks.BLOCK) {
      int m = Math.min(CodecBlocks.BLOCK, n - done);
      blocks.load(x, xOff + done, m);
      blocks.logIndex(m, t.lo, t.last);
      blocks.logGather(m, t.buckets, t.shift);
      blocks.logMagnitude(m, mask);
      blocks.logEdges(m, t.lo, t.first);
      blocks.logFinish(m);
      blocks.store(q, qOff + done, m);
    }
    return blocks.clipped();
  }

  /**
   * The table encoder one element at a time, for any table: a value in a bucket with several
   * boundaries (only where float32 is subnormal) goes through {@link #encodeOne}.
   */
  static long encodeTable(float[] x, int xOff, short[] q, int qOff, int n, LogTables.Encoder t, LogParams p) {
    final int[] buckets = t.buckets;
    final int lo = t.lo;
    final int last = t.last;
    final int shift = t.shift;
    final int mask = (1 << shift) - 1;
    long clipped = 0;
    for (int i = 0; i < n; i++) {
      int bits = Float.floatToRawIntBits(x[xOff + i]);
      int u = bits & 0x7FFFFFFF;
      int d = u - lo;
      int mag;
      if ((d | (last - d)) >= 0) {
        int e = buckets[d >>> shift];
        int off = e & 0xFFFF;
        mag = (e >>> 16) + ((off - 1 - (d & mask)) >>> 31);
        if (off == 0) {
          mag = encodeOne(Float.intBitsToFloat(u), p.absmax(), p.kOverLn2(), p.minPositive());
        }
      } else if (u > INF_BITS) {
        mag = 0; // NaN
      } else {
        mag = d < 0 ? (t.first - 1 - u) >>> 31 : CLIPPED; // below the table: 0 or 1; above: clipped
      }
      int over = mag >>> 15; // 1 for CLIPPED (32768), else 0
      clipped += over;
      mag -= over;
      int s = bits >> 31;
      q[qOff + i] = (short) ((mag ^ s) - s);
    }
    return clipped;
  }

  /**
   * The scalar reference of {@link #encode}: {@link #encodeOne} per element, as the class
   * describes. Every faster variant must produce its codes and clipped count bit for bit.
   *
   * @return the number of clipped values (NaN never counts)
   */
  public static long encodeReference(float[] x, int xOff, short[] q, int qOff, int n, LogParams p) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    final double a = p.absmax();
    final double kOverLn2 = p.kOverLn2();
    final double v1 = p.minPositive();
    long clipped = 0;
    for (int i = 0; i < n; i++) {
      int c = encodeOne(x[xOff + i], a, kOverLn2, v1);
      if (c == CLIPPED || c == -CLIPPED) {
        c = c > 0 ? LogParams.MAX_CODE : -LogParams.MAX_CODE;
        clipped++;
      }
      q[qOff + i] = (short) c;
    }
    return clipped;
  }

  /**
   * Decodes {@code q[qOff..qOff+n)} into {@code out[outOff..outOff+n)}: 0 → +0.0, ±m → ±value(m)
   * rounded once to float32 (-32768 as -32767), the values of {@link #decodeReference} bit for bit,
   * read from the parameters' table. Every result is finite.
   */
  public static void decode(short[] q, int qOff, float[] out, int outOff, int n, LogParams p) {
    Objects.checkFromIndexSize(qOff, n, q.length);
    Objects.checkFromIndexSize(outOff, n, out.length);
    int[] values = p.decoder(n >= TABLE_THRESHOLD);
    if (values == null) {
      decodeReference(q, qOff, out, outOff, n, p);
      return;
    }
    decodeFast(q, qOff, out, outOff, n, values);
  }

  /** The table loop: {@code values[m]} holds the float32 bits of value(m), {@code values[0]} those of +0.0. */
  static void decodeFast(short[] q, int qOff, float[] out, int outOff, int n, int[] values) {
    for (int i = 0; i < n; i++) {
      int c = q[qOff + i];
      out[outOff + i] = Float.intBitsToFloat(values[Math.min(Math.abs(c), LogParams.MAX_CODE)] | (c & 0x80000000));
    }
  }

  /** The scalar reference of {@link #decode}: {@link #magnitude} per element, as the class describes. */
  public static void decodeReference(short[] q, int qOff, float[] out, int outOff, int n, LogParams p) {
    Objects.checkFromIndexSize(qOff, n, q.length);
    Objects.checkFromIndexSize(outOff, n, out.length);
    final double a = p.absmax();
    final double k = p.codesPerOctave();
    for (int i = 0; i < n; i++) {
      int c = q[qOff + i];
      if (c == 0) {
        out[outOff + i] = 0f;
      } else {
        float mag = magnitude(Math.min(Math.abs(c), LogParams.MAX_CODE), a, k);
        out[outOff + i] = c < 0 ? -mag : mag;
      }
    }
  }

  /** The signed code of v, with magnitude {@link #CLIPPED} when the rounded code exceeds 32767. */
  static int encodeOne(float v, double a, double kOverLn2, double v1) {
    double ax = Math.abs((double) v);
    // |x| / A is a positive double even for float32's extremes (2^-277 to 2^277), and log of it
    // is -Inf for ±0, +Inf for ±Inf, NaN for NaN: all fall through the branches below.
    double m = Math.rint(StrictMath.log(ax / a) * kOverLn2 + 32767.0);
    int mag;
    if (m >= 1.0) {
      mag = m > LogParams.MAX_CODE ? CLIPPED : (int) m;
    } else if (m < 1.0) {
      // Below value(1/2) code 1 is no longer the nearest in the log domain; what is left is 0 or
      // value(1), and in linear terms the nearer one has the smaller error. Exact: 2|x| and v1
      // are doubles without rounding. A tie goes to 0, the even code.
      mag = 2.0 * ax > v1 ? 1 : 0;
    } else {
      return 0;
    }
    return v < 0 ? -mag : mag;
  }

  /** value(m) = A · 2^((m - 32767) / k) in double, rounded once to float32. */
  static float magnitude(int m, double a, double k) {
    return (float) (a * StrictMath.pow(2.0, (m - LogParams.MAX_CODE) / k));
  }
}
