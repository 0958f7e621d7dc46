package io.q16.quant;

/**
 * Which quantizer ("unit") each element of a tensor belongs to under a {@link Granularity}, in
 * row-major element order. Units are visited as runs of consecutive elements sharing one unit,
 * so kernels stay plain loops over slices.
 *
 * <ul>
 *   <li>tensor: one unit, one run;
 *   <li>channel along axis k: unit = (i / inner) % dim[k] with inner = prod(shape[k+1..]), runs
 *       of {@code inner} elements;
 *   <li>group of G along the last axis L: unit = row · ceil(L / G) + col / G with row = i / L and
 *       col = i % L; runs end at each group boundary and at each row's end (a row whose length is
 *       not a multiple of G ends with a shorter group).
 * </ul>
 */
public final class UnitLayout {
  private final Granularity granularity;
  private final long elements;
  private final long units;
  private final long inner; // channel: run length; group: row length L
  private final long dim; // channel: dim[k]; group: groups per row

  private UnitLayout(Granularity g, long elements, long units, long inner, long dim) {
    this.granularity = g;
    this.elements = elements;
    this.units = units;
    this.inner = inner;
    this.dim = dim;
  }

  /** The layout of a tensor of {@code shape} (rank 0 is one element). */
  public static UnitLayout of(long[] shape, Granularity g) {
    long elements = 1;
    for (long d : shape) {
      elements *= d;
    }
    switch (g.kind()) {
      case TENSOR -> {
        return new UnitLayout(g, elements, 1, Math.max(1, elements), 1);
      }
      case CHANNEL -> {
        if (g.axis() >= Math.max(1, shape.length)) {
          throw new IllegalArgumentException(
              "channel axis " + g.axis() + " does not exist in a tensor of rank " + shape.length);
        }
        long dim = shape.length == 0 ? 1 : shape[g.axis()];
        long inner = 1;
        for (int i = g.axis() + 1; i < shape.length; i++) {
          inner *= shape[i];
        }
        return new UnitLayout(g, elements, dim, Math.max(1, inner), Math.max(1, dim));
      }
      case GROUP -> {
        long last = shape.length == 0 ? 1 : shape[shape.length - 1];
        long perRow = last == 0 ? 0 : (last + g.groupSize() - 1) / g.groupSize();
        long rows = last == 0 ? 0 : elements / last;
        return new UnitLayout(g, elements, rows * perRow, Math.max(1, last), Math.max(1, perRow));
      }
      default -> throw new AssertionError(g);
    }
  }

  /** Number of quantizers. */
  public long units() {
    return units;
  }

  /** The length of a full run: tensor size, channel stride, or group size (capped by the row). */
  public long runLength() {
    return switch (granularity.kind()) {
      case TENSOR -> elements;
      case CHANNEL -> inner;
      case GROUP -> Math.min(granularity.groupSize(), inner);
    };
  }

  /** The unit of element {@code e}. */
  public long unitOf(long e) {
    return switch (granularity.kind()) {
      case TENSOR -> 0;
      case CHANNEL -> (e / inner) % dim;
      case GROUP -> (e / inner) * dim + (e % inner) / granularity.groupSize();
    };
  }

  /** One past the last element of the run that contains element {@code e}. */
  public long runEnd(long e) {
    return switch (granularity.kind()) {
      case TENSOR -> elements;
      case CHANNEL -> (e / inner + 1) * inner;
      case GROUP -> {
        long rowStart = e - e % inner;
        long groupEnd = rowStart + ((e % inner) / granularity.groupSize() + 1) * granularity.groupSize();
        yield Math.min(groupEnd, rowStart + inner);
      }
    };
  }

  /**
   * The runs from element {@code e} on, in order: the same units and run ends as {@link #unitOf}
   * and {@link #runEnd}, without a division per run (groups of 128 make runs short enough for
   * those divisions to cost as much as quantizing the run).
   */
  public Cursor cursor(long e) {
    return new Cursor(e);
  }

  /** A position at the start of a run; {@link #next} moves to the start of the following run. */
  public final class Cursor {
    private long unit;
    private long end;
    private long rowEnd; // group: end of the current row

    private Cursor(long e) {
      unit = unitOf(e);
      end = runEnd(e);
      rowEnd = granularity.kind() == Granularity.Kind.GROUP ? e - e % inner + inner : 0;
    }

    /** The unit of the current run. */
    public long unit() {
      return unit;
    }

    /** One past the last element of the current run. */
    public long end() {
      return end;
    }

    /** Moves to the run that starts at {@link #end()}. */
    public void next() {
      long start = end;
      switch (granularity.kind()) {
        case TENSOR -> end = elements;
        case CHANNEL -> {
          end = start + inner;
          unit = unit + 1 == dim ? 0 : unit + 1;
        }
        case GROUP -> {
          if (start == rowEnd) {
            rowEnd += inner;
          }
          end = Math.min(start + granularity.groupSize(), rowEnd);
          unit++;
        }
        default -> throw new AssertionError(granularity);
      }
    }
  }

  /**
   * Chunk alignment in elements that keeps every unit inside one chunk, or 0 when units span the
   * whole tensor (tensor granularity, channels along an inner axis): then their statistics must
   * be merged across chunks on the driver.
   */
  public long localAlignment() {
    return switch (granularity.kind()) {
      case TENSOR -> 0;
      case CHANNEL -> granularity.axis() == 0 ? inner : 0;
      case GROUP -> inner % granularity.groupSize() == 0 ? granularity.groupSize() : inner;
    };
  }
}
