package io.q16.spark;

import io.q16.Errors;
import io.q16.fs.HadoopFs;
import io.q16.tensor.DType;
import io.q16.tensor.Decode;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.Checksum;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.TaskContext;

/**
 * An executor's view of the source files: positioned reads of whole chunks into buffers reused
 * across the chunks of one task, so a task's memory is O(chunk) whatever the tensor or model size.
 * Not thread-safe; one per task.
 *
 * <p>F32 chunks of local files are read with a {@link FileChannel} into a direct buffer and decoded
 * from there: Hadoop's local stream reads into a heap array through the JDK's temporary direct
 * buffer, one more copy of every source byte (perf: ~6% of a quantize's task CPU).
 */
final class ChunkSource implements Closeable {
  private final Configuration conf;
  private final Map<String, FSDataInputStream> open = new HashMap<>();
  private final Map<String, FileChannel> local = new HashMap<>();
  private final java.util.Set<String> notLocal = new java.util.HashSet<>();
  private byte[] bytes = new byte[0];
  private float[] floats = new float[0];
  private ByteBuffer direct = ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
  /** Whether the last read filled {@link #direct} rather than {@link #bytes}. */
  private boolean lastDirect;

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
      throw readError(task, len, e);
    }
    lastDirect = false;
    return bytes;
  }

  /** The chunk decoded to float32 in {@code [0, count)}, valid until the next call. */
  float[] readFloats(ChunkTask task) {
    if (floats.length < task.getCount()) {
      floats = new float[task.getCount()];
    }
    DType dtype = DType.valueOf(task.getDtype());
    FileChannel ch = dtype == DType.F32 ? localChannel(task.getFile()) : null;
    if (ch == null) {
      Decode.toFloat(dtype, readBytes(task), 0, floats, 0, task.getCount());
      return floats;
    }
    int len = Math.multiplyExact(task.getCount(), 4);
    if (direct.capacity() < len) {
      direct = ByteBuffer.allocateDirect(len).order(ByteOrder.LITTLE_ENDIAN);
    }
    direct.clear().limit(len);
    try {
      long pos = task.getByteOffset();
      while (direct.hasRemaining()) {
        int r = ch.read(direct, pos + direct.position());
        if (r < 0) {
          throw new EOFException("end of file after " + direct.position() + " bytes");
        }
      }
    } catch (IOException e) {
      throw readError(task, len, e);
    }
    lastDirect = true;
    // As Decode.toFloat's F32 case: a bulk little-endian copy, every bit pattern unchanged.
    direct.flip();
    direct.asFloatBuffer().get(floats, 0, task.getCount());
    return floats;
  }

  /** Adds the first {@code len} bytes of the last chunk read to {@code crc}. */
  void updateChecksum(Checksum crc, int len) {
    if (lastDirect) {
      crc.update(direct.duplicate().position(0).limit(len));
    } else {
      crc.update(bytes, 0, len);
    }
  }

  private static RuntimeException readError(ChunkTask task, int len, IOException e) {
    return Errors.badFile(
        task.getFile(),
        "tensor '" + task.getTensor() + "': cannot read " + len + " bytes at offset "
            + task.getByteOffset() + " (" + e.getMessage() + "; did the file change since planning?)",
        e);
  }

  /** A channel on {@code file} if it is on the local file system, else null. */
  private FileChannel localChannel(String file) {
    FileChannel ch = local.get(file);
    if (ch != null || notLocal.contains(file)) {
      return ch;
    }
    Path p = new Path(file);
    FileSystem fs = HadoopFs.fileSystem(p, conf);
    // The file: scheme only: a subclass under another scheme (a test's read-counting one) must see
    // every read through its own streams.
    if (!(fs instanceof RawLocalFileSystem raw) || !"file".equals(fs.getUri().getScheme())) {
      notLocal.add(file);
      return null;
    }
    try {
      ch = FileChannel.open(raw.pathToFile(fs.makeQualified(p)).toPath(), StandardOpenOption.READ);
    } catch (IOException e) {
      throw Errors.badFile(file, "tensor file cannot be opened (" + e.getMessage() + ")", e);
    }
    local.put(file, ch);
    return ch;
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
    for (FileChannel ch : local.values()) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // Read-only channels: nothing is lost if a close fails.
      }
    }
    local.clear();
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
