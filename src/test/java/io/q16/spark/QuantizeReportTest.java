package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.q16.cli.CliTestAccess;
import io.q16.export.ModelExport;
import io.q16.format.Manifest;
import io.q16.format.ShardReader;
import io.q16.quant.Codes;
import io.q16.quant.TensorSpec;
import io.q16.quant.UnitLayout;
import io.q16.report.QuantizeReport;
import io.q16.testing.Html;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.Reference;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.w3c.dom.Document;

/**
 * quantize's report: a well-formed page naming every tensor with the SQNR chart, and report.json
 * whose SQNR, MSE and histograms (measured inside the quantize pass) agree with an independent
 * computation here, from the codes read back out of the shards.
 */
class QuantizeReportTest extends SparkTestBase {
  private static final String SVG = "http://www.w3.org/2000/svg";

  @TempDir Path tmp;

  static Stream<List<String>> configs() {
    return Stream.of(
        List.of(),
        List.of("--scheme", "asymmetric", "--granularity", "group", "--group-size", "16", "--storage", "uint16"),
        List.of("--scheme", "symmetric", "--granularity", "channel", "--axis", "1"),
        List.of("--scheme", "log"));
  }

  /** The sample tensors, and one with NaN (mapped to 0) and ±Inf (clipped). */
  private static List<Models.T> tensors() {
    List<Models.T> ts = new ArrayList<>(Models.mixed());
    float[] x = Models.weights(21, 900, 0.2);
    x[5] = Float.NaN;
    x[77] = Float.POSITIVE_INFINITY;
    x[500] = Float.NEGATIVE_INFINITY;
    ts.add(Models.f32("special.weight", x, 30, 30));
    return ts;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("configs")
  void reportNamesEveryTensorAndItsFiguresMatchTheShards(List<String> options) throws IOException {
    List<Models.T> tensors = tensors();
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    Path out = tmp.resolve("q");
    List<String> args = new ArrayList<>(List.of("quantize", model.toString(), "--out", out.toString(),
        "--chunk-mb", "0.0004", "--shard-mb", "0.002", "--nan", "zero"));
    args.addAll(options);
    assertThat(CliTestAccess.q16(args.toArray(new String[0]))).isZero();
    Manifest m = Outputs.manifest(out);
    List<Manifest.TensorEntry> quantized = m.tensors().stream()
        .filter(e -> Manifest.TensorEntry.QUANTIZED.equals(e.status())).toList();

    QuantizeReport.Report report = QuantizeReport.fromJson(Files.readAllBytes(out.resolve("report/report.json")));
    assertThat(report.tensors()).extracting(QuantizeReport.Tensor::name)
        .containsExactlyElementsOf(quantized.stream().map(Manifest.TensorEntry::name).toList());
    assertThat(report.notQuantized()).extracting(QuantizeReport.Skipped::name).containsExactly("position_ids");
    Map<String, Models.T> source = tensors.stream().collect(Collectors.toMap(Models.T::name, Function.identity()));
    for (QuantizeReport.Tensor t : report.tensors()) {
      Manifest.TensorEntry e = m.tensor(t.name());
      float[] x = source.get(t.name()).floats();
      float[] xhat = dequantize(out, m, e);
      double[] sums = Reference.errorSums(x, xhat);
      double sx = sums[0];
      double se = sums[1];
      long finite = (long) sums[3];
      float absmax = 0;
      for (float v : x) {
        absmax = Float.isFinite(v) ? Math.max(absmax, Math.abs(v)) : absmax;
      }
      String what = t.name() + " " + options;
      assertThat(t.finite()).as(what).isEqualTo(finite);
      assertThat(t.absmax()).as(what).isEqualTo(absmax);
      assertThat(t.elements()).as(what).isEqualTo(x.length);
      assertThat(t.clipped()).as(what).isEqualTo(e.clipped());
      if (se == 0) {
        assertThat(t.sqnrDb()).as(what).isNull();
        assertThat(t.mse()).as(what).isZero();
      } else {
        assertThat(t.sqnrDb()).as(what).isCloseTo(10 * Math.log10(sx / se), within(1e-4));
        assertThat(t.mse()).as(what).isCloseTo(se / finite, within(se / finite * 1e-5));
      }
      assertThat(e.sqnrDb()).as(what).isEqualTo(t.sqnrDb());
      assertThat(e.mse()).as(what).isEqualTo(t.mse());
      assertThat(t.histogram().counts()).as(what).hasSize(256);
      assertThat(Arrays.stream(t.histogram().counts()).sum()).as(what).isEqualTo(finite);
      assertThat(t.threshold()).as(what).isEqualTo(absmax); // min/max calibration
      if (options.contains("group") || options.contains("channel")) {
        if (x.length > 0 && e.units() > 1) {
          assertThat(t.scaleMin()).as(what).isNotNull().isLessThanOrEqualTo(t.scaleMax());
        }
      } else if (!options.contains("log")) {
        assertThat(t.scale()).as(what).isEqualTo(e.scale());
      }
    }

    Document page = Html.parse(out.resolve("report/index.html"));
    String text = page.getDocumentElement().getTextContent();
    for (Manifest.TensorEntry e : quantized) {
      assertThat(text).contains(e.name());
    }
    assertThat(text).contains("SQNR per layer");
    // One dot per quantized tensor on the SQNR chart, one histogram per tensor with values.
    assertThat(page.getElementsByTagNameNS(SVG, "circle").getLength()).isEqualTo(quantized.size());
    long withValues = report.tensors().stream().filter(t -> t.finite() > 0).count();
    assertThat(page.getElementsByTagNameNS(SVG, "path").getLength()).isEqualTo((int) withValues);

    if (options.isEmpty()) {
      // A manifest written before sqnrDb and mse existed still verifies.
      Path manifest = out.resolve(Manifest.FILE_NAME);
      com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
      com.fasterxml.jackson.databind.JsonNode tree = json.readTree(manifest.toFile());
      for (com.fasterxml.jackson.databind.JsonNode e : tree.get("tensors")) {
        ((com.fasterxml.jackson.databind.node.ObjectNode) e).remove(List.of("sqnrDb", "mse"));
      }
      json.writeValue(manifest.toFile(), tree);
      assertThat(Files.readString(manifest)).doesNotContain("sqnrDb");
      assertThat(Outputs.manifest(out).tensor("attn.q.weight").sqnrDb()).isNull();
      assertThat(CliTestAccess.q16("verify", out.toString())).isZero();
    }
  }

  /**
   * A tensor's x̂, from its codes read back with ShardReader and dequantized here: (q - zp) · scale
   * in float32 with the manifest's or the row's parameters, or the codec's decoding.
   */
  private static float[] dequantize(Path out, Manifest m, Manifest.TensorEntry e) {
    List<String> files = e.shards().stream().map(s -> out.resolve(m.shards().get(s).path()).toString()).toList();
    TensorSpec spec = ModelExport.spec(e);
    boolean unsigned = spec.unsigned();
    int shift = unsigned ? Codes.UNSIGNED_OFFSET : 0;
    UnitLayout layout = spec.layout();
    float[] xhat = new float[e.elements().intValue()];
    try (ShardReader rows = new ShardReader(e.name(), files, new Configuration())) {
      while (rows.hasNext()) {
        ShardReader.Row r = rows.next();
        short[] q = new short[r.count()];
        Codes.unpack(r.codes(), q, r.count(), unsigned);
        int at = (int) r.offset();
        if (spec.nonlinear() != null) {
          float[] d = new float[r.count()];
          spec.nonlinear().decode(q, 0, d, 0, r.count());
          System.arraycopy(d, 0, xhat, at, r.count());
        } else if (r.scales() == null) {
          for (int i = 0; i < r.count(); i++) {
            xhat[at + i] = (float) (q[i] - (e.zeroPoint() - shift)) * e.scale();
          }
        } else {
          float[] scales = Codes.floats(r.scales());
          int[] zps = Codes.ints(r.zeroPoints(), -shift);
          long base = spec.localUnits() ? layout.unitOf(r.offset()) : 0;
          for (int i = 0; i < r.count(); i++) {
            int u = (int) (layout.unitOf(r.offset() + i) - base);
            xhat[at + i] = (float) (q[i] - zps[u]) * scales[u];
          }
        }
      }
    } catch (IOException ex) {
      throw new java.io.UncheckedIOException(ex);
    }
    return xhat;
  }
}
