package io.q16.format;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.q16.Errors;
import io.q16.tensor.DType;
import io.q16.tensor.Shapes;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The header of one safetensors file, read and checked before any tensor byte is touched.
 *
 * <p>The format (huggingface/safetensors, "Format" section):
 *
 * <pre>
 *   8 bytes      N, an unsigned little-endian 64-bit integer: the size of the header
 *   N bytes      a UTF-8 JSON object starting with '{' (may be padded with spaces):
 *                  { "TENSOR_NAME": {"dtype": "F16", "shape": [1, 16, 256],
 *                                    "data_offsets": [BEGIN, END]},
 *                    "__metadata__": {"key": "value"} }
 *   rest         the byte buffer; offsets are relative to its start, END exclusive, little-endian
 * </pre>
 *
 * <p>Every number in the header is untrusted: lengths are checked against a fixed bound and the
 * file size before allocation, shapes and offsets with overflow-checked arithmetic.
 */
public final class SafetensorsHeader {
  /** Largest header Q16 reads: real headers of 100k-tensor models stay well below it. */
  public static final long MAX_HEADER_BYTES = 100L * 1000 * 1000;

  private static final String METADATA = "__metadata__";
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          // Messages name the file and the byte offset themselves; no source echo.
          .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
          .build();

  private final String path;
  private final long fileSize;
  private final long headerLength;
  private final List<TensorInfo> tensors;
  private final Map<String, String> metadata;
  private final int headerCrc32c;

  private SafetensorsHeader(
      String path,
      long fileSize,
      long headerLength,
      List<TensorInfo> tensors,
      Map<String, String> metadata,
      int headerCrc32c) {
    this.path = path;
    this.fileSize = fileSize;
    this.headerLength = headerLength;
    this.tensors = tensors;
    this.metadata = metadata;
    this.headerCrc32c = headerCrc32c;
  }

  public String path() {
    return path;
  }

  public long fileSize() {
    return fileSize;
  }

  /** N, the JSON header's length in bytes. */
  public long headerLength() {
    return headerLength;
  }

  /** Absolute offset of the byte buffer. */
  public long dataStart() {
    return 8 + headerLength;
  }

  /** Tensors in the order of their data offsets. */
  public List<TensorInfo> tensors() {
    return tensors;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** CRC-32C of the 8 + N header bytes: part of the source fingerprint. */
  public int headerCrc32c() {
    return headerCrc32c;
  }

  /** Reads and validates the header of {@code src}. Throws a {@code Q16Exception} naming the problem. */
  public static SafetensorsHeader read(ByteSource src) throws IOException {
    String path = src.path();
    long size = src.size();
    if (size < 8) {
      throw Errors.truncated(path, 0, 8, size);
    }
    byte[] lengthBytes = new byte[8];
    src.readFully(0, lengthBytes, 0, 8);
    long n = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (n < 0 || n > MAX_HEADER_BYTES) {
      throw Errors.badFile(
          path,
          "header length " + Long.toUnsignedString(n) + " exceeds the bound of "
              + MAX_HEADER_BYTES + " bytes: not a safetensors file, or corrupt");
    }
    if (8 + n > size) {
      throw Errors.badFile(
          path,
          "header length " + n + " goes beyond the end of the file (" + size
              + " bytes): truncated, or not a safetensors file");
    }
    if (n < 2) {
      throw Errors.badFile(path, "header length " + n + " is too small for a JSON object");
    }
    byte[] header = new byte[(int) n];
    src.readFully(8, header, 0, (int) n);
    CRC32C crc = new CRC32C();
    crc.update(lengthBytes);
    crc.update(header);

    JsonNode root = parseJson(path, header);
    long dataSize = size - 8 - n;
    List<TensorInfo> tensors = new ArrayList<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (METADATA.equals(name)) {
        readMetadata(path, value, metadata);
        continue;
      }
      tensors.add(readTensor(path, name, value, 8 + n, dataSize));
    }
    tensors.sort(Comparator.comparingLong(TensorInfo::dataStart).thenComparing(TensorInfo::name));
    checkOverlaps(path, tensors, 8 + n);
    return new SafetensorsHeader(
        path, size, n, List.copyOf(tensors), Map.copyOf(metadata), (int) crc.getValue());
  }

  private static JsonNode parseJson(String path, byte[] header) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(header))
              .toString();
    } catch (CharacterCodingException e) {
      throw Errors.badFile(path, "header is not valid UTF-8");
    }
    if (text.isEmpty() || text.charAt(0) != '{') {
      throw Errors.badFile(path, "header does not start with '{': not a safetensors file");
    }
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonParseException e) {
      String msg = e.getOriginalMessage();
      if (msg != null && msg.startsWith("Duplicate field")) {
        throw Errors.badFile(path, "header names a tensor twice: " + Errors.printable(msg.substring(16)));
      }
      throw Errors.badFile(
          path,
          "header is not valid JSON at byte " + (8 + e.getLocation().getCharOffset()) + ": "
              + firstLine(msg));
    } catch (IOException e) {
      throw Errors.badFile(path, "header is not valid JSON: " + firstLine(e.getMessage()));
    }
    if (root == null || !root.isObject()) {
      throw Errors.badFile(path, "header is not a JSON object");
    }
    return root;
  }

  private static void readMetadata(String path, JsonNode value, Map<String, String> out) {
    if (!value.isObject()) {
      throw Errors.badFile(path, "__metadata__ is not a JSON object");
    }
    value
        .fields()
        .forEachRemaining(
            e -> {
              if (!e.getValue().isTextual()) {
                throw Errors.badFile(
                    path, "__metadata__ value of '" + e.getKey() + "' is not a string");
              }
              out.put(e.getKey(), e.getValue().textValue());
            });
  }

  private static TensorInfo readTensor(
      String path, String name, JsonNode value, long dataStart, long dataSize) {
    if (hasUnpairedSurrogate(name)) {
      // Valid UTF-8 bytes, but a JSON escape of half a surrogate pair: no Unicode string, and the
      // reference loader refuses it; written out, it would come back as another name.
      throw Errors.badTensor(path, name, "name is not valid Unicode (an unpaired surrogate escape)");
    }
    if (!value.isObject()) {
      throw Errors.badTensor(path, name, "header entry is not a JSON object");
    }
    JsonNode dtypeNode = value.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw Errors.badTensor(path, name, "missing or non-string \"dtype\"");
    }
    DType dtype = DType.fromSafetensors(dtypeNode.textValue());
    if (dtype == null) {
      throw Errors.badTensor(
          path, name, "unsupported dtype '" + dtypeNode.textValue() + "'");
    }
    long[] shape = longArray(path, name, value.get("shape"), "shape", -1);
    long[] offsets = longArray(path, name, value.get("data_offsets"), "data_offsets", 2);
    long begin = offsets[0];
    long end = offsets[1];
    if (end < begin) {
      throw Errors.badTensor(
          path, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
    }
    if (end > dataSize) {
      throw Errors.badTensor(
          path,
          name,
          "data_offsets [" + begin + ", " + end + "] lie outside the data section of " + dataSize
              + " bytes (file truncated, or offsets wrong)");
    }
    long elements = Shapes.elements(shape);
    if (elements < 0) {
      throw Errors.badTensor(
          path, name, "shape " + java.util.Arrays.toString(shape) + " has no valid element count");
    }
    long bytes = elements > Long.MAX_VALUE / dtype.size() ? -1 : elements * dtype.size();
    if (bytes != end - begin) {
      throw Errors.badTensor(
          path,
          name,
          "shape " + java.util.Arrays.toString(shape) + " of " + dtype + " needs "
              + (bytes < 0 ? "more than 2^63" : String.valueOf(bytes)) + " bytes but data_offsets ["
              + begin + ", " + end + "] hold " + (end - begin));
    }
    return new TensorInfo(name, dtype, shape, path, dataStart + begin, end - begin);
  }

  private static boolean hasUnpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  private static long[] longArray(String path, String name, JsonNode node, String field, int len) {
    if (node == null || !node.isArray() || (len >= 0 && node.size() != len)) {
      throw Errors.badTensor(
          path,
          name,
          "\"" + field + "\" is not an array" + (len >= 0 ? " of " + len + " integers" : ""));
    }
    long[] out = new long[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode v = node.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
        throw Errors.badTensor(
            path, name, "\"" + field + "\"[" + i + "] = " + v + " is not a non-negative 64-bit integer");
      }
      out[i] = v.longValue();
    }
    return out;
  }

  private static void checkOverlaps(String path, List<TensorInfo> sorted, long dataStart) {
    TensorInfo prev = null;
    for (TensorInfo t : sorted) {
      if (t.byteLength() == 0) {
        continue;
      }
      if (prev != null && prev.dataStart() + prev.byteLength() > t.dataStart()) {
        throw Errors.badFile(
            path,
            "tensors '" + Errors.printable(prev.name()) + "' " + range(prev, dataStart) + " and '"
                + Errors.printable(t.name()) + "' "
                + range(t, dataStart) + " overlap");
      }
      prev = t;
    }
  }

  private static String range(TensorInfo t, long dataStart) {
    long b = t.dataStart() - dataStart;
    return "[" + b + ", " + (b + t.byteLength()) + "]";
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
