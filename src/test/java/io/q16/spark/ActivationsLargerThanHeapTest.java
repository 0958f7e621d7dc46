package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.Calibration;
import io.q16.testing.Forks;
import io.q16.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 768 MiB activation dataset calibrates in a JVM whose whole heap (driver and executors) is
 * 512 MiB. Its rows are 1 MiB and its row groups Spark's default 128 MiB: with the reader's default
 * batch of 4096 rows each task would decode a whole row group at once, and this run dies of
 * OutOfMemoryError (measured); the batch sized from the row size keeps a task to a few MiB beyond
 * the row group Parquet itself reads.
 */
class ActivationsLargerThanHeapTest extends SparkTestBase {
  @TempDir Path tmp;

  @Test
  void aDatasetLargerThanTheHeapCalibrates() throws Exception {
    Path acts = tmp.resolve("acts");
    // Generated in this JVM (4 GiB): Parquet's writer buffers a row group per task.
    assertThat(CliTestAccess.q16("generate", "activations", "--out", acts.toString(), "--tensors", "4",
        "--samples", "192", "--values-per-sample", "262144", "--row-group-mb", "128", "--partitions", "3")).isZero();
    long bytes;
    try (Stream<Path> files = Files.list(acts)) {
      bytes = files.mapToLong(p -> p.toFile().length()).sum();
    }
    assertThat(bytes).isGreaterThan(768L << 20);

    Path out = tmp.resolve("cal");
    Forks.Fork c = Forks.q16(tmp, "512m", "calibrate", "--activations", acts.toString(), "--out", out.toString(),
        "--method", "kl");
    assertThat(c.code()).as(c.output()).isZero();
    assertThat(c.output()).contains("reader batches of 3 rows").contains("q16 calibrate: activations " + acts);
    Calibration cal = Calibration.fromJson(Files.readAllBytes(out.resolve(Calibration.FILE_NAME)));
    assertThat(cal.tensors()).hasSize(4);
    for (Calibration.Entry e : cal.tensors()) {
      assertThat(e.absmax()).isPositive();
      assertThat(e.threshold()).isPositive().isLessThanOrEqualTo(e.absmax());
    }
  }
}
