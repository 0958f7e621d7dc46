package io.q16.spark;

import io.q16.fs.HadoopFs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;

/** Executor side of the shard checksum pass: streams one file through CRC-32C. */
final class FileChecksumFunction implements MapFunction<String, FileChecksum> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;

  FileChecksumFunction(Broadcast<HadoopConf> conf) {
    this.conf = conf;
  }

  @Override
  public FileChecksum call(String file) {
    Path p = new Path(file);
    CRC32C crc = new CRC32C();
    long n = 0;
    byte[] buf = new byte[1 << 20];
    try (InputStream in = HadoopFs.fileSystem(p, conf.value().get()).open(p)) {
      for (int r; (r = in.read(buf)) > 0; ) {
        crc.update(buf, 0, r);
        n += r;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read shard " + file, e);
    }
    return new FileChecksum(file, n, (int) crc.getValue());
  }
}
