package io.q16.quant;

/**
 * The fast path of {@link RoundTripStats}, run inside the quantization kernels' block loop ({@link
 * LinearKernel}, {@link GranularKernel}) while each block of {@link #BLOCK} elements is still in
 * L1 cache, in the loop shapes that HotSpot C2 (JDK 17) vectorizes (see {@link LinearBlocks}).
 *
 * <ol>
 *   <li>{@link #load}: the block's values, copied to offset 0.
 *   <li>{@link #fromCodes}: x̂ from the quantizer's own scratch, where element j holds 2q + BIAS
 *       exactly: ((y - BIAS) · 0.5 - zp) · scale. Every step but the last is exact (integers below
 *       2^24), so x̂ is bit for bit {@link LinearKernel#dequantize}'s (float) (q - zp) · scale of
 *       the code written. (Decoding the short[] codes instead is a scalar loop: C2 17 does not
 *       vectorize short-to-float; it cost a third of the measurement.)
 *   <li>{@link #measure}: float32 arithmetic only, one lane per scratch index: e = x - x̂, and per
 *       lane Σ(x/hi)², Σ(e/hi)², max |e|, and the histogram bin of |x| as a float; then a scalar
 *       loop adds each element to its bin.
 * </ol>
 *
 * <p>Why per-lane float sums are accurate enough: each lane adds at most {@link #FLUSH_BLOCKS}
 * terms before {@link #flush} moves them into double sums, so a lane's relative rounding error
 * stays below 2^-24 · 32 = 2^-19; dividing by hi first keeps x² and e² far from float32's
 * underflow and overflow. A NaN or ±Inf value makes a lane sum non-finite: {@link
 * RoundTripStats#commit} then refuses the blocks and the caller measures with the scalar reference.
 */
final class RoundTripBlocks {
  static final int BLOCK = LinearBlocks.BLOCK;
  /** Blocks whose squares a float lane may hold before they move into the double sums. */
  static final int FLUSH_BLOCKS = 32;

  private final float[] x = new float[BLOCK];
  private final float[] xhat = new float[BLOCK];
  private final float[] bin = new float[BLOCK];
  private final float[] sumX2 = new float[BLOCK];
  private final float[] sumE2 = new float[BLOCK];
  private final float[] maxErr = new float[BLOCK];
  private final long[] counts;
  private final float inv;
  private final float lastBin;
  private final float binsPerUnit;
  private int pending;
  private double doubleX2;
  private double doubleE2;

  /** Scratch for a histogram of {@code bins} bins, |x| scaled by {@code inv} (= 1/hi, finite). */
  RoundTripBlocks(float inv, int bins) {
    this.inv = inv;
    this.binsPerUnit = bins;
    this.lastBin = bins - 1;
    this.counts = new long[bins];
  }

  /** Copies values {@code xs[off..off+m)} to scratch [0..m). */
  void load(float[] xs, int off, int m) {
    System.arraycopy(xs, off, x, 0, m);
  }

  /** x̂ of scratch [at..at+m) from the quantizer's scratch {@code y} (2q + BIAS), one quantizer. */
  void fromCodes(float[] y, int at, int m, float scale, int zeroPoint) {
    final float[] out = xhat;
    final float zp = zeroPoint;
    for (int j = at, end = at + m; j < end; j++) {
      out[j] = ((y[j] - LinearBlocks.BIAS) * 0.5f - zp) * scale;
    }
  }

  /** x̂ of scratch [0..m) from the quantizer's scratch, each element with its own quantizer. */
  void fromCodes(float[] y, float[] scales, float[] zeroPoints, int m) {
    final float[] out = xhat;
    for (int j = 0; j < m; j++) {
      out[j] = ((y[j] - LinearBlocks.BIAS) * 0.5f - zeroPoints[j]) * scales[j];
    }
  }

  /** x̂ of scratch [0..m) copied from decoded values {@code d[off..off+m)} (non-linear codecs). */
  void fromDecoded(float[] d, int off, int m) {
    System.arraycopy(d, off, xhat, 0, m);
  }

  /** Errors, sums and bins of scratch [0..m) (same index everywhere: vectorizes), then counts. */
  void measure(int m) {
    final float[] xs = x;
    final float[] y = xhat;
    final float[] b = bin;
    final float[] ax = sumX2;
    final float[] ae = sumE2;
    final float[] am = maxErr;
    final float k = inv;
    final float per = binsPerUnit;
    final float last = lastBin;
    for (int j = 0; j < m; j++) {
      float xv = xs[j];
      float e = xv - y[j];
      float xn = xv * k;
      float en = e * k;
      ax[j] += xn * xn;
      ae[j] += en * en;
      am[j] = Math.max(am[j], Math.abs(e));
      b[j] = Math.min(Math.abs(xn) * per, last);
    }
    // A NaN bin counts in bin 0; a NaN value also poisons its lane, and commit refuses the blocks.
    final long[] c = counts;
    for (int j = 0; j < m; j++) {
      c[(int) b[j]]++;
    }
    if (++pending == FLUSH_BLOCKS) {
      flush();
    }
  }

  /** Moves the lane sums into the double sums. */
  void flush() {
    final float[] ax = sumX2;
    final float[] ae = sumE2;
    double sx = 0;
    double se = 0;
    for (int j = 0; j < BLOCK; j++) {
      sx += ax[j];
      se += ae[j];
      ax[j] = 0;
      ae[j] = 0;
    }
    doubleX2 += sx;
    doubleE2 += se;
    pending = 0;
  }

  /** Σ(x/hi)² so far (after {@link #flush}); not finite if a value was not. */
  double sumX2() {
    return doubleX2;
  }

  double sumE2() {
    return doubleE2;
  }

  /** The histogram counts so far. */
  long[] counts() {
    return counts;
  }

  /** max |x - x̂| over the lanes. */
  float maxErr() {
    float m = 0;
    for (float v : maxErr) {
      m = Math.max(m, v);
    }
    return m;
  }
}
