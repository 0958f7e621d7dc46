package io.q16.spark;

import io.q16.Errors;
import io.q16.fs.HadoopFs;
import io.q16.tensor.DType;
import io.q16.tensor.Decode;
import java.io.Closeable;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;

/**
 * An executor's view of the source files: positioned reads of whole chunks into buffers reused
 * across the chunks of one task, so a task's memory is O(chunk) whatever the tensor or model size.
 * Not thread-safe; one per task.
 */
final class ChunkSource implements Closeable {
  private final Configuration conf;
  private final Map<String, FSDataInputStream> open = new HashMap<>();
  private byte[] bytes = new byte[0];
  private float[] floats = new float[0];

  private ChunkSource(Configuration conf) {
    this.conf = conf;
  }

  /** A source for the running task, closed when the task completes (however it ends). */
  static ChunkSource forTask(Configuration conf) {
    ChunkSource source = new ChunkSource(conf);
    TaskContext ctx = TaskContext.get();
    if (ctx != null) {
      ctx.addTaskCompletionListener((TaskContext c) -> source.close());
    }
    return source;
  }

  /** The raw bytes of {@code task}, valid until the next call: {@code [0, count * dtype size)}. */
  byte[] readBytes(ChunkTask task) {
    DType dtype = DType.valueOf(task.getDtype());
    int len = Math.multiplyExact(task.getCount(), dtype.size());
    if (bytes.length < len) {
      bytes = new byte[len];
    }
    try {
      stream(task.getFile()).readFully(task.getByteOffset(), bytes, 0, len);
    } catch (IOException e) {
      throw Errors.badFile(
          task.getFile(),
          "tensor '" + task.getTensor() + "': cannot read " + len + " bytes at offset "
              + task.getByteOffset() + " (" + e.getMessage() + "; did the file change since planning?)",
          e);
    }
    return bytes;
  }

  /** The chunk decoded to float32 in {@code [0, count)}, valid until the next call. */
  float[] readFloats(ChunkTask task) {
    byte[] raw = readBytes(task);
    if (floats.length < task.getCount()) {
      floats = new float[task.getCount()];
    }
    Decode.toFloat(DType.valueOf(task.getDtype()), raw, 0, floats, 0, task.getCount());
    return floats;
  }

  /** The bytes buffer last filled by {@link #readBytes} or {@link #readFloats}. */
  byte[] lastBytes() {
    return bytes;
  }

  private FSDataInputStream stream(String file) throws IOException {
    FSDataInputStream in = open.get(file);
    if (in == null) {
      Path p = new Path(file);
      in = HadoopFs.fileSystem(p, conf).open(p);
      open.put(file, in);
    }
    return in;
  }

  @Override
  public void close() {
    for (FSDataInputStream in : open.values()) {
      try {
        in.close();
      } catch (IOException ignored) {
        // Read-only streams: nothing is lost if a close fails.
      }
    }
    open.clear();
  }
}
