package io.q16.spark;

import java.io.Serializable;

/**
 * What the quantize pass learned about one chunk: its clipped count and the CRC-32C of its codes.
 * Reported through an accumulator, since Spark's writer consumes the rows themselves. A class
 * rather than a record so that it survives Kryo as well as Java serialization.
 */
final class ChunkOutcome implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int id;
  private final long clipped;
  private final int codesCrc32c;

  ChunkOutcome(int id, long clipped, int codesCrc32c) {
    this.id = id;
    this.clipped = clipped;
    this.codesCrc32c = codesCrc32c;
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

  @Override
  public boolean equals(Object o) {
    return o instanceof ChunkOutcome c && id == c.id && clipped == c.clipped && codesCrc32c == c.codesCrc32c;
  }

  @Override
  public int hashCode() {
    return id;
  }
}
