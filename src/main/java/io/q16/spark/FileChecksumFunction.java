package io.q16.spark;

import io.q16.fs.HadoopFs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * Executor side of the shard checksum pass: canonicalizes a Parquet file's footer (see
 * {@link ParquetFooter}: otherwise its bytes depend on the JVM that wrote it), then streams the
 * file through CRC-32C.
 */
final class FileChecksumFunction implements MapFunction<String, FileChecksum> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final boolean canonicalize;

  /**
   * @param canonicalize rewrite Parquet footers first: only for files this job just wrote and has
   *     not committed (verify reads committed output and must never change it)
   */
  FileChecksumFunction(Broadcast<HadoopConf> conf, boolean canonicalize) {
    this.conf = conf;
    this.canonicalize = canonicalize;
  }

  @Override
  public FileChecksum call(String file) {
    Path p = new Path(file);
    CRC32C crc = new CRC32C();
    long n = 0;
    byte[] buf = new byte[1 << 20];
    try {
      if (canonicalize && file.endsWith(".parquet")) {
        ParquetFooter.normalize(HadoopFs.fileSystem(p, conf.value().get()), p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot canonicalize the footer of shard " + file, e);
    }
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
