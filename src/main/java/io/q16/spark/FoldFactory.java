package io.q16.spark;

import io.q16.calib.Fold;
import java.io.Serializable;

/**
 * Makes the empty statistic of one tensor on an executor. Whatever the statistic needs from the
 * driver (bin edges, candidate thresholds) travels inside the factory, which is broadcast once.
 */
@FunctionalInterface
interface FoldFactory<F extends Fold<F>> extends Serializable {
  F create(int tensor);
}
