package io.q16.tensor;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Where one tensor lives: its name, dtype and shape, and its byte range in a source file.
 *
 * @param file source file URI (a Hadoop path string)
 * @param dataStart absolute byte offset of the first element in {@code file}
 * @param byteLength bytes of the tensor, equal to {@code elements * dtype.size()}
 */
public record TensorInfo(
    String name, DType dtype, long[] shape, String file, long dataStart, long byteLength)
    implements Serializable {

  public long elements() {
    return byteLength / dtype.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && file.equals(t.file)
        && dataStart == t.dataStart
        && byteLength == t.byteLength;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Long.hashCode(dataStart);
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape) + " @" + file + ":" + dataStart;
  }
}
