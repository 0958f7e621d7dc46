package io.q16.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.format.Manifest;
import io.q16.testing.Models;
import io.q16.testing.Outputs;
import io.q16.testing.SparkTestBase;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The command line end to end, as a user meets it: exit codes, one-line errors, no partial output. */
class CliTest extends SparkTestBase {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run q16(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Q16.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  private static final List<Models.T> GOOD = List.of(
      Models.f32("w", Models.weights(11, 500, 0.03), 20, 25),
      Models.f32("b", Models.weights(12, 25, 0.5), 25));

  /** A valid model, then the same bytes with a mutation applied. */
  interface Mutation {
    void apply(Path dir, Path file) throws IOException;
  }

  static Stream<Arguments> badInputs() {
    return Stream.of(
        Arguments.of("missing file", (Mutation) (d, f) -> Files.delete(f), "no such file"),
        Arguments.of("truncated data", (Mutation) (d, f) -> truncate(f, Files.size(f) - 10),
            "lie outside the data section"),
        Arguments.of("truncated header", (Mutation) (d, f) -> truncate(f, 30), "goes beyond the end of the file"),
        Arguments.of("header length beyond 100 MB", (Mutation) (d, f) -> putLength(f, 1L << 40), "exceeds the bound"),
        Arguments.of("header not JSON", (Mutation) (d, f) -> replaceInHeader(f, "\"dtype\"", "'dtype'"),
            "header is not valid JSON"),
        Arguments.of("overlapping offsets", (Mutation) (d, f) -> replaceInHeader(f, "[2000,2100]", "[1996,2096]"), "overlap"),
        Arguments.of("size mismatch", (Mutation) (d, f) -> replaceInHeader(f, "[25]", "[26]"),
            "shape [26] of F32 needs 104 bytes"),
        Arguments.of("duplicate names", (Mutation) (d, f) -> replaceInHeader(f, "\"w\"", "\"b\""),
            "names a tensor twice"),
        Arguments.of("unsupported dtype", (Mutation) (d, f) -> Models.write(f, List.of(
            new Models.T("f8", io.q16.tensor.DType.F8_E4M3, new long[] {4}, new byte[4]))),
            "dtype F8_E4M3 cannot be quantized"),
        Arguments.of("NaN values", (Mutation) (d, f) -> {
          float[] x = Models.weights(1, 64, 1);
          x[3] = Float.NaN;
          x[9] = Float.NaN;
          Models.write(f, List.of(Models.f32("has.nan", x, 64)));
        }, "tensor 'has.nan': 2 NaN values; refusing"),
        Arguments.of("pickle checkpoint", (Mutation) (d, f) -> Files.move(f, d.resolve("model.bin")),
            "pickle checkpoints are refused"),
        Arguments.of("index naming a missing shard", (Mutation) (d, f) -> {
          Files.delete(f);
          Models.writeSharded(d, GOOD, 2);
          Files.delete(d.resolve("model-00002-of-00002.safetensors"));
        }, "names shard 'model-00002-of-00002.safetensors'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badInputs")
  void badInputGetsOneLineAndNoOutputAndLeavesThePreviousOutputAlone(String what, Mutation m, String message)
      throws IOException {
    Path dir = tmp.resolve("model");
    Path file = Models.write(dir.resolve("model.safetensors"), GOOD);
    Path out = tmp.resolve("out");
    assertThat(q16("quantize", file.toString(), "--out", out.toString(), "--chunk-mb", "0.0005").code()).isZero();
    byte[] previous = Files.readAllBytes(out.resolve("manifest.json"));

    m.apply(dir, file);
    String model = Files.exists(dir.resolve("model.safetensors.index.json")) || Files.exists(dir.resolve("model.bin"))
        ? (Files.exists(dir.resolve("model.bin")) ? dir.resolve("model.bin").toString() : dir.toString())
        : file.toString();
    Run r = q16("quantize", model, "--out", out.toString(), "--chunk-mb", "0.0005");

    assertThat(r.code()).as(r.err()).isEqualTo(3);
    assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
    assertThat(r.err()).startsWith("q16: error: ").contains(message).contains(dir.toString());
    assertThat(Files.readAllBytes(out.resolve("manifest.json"))).isEqualTo(previous);
    assertThat(leftovers()).isEmpty();

    Path fresh = tmp.resolve("fresh");
    assertThat(q16("quantize", model, "--out", fresh.toString()).code()).isEqualTo(3);
    assertThat(fresh).doesNotExist();
    assertThat(leftovers()).isEmpty();
  }

  private List<String> leftovers() throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(tmp)) {
      s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".q16-")).forEach(out::add);
    }
    return out;
  }

  @Test
  void nanZeroPolicyMapsNanToZeroAndCountsIt() throws IOException {
    float[] x = Models.weights(1, 64, 1);
    x[3] = Float.NaN;
    Path file = Models.write(tmp.resolve("m.safetensors"), List.of(Models.f32("t", x, 64)));
    Run r = q16("quantize", file.toString(), "--out", tmp.resolve("out").toString(), "--nan", "zero");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("1 values mapped to 0");
    Manifest m = Outputs.manifest(tmp.resolve("out"));
    assertThat(m.tensor("t").nan()).isEqualTo(1);
    assertThat(m.config().nanPolicy()).isEqualTo("zero");
    assertThat(Outputs.codes(spark(), tmp.resolve("out"), "t")[3]).isZero();
    assertThat(q16("verify", tmp.resolve("out").toString()).code()).isZero();
  }

  @Test
  void rescaleWidensTheScaleUntilNothingFiniteClips() throws IOException {
    float[] x = Models.weights(5, 300, 0.1);
    x[4] = 10f; // as in the seed's example: 10 / fl(20 / 65535) rounds to 32768 under symmetric
    x[10] = Float.POSITIVE_INFINITY;
    Path file = Models.write(tmp.resolve("m.safetensors"), List.of(Models.f32("w", x, 300)));
    for (String scheme : new String[] {"symmetric", "asymmetric"}) {
      Path sat = tmp.resolve("sat-" + scheme);
      Path res = tmp.resolve("res-" + scheme);
      assertThat(q16("quantize", file.toString(), "--out", sat.toString(), "--scheme", scheme).code()).isZero();
      assertThat(q16("quantize", file.toString(), "--out", res.toString(), "--scheme", scheme, "--overflow", "rescale")
          .code()).isZero();
      Manifest.TensorEntry s = Outputs.manifest(sat).tensor("w");
      Manifest.TensorEntry r = Outputs.manifest(res).tensor("w");
      assertThat(Outputs.manifest(res).config().overflow()).isEqualTo("rescale");
      assertThat(r.clipped()).isEqualTo(1); // only +Inf
      assertThat(r.scale()).isGreaterThanOrEqualTo(s.scale());
      if (scheme.equals("symmetric")) {
        assertThat(s.clipped()).isEqualTo(2); // +max|x| rounds to 32768, and +Inf
        assertThat(Math.nextDown(r.scale())).isLessThan(r.scale());
        // One ulp less would clip again: the widening is minimal.
        assertThat(Math.rint(x[4] / Math.nextDown(r.scale()))).isGreaterThan(32767);
      }
      assertThat(q16("verify", res.toString()).code()).isZero();
    }
  }

  @Test
  void keepFloatLeavesMatchingTensorsUnquantizedAndSaysSo() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), GOOD);
    Path out = tmp.resolve("out");
    Run r = q16("quantize", file.toString(), "--out", out.toString(), "--keep-float", "b*", "--keep-float", "*.none");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("1 quantized").contains("1 kept float");
    Manifest m = Outputs.manifest(out);
    assertThat(m.tensor("b").status()).isEqualTo("kept-float");
    assertThat(m.tensor("b").reason()).contains("--keep-float 'b*'");
    assertThat(m.tensor("w").status()).isEqualTo("quantized");
    assertThat(Outputs.codes(spark(), out, "b")).isEmpty();
    assertThat(q16("verify", out.toString()).code()).isZero();
  }

  @Test
  void aDirectoryThatIsNotAQ16OutputIsNeverReplaced() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), GOOD);
    Path precious = Files.createDirectories(tmp.resolve("precious"));
    Files.writeString(precious.resolve("notes.txt"), "mine");
    Run r = q16("quantize", file.toString(), "--out", precious.toString());
    assertThat(r.code()).isEqualTo(4);
    assertThat(r.err()).contains("not a Q16 output").contains("refusing to replace it");
    assertThat(Files.readString(precious.resolve("notes.txt"))).isEqualTo("mine");
    assertThat(precious.resolve("manifest.json")).doesNotExist();
  }

  @Test
  void incrementalReusesTheOutputItReplacesAndSaysSo() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), GOOD);
    Path out = tmp.resolve("out");
    String[] args = {"quantize", file.toString(), "--out", out.toString(), "--chunk-mb", "0.0002", "--incremental"};
    Run first = q16(args);
    assertThat(first.code()).as(first.err()).isZero();
    assertThat(first.out()).contains("q16 quantize: done").doesNotContain("reused"); // nothing to reuse yet
    byte[] before = Files.readAllBytes(out.resolve("manifest.json"));
    Run again = q16(args);
    assertThat(again.code()).as(again.err()).isZero();
    long quantized = Outputs.manifest(out).totals().quantized();
    assertThat(again.out()).contains("reused      " + quantized + " tensors from " + out)
        .contains("0 re-quantized (0 chunks read from the source)");
    assertThat(Outputs.manifest(out).tensors()).isEqualTo(Manifest.fromJson(before).tensors());
    assertThat(leftovers()).isEmpty();
  }

  @Test
  void optionsThatWouldBeSilentlyIgnoredAreUsageErrors() {
    Run bad = q16("quantize", "m.safetensors", "--out", tmp.resolve("o").toString(), "--previous", "p");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("--previous needs --incremental");
    // Chunks are of a model's weights; activations are read by rows.
    Run chunks = q16("calibrate", "--activations", tmp.resolve("acts").toString(), "--out", tmp.resolve("c").toString(),
        "--chunk-mb", "4");
    assertThat(chunks.code()).isEqualTo(2);
    assertThat(chunks.err()).contains("--chunk-mb applies to a model's weights");
    Run channels = q16("calibrate", "--activations", tmp.resolve("acts").toString(), "--out", tmp.resolve("c").toString(),
        "--granularity", "channel");
    assertThat(channels.code()).isEqualTo(2);
    assertThat(channels.err()).contains("--granularity applies to a model's weights");
    Run pct = q16("calibrate", "m.safetensors", "--out", tmp.resolve("c").toString(), "--method", "percentile",
        "--percentile", "30");
    assertThat(pct.code()).isEqualTo(2);
    assertThat(pct.err()).contains("--percentile 30.0 is outside [50, 100]");
    // Sizes whose product overflows are a usage error, not an internal one.
    Run huge = q16("generate", "activations", "--out", tmp.resolve("a").toString(), "--tensors", "1000000",
        "--samples", "1000000000", "--values-per-sample", "100000000");
    assertThat(huge.code()).as(huge.err()).isEqualTo(2);
    assertThat(huge.err()).contains("overflows");
    assertThat(tmp.resolve("a")).doesNotExist();
  }

  @Test
  void rerunningReplacesThePreviousOutputWhole() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), GOOD);
    Path out = tmp.resolve("out");
    assertThat(q16("quantize", file.toString(), "--out", out.toString(), "--chunk-mb", "0.0002",
        "--shard-mb", "0.0005").code()).isZero();
    int manyShards = Outputs.manifest(out).shards().size();
    assertThat(q16("quantize", file.toString(), "--out", out.toString()).code()).isZero();
    Manifest m = Outputs.manifest(out);
    assertThat(m.shards()).hasSize(1).hasSizeLessThan(manyShards);
    try (Stream<Path> s = Files.list(out.resolve("shards"))) {
      assertThat(s.count()).isEqualTo(1); // nothing of the previous output survives
    }
    assertThat(leftovers()).isEmpty();
  }

  @Test
  void verifyPassesOnAGoodOutputAndFailsWhenAnythingDisagrees() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), GOOD);
    Path out = tmp.resolve("out");
    assertThat(q16("quantize", file.toString(), "--out", out.toString(), "--chunk-mb", "0.0003").code()).isZero();
    Run ok = q16("verify", out.toString());
    assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
    assertThat(ok.out()).contains("PASSED").contains("w ").contains("b ");
    assertThat(out.resolve("verify.json")).exists();
    org.w3c.dom.Document page = io.q16.testing.Html.parse(out.resolve("report/verify.html"));
    assertThat(page.getDocumentElement().getTextContent()).contains("PASSED").contains("w").contains("b")
        .contains("SQNR per layer");
    // The SQNR chart: one dot per tensor, titled with its name and value.
    org.w3c.dom.NodeList dots = page.getElementsByTagNameNS("http://www.w3.org/2000/svg", "circle");
    assertThat(dots.getLength()).isEqualTo(2);
    assertThat(dots.item(0).getTextContent() + dots.item(1).getTextContent()).contains("w: ").contains("b: ")
        .contains(" dB");
    // Quantize's own report stays beside it.
    assertThat(io.q16.testing.Html.parse(out.resolve("report/index.html")).getDocumentElement().getTextContent())
        .contains("Q16 quantize");
    assertThat(out.resolve("report/report.json")).exists();

    // A manifest whose scale lies: every value is off by far more than scale/2.
    Path manifest = out.resolve("manifest.json");
    byte[] good = Files.readAllBytes(manifest);
    Manifest m = Manifest.fromJson(good);
    String scale = String.valueOf(m.tensor("w").scale());
    Files.writeString(manifest, new String(good, StandardCharsets.UTF_8)
        .replace("\"scale\" : " + scale, "\"scale\" : " + m.tensor("w").scale() * 1.01f));
    Run lying = q16("verify", out.toString());
    assertThat(lying.code()).isEqualTo(1);
    assertThat(lying.out()).contains("FAILED").contains("farther than scale/2");
    Files.write(manifest, good);

    // The source changed after quantization (same size, one value different).
    float[] x = Models.weights(11, 500, 0.03);
    x[7] += 0.01f;
    Models.write(file, List.of(Models.f32("w", x, 20, 25), GOOD.get(1)));
    Run changed = q16("verify", out.toString());
    assertThat(changed.code()).isEqualTo(1);
    assertThat(changed.out()).contains("w ").contains("FAIL");
    Models.write(file, GOOD);

    // A shard's bytes are damaged: reported as such, its tensors as incomplete, exit 1, no crash.
    Path shard = out.resolve(m.shards().get(0).path());
    byte[] original = Files.readAllBytes(shard);
    byte[] damaged = original.clone();
    damaged[damaged.length / 2] ^= 0x5A;
    damaged[4] ^= 0x5A;
    Files.write(shard, damaged);
    Run corrupt = q16("verify", out.toString());
    assertThat(corrupt.code()).as(corrupt.err()).isEqualTo(1);
    assertThat(corrupt.out()).contains("(not read)").contains("FAILED");
    Files.write(shard, original);

    // A shard is gone.
    Files.delete(out.resolve(m.shards().get(0).path()));
    Run missing = q16("verify", out.toString());
    assertThat(missing.code()).isEqualTo(3);
    assertThat(missing.err()).contains("shard listed in the manifest is missing");

    Run notOutput = q16("verify", tmp.toString());
    assertThat(notOutput.code()).isEqualTo(3);
    assertThat(notOutput.err()).contains("no manifest.json");
  }

  @Test
  void inspectListsTensorsAndHelpAndUsageErrorsBehave() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), Models.mixed());
    Run r = q16("inspect", file.toString());
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("attn.q.weight").contains("F32").contains("[64, 48]").contains("12,288")
        .contains("position_ids").contains("kept (integer)").contains("10 tensors");
    Run json = q16("inspect", "--json", file.toString());
    assertThat(json.out()).contains("\"totalBytes\"");

    for (String cmd : new String[] {"inspect", "quantize", "verify"}) {
      Run help = q16(cmd, "--help");
      assertThat(help.code()).isZero();
      assertThat(help.out()).contains("Usage: q16 " + cmd);
    }
    Run usage = q16("quantize", file.toString());
    assertThat(usage.code()).isEqualTo(2);
    assertThat(usage.err()).contains("Missing required option: '--out=DIR'");
    Run scheme = q16("quantize", file.toString(), "--out", tmp.resolve("o").toString(), "--scheme", "nope");
    assertThat(scheme.code()).isEqualTo(2);
    assertThat(scheme.err()).contains("unknown scheme 'nope'");
  }

  @Test
  void configFileSuppliesDefaultsAndTheCommandLineWins() throws IOException {
    Path file = Models.write(tmp.resolve("m.safetensors"), GOOD);
    Path conf = tmp.resolve("q16.properties");
    Files.writeString(conf, "quantize.scheme = symmetric-restricted\nshard-mb = 0.0005\n");
    assertThat(q16("quantize", file.toString(), "--out", tmp.resolve("a").toString(), "--config", conf.toString())
        .code()).isZero();
    Manifest a = Outputs.manifest(tmp.resolve("a"));
    assertThat(a.config().scheme()).isEqualTo("symmetric-restricted");
    assertThat(a.config().shardBytes()).isEqualTo((long) (0.0005 * (1 << 20)));
    assertThat(q16("quantize", file.toString(), "--out", tmp.resolve("b").toString(), "--config", conf.toString(),
        "--scheme", "asymmetric").code()).isZero();
    assertThat(Outputs.manifest(tmp.resolve("b")).config().scheme()).isEqualTo("asymmetric");
    assertThat(q16("verify", tmp.resolve("b").toString()).code()).isZero();
  }

  private static void truncate(Path f, long size) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(size);
    }
  }

  private static void putLength(Path f, long n) throws IOException {
    byte[] b = Files.readAllBytes(f);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
    Files.write(f, b);
  }

  /** Edits the JSON header in place, keeping its length (pads or trims trailing spaces). */
  private static void replaceInHeader(Path f, String from, String to) throws IOException {
    byte[] b = Files.readAllBytes(f);
    long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
    assertThat(header).contains(from);
    String edited = header.replace(from, to).stripTrailing();
    assertThat(edited.length()).isLessThanOrEqualTo((int) n);
    byte[] e = (edited + " ".repeat((int) n - edited.length())).getBytes(StandardCharsets.UTF_8);
    System.arraycopy(e, 0, b, 8, e.length);
    Files.write(f, b);
  }
}
