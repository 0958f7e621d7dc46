package io.q16.calib;

import java.io.Serializable;

/**
 * A sum of non-negative doubles in fixed point, exact and therefore independent of the order and
 * grouping of the terms: the property that lets executors add up errors over any split of the data
 * and still agree bit for bit.
 *
 * <p>Each term is scaled by 2^-unitExponent (exact: a power of two) and truncated to an integer
 * number of units; the truncation depends only on the term, never on what it is added to. The
 * integer is held in three 62-bit limbs (186 bits). Callers pick the unit so that the common term
 * fits the first limb (the fast path) and the largest possible one fits all three many times over:
 * for squared quantization errors, 2^-40 of (scale/2)²·4, so a rounding error keeps 40 bits below
 * the step and a clipped value (up to 2^17 steps) is far from the 2^186 limit.
 */
public final class ExactSum implements Serializable {
  private static final long serialVersionUID = 1L;

  private static final long BASE = 1L << 62;
  private static final long MASK = BASE - 1;

  private final int unitExponent;
  /** 2^-unitExponent: multiplying by a power of two is exact (the exponent is clamped to keep it normal). */
  private final double inverseUnit;
  private long l0;
  private long l1;
  private long l2;

  /** A sum counted in units of 2^unitExponent. */
  public ExactSum(int unitExponent) {
    if (unitExponent < Double.MIN_EXPONENT || unitExponent > Double.MAX_EXPONENT) {
      throw new IllegalArgumentException("unit 2^" + unitExponent + " is outside double's normal range");
    }
    this.unitExponent = unitExponent;
    this.inverseUnit = Math.scalb(1.0, -unitExponent);
  }

  /**
   * A unit for squares of values up to {@code max}: 2^-bits of the next power of two above max²,
   * so that such a square is below 2^bits units. The exponent is clamped to double's normal range
   * so that scaling stays exact.
   */
  public static int unitFor(double max, int bits) {
    int e = max > 0 && max < Double.POSITIVE_INFINITY ? Math.getExponent(max) + 1 : 0;
    return Math.max(Double.MIN_EXPONENT, Math.min(Double.MAX_EXPONENT, 2 * e - bits));
  }

  public int unitExponent() {
    return unitExponent;
  }

  /** Adds {@code v} (finite, >= 0; anything else is a caller's bug). */
  public void add(double v) {
    if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
      throw new IllegalArgumentException("ExactSum takes finite non-negative terms, not " + v);
    }
    double s = v * inverseUnit;
    if (s < 0x1p62) {
      // The common case (units are chosen so that typical terms land here): one limb, and the
      // carry out of it is branch-free. l0 < 2^62 before, so the sum cannot overflow a long.
      l0 += (long) s;
      l1 += l0 >>> 62;
      l0 &= MASK;
      return;
    }
    if (s >= 0x1p186) {
      throw new ArithmeticException("term " + v + " overflows a sum in units of 2^" + unitExponent);
    }
    // Peel off the limbs from the top: every subtraction removes leading bits and is exact.
    long a2 = (long) (s * 0x1p-124);
    s -= a2 * 0x1p124;
    long a1 = (long) (s * 0x1p-62);
    s -= a1 * 0x1p62;
    long a0 = (long) s;
    l0 += a0;
    l1 += a1 + (l0 >>> 62);
    l0 &= MASK;
    l2 += a2 + (l1 >>> 62);
    l1 &= MASK;
  }

  /** Adds {@code o}'s total; both must count the same unit. */
  public ExactSum merge(ExactSum o) {
    if (o.unitExponent != unitExponent) {
      throw new IllegalArgumentException("sums in units 2^" + unitExponent + " and 2^" + o.unitExponent + " do not merge");
    }
    l0 += o.l0;
    l1 += o.l1 + (l0 >>> 62);
    l0 &= MASK;
    l2 += o.l2 + (l1 >>> 62);
    l1 &= MASK;
    return this;
  }

  /** The total, rounded once to double. */
  public double value() {
    // Sum from the smallest limb up: each limb has at most 62 bits, so the result is within an
    // ulp or two of the exact total, and the same for the same total.
    double v = Math.scalb((double) l2, 124) + (Math.scalb((double) l1, 62) + (double) l0);
    return Math.scalb(v, unitExponent);
  }

  /** The exact total in units, as a BigInteger (for tests and comparisons). */
  public java.math.BigInteger units() {
    return java.math.BigInteger.valueOf(l2).shiftLeft(124)
        .add(java.math.BigInteger.valueOf(l1).shiftLeft(62))
        .add(java.math.BigInteger.valueOf(l0));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExactSum s && s.unitExponent == unitExponent && s.l0 == l0 && s.l1 == l1 && s.l2 == l2;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(unitExponent, l0, l1, l2);
  }
}
