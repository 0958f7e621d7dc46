package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.testing.Models;
import io.q16.testing.SparkTestBase;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.Util;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard whose footer lists encodings in another JVM's HashSet order (simulated by reversing
 * every list) is canonicalized to exactly the bytes quantize committed; canonical files are left
 * alone; the data pages are never touched. (The rewrite-and-rename path of other file systems is
 * exercised by HdfsTest, whose shards must equal a local run's byte for byte.)
 */
class ParquetFooterTest extends SparkTestBase {
  @TempDir Path tmp;

  @Test
  void anotherJvmsEncodingOrderBecomesTheCanonicalBytes() throws IOException {
    Path model = Models.write(tmp.resolve("m.safetensors"), List.of(
        Models.f32("w", Models.weights(3, 64 * 100, 0.1), 64, 100), Models.bf16("v", 4, 30, 70)));
    Path out = tmp.resolve("q");
    assertThat(CliTestAccess.q16("quantize", model.toString(), "--out", out.toString(), "--granularity", "channel",
        "--chunk-mb", "0.01")).isZero();
    Path shard;
    try (var s = Files.list(out.resolve("shards"))) {
      shard = s.filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow();
    }
    byte[] committed = Files.readAllBytes(shard);
    FileSystem fs = FileSystem.getLocal(new Configuration()).getRaw();
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(shard.toUri());
    // What quantize committed is canonical already.
    assertThat(ParquetFooter.normalize(fs, p)).isFalse();

    // Another JVM's order: every encodings list reversed (same length, same data pages).
    int footerLen = ByteBuffer.wrap(committed, committed.length - 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    int start = committed.length - 8 - footerLen;
    FileMetaData md = Util.readFileMetaData(new ByteArrayInputStream(committed, start, footerLen));
    int multi = 0;
    for (RowGroup rg : md.getRow_groups()) {
      for (ColumnChunk cc : rg.getColumns()) {
        List<Encoding> enc = new ArrayList<>(cc.getMeta_data().getEncodings());
        multi += enc.size() > 1 ? 1 : 0;
        Collections.reverse(enc);
        cc.getMeta_data().setEncodings(enc);
      }
    }
    assertThat(multi).as("columns with more than one encoding").isPositive();
    ByteArrayOutputStream footer = new ByteArrayOutputStream();
    Util.writeFileMetaData(md, footer);
    byte[] scrambled = committed.clone();
    System.arraycopy(footer.toByteArray(), 0, scrambled, start, footerLen);
    assertThat(scrambled).isNotEqualTo(committed);
    Files.write(shard, scrambled);

    assertThat(ParquetFooter.normalize(fs, p)).isTrue();
    assertThat(Files.readAllBytes(shard)).isEqualTo(committed);
    // The rewrite path (file systems without in-place writes) is HdfsTest's: byte-identical shards.
  }
}
