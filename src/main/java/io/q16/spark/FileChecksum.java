package io.q16.spark;

import java.io.Serializable;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;

/** A result row: a file's size and CRC-32C. */
public class FileChecksum implements Serializable {
  private static final long serialVersionUID = 1L;
  static final Encoder<FileChecksum> ENCODER = Encoders.bean(FileChecksum.class);

  private String path;
  private long bytes;
  private int crc32c;

  public FileChecksum() {}

  FileChecksum(String path, long bytes, int crc32c) {
    this.path = path;
    this.bytes = bytes;
    this.crc32c = crc32c;
  }

  public String getPath() {
    return path;
  }

  public void setPath(String path) {
    this.path = path;
  }

  public long getBytes() {
    return bytes;
  }

  public void setBytes(long bytes) {
    this.bytes = bytes;
  }

  public int getCrc32c() {
    return crc32c;
  }

  public void setCrc32c(int crc32c) {
    this.crc32c = crc32c;
  }
}
