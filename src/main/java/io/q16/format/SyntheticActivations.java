package io.q16.format;

import java.util.SplittableRandom;

/**
 * Seeded synthetic activations, one flattened array per (tensor, sample), each computed from the
 * seed and its own coordinates alone: any partitioning of the rows gives the same values, and a test
 * recomputes any row independently of how a job produced it.
 *
 * <p>Tensors alternate between two kinds, with the tails that make activation calibration hard:
 * {@code layers.L.attn.out}, Gaussian with two "massive activation" channels (LLM outlier features,
 * about 10x the bulk in every sample) and rare per-value spikes of 25x, growing with depth like a
 * residual stream; {@code layers.L.mlp.act}, GELU of a Gaussian whose tail is stretched 6x for 0.2%
 * of the inputs: a floor at -0.17, a long positive tail.
 */
public final class SyntheticActivations {
  private SyntheticActivations() {}

  /** Positions j with {@code j % CHANNELS} in the outlier set behave as the same channel in every sample. */
  private static final int CHANNELS = 64;

  /** The name of tensor {@code t}: layers.0.attn.out, layers.0.mlp.act, layers.1.attn.out, ... */
  public static String name(int t) {
    return "layers." + (t / 2) + (t % 2 == 0 ? ".attn.out" : ".mlp.act");
  }

  /**
   * Fills {@code out[0..n)} with sample {@code sample} of tensor {@code t}. Deterministic for the
   * arguments (Java 17's SplittableRandom and Gaussian); all values are finite.
   */
  public static void fill(float[] out, int n, long seed, int t, long sample) {
    SplittableRandom r = new SplittableRandom(mix(mix(seed, t), sample));
    int layer = t / 2;
    if (t % 2 == 0) {
      double sigma = 0.5 * (1 + 0.25 * layer);
      for (int j = 0; j < n; j++) {
        double g = r.nextGaussian() * sigma;
        int c = j % CHANNELS;
        if (c == 7 || c == 41) {
          g = g * 4 + (c == 7 ? 9 : -7) * sigma; // a channel offset far outside the bulk, every sample
        }
        if (r.nextInt(10_000) == 0) {
          g *= 25;
        }
        out[j] = (float) g;
      }
    } else {
      for (int j = 0; j < n; j++) {
        double x = r.nextGaussian();
        if (r.nextInt(500) == 0) {
          x *= 6;
        }
        out[j] = (float) gelu(x);
      }
    }
  }

  /** GELU, tanh form (as in GPT-2 and BERT). */
  static double gelu(double x) {
    return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  }

  /** SplitMix64's finalizer over a combination: distinct inputs give unrelated streams. */
  private static long mix(long a, long b) {
    long z = a * 0x9E3779B97F4A7C15L + b + 0x632BE59BD9B4E019L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
