package io.q16.quant;

import java.io.Serializable;
import java.util.Locale;

/**
 * How many quantizers a tensor gets: one per tensor, one per channel along an axis, or one per
 * group of {@code groupSize} consecutive elements along the last axis (block quantization).
 */
public final class Granularity implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The three granularities of DESIGN.md §3. */
  public enum Kind { TENSOR, CHANNEL, GROUP }

  public static final Granularity TENSOR = new Granularity(Kind.TENSOR, 0, 0);

  private final Kind kind;
  private final int axis;
  private final int groupSize;

  private Granularity(Kind kind, int axis, int groupSize) {
    this.kind = kind;
    this.axis = axis;
    this.groupSize = groupSize;
  }

  /** One quantizer per index of {@code axis} (0 is the output channel of a linear weight). */
  public static Granularity channel(int axis) {
    if (axis < 0) {
      throw new IllegalArgumentException("channel axis " + axis + " must be >= 0");
    }
    return new Granularity(Kind.CHANNEL, axis, 0);
  }

  /** One quantizer per run of {@code size} consecutive elements along the last axis. */
  public static Granularity group(int size) {
    if (size <= 0) {
      throw new IllegalArgumentException("group size " + size + " must be positive");
    }
    return new Granularity(Kind.GROUP, 0, size);
  }

  public Kind kind() {
    return kind;
  }

  public int axis() {
    return axis;
  }

  public int groupSize() {
    return groupSize;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Granularity g && kind == g.kind && axis == g.axis && groupSize == g.groupSize;
  }

  @Override
  public int hashCode() {
    return (kind.hashCode() * 31 + axis) * 31 + groupSize;
  }

  @Override
  public String toString() {
    return switch (kind) {
      case TENSOR -> "tensor";
      case CHANNEL -> "channel(axis=" + axis + ")";
      case GROUP -> "group(size=" + groupSize + ")";
    };
  }

  public String cliName() {
    return kind.name().toLowerCase(Locale.ROOT);
  }
}
