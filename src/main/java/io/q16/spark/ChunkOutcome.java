package io.q16.spark;

import io.q16.quant.RoundTripStats;
import java.io.Serializable;

/**
 * What the quantize pass learned about one chunk: its clipped count, the CRC-32C of its codes, its
 * round-trip error and |x| histogram, and the range of the per-unit scales it used. Reported
 * through an accumulator, since Spark's writer consumes the rows themselves. A class rather than
 * a record so that it survives Kryo as well as Java serialization.
 */
final class ChunkOutcome implements Serializable {
  private static final long serialVersionUID = 2L;

  private final int id;
  private final long clipped;
  private final int codesCrc32c;
  private final RoundTripStats roundTrip;
  private final float scaleMin;
  private final float scaleMax;

  /**
   * @param scaleMin smallest per-unit scale of the chunk's units; NaN for per-tensor parameters
   *     (the driver has them) and non-linear codecs
   */
  ChunkOutcome(int id, long clipped, int codesCrc32c, RoundTripStats roundTrip, float scaleMin, float scaleMax) {
    this.id = id;
    this.clipped = clipped;
    this.codesCrc32c = codesCrc32c;
    this.roundTrip = roundTrip;
    this.scaleMin = scaleMin;
    this.scaleMax = scaleMax;
  }

  int id() {
    return id;
  }

  long clipped() {
    return clipped;
  }

  int codesCrc32c() {
    return codesCrc32c;
  }

  RoundTripStats roundTrip() {
    return roundTrip;
  }

  float scaleMin() {
    return scaleMin;
  }

  float scaleMax() {
    return scaleMax;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChunkOutcome c && id == c.id && clipped == c.clipped && codesCrc32c == c.codesCrc32c
        && java.util.Objects.equals(roundTrip, c.roundTrip) && Float.compare(scaleMin, c.scaleMin) == 0
        && Float.compare(scaleMax, c.scaleMax) == 0;
  }

  @Override
  public int hashCode() {
    return id;
  }
}
