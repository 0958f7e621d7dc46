package io.q16.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnMetaData;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.PageEncodingStats;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.Util;

/**
 * Makes a Parquet file's footer independent of the JVM that wrote it. parquet-mr collects each
 * column chunk's encodings in a HashSet of enums and writes them in its iteration order, which
 * follows identity hash codes: the same data written by two JVMs (a retried task on another
 * executor, a cluster run against a local one) differs in those footer bytes. Sorting the lists
 * gives one canonical footer, so a shard's bytes, and its CRC in the manifest, depend only on its
 * content. The file is patched in place when the footer keeps its length (it does: the lists are
 * only reordered) and the file system is local; otherwise it is rewritten beside and renamed over.
 */
final class ParquetFooter {
  private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);

  private ParquetFooter() {}

  /** Canonicalizes the footer of the Parquet file {@code p}; returns true if it had to change it. */
  static boolean normalize(FileSystem fs, Path p) throws IOException {
    long len = fs.getFileStatus(p).getLen();
    if (len < 12) {
      throw new IOException(p + " is too short to be a Parquet file (" + len + " bytes)");
    }
    byte[] tail = new byte[8];
    byte[] footer;
    long start;
    try (FSDataInputStream in = fs.open(p)) {
      in.readFully(len - 8, tail);
      int footerLen = ByteBuffer.wrap(tail, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (!java.util.Arrays.equals(MAGIC, java.util.Arrays.copyOfRange(tail, 4, 8))
          || footerLen <= 0 || footerLen > len - 12) {
        throw new IOException(p + " has no valid Parquet footer");
      }
      start = len - 8 - footerLen;
      footer = new byte[footerLen];
      in.readFully(start, footer);
    }
    FileMetaData md = Util.readFileMetaData(new ByteArrayInputStream(footer));
    if (!canonicalize(md)) {
      return false;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(footer.length);
    Util.writeFileMetaData(md, out);
    byte[] canonical = out.toByteArray();
    if (canonical.length == footer.length && "file".equals(fs.getUri().getScheme())) {
      try (RandomAccessFile f = new RandomAccessFile(new java.io.File(p.toUri().getPath()), "rw")) {
        f.seek(start);
        f.write(canonical);
      }
      return true;
    }
    Path tmp = new Path(p.getParent(), "." + p.getName() + ".footer-tmp");
    try (FSDataInputStream in = fs.open(p); OutputStream o = fs.create(tmp, true)) {
      byte[] buf = new byte[1 << 20];
      for (long done = 0; done < start; ) {
        int n = (int) Math.min(buf.length, start - done);
        in.readFully(done, buf, 0, n);
        o.write(buf, 0, n);
        done += n;
      }
      o.write(canonical);
      o.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(canonical.length).array());
      o.write(MAGIC);
    }
    if (!fs.delete(p, false) || !fs.rename(tmp, p)) {
      throw new IOException("cannot replace " + p + " with its canonical footer");
    }
    return true;
  }

  /** Sorts every column chunk's encodings and encoding stats; true if anything moved. */
  static boolean canonicalize(FileMetaData md) {
    boolean changed = false;
    for (RowGroup rg : md.getRow_groups()) {
      for (ColumnChunk cc : rg.getColumns()) {
        ColumnMetaData cm = cc.getMeta_data();
        if (cm == null) {
          continue;
        }
        List<Encoding> enc = new ArrayList<>(cm.getEncodings());
        enc.sort(Comparator.comparingInt(Encoding::getValue));
        if (!enc.equals(cm.getEncodings())) {
          cm.setEncodings(enc);
          changed = true;
        }
        if (cm.isSetEncoding_stats()) {
          List<PageEncodingStats> stats = new ArrayList<>(cm.getEncoding_stats());
          stats.sort(Comparator.<PageEncodingStats>comparingInt(s -> s.getPage_type().getValue())
              .thenComparingInt(s -> s.getEncoding().getValue()));
          if (!stats.equals(cm.getEncoding_stats())) {
            cm.setEncoding_stats(stats);
            changed = true;
          }
        }
      }
    }
    return changed;
  }
}
