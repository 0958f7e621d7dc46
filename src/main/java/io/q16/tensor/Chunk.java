package io.q16.tensor;

import java.io.Serializable;

/**
 * A bounded slice of one tensor: the unit an executor reads, checksums and quantizes.
 *
 * @param tensor index of the tensor in {@link Plan#tensors()}
 * @param index position of this chunk within its tensor (0, 1, ...)
 * @param elemOffset first element of the slice within the tensor (row-major order)
 * @param elemCount number of elements
 * @param shard output shard this chunk is written to
 */
public record Chunk(int tensor, int index, long elemOffset, int elemCount, int shard)
    implements Serializable {}
