package io.q16.calib;

/**
 * Pass 2's statistic of one tensor: the |x| histogram over [0, max|x|] that every search uses, and
 * for the asymmetric scheme the histogram of x itself over [min, max], whose two tails the
 * percentile method cuts separately.
 */
public final class TensorHistograms implements Fold<TensorHistograms> {
  private static final long serialVersionUID = 1L;

  private final Histogram magnitudes;
  private final Histogram values;

  /** @param values the signed histogram, or null when the scheme is symmetric */
  public TensorHistograms(Histogram magnitudes, Histogram values) {
    this.magnitudes = magnitudes;
    this.values = values;
  }

  @Override
  public void accept(float[] x, int off, int n) {
    magnitudes.addAbs(x, off, n);
    if (values != null) {
      values.add(x, off, n);
    }
  }

  @Override
  public TensorHistograms merge(TensorHistograms o) {
    magnitudes.merge(o.magnitudes);
    if (values != null) {
      values.merge(o.values);
    }
    return this;
  }

  public Histogram magnitudes() {
    return magnitudes;
  }

  /** The signed histogram, or null. */
  public Histogram values() {
    return values;
  }
}
