package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.calib.MagnitudeStats;
import io.q16.calib.RangeStats;
import io.q16.cli.CliTestAccess;
import io.q16.format.ByteSource;
import io.q16.format.Manifest;
import io.q16.format.SafetensorsHeader;
import io.q16.quant.NonlinearParams;
import io.q16.quant.Scheme;
import io.q16.tensor.DType;
import io.q16.tensor.Decode;
import io.q16.tensor.TensorInfo;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The log and minifloat schemes through the whole job: codes equal the codec applied to the whole
 * tensor with parameters from its merged statistics, whatever the chunking; verify checks the
 * codec's stated bound; fake-quant exports decode exactly as the codec does.
 */
class NonlinearJobTest extends SparkTestBase {
  @TempDir Path tmp;

  static Stream<Arguments> schemes() {
    return Stream.of(Arguments.of("log", 5), Arguments.of("minifloat", 5), Arguments.of("minifloat", 7));
  }

  @ParameterizedTest(name = "{0} E={1}")
  @MethodSource("schemes")
  void codesEqualTheCodecOnTheWholeTensorAndVerifyHoldsItsBound(String scheme, int e) throws IOException {
    List<Models.T> tensors = Models.mixed();
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    Path q = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", q.toString(), "--scheme", scheme,
        "--exponent-bits", String.valueOf(e), "--chunk-mb", "0.0004")).isZero();
    Manifest m = Outputs.manifest(q);
    Path fq = tmp.resolve("fq");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "fake-quant", "--out", fq.toString())).isZero();
    byte[] fake = Files.readAllBytes(fq.resolve("model.safetensors"));
    List<TensorInfo> fakeTensors = SafetensorsHeader.read(ByteSource.of("fq", fake)).tensors();
    for (Models.T t : tensors) {
      if (!t.dtype().quantizable()) {
        continue;
      }
      float[] x = t.floats();
      RangeStats r = new RangeStats().update(x, 0, x.length);
      MagnitudeStats mag = new MagnitudeStats().update(x, 0, x.length);
      NonlinearParams p = NonlinearParams.fromStats(Scheme.parse(scheme), e, r.absmax(), mag.minNonZero());
      short[] want = new short[x.length];
      long clipped = p.encode(x, 0, want, 0, x.length);
      assertThat(Outputs.codes(spark(), q, t.name())).as(t.name()).isEqualTo(want);
      Manifest.TensorEntry entry = m.tensor(t.name());
      assertThat(entry.clipped()).isEqualTo(clipped);
      assertThat(entry.codec().kind()).isEqualTo(scheme);
      assertThat(entry.codec().relativeErrorBound()).isPositive();

      float[] decoded = new float[x.length];
      p.decode(want, 0, decoded, 0, x.length);
      TensorInfo f = fakeTensors.stream().filter(i -> i.name().equals(t.name())).findFirst().orElseThrow();
      float[] got = new float[x.length];
      Decode.toFloat(DType.F32, fake, (int) f.dataStart(), got, 0, x.length);
      for (int i = 0; i < x.length; i++) {
        assertThat(Float.floatToRawIntBits(got[i])).isEqualTo(Float.floatToRawIntBits(decoded[i]));
        assertThat(p.withinBound(x[i], decoded[i])).as("%s[%d] %s -> %s", t.name(), i, x[i], decoded[i]).isTrue();
      }
    }
    assertThat(CliTestAccess.q16("verify", q.toString())).isZero();

    Path st = tmp.resolve("st");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "safetensors", "--out", st.toString())).isZero();
    byte[] b = Files.readAllBytes(st.resolve("model.safetensors"));
    SafetensorsHeader h = SafetensorsHeader.read(ByteSource.of("st", b));
    assertThat(h.metadata()).containsKey("q16.codec.attn.q.weight");
    assertThat(h.tensors()).noneMatch(i -> i.name().endsWith(".scale"));
  }

  @Test
  void nonlinearSchemesArePerTensorInt16() throws IOException {
    Path model = Models.write(tmp.resolve("m.safetensors"), Models.mixed());
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", tmp.resolve("x").toString(), "--scheme", "log",
        "--granularity", "group")).isEqualTo(2);
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", tmp.resolve("y").toString(), "--scheme",
        "minifloat", "--exponent-bits", "9")).isEqualTo(2);
  }
}
