package io.q16.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.q16.tensor.DType;
import io.q16.tensor.Shapes;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file as a stream: header first, then each tensor's bytes from a callback,
 * so a tensor larger than memory can be written. Tensors are laid out in the order given.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Writes one tensor's bytes, exactly {@code elements * dtype.size()} of them. */
  @FunctionalInterface
  public interface Data {
    void writeTo(OutputStream out) throws IOException;
  }

  /** One tensor to write. */
  public record Entry(String name, DType dtype, long[] shape, Data data) {
    public long bytes() {
      return Shapes.elements(shape) * dtype.size();
    }
  }

  private SafetensorsWriter() {}

  /** Writes {@code entries} with {@code metadata} to {@code out} (not closed). */
  public static void write(OutputStream out, List<Entry> entries, Map<String, String> metadata)
      throws IOException {
    ObjectNode root = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode m = root.putObject("__metadata__");
      metadata.forEach(m::put);
    }
    long offset = 0;
    for (Entry e : entries) {
      ObjectNode t = root.putObject(e.name());
      t.put("dtype", e.dtype().name());
      ArrayNode shape = t.putArray("shape");
      for (long d : e.shape()) {
        shape.add(d);
      }
      ArrayNode offsets = t.putArray("data_offsets");
      offsets.add(offset);
      offset += e.bytes();
      offsets.add(offset);
    }
    byte[] json = JSON.writeValueAsBytes(root);
    // Pad with spaces so the byte buffer starts 8-byte aligned, as the reference writer does.
    int padded = (json.length + 7) & ~7;
    byte[] header = new byte[8 + padded];
    ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
    System.arraycopy(json, 0, header, 8, json.length);
    for (int i = 8 + json.length; i < header.length; i++) {
      header[i] = ' ';
    }
    out.write(header);
    for (Entry e : entries) {
      CountingOutputStream counted = new CountingOutputStream(out);
      e.data().writeTo(counted);
      if (counted.count() != e.bytes()) {
        throw new IllegalStateException(
            "tensor '" + e.name() + "' wrote " + counted.count() + " bytes, expected " + e.bytes());
      }
    }
  }

  /** Little-endian float32 bytes of {@code values}. */
  public static Data floats(float[] values) {
    return out -> {
      ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(values);
      out.write(b.array());
    };
  }

  /** Raw bytes, already little-endian. */
  public static Data bytes(byte[] raw) {
    return out -> out.write(raw);
  }

}
