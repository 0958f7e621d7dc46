package io.q16.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.q16.Q16Exception;
import io.q16.tensor.DType;
import io.q16.tensor.TensorInfo;
import io.q16.testing.Models;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafetensorsHeaderTest {
  static ByteSource bytes(String path, byte[] b) {
    return ByteSource.of(path, b);
  }

  /** A file made of an 8-byte length (as given), a header text and {@code dataBytes} zero bytes. */
  static byte[] file(long declaredLength, String header, int dataBytes) {
    return io.q16.testing.Models.rawFile(declaredLength, header.getBytes(StandardCharsets.UTF_8), dataBytes);
  }

  static byte[] file(String header, int dataBytes) {
    return io.q16.testing.Models.rawFile(header, dataBytes);
  }

  @Test
  void readsWhatTheWriterWrote() throws IOException {
    List<Models.T> ts = Models.mixed();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<io.q16.format.SafetensorsWriter.Entry> entries = ts.stream()
        .map(t -> new SafetensorsWriter.Entry(t.name(), t.dtype(), t.shape(), SafetensorsWriter.bytes(t.bytes())))
        .toList();
    SafetensorsWriter.write(out, entries, Map.of("k", "v"));
    byte[] file = out.toByteArray();
    SafetensorsHeader h = SafetensorsHeader.read(bytes("m.safetensors", file));
    assertThat(h.dataStart() % 8).isZero();
    assertThat(h.metadata()).containsEntry("k", "v");
    assertThat(h.tensors()).hasSize(ts.size());
    for (Models.T t : ts) {
      TensorInfo info = h.tensors().stream().filter(i -> i.name().equals(t.name())).findFirst().orElseThrow();
      assertThat(info.dtype()).isEqualTo(t.dtype());
      assertThat(info.shape()).isEqualTo(t.shape());
      byte[] got = new byte[(int) info.byteLength()];
      System.arraycopy(file, (int) info.dataStart(), got, 0, got.length);
      assertThat(got).isEqualTo(t.bytes());
    }
  }

  @Test
  void readsTheIndependentGoldenFile() throws IOException {
    byte[] file = getClass().getResourceAsStream("/golden/linear/inputs.safetensors").readAllBytes();
    SafetensorsHeader h = SafetensorsHeader.read(bytes("inputs.safetensors", file));
    assertThat(h.metadata()).containsEntry("producer", "independent numpy reference");
    assertThat(h.tensors()).extracting(TensorInfo::name).contains("normal_1k", "ties_162", "scalar_rank0");
    assertThat(h.tensors()).allMatch(t -> t.dtype() == DType.F32);
  }

  static Stream<Arguments> corrupt() {
    String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    return Stream.of(
        Arguments.of("shorter than the length field", new byte[5], "truncated: needs 8 bytes at offset 0"),
        Arguments.of("header length beyond the bound", file(200_000_000L, ok, 8), "exceeds the bound"),
        Arguments.of("header length 2^63", file(Long.MIN_VALUE, ok, 8), "9223372036854775808 exceeds the bound"),
        Arguments.of("header length beyond the file", file(ok.length() + 100, ok, 8), "goes beyond the end of the file"),
        Arguments.of("header not JSON", file("{\"a\": nope}", 0), "not valid JSON at byte"),
        Arguments.of("header not an object", file("[1, 2, 3]", 0), "does not start with '{'"),
        Arguments.of("header not UTF-8", file(2, "{\u00ff", 0), "not valid UTF-8"),
        Arguments.of("offsets outside the data section", file(ok, 4), "lie outside the data section of 4 bytes"),
        Arguments.of("overlapping offsets",
            file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
            "tensors 'a' [0, 8] and 'b' [4, 8] overlap"),
        Arguments.of("elements x dtype size != bytes",
            file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
            "tensor 'a': shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8"),
        Arguments.of("duplicate names",
            file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
            "header names a tensor twice: 'a'"),
        Arguments.of("unknown dtype", file("{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
            "tensor 'a': unsupported dtype 'F7'"),
        Arguments.of("shape whose product overflows",
            file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4),
            "has no valid element count"),
        Arguments.of("negative offset", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4),
            "\"data_offsets\"[0] = -4 is not a non-negative 64-bit integer"),
        Arguments.of("offsets that end before they begin",
            file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8), "end before they begin"),
        Arguments.of("entry without dtype", file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
            "missing or non-string \"dtype\""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corrupt")
  void corruptHeadersGetTheirOwnClearError(String what, byte[] file, String message) {
    assertThatThrownBy(() -> SafetensorsHeader.read(bytes("bad.safetensors", file)))
        .isInstanceOf(Q16Exception.class)
        .satisfies(e -> assertThat(((Q16Exception) e).kind()).isEqualTo(Q16Exception.Kind.BAD_INPUT))
        .hasMessageStartingWith("bad.safetensors: ")
        .hasMessageContaining(message)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void zeroLengthTensorsMayShareAnOffset() throws IOException {
    String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    assertThat(SafetensorsHeader.read(bytes("ok", file(h, 8))).tensors()).hasSize(2);
  }
}
