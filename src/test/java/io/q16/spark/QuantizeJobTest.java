package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.format.Crc32c;
import io.q16.format.Manifest;
import io.q16.quant.NanPolicy;
import io.q16.quant.Scheme;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.Reference;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizeJobTest extends SparkTestBase {
  @TempDir Path tmp;

  private Manifest quantize(Path model, Path out, long chunkBytes, long shardBytes, int partitions) throws IOException {
    QuantizeJob.Options o = new QuantizeJob.Options(model.toString(), out.toString(), Scheme.SYMMETRIC,
        io.q16.quant.Granularity.TENSOR, false, io.q16.quant.Overflow.SATURATE, 5, java.util.List.of(), null, NanPolicy.ERROR, chunkBytes, shardBytes, partitions, "snappy",
        java.util.List.of(), false);
    return QuantizeJob.run(spark(), o, System.err).manifest();
  }

  @Test
  void codesEqualTheExactScalarReferenceAndTheManifestTellsTheTruth() throws IOException {
    List<Models.T> tensors = Models.mixed();
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    Path out = tmp.resolve("out");
    Manifest m = quantize(model, out, 512, 2048, 3);

    assertThat(m.shards()).hasSizeGreaterThan(3);
    assertThat(m.totals().skipped()).isEqualTo(1);
    for (Models.T t : tensors) {
      Manifest.TensorEntry e = m.tensor(t.name());
      assertThat(e).as(t.name()).isNotNull();
      assertThat(e.shape()).isEqualTo(java.util.Arrays.stream(t.shape()).boxed().toList());
      assertThat(e.dtype()).isEqualTo(t.dtype().name());
      if (!t.dtype().quantizable()) {
        assertThat(e.status()).isEqualTo("skipped");
        assertThat(e.reason()).contains("integer dtype I64");
        continue;
      }
      assertThat(e.status()).isEqualTo("quantized");
      float[] x = t.floats();
      float absmax = 0;
      for (float v : x) {
        absmax = Math.max(absmax, Math.abs(v));
      }
      float scale = absmax == 0 ? 1f : Reference.symmetricScale(absmax);
      assertThat(Float.floatToRawIntBits(e.scale())).as(t.name()).isEqualTo(Float.floatToRawIntBits(scale));
      assertThat(e.zeroPoint()).isZero();

      short[] q = Outputs.codes(spark(), out, t.name());
      assertThat(q).hasSize(x.length);
      long clipped = 0;
      for (int i = 0; i < x.length; i++) {
        int want = Reference.quantize(x[i], scale, 0, -32768, 32767);
        assertThat((int) q[i]).as("%s[%d] = %s", t.name(), i, x[i]).isEqualTo(want);
        clipped += Reference.clipped(x[i], scale, 0, -32768, 32767) ? 1 : 0;
        float back = Reference.dequantize(q[i], scale, 0);
        if (!Reference.clipped(x[i], scale, 0, -32768, 32767)) {
          // |x - x̂| <= scale/2, plus the float32 rounding of x / scale and of q · scale.
          assertThat(Math.abs((double) x[i] - back))
              .isLessThanOrEqualTo(scale / 2.0 + 0x1p-24 * (Math.abs(x[i]) + Math.abs(back)));
        }
      }
      assertThat(e.clipped()).as(t.name()).isEqualTo(clipped);
      assertThat(e.sourceCrc32c()).isEqualTo(crcHex(t.bytes()));
      assertThat(e.codesCrc32c()).isEqualTo(crcHex(le(q)));
      assertThat(e.elements()).isEqualTo((long) x.length);
    }
    // The +max|x| element of a symmetric tensor rounds to 32768 and is clamped: one clip each.
    assertThat(m.tensor("attn.q.weight").clipped()).isEqualTo(1);
    assertThat(m.tensor("empty").chunks()).isZero();
    assertThat(m.tensor("bias.zero").scale()).isEqualTo(1f);
    assertThat(Files.list(out).map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("manifest.json", "shards", "report");
    assertThat(Files.list(out.getParent()).map(p -> p.getFileName().toString()))
        .noneMatch(n -> n.contains("q16-staging") || n.contains("q16-previous"));
  }

  @Test
  void outputIsIdenticalForAnyNumberOfPartitions() throws IOException {
    Path model = Models.write(tmp.resolve("m.safetensors"), Models.mixed());
    Path[] outs = {tmp.resolve("p1"), tmp.resolve("p3"), tmp.resolve("p8")};
    int[] parts = {1, 3, 8};
    Manifest[] ms = new Manifest[3];
    for (int i = 0; i < 3; i++) {
      ms[i] = quantize(model, outs[i], 700, 3000, parts[i]);
    }
    for (int i = 1; i < 3; i++) {
      assertThat(withoutTime(ms[i])).isEqualTo(withoutTime(ms[0]));
      for (Manifest.Shard s : ms[0].shards()) {
        assertThat(Files.readAllBytes(outs[i].resolve(s.path()))).as(s.path())
            .isEqualTo(Files.readAllBytes(outs[0].resolve(s.path())));
      }
      Dataset<Row> a = spark().read().parquet(outs[0].resolve("shards").toString()).orderBy("tensor", "chunk");
      Dataset<Row> b = spark().read().parquet(outs[i].resolve("shards").toString()).orderBy("tensor", "chunk");
      assertDataFrameEquals(a, b, assertDataFrameEquals$default$3());
    }
  }

  @Test
  void chunkAndShardSizesChangeTheLayoutButNotTheResult() throws IOException {
    List<Models.T> tensors = Models.mixed();
    Path model = Models.write(tmp.resolve("m.safetensors"), tensors);
    Manifest small = quantize(model, tmp.resolve("small"), 256, 1024, 2);
    Manifest big = quantize(model, tmp.resolve("big"), 16 << 20, 128 << 20, 0);
    assertThat(small.shards().size()).isGreaterThan(big.shards().size());
    assertThat(Outputs.layoutFree(small, false)).isEqualTo(Outputs.layoutFree(big, false));
    assertThat(small.source()).isEqualTo(big.source());
    for (Models.T t : tensors) {
      if (t.dtype().quantizable()) {
        assertThat(Outputs.codes(spark(), tmp.resolve("small"), t.name()))
            .isEqualTo(Outputs.codes(spark(), tmp.resolve("big"), t.name()));
      }
    }
  }

  @Test
  void shardedAndSingleFileModelsGiveTheSameResult() throws IOException {
    List<Models.T> tensors = Models.mixed();
    Path single = Models.write(tmp.resolve("single/model.safetensors"), tensors);
    Path index = Models.writeSharded(tmp.resolve("sharded"), tensors, 3);
    Manifest a = quantize(single, tmp.resolve("a"), 600, 2500, 2);
    Manifest b = quantize(tmp.resolve("sharded"), tmp.resolve("b"), 600, 2500, 2); // the directory
    assertThat(b.source().files()).hasSize(3);
    assertThat(b.source().location()).isEqualTo(tmp.resolve("sharded").toString());
    assertThat(Outputs.layoutFree(b, true)).isEqualTo(Outputs.layoutFree(a, true));
    assertThat(b.shards()).extracting(Manifest.Shard::rows).isEqualTo(a.shards().stream().map(Manifest.Shard::rows).toList());
    for (Manifest.Shard s : a.shards()) {
      assertThat(Files.readAllBytes(tmp.resolve("b").resolve(s.path())))
          .isEqualTo(Files.readAllBytes(tmp.resolve("a").resolve(s.path())));
    }
    assertThat(Files.exists(index)).isTrue();
  }

  private static Manifest withoutTime(Manifest m) {
    return new Manifest(m.format(), m.formatVersion(), m.tool(), null, m.source(), m.config(), m.totals(), m.shards(),
        m.tensors());
  }

  static String crcHex(byte[] b) {
    CRC32C c = new CRC32C();
    c.update(b);
    return Crc32c.hex((int) c.getValue());
  }

  static byte[] le(short[] q) {
    ByteBuffer b = ByteBuffer.allocate(2 * q.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asShortBuffer().put(q);
    return b.array();
  }
}
