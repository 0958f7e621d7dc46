package io.q16.spark;

import io.q16.fs.HadoopFs;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
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

  /**
   * Executor side: copies one shard through {@link ExportFunction#writeFile} (an attempt-unique
   * temporary name renamed into place, checksummed as it is written), returning the size and
   * CRC-32C of what it wrote.
   */
  static final class Copier implements Function<ShardCopy, FileChecksum> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<HadoopConf> conf;

    Copier(Broadcast<HadoopConf> conf) {
      this.conf = conf;
    }

    @Override
    public FileChecksum call(ShardCopy c) throws IOException {
      Configuration hadoop = conf.value().get();
      Path from = new Path(c.from());
      Path to = new Path(c.to());
      FileChecksum written;
      try (InputStream in = HadoopFs.fileSystem(from, hadoop).open(from)) {
        written = ExportFunction.writeFile(hadoop, to.getParent().toString(), to.getName(), in::transferTo);
      }
      return new FileChecksum(c.to(), written.getBytes(), written.getCrc32c());
    }
  }
}
