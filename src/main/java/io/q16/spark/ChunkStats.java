package io.q16.spark;

import io.q16.calib.RangeStats;
import java.io.Serializable;

/** A result row of the statistics pass: one chunk's range statistics and source checksum. */
public class ChunkStats implements Serializable {
  private static final long serialVersionUID = 1L;

  private int id;
  private float min;
  private float max;
  private long finite;
  private long nan;
  private long posInf;
  private long negInf;
  private int crc32c;
  private float[] unitMin;
  private float[] unitMax;
  private float minNonZero = Float.POSITIVE_INFINITY;

  public ChunkStats() {}

  ChunkStats(int id, RangeStats s, int crc32c) {
    this.id = id;
    this.min = s.min();
    this.max = s.max();
    this.finite = s.finite();
    this.nan = s.nan();
    this.posInf = s.posInf();
    this.negInf = s.negInf();
    this.crc32c = crc32c;
  }

  /** Per-unit finite min and max over all units (channels along an inner axis), or null. */
  ChunkStats withUnits(float[] min, float[] max) {
    this.unitMin = min;
    this.unitMax = max;
    return this;
  }

  /** Smallest non-zero finite |x| of the chunk (+Inf if none); computed for the log scheme only. */
  public float getMinNonZero() {
    return minNonZero;
  }

  public void setMinNonZero(float minNonZero) {
    this.minNonZero = minNonZero;
  }

  public float[] getUnitMin() {
    return unitMin;
  }

  public void setUnitMin(float[] unitMin) {
    this.unitMin = unitMin;
  }

  public float[] getUnitMax() {
    return unitMax;
  }

  public void setUnitMax(float[] unitMax) {
    this.unitMax = unitMax;
  }

  RangeStats range() {
    return RangeStats.of(min, max, finite, nan, posInf, negInf);
  }

  public int getId() {
    return id;
  }

  public void setId(int id) {
    this.id = id;
  }

  public float getMin() {
    return min;
  }

  public void setMin(float min) {
    this.min = min;
  }

  public float getMax() {
    return max;
  }

  public void setMax(float max) {
    this.max = max;
  }

  public long getFinite() {
    return finite;
  }

  public void setFinite(long finite) {
    this.finite = finite;
  }

  public long getNan() {
    return nan;
  }

  public void setNan(long nan) {
    this.nan = nan;
  }

  public long getPosInf() {
    return posInf;
  }

  public void setPosInf(long posInf) {
    this.posInf = posInf;
  }

  public long getNegInf() {
    return negInf;
  }

  public void setNegInf(long negInf) {
    this.negInf = negInf;
  }

  public int getCrc32c() {
    return crc32c;
  }

  public void setCrc32c(int crc32c) {
    this.crc32c = crc32c;
  }
}
