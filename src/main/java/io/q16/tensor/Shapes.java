package io.q16.tensor;

/** Shape arithmetic with overflow checks: element counts come from untrusted headers. */
public final class Shapes {
  private Shapes() {}

  /**
   * Number of elements of {@code shape}, or -1 if a dimension is negative or the product of the
   * non-zero dimensions overflows a long (a lying header even when another dimension is zero).
   * A rank-0 shape has one element.
   */
  public static long elements(long[] shape) {
    long nonZero = 1;
    boolean hasZero = false;
    for (long d : shape) {
      if (d < 0) {
        return -1;
      }
      if (d == 0) {
        hasZero = true;
        continue;
      }
      if (nonZero > Long.MAX_VALUE / d) {
        return -1;
      }
      nonZero *= d;
    }
    return hasZero ? 0 : nonZero;
  }
}
