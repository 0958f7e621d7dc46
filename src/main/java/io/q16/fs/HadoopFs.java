package io.q16.fs;

import io.q16.Errors;
import io.q16.format.ByteSource;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Every path Q16 touches goes through the Hadoop FileSystem API, so file://, hdfs:// and s3a://
 * behave the same. Paths without a scheme resolve against the default file system.
 */
public final class HadoopFs {
  private HadoopFs() {}

  /**
   * The file system of {@code path}. For the local file system this is the raw one: Q16 keeps its
   * own CRC-32C checksums in manifests and would otherwise leave Hadoop's {@code .crc} side files
   * next to every file it writes.
   */
  public static FileSystem fileSystem(Path path, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      return fs instanceof ChecksumFileSystem c ? c.getRawFileSystem() : fs;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach the file system of " + path, e);
    }
  }

  /** Fully qualified form of {@code path} (scheme and authority filled in), used in plans. */
  public static String qualify(String path, Configuration conf) {
    Path p = new Path(path);
    return fileSystem(p, conf).makeQualified(p).toString();
  }

  /** Status of {@code path}, or null if nothing is there. */
  public static FileStatus statusOrNull(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    try {
      return fileSystem(p, conf).getFileStatus(p);
    } catch (FileNotFoundException e) {
      return null;
    }
  }

  /**
   * The whole content of a small file (an index, a manifest), refusing one larger than
   * {@code maxBytes} before allocating anything.
   */
  public static byte[] readSmall(String path, Configuration conf, long maxBytes, String what) throws IOException {
    try (ByteSource src = open(path, conf)) {
      if (src.size() > maxBytes) {
        throw Errors.badFile(path, what + " of " + src.size() + " bytes exceeds the bound of " + maxBytes);
      }
      byte[] bytes = new byte[(int) src.size()];
      src.readFully(0, bytes, 0, bytes.length);
      return bytes;
    }
  }

  /** Opens {@code path} for positioned reads; a missing file is a clear input error. */
  public static ByteSource open(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    FileSystem fs = fileSystem(p, conf);
    FileStatus status;
    try {
      status = fs.getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw Errors.missing(path);
    }
    if (status.isDirectory()) {
      throw Errors.badFile(path, "is a directory, expected a file");
    }
    FSDataInputStream in = fs.open(p);
    long size = status.getLen();
    return new ByteSource() {
      @Override
      public String path() {
        return path;
      }

      @Override
      public long size() {
        return size;
      }

      @Override
      public void readFully(long position, byte[] buf, int off, int len) throws IOException {
        in.readFully(position, buf, off, len);
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }
}
