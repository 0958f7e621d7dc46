package io.q16.spark;

import io.q16.Errors;
import io.q16.Units;
import io.q16.format.SyntheticActivations;
import io.q16.fs.HadoopFs;
import io.q16.fs.OutputDir;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 generate activations --out PATH}: a seeded synthetic activation dataset in the format
 * {@code calibrate --activations} reads ({@link ActivationSource}), written by Spark's Parquet writer
 * on executors. Each task computes its rows one at a time from the seed and their (tensor, sample)
 * coordinates ({@link SyntheticActivations}) while the writer buffers a row group; nothing is built
 * on the driver. The same arguments give the same rows in the same files (parquet-mr orders a
 * footer list of encodings differently from run to run, so the bytes can differ there).
 */
public final class GenerateActivationsJob {
  /** What to write: {@code tensors × samples} rows of {@code values} float32 values each. */
  public record Options(String out, int tensors, long samples, int values, long seed, int partitions,
      long rowGroupBytes, String compression) {}

  /** What was written. */
  public record Result(String out, long rows, int files, long bytes, double seconds) {}

  private GenerateActivationsJob() {}

  public static Result run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    if (o.tensors() < 1 || o.samples() < 1 || o.values() < 1) {
      throw Errors.usage("--tensors, --samples and --values-per-sample must be at least 1");
    }
    if (o.values() > (Integer.MAX_VALUE - 64) / 4) {
      throw Errors.usage("--values-per-sample " + o.values() + " exceeds one Spark array of float32");
    }
    long rows;
    long bytes;
    try {
      rows = Math.multiplyExact((long) o.tensors(), o.samples());
      bytes = Math.multiplyExact(rows, 4L * o.values());
    } catch (ArithmeticException e) {
      throw Errors.usage("--tensors x --samples x --values-per-sample x 4 bytes overflows 2^63");
    }
    // Files of about 128 MiB by default: several tasks, not thousands of small files.
    int partitions = o.partitions() > 0 ? o.partitions()
        : (int) Math.max(1, Math.min(Math.min(rows, Integer.MAX_VALUE), (bytes + (128L << 20) - 1) / (128L << 20)));
    partitions = (int) Math.min(partitions, rows);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    if (HadoopFs.statusOrNull(o.out(), conf) != null) {
      throw Errors.output(o.out(), "exists; refusing to overwrite it");
    }
    long t0 = System.nanoTime();
    progress.printf(Locale.ROOT, "[plan] %s: %d tensors x %d samples x %d values (%s) in %s, seed %d%n", o.out(),
        o.tensors(), o.samples(), o.values(), Units.bytes(bytes), Units.count(partitions, "file"), o.seed());
    try (OutputDir out = OutputDir.create(o.out(), conf, OutputDir.newRunId(), "_SUCCESS")) {
      long[] partBytes = new long[partitions];
      for (int p = 0; p < partitions; p++) {
        partBytes[p] = ((p + 1) * rows / partitions - p * rows / partitions) * 4L * o.values();
      }
      try (Progress p = Progress.ofScan(spark.sparkContext(), "generate", partBytes, o.tensors(), progress)) {
        // spark.range gives partition p the ids [p·rows/P, (p+1)·rows/P): contiguous, sample-major.
        Dataset<ActivationRow> ds = spark.range(0, rows, 1, partitions)
            .mapPartitions(new GenerateRows(o.tensors(), o.values(), o.seed()), ActivationRow.ENCODER);
        ds.select(ActivationSource.TENSOR, ActivationSource.SAMPLE, ActivationSource.VALUES, ActivationSource.SHAPE)
            .write()
            .mode(SaveMode.Overwrite) // the empty staging directory, ours
            .option("compression", o.compression())
            // Row groups bound the memory of every reader (Parquet reads a row group's column
            // whole); measuring buffers after each row keeps large rows from overshooting them.
            .option("parquet.block.size", Long.toString(QuantizeJob.roundUpToMib(o.rowGroupBytes())))
            .option("parquet.page.size.row.check.min", "1")
            .option("parquet.page.size.row.check.max", "1")
            // Float payloads defeat dictionaries, which Parquet would build, then drop, per row group.
            .option("parquet.enable.dictionary#" + ActivationSource.VALUES + ".list.element", "false")
            .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
            .parquet(out.staging().toString());
      }
      // Part names without the job's UUID, so that the same arguments give the same file names.
      int files = PartFiles.list(out.fileSystem(), out.staging()).size();
      long written = PartFiles.renameInOrder(out.fileSystem(), out.staging(), o.out());
      out.commit();
      return new Result(o.out(), rows, files, written, (System.nanoTime() - t0) / 1e9);
    }
  }

  /** Executor side: the rows of a range of ids, computed one at a time as the writer pulls them. */
  static final class GenerateRows implements MapPartitionsFunction<Long, ActivationRow> {
    private static final long serialVersionUID = 1L;
    private final int tensors;
    private final int values;
    private final long seed;

    GenerateRows(int tensors, int values, long seed) {
      this.tensors = tensors;
      this.values = values;
      this.seed = seed;
    }

    @Override
    public Iterator<ActivationRow> call(Iterator<Long> ids) {
      int[] shape = {values};
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return ids.hasNext();
        }

        @Override
        public ActivationRow next() {
          long id = ids.next();
          int t = (int) (id % tensors);
          long sample = id / tensors;
          float[] v = new float[values];
          SyntheticActivations.fill(v, values, seed, t, sample);
          return new ActivationRow(SyntheticActivations.name(t), sample, v, shape);
        }
      };
    }
  }
}
