package io.q16.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The verify accumulator: merging per-task parts equals folding everything in one, in order. */
class OutputComparisonTest {
  @Test
  void mergedPartsEqualTheWhole() {
    Random r = new Random(3);
    OutputComparison whole = new OutputComparison("y", 0);
    OutputComparison[] parts = {new OutputComparison("y", 0), new OutputComparison("y", 1)};
    for (int s = 0; s < 10; s++) {
      float[] a = new float[12];
      float[] b = new float[12];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) r.nextGaussian();
        b[i] = a[i] + (float) (1e-3 * r.nextGaussian());
      }
      long[] shape = {3, 4};
      whole.update(a, b, shape);
      parts[s < 4 ? 0 : 1].update(a, b, shape);
    }
    OutputComparison merged = parts[0].merge(parts[1]);
    assertThat(merged.samples()).isEqualTo(10);
    assertThat(merged.maxAbsDiff()).isEqualTo(whole.maxAbsDiff());
    assertThat(merged.cosine()).isCloseTo(whole.cosine(), org.assertj.core.data.Offset.offset(1e-15));
    assertThat(merged.minSampleCosine()).isEqualTo(whole.minSampleCosine());
    assertThat(merged.top1Rows()).isEqualTo(30);
    assertThat(merged.top1Agreement()).isEqualTo(whole.top1Agreement());
  }

  @Test
  void nonFiniteValuesAreCountedNotSummed() {
    OutputComparison c = new OutputComparison("y", 0);
    c.update(new float[] {1f, Float.NaN, 2f}, new float[] {1f, 0f, Float.POSITIVE_INFINITY}, new long[] {3});
    assertThat(c.nonFinite()).isEqualTo(2);
    assertThat(c.cosine()).isEqualTo(1.0);
    assertThat(c.top1Rows()).isZero();
    assertThat(c.top1Agreement()).isNaN();
  }
}
