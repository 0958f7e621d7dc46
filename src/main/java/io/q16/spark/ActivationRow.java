package io.q16.spark;

import java.io.Serializable;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;

/**
 * One row of an activation dataset as a Spark bean: a tensor's flattened activation for one sample.
 * Primitive arrays encode without boxing, as ARRAY&lt;FLOAT&gt; and ARRAY&lt;INT&gt; with non-null elements.
 */
public class ActivationRow implements Serializable {
  private static final long serialVersionUID = 1L;
  static final Encoder<ActivationRow> ENCODER = Encoders.bean(ActivationRow.class);

  private String tensor;
  private long sample;
  private float[] values;
  private int[] shape;

  public ActivationRow() {}

  ActivationRow(String tensor, long sample, float[] values, int[] shape) {
    this.tensor = tensor;
    this.sample = sample;
    this.values = values;
    this.shape = shape;
  }

  public String getTensor() {
    return tensor;
  }

  public void setTensor(String tensor) {
    this.tensor = tensor;
  }

  public long getSample() {
    return sample;
  }

  public void setSample(long sample) {
    this.sample = sample;
  }

  public float[] getValues() {
    return values;
  }

  public void setValues(float[] values) {
    this.values = values;
  }

  public int[] getShape() {
    return shape;
  }

  public void setShape(int[] shape) {
    this.shape = shape;
  }
}
