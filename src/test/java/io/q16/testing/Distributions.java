package io.q16.testing;

import java.util.Random;

/** Seeded draws from the heavy-tailed distributions the codec tests use. */
public final class Distributions {
  private Distributions() {}

  /** Student-t with 2 degrees of freedom: Z / sqrt(V / 2) with V ~ chi-square(2) = -2 ln U. */
  public static double studentT2(Random r) {
    return r.nextGaussian() / Math.sqrt(-Math.log(1 - r.nextDouble()));
  }
}
