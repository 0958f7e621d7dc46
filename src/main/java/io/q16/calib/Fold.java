package io.q16.calib;

import java.io.Serializable;

/**
 * A statistic of one tensor's values that executors fold over float arrays and the driver merges.
 * Every implementation merges exactly (integer counts, min/max, fixed-point sums), so a result does
 * not depend on how the values were split into chunks, partitions or executors, nor on the order
 * partial results arrive in.
 *
 * @param <F> the implementing type
 */
public interface Fold<F extends Fold<F>> extends Serializable {
  /** Adds {@code x[off..off+n)}. */
  void accept(float[] x, int off, int n);

  /** Adds everything {@code other} holds into this one and returns this. */
  F merge(F other);
}
