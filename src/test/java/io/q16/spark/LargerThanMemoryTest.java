package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.format.Manifest;
import io.q16.format.SyntheticModel;
import io.q16.testing.Forks;
import io.q16.testing.Forks.Fork;
import io.q16.testing.Outputs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 1 GiB model, with one 768 MiB tensor, converts and verifies in a JVM whose whole heap (driver
 * and executors: local mode) is 512 MiB: executor memory is O(chunk), not O(tensor) or O(model).
 * Runs the real command line in a forked JVM so the heap limit is the production one.
 */
class LargerThanMemoryTest {
  @TempDir Path tmp;

  @Test
  void aModelTwiceTheHeapConvertsAndVerifies() throws Exception {
    Path model = tmp.resolve("big.safetensors");
    try (OutputStream out = Files.newOutputStream(model)) {
      SyntheticModel.write(out, 1L << 30, 768L << 20, 42);
    }
    assertThat(Files.size(model)).isGreaterThan(1L << 30);
    Path out = tmp.resolve("out");

    Fork q = fork("quantize", model.toString(), "--out", out.toString());
    assertThat(q.code()).as(q.output()).isZero();
    assertThat(q.output()).contains("q16 quantize: done").contains("2 quantized");
    Manifest m = Outputs.manifest(out);
    assertThat(m.tensor("layers.0.weight").shape()).containsExactly(196608L, 1024L);
    assertThat(m.totals().elements()).isEqualTo((1L << 30) / 4);

    Fork v = fork("verify", out.toString());
    assertThat(v.code()).as(v.output()).isZero();
    assertThat(v.output()).contains("PASSED");
  }

  private Fork fork(String... args) throws IOException, InterruptedException {
    return Forks.q16(tmp, "512m", args);
  }
}
