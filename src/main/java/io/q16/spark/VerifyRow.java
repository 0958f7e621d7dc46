package io.q16.spark;

import io.q16.quant.ErrorStats;
import java.io.Serializable;

/** A result row of the verify pass: one shard row's error statistics and codes checksum. */
public class VerifyRow implements Serializable {
  private static final long serialVersionUID = 1L;

  private String tensor;
  private int chunk;
  private long offset;
  private int count;
  private int codesCrc32c;
  private long[] counts;
  private double[] sums;

  public VerifyRow() {}

  VerifyRow(String tensor, int chunk, long offset, int count, int codesCrc32c, ErrorStats stats) {
    this.tensor = tensor;
    this.chunk = chunk;
    this.offset = offset;
    this.count = count;
    this.codesCrc32c = codesCrc32c;
    this.counts = stats.counts();
    this.sums = stats.sums();
  }

  ErrorStats stats() {
    return ErrorStats.of(counts, sums);
  }

  public String getTensor() {
    return tensor;
  }

  public void setTensor(String tensor) {
    this.tensor = tensor;
  }

  public int getChunk() {
    return chunk;
  }

  public void setChunk(int chunk) {
    this.chunk = chunk;
  }

  public long getOffset() {
    return offset;
  }

  public void setOffset(long offset) {
    this.offset = offset;
  }

  public int getCount() {
    return count;
  }

  public void setCount(int count) {
    this.count = count;
  }

  public int getCodesCrc32c() {
    return codesCrc32c;
  }

  public void setCodesCrc32c(int codesCrc32c) {
    this.codesCrc32c = codesCrc32c;
  }

  public long[] getCounts() {
    return counts;
  }

  public void setCounts(long[] counts) {
    this.counts = counts;
  }

  public double[] getSums() {
    return sums;
  }

  public void setSums(double[] sums) {
    this.sums = sums;
  }
}
