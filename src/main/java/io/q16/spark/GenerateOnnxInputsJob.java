package io.q16.spark;

import io.q16.Errors;
import io.q16.Units;
import io.q16.format.OnnxActivations;
import io.q16.format.OnnxActivations.Input;
import io.q16.format.OnnxReader;
import io.q16.format.OnnxSchema;
import io.q16.fs.HadoopFs;
import io.q16.fs.OutputDir;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code q16 generate onnx-inputs MODEL.onnx --out PATH}: a seeded dataset of model inputs in the
 * format {@link OnnxInputs} reads, shaped after the model's declared inputs. Each sample's shape is
 * the declared one with the leading symbolic (batch) axis 1 and every later symbolic axis
 * {@code seqLen}; a {@code <input>__shape} column is written when an input has such later axes.
 * Values, by input name (case-insensitive) and type:
 *
 * <ul>
 *   <li>float, double: standard Gaussian;
 *   <li>integers: "mask" → 1; "type" (token_type_ids: one segment) → 0, since a segment id beyond
 *       the model's few segment embeddings fails the Gather; "position" → the index along the last
 *       axis; "ids" → uniform in [0, vocab); others → 0;
 *   <li>bool: "mask" → true, others false.
 * </ul>
 *
 * Rows are computed on executors from (seed, sample, input), so the same arguments give the same
 * rows; {@code sample} (BIGINT) numbers them.
 */
public final class GenerateOnnxInputsJob {
  /** What to write. */
  public record Options(String model, String out, long samples, long seed, int seqLen, long vocab, int partitions) {}

  /** What was written. */
  public record Result(String out, long rows, int files, long bytes, double seconds) {}

  private GenerateOnnxInputsJob() {}

  public static Result run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    if (o.samples() < 1 || o.seqLen() < 1 || o.vocab() < 1) {
      throw Errors.usage("--samples, --seq-len and --vocab must be at least 1");
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    OnnxActivations acts = OnnxActivations.of(o.model(), OnnxReader.read(o.model(), conf), conf);
    if (acts.inputs().isEmpty()) {
      throw Errors.badFile(acts.path(), "the model has no graph inputs");
    }
    List<Input> inputs = acts.inputs();
    long[][] shapes = new long[inputs.size()][];
    boolean[] shapeColumn = new boolean[inputs.size()];
    StructType schema = new StructType().add("sample", DataTypes.LongType, false);
    long valuesPerSample = 0;
    for (int i = 0; i < shapes.length; i++) {
      Input in = inputs.get(i);
      DataType element = element(in.elemType());
      if (element == null || in.dims() == null) {
        throw Errors.badFile(acts.path(), "model input " + in + ": generate onnx-inputs writes float, double, int64,"
            + " int32 and bool inputs of a declared rank");
      }
      shapes[i] = in.dims();
      for (int d = 0; d < shapes[i].length; d++) {
        if (shapes[i][d] < 0) {
          shapes[i][d] = d == 0 ? 1 : o.seqLen();
          shapeColumn[i] |= d > 0;
        }
      }
      valuesPerSample += Values.count(shapes[i]);
      schema = schema.add(in.name(), DataTypes.createArrayType(element, false), false);
      if (shapeColumn[i]) {
        schema = schema.add(in.name() + OnnxInputs.SHAPE_SUFFIX, DataTypes.createArrayType(DataTypes.LongType, false),
            false);
      }
    }
    int partitions = (int) Math.min(o.samples(), o.partitions() > 0 ? o.partitions()
        : Math.max(1, spark.sparkContext().defaultParallelism()));
    if (HadoopFs.statusOrNull(o.out(), conf) != null) {
      throw Errors.output(o.out(), "exists; refusing to overwrite it");
    }
    long t0 = System.nanoTime();
    progress.printf(Locale.ROOT, "[plan] %s: %d samples of %s (%d values each) for %s in %s, seed %d%n", o.out(),
        o.samples(), inputs, valuesPerSample, acts.path(), Units.count(partitions, "file"), o.seed());
    try (OutputDir out = OutputDir.create(o.out(), conf, OutputDir.newRunId(), "_SUCCESS")) {
      JavaRDD<Row> rows = spark.range(0, o.samples(), 1, partitions).javaRDD()
          .mapPartitions(new GenerateRows(inputs.toArray(new Input[0]), shapes, shapeColumn, o.seed(), o.vocab()));
      spark.createDataFrame(rows, schema).write()
          .mode(SaveMode.Overwrite) // the empty staging directory, ours
          .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
          .parquet(out.staging().toString());
      int files = PartFiles.list(out.fileSystem(), out.staging()).size();
      long written = PartFiles.renameInOrder(out.fileSystem(), out.staging(), o.out());
      out.commit();
      return new Result(o.out(), o.samples(), files, written, (System.nanoTime() - t0) / 1e9);
    }
  }

  private static DataType element(int elemType) {
    return switch (elemType) {
      case OnnxSchema.FLOAT -> DataTypes.FloatType;
      case OnnxSchema.DOUBLE -> DataTypes.DoubleType;
      case OnnxSchema.INT64 -> DataTypes.LongType;
      case OnnxSchema.INT32 -> DataTypes.IntegerType;
      case OnnxSchema.BOOL -> DataTypes.BooleanType;
      default -> null;
    };
  }

  /** Values of one input of one sample, from (seed, sample, input) only. */
  static final class Values {
    private Values() {}

    static int count(long[] shape) {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      if (n > Integer.MAX_VALUE - 8) {
        throw Errors.usage("a sample of shape " + java.util.Arrays.toString(shape) + " has more values than an array holds");
      }
      return (int) n;
    }

    static Object values(Input in, long[] shape, long seed, long sample, int index, long vocab) {
      int n = count(shape);
      String name = in.name().toLowerCase(Locale.ROOT);
      // SplittableRandom's constructor mixes the seed: nearby (sample, input) pairs give unrelated streams.
      SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + sample * 0x632BE59BD9B4E019L + index);
      int last = shape.length == 0 ? 1 : (int) Math.max(1, shape[shape.length - 1]);
      switch (in.elemType()) {
        case OnnxSchema.FLOAT -> {
          float[] v = new float[n];
          for (int j = 0; j < n; j++) {
            v[j] = (float) r.nextGaussian();
          }
          return v;
        }
        case OnnxSchema.DOUBLE -> {
          double[] v = new double[n];
          for (int j = 0; j < n; j++) {
            v[j] = r.nextGaussian();
          }
          return v;
        }
        case OnnxSchema.BOOL -> {
          boolean[] v = new boolean[n];
          java.util.Arrays.fill(v, name.contains("mask"));
          return v;
        }
        default -> {
          long[] v = new long[n];
          for (int j = 0; j < n; j++) {
            v[j] = name.contains("mask") ? 1 : name.contains("type") ? 0 : name.contains("position") ? j % last
                : name.contains("ids") ? r.nextLong(vocab) : 0;
          }
          if (in.elemType() == OnnxSchema.INT64) {
            return v;
          }
          int[] w = new int[n];
          for (int j = 0; j < n; j++) {
            w[j] = (int) Math.min(Integer.MAX_VALUE, v[j]);
          }
          return w;
        }
      }
    }
  }

  /** Executor side: each sample's row computed as the writer pulls it. */
  static final class GenerateRows implements FlatMapFunction<Iterator<Long>, Row> {
    private static final long serialVersionUID = 1L;
    private final Input[] inputs;
    private final long[][] shapes;
    private final boolean[] shapeColumn;
    private final long seed;
    private final long vocab;

    GenerateRows(Input[] inputs, long[][] shapes, boolean[] shapeColumn, long seed, long vocab) {
      this.inputs = inputs;
      this.shapes = shapes;
      this.shapeColumn = shapeColumn;
      this.seed = seed;
      this.vocab = vocab;
    }

    @Override
    public Iterator<Row> call(Iterator<Long> ids) {
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return ids.hasNext();
        }

        @Override
        public Row next() {
          long sample = ids.next();
          List<Object> cols = new ArrayList<>();
          cols.add(sample);
          for (int i = 0; i < inputs.length; i++) {
            cols.add(Values.values(inputs[i], shapes[i], seed, sample, i, vocab));
            if (shapeColumn[i]) {
              cols.add(shapes[i]);
            }
          }
          return RowFactory.create(cols.toArray());
        }
      };
    }
  }
}
