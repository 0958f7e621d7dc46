package io.q16.quant;

import java.util.Arrays;

/**
 * Quantizes one chunk of a tensor as its {@link TensorSpec} says, and reports the parameters the
 * chunk's shard row must carry: null for per-tensor, the chunk's own units for local units, all
 * units for channels along an inner axis.
 */
public final class ChunkQuantizer {
  private ChunkQuantizer() {}

  /** The parameters of the units a chunk covers, from {@code unitBase} on. */
  public record Params(long unitBase, float[] scales, int[] zeroPoints) {}

  /** Parameters for elements [first, first+n) of {@code x}; computed from the data for local units. */
  public static Params params(TensorSpec spec, float[] x, int n, long first) {
    if (spec.nonlinear() != null) {
      return null;
    }
    if (!spec.localUnits()) {
      return spec.granularity().kind() == Granularity.Kind.TENSOR
          ? null
          : new Params(0, spec.scales(), spec.zeroPoints());
    }
    UnitLayout layout = spec.layout();
    if (n == 0) {
      return new Params(0, new float[0], new int[0]);
    }
    long base = layout.unitOf(first);
    int units = (int) (layout.unitOf(first + n - 1) - base + 1);
    float[] min = new float[units];
    float[] max = new float[units];
    Arrays.fill(min, Float.POSITIVE_INFINITY);
    Arrays.fill(max, Float.NEGATIVE_INFINITY);
    GranularKernel.ranges(x, 0, n, first, layout, min, max, base);
    float[] scales = new float[units];
    int[] zps = new int[units];
    for (int u = 0; u < units; u++) {
      QuantParams p = spec.unitParams(min[u], max[u]);
      scales[u] = p.scale();
      zps[u] = p.zeroPoint();
    }
    return new Params(base, scales, zps);
  }

  /**
   * Quantizes elements [first, first+n) held in {@code x[0..n)} into {@code q[0..n)} with
   * {@code tensorParams} (per tensor) or {@code p} (per unit), and adds the round trip of every
   * value (x against its code dequantized) to {@code into}. Linear codes are measured inside the
   * kernel; a non-linear codec decodes into {@code scratch} (at least n long) first.
   *
   * @return the number of clipped values
   */
  public static long quantize(TensorSpec spec, QuantParams tensorParams, Params p, float[] x, int n, long first,
      short[] q, RoundTripStats into, float[] scratch) {
    Scheme s = spec.scheme();
    if (spec.nonlinear() != null) {
      long clipped = spec.nonlinear().encode(x, 0, q, 0, n);
      spec.nonlinear().decode(q, 0, scratch, 0, n);
      into.add(x, scratch, 0, n);
      return clipped;
    }
    if (p == null) {
      return LinearKernel.quantize(x, 0, q, 0, n, tensorParams, into);
    }
    return GranularKernel.quantize(x, 0, q, 0, n, first, spec.layout(), p.scales(), p.zeroPoints(), p.unitBase(),
        s.qmin(), s.qmax(), into);
  }
}
