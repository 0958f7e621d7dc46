package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.testing.Models;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One task fails mid-job (a fault injected into the quantize pass of one chunk, as a corrupt chunk
 * would): the job fails in one line naming the file and tensor, writes no manifest, and the
 * previous output stays byte-identical until a complete replacement exists.
 */
class InjectedFailureTest extends SparkTestBase {
  @TempDir Path tmp;

  @Test
  void aFailingTaskFailsTheJobAndLeavesThePreviousOutput() throws IOException {
    List<Models.T> tensors = List.of(Models.f32("a", Models.weights(1, 50_000, 0.1), 50_000),
        Models.f32("b", Models.weights(2, 50_000, 0.1), 50_000), Models.f32("c", Models.weights(3, 50_000, 0.1), 50_000));
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    Path out = tmp.resolve("out");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", out.toString(), "--chunk-mb", "0.05")).isZero();
    byte[] manifest = Files.readAllBytes(out.resolve("manifest.json"));
    List<Path> before = listing(out);

    System.setProperty("q16.test.failTensor", "b");
    System.setProperty("q16.test.failChunk", "2");
    CliTestAccess.Run r;
    try {
      r = CliTestAccess.run("quantize", model.toString(), "--out", out.toString(), "--chunk-mb", "0.05",
          "--scheme", "asymmetric");
    } finally {
      System.clearProperty("q16.test.failTensor");
      System.clearProperty("q16.test.failChunk");
    }
    assertThat(r.code()).isEqualTo(3);
    String error = r.err().lines().filter(l -> l.startsWith("q16: error:")).findFirst().orElse(r.err());
    assertThat(error).contains("m.safetensors").contains("'b'").contains("injected failure at chunk 2");
    assertThat(Files.readAllBytes(out.resolve("manifest.json"))).isEqualTo(manifest);
    assertThat(listing(out)).isEqualTo(before);
    try (Stream<Path> s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString())).doesNotContain(".out").allMatch(n -> !n.contains("q16-"));
    }
    // Without the fault the same command replaces the output.
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", out.toString(), "--chunk-mb", "0.05",
        "--scheme", "asymmetric")).isZero();
    assertThat(Files.readAllBytes(out.resolve("manifest.json"))).isNotEqualTo(manifest);
  }

  private static List<Path> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(dir::relativize).sorted().toList();
    }
  }
}
