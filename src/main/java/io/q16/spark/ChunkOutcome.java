package io.q16.spark;

import java.io.Serializable;

/**
 * What the quantize pass learned about one chunk: its clipped count and the CRC-32C of its codes.
 * Reported through an accumulator, since Spark's writer consumes the rows themselves.
 */
record ChunkOutcome(int id, long clipped, int codesCrc32c) implements Serializable {}
