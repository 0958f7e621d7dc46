package io.q16.format;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.List;

/**
 * {@code manifest.json}: the commit record of a Q16 output. Written last and atomically by the
 * driver; an output directory without it is not an output. Small enough to read in an editor: its
 * size grows with the number of tensors and shards, never with the number of parameters.
 *
 * <p>Float32 values (scales, min, max) are written in their shortest decimal form that reads back
 * to the same float32 (Java's {@code Float.toString}); parse them as float32.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"format", "formatVersion", "tool", "createdAt", "source", "config", "totals", "shards", "tensors"})
public record Manifest(
    String format,
    int formatVersion,
    Tool tool,
    String createdAt,
    Source source,
    Config config,
    Totals totals,
    List<Shard> shards,
    List<TensorEntry> tensors) {

  public static final String FORMAT = "q16-manifest";
  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "manifest.json";

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .build();

  /** The program that wrote the output. */
  public record Tool(String name, String version) {}

  /** What was read: the model's location, a fingerprint over its content, and its files. */
  public record Source(String location, String fingerprint, List<SourceFile> files) {}

  /** One source file, with its size and the CRC-32C of its header. */
  public record SourceFile(String path, long size, String headerCrc32c) {}

  /** The configuration that, with the source, determines the output completely. */
  public record Config(
      String scheme,
      String granularity,
      String calibration,
      String nanPolicy,
      String overflow,
      long chunkBytes,
      long shardBytes,
      String compression) {}

  /** Counts over the whole model. */
  public record Totals(
      int tensors, int quantized, int skipped, long elements, long sourceBytes, long codeBytes, long clipped) {}

  /** One Parquet shard file, relative to the output directory. */
  public record Shard(String path, long bytes, String crc32c, long rows) {}

  /**
   * One source tensor. For quantized tensors: the granularity and number of quantizer units, the
   * storage (int16, or uint16 = q + 32768 with the zero point shifted alike), the linear
   * parameters when there is one unit (x̂ = (q - zeroPoint) · scale, q in [qmin, qmax]; per
   * channel or group they are in the shard rows), statistics of the finite source values, counts,
   * checksums of the source bytes and of the stored codes (little-endian, in element order), and
   * the shards holding its rows, and the round-trip error measured while quantizing: {@code mse}
   * of x - x̂ over the finite values and {@code sqnrDb} (absent when there is no error or no
   * signal; both absent in manifests written before they existed; both may differ in the last
   * digits between chunk sizes); {@code threshold}, the calibrated T its range was clipped at
   * (absent with min/max). For skipped tensors: why.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"name", "dtype", "shape", "status", "reason"})
  public record TensorEntry(
      String name,
      String dtype,
      List<Long> shape,
      String status,
      String reason,
      Long elements,
      String scheme,
      String granularity,
      Integer axis,
      Integer groupSize,
      Long units,
      String storage,
      Float scale,
      Integer zeroPoint,
      Integer qmin,
      Integer qmax,
      Float min,
      Float max,
      Long clipped,
      Long nan,
      Long posInf,
      Long negInf,
      String sourceFile,
      Long sourceOffset,
      Long sourceBytes,
      String sourceCrc32c,
      String codesCrc32c,
      Integer chunks,
      List<Integer> shards,
      Codec codec,
      Double sqnrDb,
      Double mse,
      Float threshold) {

    public static final String QUANTIZED = "quantized";

    /**
     * The parameters of a non-linear codec: log (x̂ = ±absmax · 2^((|q| - 32767) / codesPerOctave),
     * q = 0 is 0) or minifloat (sign, exponentBits, 15 - exponentBits mantissa bits, bias; IEEE-like
     * with subnormals, no Inf/NaN), and the error bound they guarantee: |x - x̂| <=
     * relativeErrorBound · |x| above the smallest code, <= absoluteErrorBound below it.
     */
    public record Codec(String kind, Float absmax, Double codesPerOctave, Integer exponentBits, Integer bias,
        double relativeErrorBound, double absoluteErrorBound) {}
    public static final String SKIPPED = "skipped";
    public static final String KEPT_FLOAT = "kept-float";
  }

  public byte[] toJson() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException("manifest does not serialize", e);
    }
  }

  public static Manifest fromJson(byte[] json) throws IOException {
    return JSON.readValue(json, Manifest.class);
  }

  /** The entry of tensor {@code name}, or null; for many look-ups use {@link #tensorsByName()}. */
  public TensorEntry tensor(String name) {
    for (TensorEntry t : tensors) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }

  /** Entries by name, in manifest order: one map for many look-ups (models have 10^5 tensors). */
  public java.util.Map<String, TensorEntry> tensorsByName() {
    java.util.Map<String, TensorEntry> out = new java.util.LinkedHashMap<>();
    for (TensorEntry t : tensors) {
      out.put(t.name(), t);
    }
    return out;
  }
}
