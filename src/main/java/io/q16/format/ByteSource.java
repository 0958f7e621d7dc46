package io.q16.format;

import java.io.Closeable;
import java.io.IOException;

/** A file opened for positioned reads: the only way format readers see bytes. */
public interface ByteSource extends Closeable {
  /** The path as the user gave it, for messages. */
  String path();

  /** The file's size in bytes. */
  long size();

  /**
   * Reads exactly {@code len} bytes starting at {@code position} into {@code buf[off..]}; the
   * caller has checked the range against {@link #size()}, so a short read is an I/O error.
   */
  void readFully(long position, byte[] buf, int off, int len) throws IOException;

  /** A source over bytes in memory that, like a file, fails on reads past its end. */
  static ByteSource of(String path, byte[] bytes) {
    return new ByteSource() {
      @Override
      public String path() {
        return path;
      }

      @Override
      public long size() {
        return bytes.length;
      }

      @Override
      public void readFully(long position, byte[] buf, int off, int len) throws IOException {
        if (position < 0 || position + len > bytes.length) {
          throw new java.io.EOFException("read of " + len + " bytes at " + position + " past the end of " + path);
        }
        System.arraycopy(bytes, (int) position, buf, off, len);
      }

      @Override
      public void close() {}
    };
  }
}
