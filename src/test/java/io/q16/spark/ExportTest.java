package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.q16.cli.CliTestAccess;
import io.q16.format.ByteSource;
import io.q16.format.Manifest;
import io.q16.format.SafetensorsHeader;
import io.q16.quant.Codes;
import io.q16.quant.GranularKernel;
import io.q16.quant.Granularity;
import io.q16.quant.TensorSpec;
import io.q16.tensor.DType;
import io.q16.tensor.Decode;
import io.q16.tensor.TensorInfo;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exports read back by a safetensors reader (the project's own, which the golden files check)
 * give back every tensor: codes and parameters dequantize to within the bound of the source,
 * fake-quant values equal that dequantization bit for bit, skipped tensors are the source bytes.
 */
class ExportTest extends SparkTestBase {
  @TempDir Path tmp;

  static Stream<Arguments> configs() {
    return Stream.of(
        Arguments.of((Object) new String[] {"--scheme", "symmetric"}),
        Arguments.of((Object) new String[] {"--granularity", "group", "--group-size", "7", "--scheme", "asymmetric",
            "--storage", "uint16"}),
        Arguments.of((Object) new String[] {"--granularity", "channel", "--axis", "1", "--scheme",
            "symmetric-restricted"}));
  }

  @ParameterizedTest
  @MethodSource("configs")
  void exportsLoadAndDequantizeToTheSource(String[] options) throws IOException {
    List<Models.T> tensors = Models.mixed();
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    Path q = tmp.resolve("q");
    String[] args = Stream.concat(Stream.of("quantize", model.toString(), "--out", q.toString(), "--chunk-mb",
        "0.0003"), Arrays.stream(options)).toArray(String[]::new);
    assertThat(CliTestAccess.q16(args)).isZero();
    Manifest m = Outputs.manifest(q);

    Path st = tmp.resolve("st");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "safetensors", "--out", st.toString(),
        "--file-mb", "0.004")).isZero();
    Map<String, Loaded> exported = load(st);
    assertThat(st.resolve("model.safetensors.index.json")).exists();
    Path fq = tmp.resolve("fq");
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "fake-quant", "--out", fq.toString())).isZero();
    assertThat(fq.resolve("model.safetensors")).exists();
    Map<String, Loaded> fake = load(fq);

    for (Models.T t : tensors) {
      Manifest.TensorEntry e = m.tensor(t.name());
      if (!t.dtype().quantizable()) {
        assertThat(exported.get(t.name()).bytes).isEqualTo(t.bytes());
        assertThat(fake.get(t.name()).bytes).isEqualTo(t.bytes());
        continue;
      }
      Loaded codes = exported.get(t.name());
      boolean unsigned = "uint16".equals(e.storage());
      assertThat(codes.info.dtype()).isEqualTo(unsigned ? DType.U16 : DType.I16);
      assertThat(codes.info.shape()).isEqualTo(t.shape());
      int n = (int) codes.info.elements();
      short[] qs = new short[n];
      Codes.unpack(codes.bytes, qs, n, unsigned);
      assertThat(qs).isEqualTo(unflip(Outputs.codes(spark(), q, t.name()), unsigned));

      float[] scales = Codes.floats(exported.get(t.name() + ".scale").bytes);
      int shift = unsigned ? Codes.UNSIGNED_OFFSET : 0;
      int[] zps = Codes.ints(exported.get(t.name() + ".zero_point").bytes, -shift);
      TensorSpec spec = io.q16.export.ModelExport.spec(e);
      assertThat((long) scales.length).isEqualTo(e.units());
      float[] back = new float[n];
      GranularKernel.dequantize(qs, 0, back, 0, n, 0, spec.layout(), scales, zps, 0);
      float[] x = t.floats();
      for (int i = 0; i < n; i++) {
        int u = (int) spec.layout().unitOf(i);
        if (!io.q16.testing.Reference.clipped(x[i], scales[u], zps[u], spec.scheme().qmin(), spec.scheme().qmax())) {
          assertThat(Math.abs((double) x[i] - back[i])).as("%s[%d]", t.name(), i)
              .isLessThanOrEqualTo(scales[u] / 2.0 + 0x1p-24 * (Math.abs(x[i]) + Math.abs(back[i])));
        }
      }
      Loaded f = fake.get(t.name());
      assertThat(f.info.dtype()).isEqualTo(DType.F32);
      float[] fv = new float[n];
      Decode.toFloat(DType.F32, f.bytes, 0, fv, 0, n);
      for (int i = 0; i < n; i++) {
        assertThat(Float.floatToRawIntBits(fv[i])).isEqualTo(Float.floatToRawIntBits(back[i]));
      }
      if (spec.granularity().kind() != Granularity.Kind.TENSOR) {
        assertThat(exported.get(t.name() + ".scale").info.shape()).hasSize(
            spec.granularity().kind() == Granularity.Kind.GROUP ? 2 : 1);
      }
    }
    Path arrow = tmp.resolve("arrow");
    // Tiny batches: tensors span several record batches of whole rows.
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "arrow", "--out", arrow.toString(),
        "--arrow-batch-mb", "0.0005")).isZero();
    for (Models.T t : tensors) {
      Manifest.TensorEntry e = m.tensor(t.name());
      Path f = arrow.resolve(io.q16.export.ArrowExport.fileName(t.name()) + ".arrow");
      if (!"quantized".equals(e.status())) {
        assertThat(f).doesNotExist();
        continue;
      }
      ArrowTensor a = readArrow(f);
      assertThat(a.extension).isEqualTo("arrow.fixed_shape_tensor");
      assertThat(a.metadata).containsEntry("q16.tensor", t.name()).containsEntry("q16.storage", e.storage());
      assertThat(a.codes).isEqualTo(Outputs.codes(spark(), q, t.name()));
      if (t.shape().length >= 2 && Models.elements(t.shape()) > 0) {
        assertThat(a.batches).isGreaterThan(1);
        assertThat(a.rows).isEqualTo(t.shape()[0]);
      }
      Path params = arrow.resolve(io.q16.export.ArrowExport.fileName(t.name()) + ".params.arrow");
      assertThat(Files.exists(params)).isEqualTo(e.scale() == null);
      if (e.scale() == null) {
        assertThat(readArrow(params).rows).isEqualTo(e.units());
      }
    }
    // Re-exporting replaces the previous export whole; a foreign directory is refused.
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "safetensors", "--out", st.toString())).isZero();
    assertThat(st.resolve("model.safetensors")).exists();
    assertThat(st.resolve("model.safetensors.index.json")).doesNotExist();
    assertThat(CliTestAccess.q16("export", q.toString(), "--to", "safetensors", "--out", tmp.toString())).isEqualTo(4);
  }

  private static short[] unflip(short[] stored, boolean unsigned) {
    short[] out = stored.clone();
    if (unsigned) {
      for (int i = 0; i < out.length; i++) {
        out[i] ^= (short) 0x8000;
      }
    }
    return out;
  }

  record Loaded(TensorInfo info, byte[] bytes) {}

  record ArrowTensor(String extension, Map<String, String> metadata, short[] codes, long rows, int batches) {}

  /** Reads an exported Arrow file with Arrow Java: the codes column flattened, or just the row count. */
  private static ArrowTensor readArrow(Path f) throws IOException {
    try (org.apache.arrow.memory.RootAllocator alloc = new org.apache.arrow.memory.RootAllocator();
        java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(f);
        org.apache.arrow.vector.ipc.ArrowFileReader r = new org.apache.arrow.vector.ipc.ArrowFileReader(ch, alloc)) {
      org.apache.arrow.vector.types.pojo.Schema schema = r.getVectorSchemaRoot().getSchema();
      org.apache.arrow.vector.types.pojo.Field field = schema.getFields().get(0);
      String ext = field.getMetadata().get("ARROW:extension:name");
      java.util.List<Short> values = new java.util.ArrayList<>();
      long rows = 0;
      int batches = 0;
      while (r.loadNextBatch()) {
        batches++;
        org.apache.arrow.vector.VectorSchemaRoot root = r.getVectorSchemaRoot();
        rows += root.getRowCount();
        if (root.getVector(0) instanceof org.apache.arrow.vector.complex.FixedSizeListVector list) {
          org.apache.arrow.vector.SmallIntVector v = (org.apache.arrow.vector.SmallIntVector) list.getDataVector();
          for (int i = 0; i < v.getValueCount(); i++) {
            values.add(v.get(i));
          }
        }
      }
      short[] codes = new short[values.size()];
      for (int i = 0; i < codes.length; i++) {
        codes[i] = values.get(i);
      }
      return new ArrowTensor(ext, schema.getCustomMetadata(), codes, rows, batches);
    }
  }

  /** Every tensor of an export directory, through the index when there is one. */
  private static Map<String, Loaded> load(Path dir) throws IOException {
    Map<String, Loaded> out = new HashMap<>();
    List<Path> files;
    Path index = dir.resolve("model.safetensors.index.json");
    if (Files.exists(index)) {
      JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
      files = new java.util.ArrayList<>();
      map.fields().forEachRemaining(e -> {
        Path p = dir.resolve(e.getValue().asText());
        if (!files.contains(p)) {
          files.add(p);
        }
      });
      assertThat(files).hasSizeGreaterThan(1);
    } else {
      files = List.of(dir.resolve("model.safetensors"));
    }
    for (Path f : files) {
      byte[] b = Files.readAllBytes(f);
      for (TensorInfo t : SafetensorsHeader.read(ByteSource.of(f.toString(), b)).tensors()) {
        out.put(t.name(), new Loaded(t, Arrays.copyOfRange(b, (int) t.dataStart(), (int) (t.dataStart() + t.byteLength()))));
      }
    }
    return out;
  }
}
