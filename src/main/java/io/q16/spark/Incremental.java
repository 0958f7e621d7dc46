package io.q16.spark;

import io.q16.Errors;
import io.q16.format.Manifest;
import io.q16.fs.HadoopFs;
import io.q16.quant.RoundTripStats;
import io.q16.report.QuantizeReport;
import io.q16.tensor.Chunk;
import io.q16.tensor.Plan;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * {@code quantize --incremental}: what a previous Q16 output can give a new run. Driver-side
 * planning only; the executors copy shards and rows where this says.
 *
 * <p>A tensor is reused when the previous manifest has it with the same source CRC-32C and the same
 * quantization: dtype, shape, scheme, granularity, storage, parameters, range, threshold and chunk
 * count (compared entry field by entry field, so anything that changes the codes forces a
 * re-quantization). Its codes are then the previous rows, found by position: shards hold the
 * chunks of the quantized tensors in manifest order, so a chunk's shard and row follow from the
 * tensors' chunk counts and the shards' row counts (checked against each tensor's shard list).
 * The quantize pass reads only the source chunks of the other tensors; a new shard made wholly of
 * one previous shard's rows, in order, is that shard's file copied. What the quantize pass
 * measures (clipped count, codes CRC, round-trip error and histogram) comes for reused tensors
 * from the previous manifest and report.json, whose sums are stored exactly for that.
 *
 * <p>The whole previous output is set aside (every tensor re-quantized, with the reason said)
 * when it was written by another Q16 version, with another chunk size, overflow or NaN policy,
 * or without the report's sums.
 */
final class Incremental {
  private static final java.util.regex.Pattern SHARD_PATH =
      java.util.regex.Pattern.compile(QuantizeJob.SHARDS_DIR + "/[^/]+\\.parquet");
  /** Why a tensor is quantized again rather than reused. */
  enum Reason {
    NEW("not in the previous output"),
    SOURCE_CHANGED("source changed"),
    CONFIG_CHANGED("quantization changed");

    final String text;

    Reason(String text) {
      this.text = text;
    }
  }

  /** Where a previous chunk's row is: its shard (index, path) and row within it. */
  record Location(int shard, String path, int row) {}

  private final String dir;
  private final Manifest manifest;
  private final Map<String, Manifest.TensorEntry> entries;
  private final Map<String, QuantizeReport.Tensor> report;
  /** Per quantized tensor of the previous output: its first chunk's index over all shards' rows. */
  private final Map<String, Long> firstRow = new HashMap<>();
  private final long[] shardStart;
  private final String unusable;

  private Incremental(String dir, Manifest manifest, QuantizeReport.Report report, String unusable) {
    this.dir = dir;
    this.manifest = manifest;
    this.entries = manifest.tensorsByName();
    this.report = new HashMap<>();
    if (report != null) {
      for (QuantizeReport.Tensor t : report.tensors()) {
        this.report.put(t.name(), t);
      }
    }
    shardStart = new long[manifest.shards().size() + 1];
    for (int s = 0; s < manifest.shards().size(); s++) {
      shardStart[s + 1] = shardStart[s] + manifest.shards().get(s).rows();
    }
    this.unusable = unusable != null ? unusable : locate();
  }

  /**
   * The previous output at {@code dir}. Null, with the reason printed, when there is none and
   * {@code required} is false (the first run of a schedule); an error naming it when required.
   */
  static Incremental load(String dir, Configuration conf, boolean required, String version,
      Manifest.Config config, java.io.PrintStream progress) throws IOException {
    String manifestPath = new Path(dir, Manifest.FILE_NAME).toString();
    if (HadoopFs.statusOrNull(manifestPath, conf) == null) {
      if (required) {
        throw Errors.badFile(dir, "--previous is not a Q16 output (no " + Manifest.FILE_NAME + ")");
      }
      progress.printf("[incremental] no previous output at %s: quantizing every tensor%n", dir);
      return null;
    }
    Manifest m;
    try {
      m = Manifest.fromJson(HadoopFs.readSmall(manifestPath, conf, 1L << 30, "manifest"));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw Errors.badFile(manifestPath, "previous manifest is not valid: " + e.getOriginalMessage());
    }
    if (!Manifest.FORMAT.equals(m.format()) || m.shards() == null || m.tensors() == null || m.config() == null) {
      throw Errors.badFile(manifestPath, "is not a Q16 manifest");
    }
    for (Manifest.Shard sh : m.shards()) {
      // Shards are read and copied from here: only files of its own shards/ folder.
      if (sh.path() == null || !SHARD_PATH.matcher(sh.path()).matches() || sh.rows() < 0) {
        throw Errors.badFile(manifestPath, "lists shard " + sh.path() + ", not a file of its " + QuantizeJob.SHARDS_DIR
            + "/ folder");
      }
    }
    String unusable = null;
    QuantizeReport.Report report = null;
    if (!version.equals(m.tool() == null ? null : m.tool().version())) {
      unusable = "written by q16 " + (m.tool() == null ? "?" : m.tool().version()) + ", this is " + version;
    } else if (m.config().chunkBytes() != config.chunkBytes()) {
      unusable = "its chunk size is " + m.config().chunkBytes() + " bytes, this run's " + config.chunkBytes();
    } else if (!Objects.equals(m.config().overflow(), config.overflow())) {
      unusable = "its overflow policy is " + m.config().overflow() + ", this run's " + config.overflow();
    } else if (!Objects.equals(m.config().nanPolicy(), config.nanPolicy())) {
      unusable = "its NaN policy is " + m.config().nanPolicy() + ", this run's " + config.nanPolicy();
    } else {
      String reportPath = new Path(new Path(dir, QuantizeJob.REPORT_DIR), "report.json").toString();
      if (HadoopFs.statusOrNull(reportPath, conf) == null) {
        unusable = "it has no " + QuantizeJob.REPORT_DIR + "/report.json";
      } else {
        try {
          report = QuantizeReport.fromJson(HadoopFs.readSmall(reportPath, conf, 1L << 30, "report"));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
          unusable = "its report.json is not valid (" + e.getOriginalMessage() + ")";
        }
      }
    }
    Incremental inc = new Incremental(dir, m, report, unusable);
    if (inc.unusable != null) {
      progress.printf("[incremental] cannot reuse %s: %s; quantizing every tensor%n", dir, inc.unusable);
      return null;
    }
    return inc;
  }

  /**
   * Checks that the shards follow the tensors' chunks (see the class comment) and records each
   * tensor's first row; returns why not, or null.
   */
  private String locate() {
    long row = 0;
    for (Manifest.TensorEntry e : manifest.tensors()) {
      if (!Manifest.TensorEntry.QUANTIZED.equals(e.status())) {
        continue;
      }
      if (e.chunks() == null || e.shards() == null) {
        return "tensor '" + e.name() + "' has no chunk or shard list";
      }
      QuantizeReport.Tensor r = report.get(e.name());
      if (r == null || r.sumX2() == null || r.sumE2() == null || r.histogram() == null) {
        return "its report.json lacks the round-trip sums of tensor '" + e.name() + "'";
      }
      QuantizeReport.Histogram h = r.histogram();
      if (!(h.hi() >= 0) || Float.isInfinite(h.hi()) || h.counts() == null
          || h.counts().length != RoundTripStats.REPORT_BINS) {
        return "its report.json has no " + RoundTripStats.REPORT_BINS + "-bin histogram of tensor '" + e.name() + "'";
      }
      List<Integer> shards = new ArrayList<>();
      for (int k = 0; k < e.chunks(); k++) {
        int s = shardOf(row + k);
        if (s < 0) {
          return "its shards hold fewer rows than its tensors have chunks";
        }
        if (shards.isEmpty() || shards.get(shards.size() - 1) != s) {
          shards.add(s);
        }
      }
      if (!shards.equals(e.shards())) {
        return "tensor '" + e.name() + "' lists shards " + e.shards() + " where its chunks are in " + shards;
      }
      firstRow.put(e.name(), row);
      row += e.chunks();
    }
    if (row != shardStart[shardStart.length - 1]) {
      return "its shards hold " + shardStart[shardStart.length - 1] + " rows for " + row + " chunks";
    }
    return null;
  }

  /** The shard holding global row {@code row}, or -1. */
  private int shardOf(long row) {
    int lo = 0;
    int hi = shardStart.length - 2;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (row < shardStart[mid]) {
        hi = mid - 1;
      } else if (row >= shardStart[mid + 1]) {
        lo = mid + 1;
      } else {
        return mid;
      }
    }
    return -1;
  }

  /** The previous output's directory. */
  String dir() {
    return dir;
  }

  Manifest manifest() {
    return manifest;
  }

  /**
   * Null if the previous output holds {@code draft}'s tensor quantized exactly as this run would
   * (the draft is this run's entry without what the quantize pass measures), else why not.
   */
  Reason compare(Manifest.TensorEntry draft) {
    Manifest.TensorEntry p = entries.get(draft.name());
    if (p == null || !Manifest.TensorEntry.QUANTIZED.equals(p.status()) || !firstRow.containsKey(p.name())) {
      return Reason.NEW;
    }
    if (!Objects.equals(p.sourceCrc32c(), draft.sourceCrc32c()) || !Objects.equals(p.sourceBytes(), draft.sourceBytes())
        || !Objects.equals(p.dtype(), draft.dtype()) || !Objects.equals(p.shape(), draft.shape())) {
      return Reason.SOURCE_CHANGED;
    }
    boolean same = Objects.equals(p.scheme(), draft.scheme())
        && Objects.equals(p.granularity(), draft.granularity())
        && Objects.equals(p.axis(), draft.axis())
        && Objects.equals(p.groupSize(), draft.groupSize())
        && Objects.equals(p.units(), draft.units())
        && Objects.equals(p.storage(), draft.storage())
        && Objects.equals(p.scale(), draft.scale())
        && Objects.equals(p.zeroPoint(), draft.zeroPoint())
        && Objects.equals(p.qmin(), draft.qmin())
        && Objects.equals(p.qmax(), draft.qmax())
        && Objects.equals(p.min(), draft.min())
        && Objects.equals(p.max(), draft.max())
        && Objects.equals(p.nan(), draft.nan())
        && Objects.equals(p.posInf(), draft.posInf())
        && Objects.equals(p.negInf(), draft.negInf())
        && Objects.equals(p.threshold(), draft.threshold())
        && Objects.equals(p.codec(), draft.codec())
        && Objects.equals(p.chunks(), draft.chunks());
    return same ? null : Reason.CONFIG_CHANGED;
  }

  /** The previous entry of a reused tensor. */
  Manifest.TensorEntry entry(String tensor) {
    return entries.get(tensor);
  }

  /** The previous report's entry of a reused tensor. */
  QuantizeReport.Tensor reported(String tensor) {
    return report.get(tensor);
  }

  /** The round-trip statistics the previous run measured for a reused tensor, as they were merged. */
  RoundTripStats roundTrip(String tensor) {
    QuantizeReport.Tensor r = report.get(tensor);
    return RoundTripStats.of(r.histogram().hi(), r.histogram().counts(), r.finite(), r.sumX2(), r.sumE2(),
        r.maxAbsErr());
  }

  /** Where chunk {@code chunk} of a reused tensor is in the previous output. */
  Location location(String tensor, int chunk) {
    long row = firstRow.get(tensor) + chunk;
    int s = shardOf(row);
    return new Location(s, new Path(dir, manifest.shards().get(s).path()).toString(), (int) (row - shardStart[s]));
  }

  /**
   * The previous shard whose file the new shard {@code shard} is, byte for byte, or -1: every
   * chunk of the new shard reused, all from one previous shard and all of its rows in order, with
   * the same Parquet settings (the chunk size, which sets the row group size, is already equal).
   */
  int copyOf(Plan plan, List<Integer> chunkIds, boolean[] reused, String compression) {
    if (!Objects.equals(manifest.config().compression(), compression) || chunkIds.isEmpty()) {
      return -1;
    }
    int source = -1;
    for (int i = 0; i < chunkIds.size(); i++) {
      Chunk c = plan.chunks().get(chunkIds.get(i));
      if (!reused[c.tensor()]) {
        return -1;
      }
      Location l = location(plan.tensors().get(c.tensor()).name(), c.index());
      if ((source >= 0 && l.shard() != source) || l.row() != i) {
        return -1;
      }
      source = l.shard();
    }
    return manifest.shards().get(source).rows() == chunkIds.size() ? source : -1;
  }
}
