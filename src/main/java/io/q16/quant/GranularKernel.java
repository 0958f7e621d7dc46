package io.q16.quant;

/**
 * Quantization with one quantizer per unit (channel or group): the tensor-wide kernel applied to
 * each run of elements that share a unit. Same arithmetic as {@link LinearKernel}, bit for bit.
 */
public final class GranularKernel {
  private GranularKernel() {}

  /**
   * Quantizes {@code x[xOff..xOff+n)}, which are elements {@code [first, first+n)} of the tensor,
   * with unit u's parameters {@code scales[u - unitBase]}, {@code zeroPoints[u - unitBase]}.
   *
   * @return the number of clipped values
   */
  public static long quantize(
      float[] x, int xOff, short[] q, int qOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase, int qmin, int qmax) {
    long clipped = 0;
    long e = first;
    for (int i = 0; i < n; ) {
      int u = (int) (layout.unitOf(e) - unitBase);
      int run = (int) Math.min(n - i, layout.runEnd(e) - e);
      clipped += LinearKernel.quantize(x, xOff + i, q, qOff + i, run, scales[u], zeroPoints[u], qmin, qmax);
      i += run;
      e += run;
    }
    return clipped;
  }

  /** Dequantizes like {@link #quantize}: (q - zp[u]) · scale[u] in float32. */
  public static void dequantize(
      short[] q, int qOff, float[] x, int xOff, int n, long first, UnitLayout layout,
      float[] scales, int[] zeroPoints, long unitBase) {
    long e = first;
    for (int i = 0; i < n; ) {
      int u = (int) (layout.unitOf(e) - unitBase);
      int run = (int) Math.min(n - i, layout.runEnd(e) - e);
      LinearKernel.dequantize(q, qOff + i, x, xOff + i, run, scales[u], zeroPoints[u]);
      i += run;
      e += run;
    }
  }

  /**
   * Per-unit min and max of the finite values of elements {@code [first, first+n)} (NaN and ±Inf
   * ignored, as for the tensor range): folded into {@code min}/{@code max}, indexed u - unitBase.
   */
  public static void ranges(
      float[] x, int xOff, int n, long first, UnitLayout layout, float[] min, float[] max, long unitBase) {
    long e = first;
    for (int i = 0; i < n; ) {
      int u = (int) (layout.unitOf(e) - unitBase);
      int run = (int) Math.min(n - i, layout.runEnd(e) - e);
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
      e += run;
    }
  }
}
