package io.q16.quant;

import java.util.Objects;

/**
 * Quantization with one quantizer per unit (channel or group), over the runs of elements that
 * share a unit. Same arithmetic as {@link LinearKernel}, bit for bit: {@link #quantize} is the
 * fast path of {@link LinearBlocks}, {@link #quantizeReference} the scalar reference run by run.
 */
public final class GranularKernel {
  /**
   * Runs at least this long are rounded one at a time with their own constants; shorter ones
   * (groups, channels along an inner axis) through per-element parameters, so that every block
   * is one vectorized loop whatever the run length.
   */
  private static final int LONG_RUN = 512;

  private GranularKernel() {}

  /**
   * Quantizes {@code x[xOff..xOff+n)}, which are elements {@code [first, first+n)} of the tensor,
   * with unit u's parameters {@code scales[u - unitBase]}, {@code zeroPoints[u - unitBase]}.
   * Bit for bit {@link #quantizeReference}; see {@link LinearBlocks}.
   *
   * @return the number of clipped values
   */
  public static long quantize(
      float[] x, int xOff, short[] q, int qOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase, int qmin, int qmax) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    long clipped = fast(x, xOff, q, qOff, n, first, layout, scales, zeroPoints, unitBase, qmin, qmax);
    return clipped >= 0
        ? clipped
        : quantizeReference(x, xOff, q, qOff, n, first, layout, scales, zeroPoints, unitBase, qmin, qmax);
  }

  /**
   * As {@link #quantize(float[], int, short[], int, int, long, UnitLayout, float[], int[], long,
   * int, int)}, and adds every value's round trip to {@code into}, as {@link
   * LinearKernel#quantize(float[], int, short[], int, int, QuantParams, RoundTripStats)} does.
   */
  public static long quantize(
      float[] x, int xOff, short[] q, int qOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase, int qmin, int qmax, RoundTripStats into) {
    Objects.checkFromIndexSize(xOff, n, x.length);
    Objects.checkFromIndexSize(qOff, n, q.length);
    RoundTripBlocks measure = into.blocks(n);
    long clipped = fast(x, xOff, q, qOff, n, first, layout, scales, zeroPoints, unitBase, qmin, qmax, measure);
    boolean measured = clipped >= 0 && measure != null && into.commit(measure, n);
    if (clipped < 0) {
      clipped = quantizeReference(x, xOff, q, qOff, n, first, layout, scales, zeroPoints, unitBase, qmin, qmax);
    }
    if (!measured) {
      into.addUnitsReference(x, xOff, q, qOff, n, first, layout, scales, zeroPoints, unitBase);
    }
    return clipped;
  }

  /** The fast path alone: the clipped count, or -1 if it cannot give the reference's result. */
  static long fast(
      float[] x, int xOff, short[] q, int qOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase, int qmin, int qmax) {
    return fast(x, xOff, q, qOff, n, first, layout, scales, zeroPoints, unitBase, qmin, qmax, null);
  }

  /** The fast path, measuring each block's round trip into {@code measure} unless it is null. */
  private static long fast(
      float[] x, int xOff, short[] q, int qOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase, int qmin, int qmax, RoundTripBlocks measure) {
    if (n == 0) {
      return 0;
    }
    // Every zero point in [qmin, qmax] (checked per run) then keeps the fast path exact.
    if (!LinearBlocks.supports(qmin, qmin, qmax) || !LinearBlocks.supports(qmax, qmin, qmax)) {
      return -1;
    }
    LinearBlocks blocks = new LinearBlocks(n);
    UnitLayout.Cursor run = layout.cursor(first);
    boolean longRuns = layout.runLength() >= LONG_RUN;
    for (int done = 0; done < n; ) {
      int m = Math.min(LinearBlocks.BLOCK, n - done);
      blocks.load(x, xOff + done, 0, m);
      // The runs that cover elements [first + done, first + done + m), in order.
      for (int at = 0; at < m; ) {
        int len = (int) Math.min(m - at, run.end() - (first + done + at));
        int u = (int) (run.unit() - unitBase);
        int zp = zeroPoints[u];
        if (zp < qmin || zp > qmax) {
          return -1;
        }
        if (longRuns) {
          blocks.round(at, len, scales[u], zp, qmin, qmax);
          if (measure != null) {
            measure.fromCodes(blocks.codes(), at, len, scales[u], zp);
          }
        } else {
          blocks.unit(at, len, scales[u], zp);
        }
        at += len;
        if (first + done + at == run.end()) {
          run.next();
        }
      }
      if (!longRuns) {
        blocks.roundUnits(m, qmin, qmax);
        if (measure != null) {
          measure.fromCodes(blocks.codes(), blocks.unitScales(), blocks.unitZeroPoints(), m);
        }
      }
      blocks.store(q, qOff + done, m);
      if (measure != null) {
        measure.load(x, xOff + done, m);
        measure.measure(m);
      }
      done += m;
    }
    return blocks.clipped();
  }

  /** The scalar reference of {@link #quantize}: {@link LinearKernel#quantizeReference} run by run. */
  public static long quantizeReference(
      float[] x, int xOff, short[] q, int qOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase, int qmin, int qmax) {
    long clipped = 0;
    long e = first;
    for (int i = 0; i < n; ) {
      int u = (int) (layout.unitOf(e) - unitBase);
      int run = (int) Math.min(n - i, layout.runEnd(e) - e);
      clipped += LinearKernel.quantizeReference(
          x, xOff + i, q, qOff + i, run, scales[u], zeroPoints[u], qmin, qmax);
      i += run;
      e += run;
    }
    return clipped;
  }

  /** Dequantizes like {@link #quantize}: (q - zp[u]) · scale[u] in float32. */
  public static void dequantize(
      short[] q, int qOff, float[] x, int xOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase) {
    UnitLayout.Cursor c = layout.cursor(first);
    for (int i = 0; i < n; c.next()) {
      int u = (int) (c.unit() - unitBase);
      int run = (int) Math.min(n - i, c.end() - (first + i));
      LinearKernel.dequantize(q, qOff + i, x, xOff + i, run, scales[u], zeroPoints[u]);
      i += run;
    }
  }

  /**
   * Per-unit min and max of the finite values of elements {@code [first, first+n)} (NaN and ±Inf
   * ignored, as for the tensor range): folded into {@code min}/{@code max}, indexed u - unitBase.
   */
  public static void ranges(
      float[] x, int xOff, int n, long first, UnitLayout layout, float[] min, float[] max, long unitBase) {
    UnitLayout.Cursor c = layout.cursor(first);
    for (int i = 0; i < n; c.next()) {
      int u = (int) (c.unit() - unitBase);
      int run = (int) Math.min(n - i, c.end() - (first + i));
      float lo = min[u];
      float hi = max[u];
      for (int j = xOff + i, end = xOff + i + run; j < end; j++) {
        float v = x[j];
        if (v - v == 0f) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      min[u] = lo;
      max[u] = hi;
      i += run;
    }
  }
}
