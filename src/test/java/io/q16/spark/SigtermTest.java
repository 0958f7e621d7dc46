package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.SyntheticModel;
import io.q16.testing.Forks;
import io.q16.testing.Models;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to the driver in the middle of quantize (a real JVM of its own, as a scheduler would
 * stop it): the previous output stays as it was, no staging directory or manifest of the
 * interrupted run is left, and a re-run succeeds.
 */
class SigtermTest {
  @TempDir Path tmp;

  @Test
  void aTerminatedRunLeavesThePreviousOutputAndNothingElse() throws Exception {
    // The previous output: a small model, quantized in this JVM.
    Path small = Models.write(tmp.resolve("small.safetensors"), List.of(Models.f32("w", Models.weights(1, 4096, 0.1), 4096)));
    Path out = tmp.resolve("out");
    assertThat(CliTestAccess.q16("quantize", small.toString(), "--out", out.toString())).isZero();
    byte[] manifest = Files.readAllBytes(out.resolve("manifest.json"));

    // A model big enough that the run is still going when the signal comes.
    Path big = tmp.resolve("big.safetensors");
    try (OutputStream o = Files.newOutputStream(big)) {
      SyntheticModel.write(o, 384L << 20, 32L << 20, 7);
    }
    Path log = tmp.resolve("interrupted.log");
    Process p = Forks.start(tmp, "1g", log, "quantize", big.toString(), "--out", out.toString(), "--chunk-mb", "4");
    // Wait until it is writing shards into its staging directory, then stop it as schedulers do.
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (!Files.readString(log).contains("[quantize]") && p.isAlive()) {
      assertThat(System.nanoTime()).as("quantize started within 5 minutes").isLessThan(deadline);
      Thread.sleep(100);
    }
    assertThat(p.isAlive()).as("still running when signalled: %s", Files.readString(log)).isTrue();
    assertThat(staging()).as("its staging directory exists").isNotEmpty();
    p.destroy(); // SIGTERM
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).isNotZero();

    assertThat(Files.readAllBytes(out.resolve("manifest.json"))).isEqualTo(manifest);
    assertThat(staging()).as("no staging or previous-output directory is left").isEmpty();

    // A re-run succeeds and replaces the output.
    assertThat(CliTestAccess.q16("quantize", big.toString(), "--out", out.toString(), "--chunk-mb", "4")).isZero();
    assertThat(Files.readAllBytes(out.resolve("manifest.json"))).isNotEqualTo(manifest);
    assertThat(staging()).isEmpty();
  }

  /** Hidden directories Q16 keeps beside the output while it works. */
  private List<Path> staging() throws IOException {
    try (Stream<Path> s = Files.list(tmp)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".out.q16-")).toList();
    }
  }
}
