package io.q16.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * ExactSum against BigDecimal: each term truncated to whole units on its own, summed exactly, in
 * any order and grouping.
 */
class ExactSumTest {
  /** The expected total in units: floor(term / unit) per term, summed as integers. */
  private static BigInteger reference(List<Double> terms, int unit) {
    BigInteger sum = BigInteger.ZERO;
    BigDecimal u = new BigDecimal(BigInteger.ONE.shiftLeft(Math.max(0, unit)))
        .divide(new BigDecimal(BigInteger.ONE.shiftLeft(Math.max(0, -unit))));
    for (double t : terms) {
      sum = sum.add(new BigDecimal(t).divide(u).toBigInteger());
    }
    return sum;
  }

  @Test
  void sumsExactlyInAnyOrderAndGrouping() {
    Random r = new Random(11);
    List<Double> terms = new ArrayList<>();
    for (int i = 0; i < 20000; i++) {
      double e = r.nextGaussian() * 1e-3;
      terms.add(e * e);
      if (i % 997 == 0) {
        terms.add(Math.pow(r.nextDouble() * 300, 2)); // clipped values: far beyond one limb
      }
    }
    terms.add(0.0);
    terms.add(Double.MIN_VALUE);
    int unit = ExactSum.unitFor(1e-3, 40);
    ExactSum whole = new ExactSum(unit);
    terms.forEach(whole::add);
    assertThat(whole.units()).isEqualTo(reference(terms, unit));

    Collections.shuffle(terms, r);
    ExactSum merged = new ExactSum(unit);
    ExactSum part = new ExactSum(unit);
    for (int i = 0; i < terms.size(); i++) {
      part.add(terms.get(i));
      if (r.nextInt(50) == 0) {
        merged.merge(part);
        part = new ExactSum(unit);
      }
    }
    merged.merge(part);
    assertThat(merged).isEqualTo(whole);
    assertThat(merged.value()).isEqualTo(whole.value());
    BigDecimal exact = new BigDecimal(whole.units()).multiply(new BigDecimal(Math.scalb(1.0, unit)));
    assertThat(whole.value()).isEqualTo(exact.doubleValue());
  }

  @Test
  void carriesAcrossLimbs() {
    ExactSum s = new ExactSum(0);
    BigInteger want = BigInteger.ZERO;
    for (int i = 0; i < 1000; i++) {
      double t = 0x1p62 - 1024; // just under the one-limb fast path
      s.add(t);
      s.add(0x1p130);
      want = want.add(new BigDecimal(t).toBigInteger()).add(BigInteger.ONE.shiftLeft(130));
    }
    assertThat(s.units()).isEqualTo(want);
  }

  @Test
  void refusesWhatItCannotHold() {
    ExactSum s = new ExactSum(0);
    assertThatThrownBy(() -> s.add(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> s.add(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> s.add(Double.POSITIVE_INFINITY)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> s.add(0x1p190)).isInstanceOf(ArithmeticException.class);
    assertThatThrownBy(() -> s.merge(new ExactSum(1))).isInstanceOf(IllegalArgumentException.class);
  }
}
