package io.q16.format;

import io.q16.tensor.DType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded synthetic models of any size, streamed to disk in constant memory: for trials at scale,
 * benchmarks and the tests that prove a model larger than memory converts. Weights are
 * approximately normal (sum of four uniforms) with std 0.02 and rare 10x outliers, like trained
 * transformer weights; every tensor has a distinct seed, so output depends only on the arguments.
 */
public final class SyntheticModel {
  private SyntheticModel() {}

  /**
   * Writes {@code totalBytes} (rounded down to whole rows) of F32 tensors of about
   * {@code tensorBytes} each, shaped [rows, 1024], named {@code layers.N.weight}.
   */
  public static void write(OutputStream out, long totalBytes, long tensorBytes, long seed) throws IOException {
    final int cols = 1024;
    long rowBytes = 4L * cols;
    long rowsPerTensor = Math.max(1, tensorBytes / rowBytes);
    long rowsTotal = Math.max(1, totalBytes / rowBytes);
    List<SafetensorsWriter.Entry> entries = new ArrayList<>();
    int index = 0;
    for (long done = 0; done < rowsTotal; done += rowsPerTensor, index++) {
      long rows = Math.min(rowsPerTensor, rowsTotal - done);
      long tensorSeed = seed * 1_000_003L + index;
      entries.add(new SafetensorsWriter.Entry(
          String.format("layers.%d.weight", index), DType.F32, new long[] {rows, cols},
          o -> gaussian(o, rows * cols, tensorSeed)));
    }
    BufferedOutputStream buffered = new BufferedOutputStream(out, 1 << 20);
    SafetensorsWriter.write(buffered, entries, Map.of("generator", "q16 generate", "seed", Long.toString(seed)));
    buffered.flush();
  }

  private static void gaussian(OutputStream out, long n, long seed) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    for (long i = 0; i < n; i++) {
      // Irwin-Hall(4): mean 2, variance 1/3; centred and scaled to std 0.02.
      double u = r.nextDouble() + r.nextDouble() + r.nextDouble() + r.nextDouble() - 2.0;
      float v = (float) (u * 0.034641016);
      if ((i & 0xFFFF) == 0x7777) {
        v *= 10; // a rare outlier sets max|x| well above the bulk
      }
      buf.putFloat(v);
      if (!buf.hasRemaining()) {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      }
    }
    out.write(buf.array(), 0, buf.position());
  }
}
