package io.q16.testing;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local file system under the scheme {@code q16count:}, recording every read of a file it
 * opens (path, position, bytes), sequential or positioned: how a test counts what a job read.
 * Executors of local mode share the JVM, so one static log sees them all. Also a path that is
 * not {@code file:}, for code that must not assume a model is a local file (ONNX Runtime cannot
 * open it, so anything it reads must be copied).
 */
public final class CountingFs extends RawLocalFileSystem {
  public static final String SCHEME = "q16count";

  /** One read: {@code bytes} bytes of {@code file} from {@code position}. */
  public record Read(String file, long position, int bytes) {}

  private static final ConcurrentLinkedQueue<Read> READS = new ConcurrentLinkedQueue<>();

  public static void clear() {
    READS.clear();
  }

  public static List<Read> reads() {
    return List.copyOf(READS);
  }

  /** Bytes read of {@code file} (its path without scheme) within [from, to). */
  public static long bytesRead(String file, long from, long to) {
    long n = 0;
    for (Read r : READS) {
      if (r.file().equals(file)) {
        n += Math.max(0, Math.min(to, r.position() + r.bytes()) - Math.max(from, r.position()));
      }
    }
    return n;
  }

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    return new FSDataInputStream(new Counting(super.open(f, bufferSize), f.toUri().getPath()));
  }

  private static final class Counting extends FSInputStream {
    private final FSDataInputStream in;
    private final String file;

    Counting(FSDataInputStream in, String file) {
      this.in = in;
      this.file = file;
    }

    @Override
    public int read() throws IOException {
      long at = in.getPos();
      int b = in.read();
      if (b >= 0) {
        READS.add(new Read(file, at, 1));
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      long at = in.getPos();
      int n = in.read(b, off, len);
      if (n > 0) {
        READS.add(new Read(file, at, n));
      }
      return n;
    }

    @Override
    public int read(long position, byte[] b, int off, int len) throws IOException {
      int n = in.read(position, b, off, len);
      if (n > 0) {
        READS.add(new Read(file, position, n));
      }
      return n;
    }

    @Override
    public void seek(long pos) throws IOException {
      in.seek(pos);
    }

    @Override
    public long getPos() throws IOException {
      return in.getPos();
    }

    @Override
    public boolean seekToNewSource(long targetPos) throws IOException {
      return in.seekToNewSource(targetPos);
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
