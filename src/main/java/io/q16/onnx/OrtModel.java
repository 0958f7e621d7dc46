package io.q16.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One ONNX Runtime session over a model file (its external data resolved beside it), created
 * once and run on many samples; inputs and outputs are flat arrays with shapes.
 */
public final class OrtModel implements AutoCloseable {
  /** A model input: element type (float32, int64, int32 or bool) and declared shape (-1 or a name where symbolic). */
  public record InputInfo(String name, String type, long[] shape, String[] dimNames) {}

  /** A flat tensor with its shape: {@code float[]}, {@code long[]}, {@code int[]} or {@code boolean[]} values. */
  public record Tensor(long[] shape, Object values) {}

  private final String path;
  private final OrtEnvironment env;
  private final OrtSession session;

  private OrtModel(String path, OrtEnvironment env, OrtSession session) {
    this.path = path;
    this.env = env;
    this.session = session;
  }

  /**
   * Opens {@code localPath} with one intra-op thread (Spark already runs a task per core) and
   * ONNX Runtime's default graph optimizations.
   */
  public static OrtModel open(String localPath) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      so.setInterOpNumThreads(1);
      return new OrtModel(localPath, env, env.createSession(localPath, so));
    } catch (OrtException e) {
      throw io.q16.Errors.badFile(localPath, "ONNX Runtime cannot load the model: " + oneLine(e));
    }
  }

  static String oneLine(Exception e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  /** The model's inputs, in declaration order. */
  public List<InputInfo> inputs() {
    try {
      List<InputInfo> out = new ArrayList<>();
      for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
        if (!(e.getValue().getInfo() instanceof TensorInfo t)) {
          throw io.q16.Errors.badFile(path, "input '" + e.getKey() + "' is not a tensor");
        }
        String type = switch (t.type) {
          case FLOAT -> "float32";
          case INT64 -> "int64";
          case INT32 -> "int32";
          case BOOL -> "bool";
          default -> throw io.q16.Errors.badFile(path, "input '" + e.getKey() + "' has element type " + t.type
              + "; inputs of float32, int64, int32 or bool are supported");
        };
        out.add(new InputInfo(e.getKey(), type, t.getShape(), t.getDimensionNames()));
      }
      return out;
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs one sample; returns the float32 outputs by name (outputs of other types are left out). */
  public Map<String, Tensor> run(Map<String, Tensor> inputs) {
    Map<String, OnnxTensor> feed = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
        feed.put(e.getKey(), tensor(e.getValue()));
      }
      Map<String, Tensor> out = new LinkedHashMap<>();
      try (OrtSession.Result r = session.run(feed)) {
        for (Map.Entry<String, OnnxValue> e : r) {
          if (e.getValue() instanceof OnnxTensor t && t.getInfo().type == OnnxJavaType.FLOAT) {
            FloatBuffer fb = t.getFloatBuffer();
            float[] v = new float[fb.remaining()];
            fb.get(v);
            out.put(e.getKey(), new Tensor(t.getInfo().getShape(), v));
          }
        }
      }
      return out;
    } catch (OrtException e) {
      throw io.q16.Errors.badFile(path, "ONNX Runtime failed to run the model: " + oneLine(e));
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  private OnnxTensor tensor(Tensor t) throws OrtException {
    Object v = t.values();
    if (v instanceof float[] f) {
      return OnnxTensor.createTensor(env, FloatBuffer.wrap(f), t.shape());
    }
    if (v instanceof long[] l) {
      return OnnxTensor.createTensor(env, LongBuffer.wrap(l), t.shape());
    }
    if (v instanceof int[] i) {
      return OnnxTensor.createTensor(env, IntBuffer.wrap(i), t.shape());
    }
    if (v instanceof double[] d) {
      return OnnxTensor.createTensor(env, java.nio.DoubleBuffer.wrap(d), t.shape());
    }
    if (v instanceof boolean[] b) {
      ByteBuffer bb = ByteBuffer.allocateDirect(b.length);
      for (boolean x : b) {
        bb.put((byte) (x ? 1 : 0));
      }
      bb.flip();
      return OnnxTensor.createTensor(env, bb, t.shape(), OnnxJavaType.BOOL);
    }
    throw new IllegalArgumentException("unsupported input values " + v.getClass());
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }
}
