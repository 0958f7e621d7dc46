package io.q16.quant;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UnitLayoutTest {
  /** Unit of each element by coordinates, the definition the layout must agree with. */
  private static long byCoordinates(long[] shape, long e, Granularity g) {
    long[] idx = new long[shape.length];
    long rest = e;
    for (int k = shape.length - 1; k >= 0; k--) {
      idx[k] = rest % shape[k];
      rest /= shape[k];
    }
    return switch (g.kind()) {
      case TENSOR -> 0;
      case CHANNEL -> idx[g.axis()];
      case GROUP -> {
        long last = shape[shape.length - 1];
        long perRow = (last + g.groupSize() - 1) / g.groupSize();
        yield (e / last) * perRow + idx[shape.length - 1] / g.groupSize();
      }
    };
  }

  @Test
  void unitsAndRunsAgreeWithCoordinates() {
    long[][] shapes = {{5, 7}, {3, 4, 5}, {2, 3, 3, 3}, {13}, {4, 10}};
    for (long[] shape : shapes) {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      Granularity[] gs = new Granularity[shape.length + 3];
      for (int k = 0; k < shape.length; k++) {
        gs[k] = Granularity.channel(k);
      }
      gs[shape.length] = Granularity.group(2);
      gs[shape.length + 1] = Granularity.group(3);
      gs[shape.length + 2] = Granularity.TENSOR;
      for (Granularity g : gs) {
        UnitLayout layout = UnitLayout.of(shape, g);
        long maxUnit = -1;
        for (long e = 0; e < n; e++) {
          long u = layout.unitOf(e);
          assertThat(u).as("%s %s e=%d", java.util.Arrays.toString(shape), g, e).isEqualTo(byCoordinates(shape, e, g));
          long end = layout.runEnd(e);
          assertThat(end).isGreaterThan(e).isLessThanOrEqualTo(n);
          for (long f = e; f < end; f++) {
            assertThat(layout.unitOf(f)).isEqualTo(u);
          }
          maxUnit = Math.max(maxUnit, u);
        }
        assertThat(layout.units()).isEqualTo(maxUnit + 1);
        long align = layout.localAlignment();
        if (align > 0) {
          // Units never cross a multiple of the alignment.
          for (long e = 0; e + 1 < n; e++) {
            if ((e + 1) % align != 0) {
              continue;
            }
            assertThat(layout.unitOf(e + 1)).isNotEqualTo(layout.unitOf(e));
          }
        }
      }
    }
  }

  @Test
  void cursorWalksTheSameRunsFromEveryStart() {
    long[][] shapes = {{5, 7}, {3, 4, 5}, {2, 3, 3, 3}, {13}, {4, 10}, {3, 256}};
    for (long[] shape : shapes) {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      java.util.List<Granularity> gs = new java.util.ArrayList<>(java.util.List.of(Granularity.TENSOR,
          Granularity.group(1), Granularity.group(2), Granularity.group(3), Granularity.group(128)));
      for (int k = 0; k < shape.length; k++) {
        gs.add(Granularity.channel(k));
      }
      for (Granularity g : gs) {
        UnitLayout layout = UnitLayout.of(shape, g);
        for (long start = 0; start < n; start++) {
          UnitLayout.Cursor c = layout.cursor(start);
          long e = start;
          while (e < n) {
            assertThat(c.unit()).as("%s %s from %d at %d", java.util.Arrays.toString(shape), g, start, e)
                .isEqualTo(layout.unitOf(e));
            assertThat(c.end()).isEqualTo(layout.runEnd(e));
            e = c.end();
            c.next();
          }
        }
        assertThat(layout.runLength()).isEqualTo(layout.runEnd(0));
      }
    }
  }
}
