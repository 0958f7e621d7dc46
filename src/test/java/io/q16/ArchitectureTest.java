package io.q16;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Dependencies point one way: only io.q16.spark (and the CLI that starts it) may import Spark; the
 * kernel bench uses the JDK and the kernels only; report pages are built from plain data.
 */
class ArchitectureTest {
  @ParameterizedTest(name = "{0} imports no {1}")
  @CsvSource({
    "tensor, org.apache.spark", "format, org.apache.spark", "quant, org.apache.spark", "calib, org.apache.spark",
    "fs, org.apache.spark", "tensor, org.apache.hadoop", "quant, org.apache.hadoop", "calib, org.apache.hadoop",
    "tensor, io.q16.spark", "format, io.q16.spark", "quant, io.q16.spark", "calib, io.q16.spark",
    "tensor, io.q16.cli", "format, io.q16.cli", "quant, io.q16.cli", "calib, io.q16.cli", "spark, io.q16.cli",
    "bench, org.apache", "bench, io.q16.spark", "bench, io.q16.cli", "bench, io.q16.format", "bench, io.q16.fs",
    "report, org.apache.spark", "report, org.apache.hadoop", "report, io.q16.spark", "report, io.q16.cli",
    // ONNX graph rewriting and ONNX Runtime sessions: plain Java that executors call; only io.q16.onnx runs models.
    "onnx, org.apache.spark", "onnx, io.q16.spark", "onnx, io.q16.cli", "tensor, ai.onnxruntime",
    "format, ai.onnxruntime", "quant, ai.onnxruntime", "calib, ai.onnxruntime", "export, ai.onnxruntime",
    "export, org.apache.spark", "export, io.q16.spark"
  })
  void layersImportOnlyDownward(String pkg, String forbidden) throws IOException {
    Path dir = Path.of("src/main/java/io/q16", pkg);
    assertThat(dir).isDirectory();
    List<Path> offenders;
    try (Stream<Path> files = Files.walk(dir)) {
      offenders = files.filter(p -> p.toString().endsWith(".java")).filter(p -> {
        try {
          return Files.readAllLines(p).stream().anyMatch(l -> l.startsWith("import " + forbidden + ".")
              || l.startsWith("import static " + forbidden + "."));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).toList();
    }
    assertThat(offenders).isEmpty();
  }
}
