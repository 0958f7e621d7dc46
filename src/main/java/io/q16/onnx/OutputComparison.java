package io.q16.onnx;

import java.io.Serializable;

/**
 * How one model output of a quantized model compares with the float model's over many samples: a
 * mergeable accumulator (sums in double, merged in a fixed order by the driver so the figures do
 * not depend on which task finished first). Non-finite values in either output are counted and
 * left out of the sums.
 *
 * <p>A class rather than a record: executors return it and Spark's Kryo cannot build records.
 */
public final class OutputComparison implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String name;
  private int partition;
  private long samples;
  private long elements;
  private long nonFinite;
  private double sumAB;
  private double sumAA;
  private double sumBB;
  private double maxAbsDiff;
  private double minSampleCosine = 1;
  private long top1Rows;
  private long top1Agree;

  public OutputComparison(String name, int partition) {
    this.name = name;
    this.partition = partition;
  }

  /**
   * Folds one sample: {@code a} from the float model, {@code b} from the quantized one, both of
   * {@code shape}. An output of shape [rows, classes] (classes > 1) is classifier-shaped: each
   * row's argmax is compared.
   */
  public void update(float[] a, float[] b, long[] shape) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("output '" + name + "': " + a.length + " values against " + b.length);
    }
    double ab = 0;
    double aa = 0;
    double bb = 0;
    for (int i = 0; i < a.length; i++) {
      double x = a[i];
      double y = b[i];
      if (!Double.isFinite(x) || !Double.isFinite(y)) {
        nonFinite++;
        continue;
      }
      ab += x * y;
      aa += x * x;
      bb += y * y;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x - y));
    }
    samples++;
    elements += a.length;
    sumAB += ab;
    sumAA += aa;
    sumBB += bb;
    minSampleCosine = Math.min(minSampleCosine, cosine(ab, aa, bb));
    if (shape.length == 2 && shape[1] > 1) {
      int classes = (int) shape[1];
      for (int r = 0; r < shape[0]; r++) {
        top1Rows++;
        if (argmax(a, r * classes, classes) == argmax(b, r * classes, classes)) {
          top1Agree++;
        }
      }
    }
  }

  private static int argmax(float[] x, int from, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (x[from + i] > x[from + best]) {
        best = i;
      }
    }
    return best;
  }

  private static double cosine(double ab, double aa, double bb) {
    return io.q16.quant.ErrorStats.cosine(ab, aa, bb);
  }

  /** Adds {@code o} (the same output, a later partition) to this one. */
  public OutputComparison merge(OutputComparison o) {
    samples += o.samples;
    elements += o.elements;
    nonFinite += o.nonFinite;
    sumAB += o.sumAB;
    sumAA += o.sumAA;
    sumBB += o.sumBB;
    maxAbsDiff = Math.max(maxAbsDiff, o.maxAbsDiff);
    minSampleCosine = Math.min(minSampleCosine, o.minSampleCosine);
    top1Rows += o.top1Rows;
    top1Agree += o.top1Agree;
    return this;
  }

  public String name() {
    return name;
  }

  public int partition() {
    return partition;
  }

  public long samples() {
    return samples;
  }

  public long elements() {
    return elements;
  }

  public long nonFinite() {
    return nonFinite;
  }

  public double maxAbsDiff() {
    return maxAbsDiff;
  }

  /** Cosine similarity over every sample's values together. */
  public double cosine() {
    return cosine(sumAB, sumAA, sumBB);
  }

  public double minSampleCosine() {
    return samples == 0 ? Double.NaN : minSampleCosine;
  }

  /** Rows compared for top-1 agreement; 0 when the output is not classifier-shaped. */
  public long top1Rows() {
    return top1Rows;
  }

  /** The share of rows whose argmax agrees, or NaN. */
  public double top1Agreement() {
    return top1Rows == 0 ? Double.NaN : (double) top1Agree / top1Rows;
  }
}
