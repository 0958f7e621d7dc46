package io.q16.quant;

import java.util.Locale;

/** What happens to values whose code falls outside [qmin, qmax] (DESIGN.md §3, seed §4.3). */
public enum Overflow {
  /** Clamp to qmin or qmax and count them as clipped. */
  SATURATE,
  /** Widen the scale, one float32 ulp at a time from a close estimate, until no finite value clips. */
  RESCALE;

  public static Overflow parse(String s) {
    try {
      return valueOf(s.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown overflow policy '" + s + "' (expected saturate or rescale)");
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
