package io.q16.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.q16.format.ByteSource;
import io.q16.format.SafetensorsHeader;
import io.q16.tensor.DType;
import io.q16.tensor.Decode;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/** The reference vectors of src/test/resources/golden (copied from the project's shared data). */
public final class Golden {
  private Golden() {}

  /** A safetensors resource, read through the project's own reader. */
  public static final class File {
    private final byte[] bytes;
    private final Map<String, TensorInfo> tensors = new HashMap<>();

    public File(String resource) {
      try (InputStream in = Golden.class.getResourceAsStream(resource)) {
        bytes = in.readAllBytes();
        ByteSource src = ByteSource.of(resource, bytes);
        for (TensorInfo t : SafetensorsHeader.read(src).tensors()) {
          tensors.put(t.name(), t);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    public TensorInfo info(String name) {
      TensorInfo t = tensors.get(name);
      if (t == null) {
        throw new IllegalArgumentException("no tensor " + name);
      }
      return t;
    }

    public float[] floats(String name) {
      TensorInfo t = info(name);
      float[] out = new float[(int) t.elements()];
      Decode.toFloat(t.dtype(), bytes, (int) t.dataStart(), out, 0, out.length);
      return out;
    }

    /** Integer tensors (I16, U16, I32, I64) widened to long. */
    public long[] longs(String name) {
      TensorInfo t = info(name);
      ByteBuffer b = ByteBuffer.wrap(bytes, (int) t.dataStart(), (int) t.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
      long[] out = new long[(int) t.elements()];
      for (int i = 0; i < out.length; i++) {
        out[i] = switch (t.dtype()) {
          case I16 -> b.getShort();
          case U16 -> b.getShort() & 0xFFFF;
          case I32 -> b.getInt();
          case I64 -> b.getLong();
          default -> throw new IllegalArgumentException(t.dtype() + " is not an integer type");
        };
      }
      return out;
    }

    public DType dtype(String name) {
      return info(name).dtype();
    }
  }

  public static JsonNode json(String resource) {
    try (InputStream in = Golden.class.getResourceAsStream(resource)) {
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
