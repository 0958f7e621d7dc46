package io.q16.cli;

import static io.q16.cli.CliTest.q16;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import io.q16.cli.CliTest.Run;
import io.q16.format.ByteSource;
import io.q16.format.Manifest;
import io.q16.format.Onnx;
import io.q16.format.OnnxReader;
import io.q16.format.OnnxSchema;
import io.q16.format.SafetensorsHeader;
import io.q16.fs.HadoopFs;
import io.q16.tensor.DType;
import io.q16.tensor.TensorInfo;
import io.q16.testing.Models;
import io.q16.testing.OnnxModels;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The corruption and adversarial-input matrix, end to end through {@code q16 quantize}: every bad
 * file gets exit 3 and one line naming the file (and the tensor when there is one), no manifest,
 * no staging leftovers and the previous output untouched; odd but valid inputs (empty and scalar
 * tensors, ±Inf, unusual names) quantize and verify. The timeout turns a hang into a failure.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class HardeningTest extends SparkTestBase {
  @TempDir Path tmp;

  private static final List<Models.T> GOOD = List.of(
      Models.f32("w", Models.weights(11, 500, 0.03), 20, 25),
      Models.f32("b", Models.weights(12, 25, 0.5), 25));

  private Path previous;
  private byte[] previousManifest;

  // ---------------------------------------------------------------------------------------------
  // safetensors: truncation at every structural boundary

  @Test
  void truncationAtEveryStructuralBoundaryIsOneErrorNamingTheFileAndTheMissingTensor() throws IOException {
    List<Models.T> tensors = List.of(
        Models.f32("a", Models.weights(1, 15, 0.1), 3, 5),
        Models.f16("b", 2, 7),
        Models.f32("c", new float[] {0.25f}),
        Models.f32("d", new float[0], 0),
        Models.f32("e", Models.weights(3, 4, 1), 4));
    Path good = Models.write(tmp.resolve("src/model.safetensors"), tensors);
    byte[] bytes = Files.readAllBytes(good);
    SafetensorsHeader h;
    try (ByteSource src = HadoopFs.open(good.toString(), new Configuration())) {
      h = SafetensorsHeader.read(src);
    }
    long n = h.headerLength();
    TreeSet<Long> cuts = new TreeSet<>(List.of(0L, 1L, 4L, 7L, 8L, 9L, 8 + n / 2, 8 + n - 1, 8 + n,
        (long) bytes.length - 1));
    for (TensorInfo t : h.tensors()) {
      if (t.byteLength() > 0) { // first byte missing, only the first byte there, last byte missing
        cuts.addAll(List.of(t.dataStart(), t.dataStart() + 1, t.dataStart() + t.byteLength() - 1));
      }
    }
    assertThat(cuts).hasSizeGreaterThanOrEqualTo(18);
    for (long cut : cuts) {
      Path file = tmp.resolve("cut-" + cut + ".safetensors");
      Files.write(file, Arrays.copyOf(bytes, (int) cut));
      String want;
      if (cut < 8) {
        want = "truncated: needs 8 bytes at offset 0 but the file has " + cut + " bytes";
      } else if (cut < 8 + n) {
        want = "header length " + n + " goes beyond the end of the file (" + cut + " bytes)";
      } else {
        // The first tensor (in data order) whose bytes are not all there.
        TensorInfo missing = h.tensors().stream().filter(t -> t.dataStart() + t.byteLength() > cut)
            .findFirst().orElseThrow();
        want = "tensor '" + missing.name() + "': data_offsets";
        refused(file, want, "outside the data section of " + (cut - 8 - n) + " bytes");
        continue;
      }
      refused(file, want); // the file's name says where it was cut
    }
  }

  // ---------------------------------------------------------------------------------------------
  // safetensors: lying headers, through the command line

  static byte[] file(long declaredLength, byte[] header, int dataBytes) {
    return Models.rawFile(declaredLength, header, dataBytes);
  }

  static byte[] file(String header, int dataBytes) {
    return Models.rawFile(header, dataBytes);
  }

  static String entry(String name, String dtype, String shape, String offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  }

  /** Header bytes with {@code name} spliced in raw (no UTF-8 encoding of its bytes). */
  static byte[] withRawName(byte[] name) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes("{\"".getBytes(StandardCharsets.US_ASCII));
    b.writeBytes(name);
    b.writeBytes("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.US_ASCII));
    return b.toByteArray();
  }

  static Stream<Arguments> lyingHeaders() {
    String ok = "{" + entry("w", "F32", "[2]", "[0,8]") + "}";
    byte[] okBytes = ok.getBytes(StandardCharsets.UTF_8);
    return Stream.of(
        Arguments.of("header length 2^63", file(Long.MIN_VALUE, okBytes, 8),
            List.of("header length 9223372036854775808 exceeds the bound")),
        Arguments.of("header length 2^64 - 1", file(-1L, okBytes, 8),
            List.of("header length 18446744073709551615 exceeds the bound")),
        Arguments.of("header length 90 MB in a 1 KB file", file(90_000_000L, okBytes, 1024 - 8 - okBytes.length),
            List.of("header length 90000000 goes beyond the end of the file (1024 bytes)")),
        Arguments.of("shape whose product overflows",
            file("{" + entry("w", "F32", "[4294967296,4294967296]", "[0,8]") + "}", 8),
            List.of("tensor 'w'", "has no valid element count")),
        Arguments.of("shape whose byte count overflows",
            file("{" + entry("w", "F32", "[2305843009213693952,2]", "[0,8]") + "}", 8),
            List.of("tensor 'w'", "needs more than 2^63 bytes")),
        Arguments.of("zero dimension beside an overflowing product",
            file("{" + entry("w", "F32", "[0,4294967296,4294967296]", "[0,0]") + "}", 0),
            List.of("tensor 'w'", "has no valid element count")),
        Arguments.of("negative dimension", file("{" + entry("w", "F32", "[-2]", "[0,8]") + "}", 8),
            List.of("tensor 'w'", "\"shape\"[0] = -2 is not a non-negative 64-bit integer")),
        Arguments.of("negative offset", file("{" + entry("w", "F32", "[2]", "[-8,0]") + "}", 8),
            List.of("tensor 'w'", "\"data_offsets\"[0] = -8 is not a non-negative")),
        Arguments.of("offset beyond 2^63", file("{" + entry("w", "F32", "[2]", "[0,18446744073709551615]") + "}", 8),
            List.of("tensor 'w'", "\"data_offsets\"[1] = 18446744073709551615 is not a non-negative 64-bit integer")),
        Arguments.of("offsets past the end", file("{" + entry("w", "F32", "[2]", "[8,16]") + "}", 8),
            List.of("tensor 'w'", "lie outside the data section of 8 bytes")),
        Arguments.of("overlapping offsets", file("{" + entry("v", "F32", "[2]", "[0,8]") + ","
            + entry("w", "F32", "[2]", "[4,12]") + "}", 12), List.of("tensors 'v' [0, 8] and 'w' [4, 12] overlap")),
        Arguments.of("duplicate names", file("{" + entry("w", "F32", "[1]", "[0,4]") + ","
            + entry("w", "F32", "[1]", "[4,8]") + "}", 8), List.of("header names a tensor twice: 'w'")),
        Arguments.of("unknown dtype", file("{" + entry("w", "F7", "[2]", "[0,8]") + "}", 8),
            List.of("tensor 'w'", "unsupported dtype 'F7'")),
        Arguments.of("name with an invalid UTF-8 byte", file(withRawName(new byte[] {'w', (byte) 0xFF}).length,
            withRawName(new byte[] {'w', (byte) 0xFF}), 4), List.of("header is not valid UTF-8")),
        Arguments.of("name with an overlong UTF-8 encoding", file(withRawName(new byte[] {(byte) 0xC0, (byte) 0xAF}).length,
            withRawName(new byte[] {(byte) 0xC0, (byte) 0xAF}), 4), List.of("header is not valid UTF-8")),
        Arguments.of("name with a UTF-8-encoded surrogate", file(withRawName(new byte[] {(byte) 0xED, (byte) 0xA0,
            (byte) 0x80}).length, withRawName(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}), 4),
            List.of("header is not valid UTF-8")),
        Arguments.of("name with an escaped lone surrogate", file("{" + entry("w\\ud800", "F32", "[1]", "[0,4]") + "}", 4),
            List.of("tensor 'w\\ud800'", "not valid Unicode")),
        Arguments.of("control characters in a name, printed on one line",
            file("{" + entry("a\\nb\\u0000", "F7", "[1]", "[0,4]") + "}", 4),
            List.of("tensor 'a\\u000ab\\u0000'", "unsupported dtype 'F7'")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lyingHeaders")
  void lyingHeadersGetOneErrorAndNoOutput(String what, byte[] bytes, List<String> message) throws IOException {
    Path file = Files.write(tmp.resolve("bad.safetensors"), bytes);
    refused(file, message.toArray(new String[0]));
  }

  /** Non-finite values that the default policy refuses, in every float dtype. */
  @Test
  void nanIsRefusedInEveryFloatDtypeNamingTheTensor() throws IOException {
    ByteBuffer f16 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    f16.putShort((short) 0x3C00).putShort((short) 0x7E00).putShort((short) 0xFC00).putShort((short) 0);
    ByteBuffer bf16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    bf16.putShort((short) 0x7FC1).putShort((short) 0x3F80);
    ByteBuffer f64 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    f64.putDouble(Double.NaN).putDouble(1.0);
    List<Models.T> cases = List.of(
        new Models.T("h.nan", DType.F16, new long[] {4}, f16.array()),
        new Models.T("bf.nan", DType.BF16, new long[] {2}, bf16.array()),
        new Models.T("d.nan", DType.F64, new long[] {2}, f64.array()),
        Models.f32("s.nan", new float[] {Float.NaN}));
    for (Models.T t : cases) {
      Path file = Models.write(tmp.resolve(t.name() + ".safetensors"), List.of(GOOD.get(1), t));
      refused(file, "tensor '" + t.name() + "': 1 NaN value; refusing");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // odd but valid inputs: they quantize and verify

  @Test
  void unusualButValidNamesRoundTripThroughManifestAndShards() throws IOException {
    List<String> names = List.of("层.权重/ü", "emoji 🙂 name", "quote\"back\\slash", "tab\tand space", "__metadata");
    List<Models.T> ts = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      ts.add(Models.f32(names.get(i), Models.weights(30 + i, 40, 0.1), 8, 5));
    }
    Path file = Models.write(tmp.resolve("m.safetensors"), ts);
    Path out = tmp.resolve("out");
    Run r = q16("quantize", file.toString(), "--out", out.toString(), "--chunk-mb", "0.0001");
    assertThat(r.code()).as(r.err()).isZero();
    Manifest m = Outputs.manifest(out);
    assertThat(m.tensors()).extracting(Manifest.TensorEntry::name).containsExactlyInAnyOrderElementsOf(names);
    for (String name : names) {
      assertThat(m.tensor(name).status()).isEqualTo("quantized");
      assertThat(Outputs.codes(spark(), out, name)).as(name).hasSize(40);
    }
    Run v = q16("verify", out.toString(), "--source", file.toString());
    assertThat(v.code()).as(v.out() + v.err()).isZero();
    assertThat(v.out()).contains("PASSED").contains("层.权重/ü");
  }

  @Test
  void infinitiesSaturateAndAreCountedAndAllNonFiniteTensorsQuantize() throws IOException {
    float[] x = Models.weights(7, 200, 0.2);
    x[10] = Float.POSITIVE_INFINITY;
    x[20] = Float.NEGATIVE_INFINITY;
    x[30] = Float.POSITIVE_INFINITY;
    float[] nonFinite = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.POSITIVE_INFINITY};
    Path file = Models.write(tmp.resolve("m.safetensors"), List.of(Models.f32("inf", x, 10, 20),
        Models.f32("nonfinite", nonFinite, 4)));
    for (String scheme : new String[] {"symmetric", "asymmetric", "log", "minifloat"}) {
      Path out = tmp.resolve("out-" + scheme);
      Run r = q16("quantize", file.toString(), "--out", out.toString(), "--scheme", scheme, "--nan", "zero",
          "--chunk-mb", "0.0002");
      assertThat(r.code()).as(scheme + ": " + r.err()).isZero();
      Manifest m = Outputs.manifest(out);
      Manifest.TensorEntry inf = m.tensor("inf");
      assertThat(inf.posInf()).as(scheme).isEqualTo(2);
      assertThat(inf.negInf()).as(scheme).isEqualTo(1);
      assertThat(inf.clipped()).as(scheme).isGreaterThanOrEqualTo(3);
      assertThat(Float.isFinite(inf.max()) && Float.isFinite(inf.min())).as(scheme).isTrue();
      short[] q = Outputs.codes(spark(), out, "inf");
      assertThat(q[30]).as(scheme).isEqualTo(q[10]).isNotEqualTo(q[20]);
      if (inf.codec() == null) { // linear: the ends of the code range
        assertThat(q[10]).as(scheme).isEqualTo((short) inf.qmax().intValue());
        assertThat(q[20]).as(scheme).isEqualTo((short) inf.qmin().intValue());
      }
      Manifest.TensorEntry nf = m.tensor("nonfinite");
      assertThat(new long[] {nf.posInf(), nf.negInf(), nf.nan()}).as(scheme).containsExactly(2, 1, 1);
      Run v = q16("verify", out.toString());
      assertThat(v.code()).as(scheme + ": " + v.out() + v.err()).isZero();
    }
  }

  @Test
  void emptyAndScalarTensorsQuantizeAndVerifyUnderEveryGranularity() throws IOException {
    List<Models.T> ts = List.of(
        Models.f32("empty.0", new float[0], 0),
        Models.f32("empty.4x0", new float[0], 4, 0),
        Models.f32("empty.0x4", new float[0], 0, 4),
        Models.f32("empty.huge", new float[0], 0, Integer.MAX_VALUE),
        Models.f32("empty.huge0", new float[0], Integer.MAX_VALUE, 0),
        Models.f32("scalar", new float[] {-3.25f}),
        Models.f32("w", Models.weights(4, 64, 0.1), 8, 8));
    Path file = Models.write(tmp.resolve("m.safetensors"), ts);
    // Channels along axis 0 and groups are local to chunks; along axis 1 they are merged on the
    // driver, where [0, 2^31 - 1] once asked for 2^31 - 1 parameters.
    List<List<String>> configs = List.of(List.of(), List.of("--granularity", "channel"),
        List.of("--granularity", "channel", "--axis", "1"), List.of("--granularity", "group", "--group-size", "3"),
        List.of("--scheme", "log"));
    for (List<String> config : configs) {
      Path out = tmp.resolve("out" + configs.indexOf(config));
      List<String> args = new ArrayList<>(List.of("quantize", file.toString(), "--out", out.toString(),
          "--chunk-mb", "0.0001"));
      args.addAll(config);
      Run r = q16(args.toArray(new String[0]));
      assertThat(r.code()).as(config + ": " + r.err()).isZero();
      Manifest m = Outputs.manifest(out);
      for (String name : List.of("empty.0", "empty.4x0", "empty.0x4", "empty.huge", "empty.huge0")) {
        Manifest.TensorEntry e = m.tensor(name);
        assertThat(e.status()).as("%s %s", config, name).isEqualTo("quantized");
        assertThat(e.elements()).as("%s %s", config, name).isZero();
        assertThat(e.chunks()).as("%s %s", config, name).isZero();
        // Nothing to scale, so one parameter: no reader allocates the units the shape claims.
        assertThat(e.units()).as("%s %s", config, name).isEqualTo(1);
      }
      Manifest.TensorEntry s = m.tensor("scalar");
      assertThat(s.shape()).isEmpty();
      assertThat(s.elements()).isEqualTo(1);
      assertThat(s.chunks()).isEqualTo(1);
      if (config.isEmpty()) {
        assertThat(Outputs.codes(spark(), out, "empty.4x0")).isEmpty();
        short[] q = Outputs.codes(spark(), out, "scalar");
        assertThat(q).hasSize(1);
        assertThat((double) Math.abs(q[0] * s.scale() + 3.25f)).isLessThanOrEqualTo(s.scale());
      }
      Run v = q16("verify", out.toString());
      assertThat(v.code()).as(config + ": " + v.out() + v.err()).isZero();
      for (String to : List.of("safetensors", "arrow")) {
        Run x = q16("export", out.toString(), "--to", to, "--out", tmp.resolve("x" + configs.indexOf(config) + to).toString());
        assertThat(x.code()).as(config + " export " + to + ": " + x.err()).isZero();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // ONNX and sharded models

  /** A ModelProto holding one initializer whose bytes are {@code tensor} (already encoded), opset 17. */
  static byte[] onnxWithRawTensor(byte[] tensor) throws IOException {
    ByteArrayOutputStream graph = new ByteArrayOutputStream();
    CodedOutputStream g = CodedOutputStream.newInstance(graph);
    g.writeByteArray(5, tensor); // GraphProto.initializer
    g.flush();
    byte[] opset = opsetBytes(17);
    ByteArrayOutputStream model = new ByteArrayOutputStream();
    CodedOutputStream m = CodedOutputStream.newInstance(model);
    m.writeInt64(1, 8); // ir_version
    m.writeByteArray(7, graph.toByteArray());
    m.writeByteArray(8, opset);
    m.flush();
    return model.toByteArray();
  }

  private static byte[] opsetBytes(long opset) {
    return com.google.protobuf.DynamicMessage.newBuilder(OnnxSchema.OPSET)
        .setField(Onnx.field(OnnxSchema.OPSET, "domain"), "")
        .setField(Onnx.field(OnnxSchema.OPSET, "version"), opset).build().toByteArray();
  }

  /** TensorProto bytes: dims, FLOAT, name, then raw_data whose length field says {@code claimed}. */
  static byte[] tensorClaiming(String name, long[] dims, long claimed, int present) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    CodedOutputStream c = CodedOutputStream.newInstance(b);
    for (long d : dims) {
      c.writeInt64(1, d);
    }
    c.writeInt32(2, OnnxSchema.FLOAT);
    c.writeString(8, name);
    c.writeTag(9, 2);
    c.writeUInt64NoTag(claimed);
    c.writeRawBytes(new byte[present]);
    c.flush();
    return b.toByteArray();
  }

  /** TensorProto bytes of a 4-element FLOAT tensor whose name field holds {@code name} as given. */
  static byte[] tensorNamed(byte[] name) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    CodedOutputStream c = CodedOutputStream.newInstance(b);
    c.writeInt64(1, 4);
    c.writeInt32(2, OnnxSchema.FLOAT);
    c.writeByteArray(8, name);
    c.writeByteArray(9, new byte[16]);
    c.flush();
    return b.toByteArray();
  }

  static Stream<Arguments> badOnnx() throws IOException {
    return Stream.of(
        Arguments.of("dims whose product overflows", onnxWithRawTensor(tensorClaiming("w", new long[] {1L << 32,
            1L << 32}, 16, 16)), List.of("tensor 'w'", "element count overflows 64 bits")),
        Arguments.of("dims whose byte count overflows", onnxWithRawTensor(tensorClaiming("w", new long[] {1L << 61,
            2}, 16, 16)), List.of("tensor 'w'", "is too large")),
        Arguments.of("negative dim", onnxWithRawTensor(tensorClaiming("w", new long[] {-4}, 16, 16)),
            List.of("tensor 'w'", "negative dimension -4")),
        Arguments.of("raw_data longer than the tensor", onnxWithRawTensor(tensorClaiming("w", new long[] {4}, 1000, 16)),
            List.of("tensor 'w'", "raw_data")),
        Arguments.of("raw_data of 90 MB in a small file", onnxWithRawTensor(tensorClaiming("w", new long[] {4},
            90_000_000, 16)), List.of("tensor 'w'", "raw_data")),
        Arguments.of("shape that does not match raw_data", Onnx.model(Onnx.graph("g", List.of(),
            List.of(Onnx.floats("w", new long[] {5}, new float[4])), List.of(), List.of()), 17).toByteArray(),
            List.of("tensor 'w'", "needs 20")),
        Arguments.of("name with an invalid UTF-8 byte", onnxWithRawTensor(tensorNamed(new byte[] {'w', (byte) 0xFF})),
            List.of("invalid UTF-8")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badOnnx")
  void badOnnxModelsGetOneErrorAndNoOutput(String what, byte[] bytes, List<String> message) throws IOException {
    Path file = Files.write(tmp.resolve("bad.onnx"), bytes);
    refused(file, message.toArray(new String[0]));
  }

  @Test
  void truncatedOnnxModelsGetOneErrorNamingTheFile() throws IOException {
    byte[] good = OnnxModels.cnn(17).toByteArray();
    for (int i = 0; i <= 24; i++) {
      int cut = (int) ((long) good.length * i / 25);
      Path file = Files.write(tmp.resolve("cut-" + cut + ".onnx"), Arrays.copyOf(good, cut));
      refused(file); // the file's name says where it was cut
    }
  }

  @Test
  void shardedIndexNamingAMissingOrEscapingShardIsRefused() throws IOException {
    Path dir = tmp.resolve("sharded");
    Path index = Models.writeSharded(dir, GOOD, 2);
    String json = Files.readString(index);
    Files.writeString(index, json.replace("model-00002-of-00002.safetensors", "../model-00002-of-00002.safetensors"));
    refused(index, "tensor 'b'", "is not a plain file name");
    Files.writeString(index, json);
    Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
    refused(index, "names shard 'model-00002-of-00002.safetensors' (for tensor 'b'), which does not exist");
  }

  // ---------------------------------------------------------------------------------------------
  // no allocation proportional to a length read from the file before it is checked

  @Test
  void lengthsReadFromTheFileAreCheckedBeforeAnythingIsAllocatedForThem() throws IOException {
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    String ok = "{" + entry("w", "F32", "[2]", "[0,8]") + "}";
    byte[] okBytes = ok.getBytes(StandardCharsets.UTF_8);
    Path st = Files.write(tmp.resolve("claims90mb.safetensors"), file(90_000_000L, okBytes, 1024 - 8 - okBytes.length));
    Path onnx = Files.write(tmp.resolve("claims90mb.onnx"),
        onnxWithRawTensor(tensorClaiming("w", new long[] {4}, 90_000_000, 16)));
    // A model whose opset_import (read whole, not skipped) claims 90 MB.
    ByteArrayOutputStream opset = new ByteArrayOutputStream();
    CodedOutputStream c = CodedOutputStream.newInstance(opset);
    c.writeTag(8, 2);
    c.writeUInt32NoTag(90_000_000);
    c.writeRawBytes(new byte[64]);
    c.flush();
    Path onnxOpset = Files.write(tmp.resolve("opset90mb.onnx"), opset.toByteArray());
    Configuration conf = new Configuration();
    for (int round = 0; round < 2; round++) { // the first round loads classes
      for (Path p : List.of(st, onnx, onnxOpset)) {
        long before = mx.getCurrentThreadAllocatedBytes();
        Throwable thrown = null;
        try {
          if (p.toString().endsWith(".onnx")) {
            OnnxReader.read(p.toString(), conf);
          } else {
            try (ByteSource src = HadoopFs.open(p.toString(), conf)) {
              SafetensorsHeader.read(src);
            }
          }
        } catch (io.q16.Q16Exception e) {
          thrown = e;
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(thrown).as(p.toString()).isNotNull();
        assertThat(thrown.getMessage()).contains(p.getFileName().toString());
        if (round == 1) {
          assertThat(allocated).as("%s: bytes allocated", p.getFileName()).isLessThan(16L << 20);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Runs quantize on {@code model} twice: over a previous good output, which must stay byte-identical,
   * and into a fresh directory, which must not appear. Both exit 3 with one line naming the file
   * and containing {@code message}; no staging directory is left behind.
   */
  private void refused(Path model, String... message) throws IOException {
    if (previous == null) {
      Path good = Models.write(tmp.resolve("good/model.safetensors"), GOOD);
      previous = tmp.resolve("out");
      Run r = q16("quantize", good.toString(), "--out", previous.toString(), "--chunk-mb", "0.0005");
      assertThat(r.code()).as(r.err()).isZero();
      previousManifest = Files.readAllBytes(previous.resolve("manifest.json"));
    }
    Run r = q16("quantize", model.toString(), "--out", previous.toString(), "--chunk-mb", "0.0005");
    assertThat(r.code()).as(model + ": " + r.err()).isEqualTo(3);
    assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
    assertThat(r.err()).startsWith("q16: error: ").contains(model.toString());
    for (String m : message) {
      assertThat(r.err()).contains(m);
    }
    assertThat(Files.readAllBytes(previous.resolve("manifest.json"))).isEqualTo(previousManifest);
    assertThat(leftovers()).isEmpty();

    Path fresh = tmp.resolve("fresh");
    Run again = q16("quantize", model.toString(), "--out", fresh.toString());
    assertThat(again.code()).as(again.err()).isEqualTo(3);
    assertThat(fresh).doesNotExist();
    assertThat(leftovers()).isEmpty();
  }

  private List<String> leftovers() throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(tmp)) {
      s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".q16-")).forEach(out::add);
    }
    return out;
  }
}
