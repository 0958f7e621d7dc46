package io.q16.quant;

import java.util.Locale;

/** What to do with NaN in a tensor. */
public enum NanPolicy {
  /** Refuse the tensor, naming it and the count: NaN weights mean a broken checkpoint. */
  ERROR,
  /** Map NaN to 0.0 (the zero point's code) and count it in the manifest. */
  ZERO;

  public static NanPolicy parse(String s) {
    try {
      return valueOf(s.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown NaN policy '" + s + "' (expected error or zero)");
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
