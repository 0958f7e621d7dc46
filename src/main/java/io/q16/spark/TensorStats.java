package io.q16.spark;

import io.q16.calib.RangeStats;

/** Merged statistics of one tensor: exact range, source CRC, per-unit ranges, smallest non-zero |x|. */
final class TensorStats {
  final RangeStats range = new RangeStats();
  int crc;
  long crcBytes;
  float[] unitMin;
  float[] unitMax;
  float minNonZero = Float.POSITIVE_INFINITY;

  void mergeUnits(float[] min, float[] max) {
    if (min == null) {
      return;
    }
    if (unitMin == null) {
      unitMin = min.clone();
      unitMax = max.clone();
      return;
    }
    for (int u = 0; u < min.length; u++) {
      unitMin[u] = Math.min(unitMin[u], min[u]);
      unitMax[u] = Math.max(unitMax[u], max[u]);
    }
  }
}
