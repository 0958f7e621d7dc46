package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.q16.Q16Exception;
import io.q16.format.Manifest;
import io.q16.quant.Granularity;
import io.q16.quant.NanPolicy;
import io.q16.quant.Overflow;
import io.q16.quant.Scheme;
import io.q16.testing.CountingFs;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * quantize --incremental: when one tensor of a retrained model changes, the quantize pass reads
 * only that tensor's chunks (counted by a file system that logs every read), and the output is
 * byte for byte the output of a full run of the new model.
 */
class IncrementalTest extends SparkTestBase {
  private static final ObjectMapper JSON = new ObjectMapper();
  // 16K-element chunks (64 KiB of F32, 32 KiB of codes) and two chunks per shard: each tensor of
  // 48K values is 3 chunks, so tensors share shards and a changed one leaves mixed shards behind.
  private static final long CHUNK = 64 << 10;
  private static final long SHARD = 80 << 10;

  @TempDir Path tmp;

  @BeforeEach
  void countingFs() {
    spark().sparkContext().hadoopConfiguration().set("fs." + CountingFs.SCHEME + ".impl", CountingFs.class.getName());
  }

  private static List<Models.T> model(long changedSeed) {
    List<Models.T> ts = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      long seed = i == 2 ? changedSeed : 10 + i;
      ts.add(Models.f32("layers." + i + ".weight", Models.weights(seed, 3 * 16384, 0.02 * (i + 1)), 192, 256));
    }
    ts.add(Models.i64("position_ids", 64));
    return ts;
  }

  private QuantizeJob.Options options(Path model, Path out, List<String> keepFloat, String compression) {
    return new QuantizeJob.Options(CountingFs.SCHEME + ":" + model, out.toString(), Scheme.SYMMETRIC,
        Granularity.TENSOR, false, Overflow.SATURATE, 5, keepFloat, null, NanPolicy.ERROR, CHUNK, SHARD, 3,
        compression, List.of(), false);
  }

  private QuantizeJob.Result run(QuantizeJob.Options o) throws IOException {
    return QuantizeJob.run(spark(), o, System.err);
  }

  @Test
  void onlyTheChangedTensorIsReadAndTheOutputIsAFullRunsByteForByte() throws IOException {
    Path v1 = Models.write(tmp.resolve("v1/model.safetensors"), model(1));
    Path prev = tmp.resolve("prev");
    run(options(v1, prev, List.of(), "none"));

    // Retraining changed one tensor; the file is rewritten in place, same layout.
    Path model = Models.write(tmp.resolve("v1/model.safetensors"), model(2));
    Path inc = tmp.resolve("inc");
    CountingFs.clear();
    QuantizeJob.Result r = run(options(model, inc, List.of(), "none").incremental(prev.toString(), true));
    Manifest m = r.manifest();
    for (Manifest.TensorEntry e : m.tensors()) {
      if (!Manifest.TensorEntry.QUANTIZED.equals(e.status())) {
        continue;
      }
      long read = CountingFs.bytesRead(model.toString(), e.sourceOffset(), e.sourceOffset() + e.sourceBytes());
      // Every tensor once for its checksum (the statistics pass); the changed one once more to quantize.
      assertThat(read).as(e.name()).isEqualTo(e.name().equals("layers.2.weight") ? 2 * e.sourceBytes() : e.sourceBytes());
    }
    QuantizeJob.Reuse u = r.reuse();
    assertThat(u.requantized()).isEqualTo(Map.of("layers.2.weight", "source changed"));
    assertThat(u.tensorsReused()).isEqualTo(5);
    // 18 chunks in 9 shards of 2: chunks 6-8 are the changed tensor's, so shard 3 (chunks 6, 7) and
    // shard 4 (8 and the next tensor's first, copied as a row) are written, the 7 others copied.
    assertThat(u.shardsCopied()).isEqualTo(7);
    assertThat(u.shardsWritten()).isEqualTo(2);
    assertThat(u.rowsReused()).isEqualTo(1);
    assertThat(u.chunksQuantized()).isEqualTo(3);

    Path full = tmp.resolve("full");
    run(options(model, full, List.of(), "none"));
    assertSameOutput(inc, full);

    // Nothing changed since: in place, every shard is copied and the quantize pass reads nothing.
    CountingFs.clear();
    QuantizeJob.Result again = run(options(model, inc, List.of(), "none").incremental(inc.toString(), false));
    assertThat(again.reuse().requantized()).isEmpty();
    assertThat(again.reuse().shardsCopied()).isEqualTo(9);
    assertThat(again.reuse().chunksQuantized()).isZero();
    for (Manifest.TensorEntry e : m.tensors()) {
      if (Manifest.TensorEntry.QUANTIZED.equals(e.status())) {
        assertThat(CountingFs.bytesRead(model.toString(), e.sourceOffset(), e.sourceOffset() + e.sourceBytes()))
            .as(e.name()).isEqualTo(e.sourceBytes());
      }
    }
    assertSameOutput(inc, full);
  }

  @Test
  void aChangedConfigurationMovesReusedRowsAndStillEqualsAFullRun() throws IOException {
    Path model = Models.write(tmp.resolve("m/model.safetensors"), model(1));
    Path prev = tmp.resolve("prev");
    run(options(model, prev, List.of(), "none"));

    // Keeping layers.1 in float shifts every later chunk to another shard and row; another codec
    // means no shard can be copied whole: all reused codes are rows read from the previous shards.
    Path inc = tmp.resolve("inc");
    CountingFs.clear();
    QuantizeJob.Result r = run(options(model, inc, List.of("layers.1.*"), "zstd").incremental(prev.toString(), true));
    assertThat(r.reuse().requantized()).isEmpty();
    assertThat(r.reuse().shardsCopied()).isZero();
    assertThat(r.reuse().rowsReused()).isEqualTo(15);
    assertThat(r.reuse().chunksQuantized()).isZero();

    Path full = tmp.resolve("full");
    run(options(model, full, List.of("layers.1.*"), "zstd"));
    assertSameOutput(inc, full);

    // Another scheme is another quantization: every tensor is quantized again, and says why.
    QuantizeJob.Options restricted = new QuantizeJob.Options(CountingFs.SCHEME + ":" + model, tmp.resolve("r").toString(),
        Scheme.SYMMETRIC_RESTRICTED, Granularity.TENSOR, false, Overflow.SATURATE, 5, List.of(), null, NanPolicy.ERROR,
        CHUNK, SHARD, 3, "none", List.of(), false).incremental(prev.toString(), true);
    QuantizeJob.Result rr = run(restricted);
    assertThat(rr.reuse().tensorsReused()).isZero();
    assertThat(rr.reuse().requantized()).hasSize(6).containsValue("quantization changed");
  }

  @Test
  void perChannelRowsKeepTheirScalesWhenReused() throws IOException {
    Path v1 = Models.write(tmp.resolve("v/model.safetensors"), model(1));
    QuantizeJob.Options channel = new QuantizeJob.Options(CountingFs.SCHEME + ":" + v1, tmp.resolve("prev").toString(),
        Scheme.ASYMMETRIC, Granularity.channel(0), true, Overflow.SATURATE, 5, List.of(), null, NanPolicy.ERROR,
        CHUNK, SHARD, 3, "none", List.of(), false);
    run(channel);
    Models.write(v1, model(3));
    QuantizeJob.Options inc = new QuantizeJob.Options(channel.model(), tmp.resolve("inc").toString(), Scheme.ASYMMETRIC,
        Granularity.channel(0), true, Overflow.SATURATE, 5, List.of(), null, NanPolicy.ERROR, CHUNK, SHARD, 3, "zstd",
        List.of(), false).incremental(tmp.resolve("prev").toString(), true);
    QuantizeJob.Result r = run(inc);
    assertThat(r.reuse().requantized()).containsOnlyKeys("layers.2.weight");
    assertThat(r.reuse().rowsReused()).isEqualTo(15);
    QuantizeJob.Options full = new QuantizeJob.Options(channel.model(), tmp.resolve("full").toString(),
        Scheme.ASYMMETRIC, Granularity.channel(0), true, Overflow.SATURATE, 5, List.of(), null, NanPolicy.ERROR, CHUNK,
        SHARD, 3, "zstd", List.of(), false);
    run(full);
    assertSameOutput(tmp.resolve("inc"), tmp.resolve("full"));
  }

  @Test
  void aModifiedPreviousOutputIsCaughtAndNothingIsWritten() throws IOException {
    Path model = Models.write(tmp.resolve("m/model.safetensors"), model(1));
    Path prev = tmp.resolve("prev");
    Manifest m = run(options(model, prev, List.of(), "none")).manifest();

    // One code byte of a shard that would be copied whole.
    Path shard = prev.resolve(m.shards().get(0).path());
    flipByte(shard, 200);
    Path inc = tmp.resolve("inc");
    assertThatThrownBy(() -> run(options(model, inc, List.of(), "none").incremental(prev.toString(), true)))
        .isInstanceOf(Q16Exception.class)
        .hasMessageContaining(shard.getFileName().toString())
        .hasMessageContaining("the previous output was modified");
    assertThat(inc).doesNotExist();
    flipByte(shard, 200);

    // One code byte of a shard whose rows move (another codec): the codes' CRC no longer matches.
    Path other = prev.resolve(m.shards().get(4).path());
    flipByte(other, Files.size(other) / 2);
    assertThatThrownBy(() -> run(options(model, inc, List.of(), "zstd").incremental(prev.toString(), true)))
        .isInstanceOf(Q16Exception.class)
        .hasMessageContaining("the previous output was modified");
    assertThat(inc).doesNotExist();
    try (Stream<Path> s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".q16-"))).isEmpty();
    }
  }

  @Test
  void aPreviousOutputThatCannotBeReusedMeansAFullRunOrAClearError() throws IOException {
    Path model = Models.write(tmp.resolve("m/model.safetensors"), model(1));
    Path prev = tmp.resolve("prev");
    run(options(model, prev, List.of(), "none"));

    // Another chunk size: no chunk lines up, every tensor is quantized (no reuse reported).
    QuantizeJob.Options other = new QuantizeJob.Options(CountingFs.SCHEME + ":" + model, tmp.resolve("o").toString(),
        Scheme.SYMMETRIC, Granularity.TENSOR, false, Overflow.SATURATE, 5, List.of(), null, NanPolicy.ERROR,
        CHUNK / 2, SHARD, 3, "none", List.of(), false).incremental(prev.toString(), true);
    assertThat(run(other).reuse()).isNull();

    // --previous naming something that is not a Q16 output is an error; the default (--out) is not.
    assertThatThrownBy(() -> run(options(model, tmp.resolve("x"), List.of(), "none")
        .incremental(tmp.resolve("nothing").toString(), true)))
        .isInstanceOf(Q16Exception.class).hasMessageContaining("is not a Q16 output");
    // A previous manifest naming a shard outside its own folder is refused before anything is read.
    Path manifest = prev.resolve("manifest.json");
    Files.writeString(manifest, Files.readString(manifest).replaceFirst("\"shards/shard-00000-of-00009.parquet\"",
        "\"../../elsewhere.parquet\""));
    assertThatThrownBy(() -> run(options(model, tmp.resolve("y"), List.of(), "none").incremental(prev.toString(), true)))
        .isInstanceOf(Q16Exception.class).hasMessageContaining("not a file of its shards/ folder");
    assertThat(tmp.resolve("y")).doesNotExist();
    QuantizeJob.Result first = run(options(model, tmp.resolve("first"), List.of(), "none")
        .incremental(tmp.resolve("first").toString(), false));
    assertThat(first.reuse()).isNull();
    assertThat(first.manifest().totals().quantized()).isEqualTo(6);
  }

  private static void flipByte(Path file, long at) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x5a);
    }
  }

  /** Same shard files byte for byte, same manifest but its time, same report but its output path. */
  private static void assertSameOutput(Path a, Path b) throws IOException {
    List<String> names = shardNames(a);
    assertThat(names).isEqualTo(shardNames(b)).isNotEmpty();
    for (String n : names) {
      assertThat(Files.readAllBytes(a.resolve("shards").resolve(n))).as(n)
          .isEqualTo(Files.readAllBytes(b.resolve("shards").resolve(n)));
    }
    assertThat(without(a.resolve("manifest.json"), "createdAt")).isEqualTo(without(b.resolve("manifest.json"), "createdAt"));
    assertThat(without(a.resolve("report/report.json"), "output"))
        .isEqualTo(without(b.resolve("report/report.json"), "output"));
    assertThat(Outputs.manifest(a).totals()).isEqualTo(Outputs.manifest(b).totals());
  }

  private static List<String> shardNames(Path out) throws IOException {
    try (Stream<Path> s = Files.list(out.resolve("shards"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static JsonNode without(Path json, String field) throws IOException {
    ObjectNode n = (ObjectNode) JSON.readTree(json.toFile());
    n.remove(field);
    return n;
  }
}
