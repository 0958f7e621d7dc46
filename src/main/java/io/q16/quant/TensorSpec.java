package io.q16.quant;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Everything an executor needs to quantize any chunk of one tensor: its shape, granularity, scheme
 * and storage, and its parameters when they are global (one per tensor, or one per channel along
 * an inner axis, merged on the driver). When units are local to chunks (channels along axis 0,
 * groups), each chunk computes its own units' parameters from its own data, so nothing
 * proportional to the parameter count ever reaches the driver.
 *
 * <p>A class of plain fields: it is broadcast, and must survive Kryo as well as Java serialization.
 */
public final class TensorSpec implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long[] shape;
  private final Granularity granularity;
  private final Scheme scheme;
  private final boolean unsigned;
  private final Overflow overflow;
  private float[] scales;
  private int[] zeroPoints;
  private NonlinearParams nonlinear;
  private float clip = Float.POSITIVE_INFINITY;
  private boolean unitRanges;
  private transient UnitLayout layout;

  public TensorSpec(long[] shape, Granularity granularity, Scheme scheme, boolean unsigned) {
    this(shape, granularity, scheme, unsigned, Overflow.SATURATE);
  }

  /** @param overflow how chunks choose their own units' parameters (for local units) */
  public TensorSpec(long[] shape, Granularity granularity, Scheme scheme, boolean unsigned, Overflow overflow) {
    this.shape = shape.clone();
    this.granularity = granularity;
    this.scheme = scheme;
    this.unsigned = unsigned;
    this.overflow = overflow;
  }

  public Overflow overflow() {
    return overflow;
  }

  public UnitLayout layout() {
    if (layout == null) {
      layout = UnitLayout.of(shape, granularity);
    }
    return layout;
  }

  /** True when each unit lies inside one chunk and chunks compute their own parameters. */
  public boolean localUnits() {
    return layout().localAlignment() > 0;
  }

  /** Sets the global parameters (ignored for local units). */
  public TensorSpec withParams(float[] scales, int[] zeroPoints) {
    this.scales = scales;
    this.zeroPoints = zeroPoints;
    return this;
  }

  /**
   * Sets a calibrated clipping threshold T for every unit: each unit's range is clipped to
   * [-T, T] before its parameters are chosen (QuantParams.calibrated), and values beyond clip.
   */
  public TensorSpec withClip(float threshold) {
    this.clip = threshold;
    return this;
  }

  /**
   * Asks the stats pass for every unit's range even when units are local to chunks (calibrate
   * records per-channel ranges; quantize does not need them on the driver).
   */
  public TensorSpec withUnitRanges() {
    this.unitRanges = true;
    return this;
  }

  /** True when the stats pass must return per-unit ranges for this tensor. */
  public boolean unitRangesWanted() {
    return granularity.kind() != Granularity.Kind.TENSOR && (unitRanges || !localUnits());
  }

  /** The calibrated threshold, or +Inf for min/max calibration. */
  public float clip() {
    return clip;
  }

  /** A unit's parameters from its finite range: min/max under the overflow policy, or clipped at {@link #clip}. */
  public QuantParams unitParams(float min, float max) {
    return clip == Float.POSITIVE_INFINITY
        ? QuantParams.minMax(scheme, min, max, overflow)
        : QuantParams.calibrated(scheme, min, max, clip);
  }

  /** Sets the codec parameters of a non-linear scheme. */
  public TensorSpec withNonlinear(NonlinearParams p) {
    this.nonlinear = p;
    return this;
  }

  /** The codec parameters of a non-linear scheme, else null. */
  public NonlinearParams nonlinear() {
    return nonlinear;
  }

  public float[] scales() {
    return scales;
  }

  public int[] zeroPoints() {
    return zeroPoints;
  }

  public Granularity granularity() {
    return granularity;
  }

  public Scheme scheme() {
    return scheme;
  }

  public boolean unsigned() {
    return unsigned;
  }

  public long[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorSpec t && Arrays.equals(shape, t.shape) && granularity.equals(t.granularity)
        && scheme == t.scheme && unsigned == t.unsigned && overflow == t.overflow && Arrays.equals(scales, t.scales)
        && Arrays.equals(zeroPoints, t.zeroPoints) && java.util.Objects.equals(nonlinear, t.nonlinear)
        && Float.compare(clip, t.clip) == 0;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(shape) * 31 + granularity.hashCode();
  }
}
