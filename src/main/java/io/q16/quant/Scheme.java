package io.q16.quant;

import java.util.Locale;

/**
 * The int16 schemes of the design (DESIGN.md §3): three linear ones with their code ranges, and
 * two non-linear codecs (logarithmic, minifloat) whose codes are not x / scale.
 */
public enum Scheme {
  /** scale = 2T / 65535 on [-32768, 32767]: the seed's formula, PyTorch's observers. */
  SYMMETRIC("symmetric", -32768, 32767),
  /** scale = T / 32767 on [-32767, 32767]: ONNX Runtime's int16 QDQ and TensorRT. */
  SYMMETRIC_RESTRICTED("symmetric-restricted", -32767, 32767),
  /** Integer zero point, range widened to include 0 (ONNX QuantizeLinear semantics). */
  ASYMMETRIC("asymmetric", -32768, 32767),
  /** Sign and logarithmic magnitude: more codes near zero for long-tailed tensors ({@link LogCodec}). */
  LOG("log", -32767, 32767),
  /** Sign, E exponent bits, 15 - E mantissa bits, per-tensor bias ({@link MinifloatCodec}). */
  MINIFLOAT("minifloat", -32768, 32767);

  /** The linear schemes, whose parameters are a scale and a zero point. */
  public static final java.util.List<Scheme> LINEAR = java.util.List.of(SYMMETRIC, SYMMETRIC_RESTRICTED, ASYMMETRIC);

  private final String cliName;
  private final int qmin;
  private final int qmax;

  Scheme(String cliName, int qmin, int qmax) {
    this.cliName = cliName;
    this.qmin = qmin;
    this.qmax = qmax;
  }

  /** The name used on the command line and in manifests. */
  public String cliName() {
    return cliName;
  }

  /** True for the schemes whose codes are rint(x / scale) + zero point. */
  public boolean linear() {
    return this != LOG && this != MINIFLOAT;
  }

  public int qmin() {
    return qmin;
  }

  public int qmax() {
    return qmax;
  }

  public static Scheme parse(String s) {
    for (Scheme v : values()) {
      if (v.cliName.equals(s.toLowerCase(Locale.ROOT))) {
        return v;
      }
    }
    throw new IllegalArgumentException(
        "unknown scheme '" + s + "' (expected symmetric, symmetric-restricted, asymmetric, log or minifloat)");
  }

  @Override
  public String toString() {
    return cliName;
  }
}
