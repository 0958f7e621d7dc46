package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.cli.CliTestAccess;
import io.q16.format.Manifest;
import io.q16.testing.Models;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HDFS through Hadoop's MiniDFSCluster: a model read from {@code hdfs://} (1 MiB blocks, so chunks
 * are positioned reads across block boundaries) and shards and manifest written to
 * {@code hdfs://} give the bytes of a local run.
 */
class HdfsTest extends SparkTestBase {
  private static MiniDFSCluster cluster;
  private static FileSystem hdfs;

  @TempDir static Path tmp;

  @BeforeAll
  static void startHdfs() throws IOException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("dfs").toString());
    conf.setLong("dfs.blocksize", 1 << 20);
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 1 << 16);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    hdfs = cluster.getFileSystem();
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }

  private static String hdfsPath(String p) {
    return cluster.getURI().toString() + p;
  }

  @Test
  void quantizeFromAndToHdfsEqualsALocalRun() throws IOException {
    // 3 tensors of odd sizes, ~5 MiB: every block boundary falls inside some chunk.
    List<Models.T> tensors = new ArrayList<>();
    tensors.add(Models.f32("a", Models.weights(1, 333_333, 0.02), 333_333));
    tensors.add(Models.f32("b", Models.weights(2, 517 * 997, 0.5), 517, 997));
    tensors.add(Models.bf16("c", 3, 301, 701));
    Path local = Models.write(tmp.resolve("m.safetensors"), tensors);
    try (InputStream in = Files.newInputStream(local)) {
      org.apache.hadoop.io.IOUtils.copyBytes(in, hdfs.create(new org.apache.hadoop.fs.Path("/models/m.safetensors")),
          4096, true);
    }
    assertThat(hdfs.getFileStatus(new org.apache.hadoop.fs.Path("/models/m.safetensors")).getBlockSize())
        .isEqualTo(1 << 20);

    Path localOut = tmp.resolve("local-out");
    assertThat(CliTestAccess.q16("quantize", local.toString(), "--out", localOut.toString(), "--chunk-mb", "0.7",
        "--shard-mb", "2")).isZero();
    String hdfsOut = hdfsPath("/out/q");
    assertThat(CliTestAccess.q16("quantize", hdfsPath("/models/m.safetensors"), "--out", hdfsOut, "--chunk-mb", "0.7",
        "--shard-mb", "2")).isZero();
    assertThat(CliTestAccess.q16("verify", hdfsOut)).isZero();

    Manifest l = Manifest.fromJson(Files.readAllBytes(localOut.resolve("manifest.json")));
    Manifest h = Manifest.fromJson(readHdfs("/out/q/manifest.json"));
    assertThat(io.q16.testing.Outputs.layoutFree(h, true)).isEqualTo(io.q16.testing.Outputs.layoutFree(l, true));
    assertThat(h.shards()).isEqualTo(l.shards());
    for (Manifest.Shard s : l.shards()) {
      assertThat(readHdfs("/out/q/" + s.path())).as(s.path()).isEqualTo(Files.readAllBytes(localOut.resolve(s.path())));
    }
    // Nothing but the output is left in the output's parent (no staging directories).
    assertThat(hdfs.listStatus(new org.apache.hadoop.fs.Path("/out"))).hasSize(1);
  }

  private static byte[] readHdfs(String p) throws IOException {
    try (InputStream in = hdfs.open(new org.apache.hadoop.fs.Path(p))) {
      return in.readAllBytes();
    }
  }
}
