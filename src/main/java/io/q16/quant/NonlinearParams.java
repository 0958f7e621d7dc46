package io.q16.quant;

import java.io.Serializable;

/**
 * The parameters of a tensor quantized with a non-linear int16 codec (logarithmic or minifloat),
 * behind one face for the job, verify and exports. Per tensor only: the codecs place their codes
 * from the tensor's own magnitudes. A final class (broadcast: Kryo cannot serialize records).
 */
public final class NonlinearParams implements Serializable {
  private static final long serialVersionUID = 1L;

  private final LogParams log;
  private final MinifloatParams minifloat;

  private NonlinearParams(LogParams log, MinifloatParams minifloat) {
    this.log = log;
    this.minifloat = minifloat;
  }

  public static NonlinearParams of(LogParams p) {
    return new NonlinearParams(p, null);
  }

  public static NonlinearParams of(MinifloatParams p) {
    return new NonlinearParams(null, p);
  }

  /** Parameters of {@code scheme} from a tensor's max |x| and smallest non-zero |x| (finite values). */
  public static NonlinearParams fromStats(Scheme scheme, int exponentBits, float absmax, float minNonZero) {
    return switch (scheme) {
      case LOG -> of(LogParams.fromStats(absmax, minNonZero));
      case MINIFLOAT -> of(MinifloatParams.fromStats(exponentBits, absmax));
      default -> throw new IllegalArgumentException(scheme + " is a linear scheme");
    };
  }

  /** Encodes x[xOff..xOff+n) into q; returns the clipped count. */
  public long encode(float[] x, int xOff, short[] q, int qOff, int n) {
    return log != null ? LogCodec.encode(x, xOff, q, qOff, n, log) : MinifloatCodec.encode(x, xOff, q, qOff, n, minifloat);
  }

  public void decode(short[] q, int qOff, float[] out, int outOff, int n) {
    if (log != null) {
      LogCodec.decode(q, qOff, out, outOff, n, log);
    } else {
      MinifloatCodec.decode(q, qOff, out, outOff, n, minifloat);
    }
  }

  public boolean clips(float x) {
    return log != null ? log.clips(x) : minifloat.clips(x);
  }

  /** True if x̂ is a decoding of x within the codec's stated bound. */
  public boolean withinBound(float x, float xhat) {
    return log != null ? log.withinBound(x, xhat) : minifloat.withinBound(x, xhat);
  }

  /** The bound on |x - x̂| for this x: relative above the smallest code, absolute below. */
  public double bound(float x) {
    double ax = Math.abs((double) x);
    double rel = log != null ? log.relativeErrorBound() : minifloat.relativeErrorBound();
    double abs = log != null ? log.absoluteErrorBound() : minifloat.absoluteErrorBound();
    double min = log != null ? log.minPositive() : minifloat.minPositive();
    return ax >= min ? rel * ax : abs;
  }

  public LogParams log() {
    return log;
  }

  public MinifloatParams minifloat() {
    return minifloat;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NonlinearParams p && java.util.Objects.equals(log, p.log)
        && java.util.Objects.equals(minifloat, p.minifloat);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(log, minifloat);
  }

  @Override
  public String toString() {
    return String.valueOf(log != null ? log : minifloat);
  }
}
