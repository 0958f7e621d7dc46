package io.q16.onnx;

import io.q16.Errors;
import java.io.Serializable;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Seeded model inputs from the model's declared inputs, for verifying without a dataset: sample
 * i depends only on the seed and i (not on which task makes it). float32 inputs are standard
 * normal; integer inputs uniform in their --input-range [lo, hi] (default [0, 1]); bool inputs
 * fair coins. Symbolic dimensions take their --dim value (default 1).
 */
public final class InputGenerator implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long seed;
  private final HashMap<String, Long> dims;
  private final HashMap<String, long[]> ranges;

  public InputGenerator(long seed, Map<String, Long> dims, Map<String, long[]> ranges) {
    this.seed = seed;
    this.dims = new HashMap<>(dims);
    this.ranges = new HashMap<>(ranges);
  }

  /** The concrete shape of {@code in}: symbolic dimensions resolved by name, else 1. */
  public long[] shape(OrtModel.InputInfo in) {
    long[] s = in.shape().clone();
    for (int i = 0; i < s.length; i++) {
      if (s[i] < 0) {
        String name = in.dimNames() != null && i < in.dimNames().length ? in.dimNames()[i] : "";
        s[i] = dims.getOrDefault(name, 1L);
      }
    }
    return s;
  }

  /** Sample {@code index} for a model with {@code inputs}. */
  public Map<String, OrtModel.Tensor> sample(List<OrtModel.InputInfo> inputs, long index) {
    Random r = new Random(seed * 0x9E3779B97F4A7C15L + index);
    Map<String, OrtModel.Tensor> out = new LinkedHashMap<>();
    for (OrtModel.InputInfo in : inputs) {
      long[] shape = shape(in);
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      if (n > 1 << 28) {
        throw Errors.usage("input '" + in.name() + "' of shape " + java.util.Arrays.toString(shape) + " is too large to"
            + " generate: set its symbolic dimensions with --dim NAME=N");
      }
      long[] range = ranges.getOrDefault(in.name(), new long[] {0, 1});
      Object values = switch (in.type()) {
        case "float32" -> {
          float[] f = new float[(int) n];
          for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
          }
          yield f;
        }
        case "int64" -> {
          long[] l = new long[(int) n];
          for (int i = 0; i < l.length; i++) {
            l[i] = range[0] + (long) Math.floor(r.nextDouble() * (range[1] - range[0] + 1));
          }
          yield l;
        }
        case "int32" -> {
          int[] v = new int[(int) n];
          for (int i = 0; i < v.length; i++) {
            v[i] = (int) (range[0] + (long) Math.floor(r.nextDouble() * (range[1] - range[0] + 1)));
          }
          yield v;
        }
        default -> {
          boolean[] b = new boolean[(int) n];
          for (int i = 0; i < b.length; i++) {
            b[i] = r.nextBoolean();
          }
          yield b;
        }
      };
      out.put(in.name(), new OrtModel.Tensor(shape, values));
    }
    return out;
  }
}
