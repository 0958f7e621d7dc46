package io.q16.format;

import java.io.IOException;
import java.io.OutputStream;

/** Counts the bytes that pass, so writers can check a length or pad to a planned offset. */
public final class CountingOutputStream extends OutputStream {
  private final OutputStream out;
  private long count;

  public CountingOutputStream(OutputStream out) {
    this.out = out;
  }

  /** Bytes written so far. */
  public long count() {
    return count;
  }

  @Override
  public void write(int b) throws IOException {
    out.write(b);
    count++;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    count += len;
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }
}
