package io.q16.spark;

import io.q16.fs.HadoopFs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

/**
 * quantize --incremental: one previous shard to copy into the new output, unchanged, and the
 * executor function that copies it while checksumming what it wrote. A class rather than a record
 * so that it survives Kryo.
 */
final class ShardCopy implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String from;
  private final String to;

  ShardCopy(String from, String to) {
    this.from = from;
    this.to = to;
  }

  String from() {
    return from;
  }

  String to() {
    return to;
  }

  /** Executor side: copies one shard, returning the size and CRC-32C of the bytes written. */
  static final class Copier implements Function<ShardCopy, FileChecksum> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<HadoopConf> conf;

    Copier(Broadcast<HadoopConf> conf) {
      this.conf = conf;
    }

    @Override
    public FileChecksum call(ShardCopy c) {
      Path from = new Path(c.from());
      Path to = new Path(c.to());
      FileSystem out = HadoopFs.fileSystem(to, conf.value().get());
      // No .crc side file on the local file system: shards written by Spark have none either.
      if (out instanceof ChecksumFileSystem local) {
        out = local.getRawFileSystem();
      }
      CRC32C crc = new CRC32C();
      long n = 0;
      byte[] buf = new byte[1 << 20];
      // overwrite: a retried task finds its own partial copy in the staging directory.
      try (InputStream in = HadoopFs.fileSystem(from, conf.value().get()).open(from);
          OutputStream os = out.create(to, true)) {
        for (int r; (r = in.read(buf)) > 0; ) {
          os.write(buf, 0, r);
          crc.update(buf, 0, r);
          n += r;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot copy previous shard " + c.from() + " to " + c.to(), e);
      }
      return new FileChecksum(c.to(), n, (int) crc.getValue());
    }
  }
}
