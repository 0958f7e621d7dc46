package io.q16.spark;

import io.q16.Errors;
import io.q16.Units;
import io.q16.calib.Fold;
import io.q16.calib.RangeStats;
import io.q16.quant.NanPolicy;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.Partition;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import scala.Tuple2;

/**
 * An activation dataset as calibration values: recorded activations in Parquet, long format, one
 * row per (sample, tensor): {@code tensor} STRING, {@code sample} BIGINT (or INT), {@code values}
 * ARRAY&lt;FLOAT&gt; (the activation, flattened), optionally {@code shape} ARRAY&lt;INT&gt; (or
 * BIGINT), whose product must then equal the number of values. Other columns are ignored.
 *
 * <p>Executors read the dataset with Spark's Parquet reader and fold each row into its tensor's
 * statistic as it passes: no activation is kept beyond its row, and nothing but merged statistics
 * reaches the driver. A task holds one row group of the {@code values} column (Parquet reads a row
 * group's column chunk whole), one reader batch, and one statistic per tensor it has seen.
 */
final class ActivationSource implements ValueSource {
  static final String TENSOR = "tensor";
  static final String SAMPLE = "sample";
  static final String VALUES = "values";
  static final String SHAPE = "shape";
  static final String EXPECTED =
      "expected columns tensor STRING, sample BIGINT, values ARRAY<FLOAT>, optionally shape ARRAY<INT>";

  /**
   * Decoded bytes a reader batch aims at. Spark's vectorized Parquet reader decodes 4096 rows per
   * batch by default: with activations of megabytes a row that is gigabytes per task.
   */
  static final long BATCH_BYTES = 4L << 20;

  private static final String BATCH_SIZE = "spark.sql.parquet.columnarReaderBatchSize";
  private static final String MAX_PARTITION_BYTES = "spark.sql.files.maxPartitionBytes";

  private final SparkSession reader;
  private final String path;
  private final Dataset<Row> scan;
  private final List<String> names;
  private final long rows;
  private final long bytes;
  private final int batchRows;
  private final PrintStream progress;

  private ActivationSource(SparkSession reader, String path, Dataset<Row> scan, List<String> names, long rows,
      long bytes, int batchRows, PrintStream progress) {
    this.reader = reader;
    this.path = path;
    this.scan = scan;
    this.names = names;
    this.rows = rows;
    this.bytes = bytes;
    this.batchRows = batchRows;
    this.progress = progress;
  }

  /**
   * Checks the dataset's schema and lists its tensors (pass 0: the {@code tensor} column only),
   * before any output exists. Bad input is one line naming {@code path}.
   *
   * @param partitionOption tasks per pass, about (Parquet splits at row groups); 0: Spark's split
   */
  static ActivationSource open(SparkSession spark, String path, int partitionOption, PrintStream progress) {
    // A session of its own: the reader settings below apply to this dataset's scans only, whatever
    // else runs in the caller's session, and need no restoring.
    SparkSession reader = spark.newSession();
    Dataset<Row> df = read(reader, path);
    checkSchema(path, df.schema());
    long t0 = System.nanoTime();
    List<Row> counts = reading(path, () -> df.groupBy(functions.col(TENSOR)).count().collectAsList());
    List<String> names = new ArrayList<>();
    long rows = 0;
    for (Row r : counts) {
      if (r.isNullAt(0)) {
        throw Errors.badFile(path, r.getLong(1) + " row" + (r.getLong(1) == 1 ? " has" : "s have")
            + " a null tensor name");
      }
      names.add(r.getString(0));
      rows += r.getLong(1);
    }
    if (rows == 0) {
      throw Errors.badFile(path, "the activation dataset holds no rows");
    }
    names.sort(null);
    long bytes = df.queryExecution().analyzed().stats().sizeInBytes().longValue();
    int batch = readerBatchRows(reader, bytes, rows);
    splitInto(reader, bytes, partitionOption);
    progress.printf(Locale.ROOT, "[names] %s, %s of activations in %s rows, listed in %.1fs%n",
        Units.count(names.size(), "tensor"), Units.bytes(bytes), rows, (System.nanoTime() - t0) / 1e9);
    List<Column> cols = new ArrayList<>(List.of(functions.col(TENSOR), functions.col(SAMPLE).cast("bigint"),
        functions.col(VALUES), functions.input_file_name()));
    if (Arrays.asList(df.schema().fieldNames()).contains(SHAPE)) {
      cols.add(functions.col(SHAPE).cast("array<bigint>"));
    }
    return new ActivationSource(reader, path, df.select(cols.toArray(new Column[0])), names, rows, bytes, batch,
        progress);
  }

  /** Asks {@code reader} to split {@code bytes} of files into about {@code partitions} tasks (0: Spark's split). */
  static void splitInto(SparkSession reader, long bytes, int partitions) {
    if (partitions > 0) {
      reader.conf().set(MAX_PARTITION_BYTES, Math.max(1, (bytes + partitions - 1) / partitions));
    }
  }

  /**
   * Sets {@code reader}'s Parquet batch to about {@link #BATCH_BYTES} of decoded rows of the mean
   * size ({@code bytes / rows}), and returns its rows.
   */
  static int readerBatchRows(SparkSession reader, long bytes, long rows) {
    int batch = (int) Math.max(1, Math.min(4096, BATCH_BYTES / Math.max(1, bytes / Math.max(1, rows))));
    reader.conf().set(BATCH_SIZE, batch);
    return batch;
  }

  /** The dataset at {@code path}; a missing path, no Parquet files or unreadable footers are bad input naming it. */
  static Dataset<Row> read(SparkSession reader, String path) {
    try {
      return reader.read().parquet(path);
    } catch (Exception e) { // Scala's AnalysisException is a checked exception to javac
      String m = String.valueOf(e.getMessage());
      if (e instanceof AnalysisException && (m.contains("PATH_NOT_FOUND") || m.contains("does not exist"))) {
        throw Errors.missing(path);
      }
      if (e instanceof AnalysisException && (m.contains("UNABLE_TO_INFER_SCHEMA") || m.contains("Unable to infer"))) {
        throw Errors.badFile(path, "holds no Parquet files (a dataset is a Parquet file or directory)");
      }
      // Schema inference reads footers: a file that is not Parquet fails there (a SparkException).
      throw Errors.badFile(path, "cannot be read as Parquet: " + firstLine(rootMessage(e)), e);
    }
  }

  /** Refuses a schema without the columns of the format. */
  static void checkSchema(String path, StructType schema) {
    List<String> found = Arrays.asList(schema.fieldNames());
    for (String required : List.of(TENSOR, SAMPLE, VALUES)) {
      if (!found.contains(required)) {
        throw Errors.badFile(path, "activation dataset has no column '" + required + "' (found "
            + String.join(", ", found) + "; " + EXPECTED + ")");
      }
    }
    StructField tensor = schema.apply(TENSOR);
    StructField sample = schema.apply(SAMPLE);
    StructField values = schema.apply(VALUES);
    if (!tensor.dataType().equals(DataTypes.StringType)) {
      throw wrongType(path, tensor);
    }
    if (!isInteger(sample.dataType())) {
      throw wrongType(path, sample);
    }
    if (!(values.dataType() instanceof ArrayType a && a.elementType().equals(DataTypes.FloatType))) {
      throw wrongType(path, values);
    }
    if (found.contains(SHAPE)) {
      StructField shape = schema.apply(SHAPE);
      if (!(shape.dataType() instanceof ArrayType s && isInteger(s.elementType()))) {
        throw wrongType(path, shape);
      }
    }
  }

  private static boolean isInteger(DataType t) {
    return t.equals(DataTypes.LongType) || t.equals(DataTypes.IntegerType);
  }

  private static RuntimeException wrongType(String path, StructField f) {
    return Errors.badFile(path, "activation dataset column '" + f.name() + "' is "
        + f.dataType().sql() + " (" + EXPECTED + ")");
  }

  @Override
  public List<String> names() {
    return names;
  }

  String path() {
    return path;
  }

  long rows() {
    return rows;
  }

  /** The dataset's file bytes. */
  long bytes() {
    return bytes;
  }

  /** Rows per reader batch, chosen from the mean row size. */
  int batchRows() {
    return batchRows;
  }

  @Override
  public <F extends Fold<F>, R> List<R> fold(String pass, Broadcast<? extends FoldFactory<F>> factory,
      Function<Tuple2<Integer, F>, R> finish) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(reader.sparkContext());
    boolean hasShape = scan.schema().fieldNames().length > 4;
    // InternalRow, not Row or a bean: a Row boxes every float, and a bean's float[] reads a null
    // element as 0. Rows are the reader's, valid until the next one: the fold copies out.
    JavaRDD<InternalRow> in = scan.queryExecution().toRdd().toJavaRDD();
    Broadcast<String[]> bNames = jsc.broadcast(names.toArray(new String[0]));
    int reducers = Math.max(1, Math.min(names.size(), jsc.defaultParallelism()));
    try (Progress p = Progress.ofScan(reader.sparkContext(), pass, partitionBytes(in.partitions()), names.size(),
        progress)) {
      return reading(path, () -> in.mapPartitionsToPair(new RowFold<F>(bNames, factory, path, hasShape))
          .reduceByKey((a, b) -> a.merge(b), reducers)
          .map(finish)
          .collect());
    }
  }

  /** Bytes each scan partition reads, for progress. */
  static long[] partitionBytes(List<Partition> parts) {
    long[] out = new long[parts.size()];
    for (int p = 0; p < out.length; p++) {
      if (parts.get(p) instanceof FilePartition fp) {
        for (PartitionedFile f : fp.files()) {
          out[p] += f.length();
        }
      }
    }
    return out;
  }

  /** Pass 1: exact ranges per tensor, refusing NaN under {@code --nan error}. */
  RangeStats[] ranges(JavaSparkContext jsc, NanPolicy policy) {
    RangeStats[] out = collect("ranges", jsc.broadcast(new Ranges()), RangeStats.class);
    for (int t = 0; t < out.length; t++) {
      if (out[t] == null) {
        throw Errors.badTensor(path, names.get(t), "its rows disappeared between passes (is the dataset being written?)");
      }
    }
    StatsPass.checkNan(java.util.Collections.nCopies(out.length, path), names, out, policy, "calibrate");
    return out;
  }

  /**
   * SHA-256 over each tensor's name, value count, non-finite counts, min and max (float bits): the
   * same dataset gives the same fingerprint however it is split into files.
   */
  static String fingerprint(List<String> names, RangeStats[] ranges) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (int t = 0; t < names.size(); t++) {
        RangeStats r = ranges[t];
        md.update(String.format(Locale.ROOT, "%s\0%d %d %d %d %08x %08x%n", names.get(t), r.finite(), r.nan(),
            r.posInf(), r.negInf(), Float.floatToRawIntBits(r.min()), Float.floatToRawIntBits(r.max()))
            .getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Pass 1's statistic: each tensor's range. */
  static final class Ranges implements FoldFactory<RangeStats> {
    private static final long serialVersionUID = 1L;

    @Override
    public RangeStats create(int tensor) {
      return new RangeStats();
    }
  }

  /**
   * Executor side: folds each row of the partition into its tensor's statistic as it passes. Rows of
   * different tensors interleave in any order, so a statistic per tensor seen is live until the end
   * of the partition; the values buffer is reused, grown to the longest row.
   */
  static final class RowFold<F extends Fold<F>> implements PairFlatMapFunction<Iterator<InternalRow>, Integer, F> {
    private static final long serialVersionUID = 1L;
    private static final int TENSOR_COL = 0;
    private static final int SAMPLE_COL = 1;
    private static final int VALUES_COL = 2;
    private static final int FILE_COL = 3;
    private static final int SHAPE_COL = 4;

    private final Broadcast<String[]> names;
    private final Broadcast<? extends FoldFactory<F>> factory;
    private final String path;
    private final boolean hasShape;

    RowFold(Broadcast<String[]> names, Broadcast<? extends FoldFactory<F>> factory, String path, boolean hasShape) {
      this.names = names;
      this.factory = factory;
      this.path = path;
      this.hasShape = hasShape;
    }

    @Override
    public Iterator<Tuple2<Integer, F>> call(Iterator<InternalRow> rows) {
      String[] sorted = names.value();
      FoldFactory<F> make = factory.value();
      List<F> folds = new ArrayList<>(java.util.Collections.nCopies(sorted.length, null));
      float[] buf = new float[1024];
      while (rows.hasNext()) {
        InternalRow r = rows.next();
        if (r.isNullAt(TENSOR_COL)) {
          throw bad(r, null, "tensor name is null");
        }
        String name = r.getUTF8String(TENSOR_COL).toString();
        int id = Arrays.binarySearch(sorted, name);
        if (id < 0) {
          throw bad(r, name, "tensor appeared after the dataset was listed (is it being written?)");
        }
        if (r.isNullAt(VALUES_COL)) {
          throw bad(r, name, "values is null");
        }
        ArrayData a = r.getArray(VALUES_COL);
        int n = a.numElements();
        // Checked whatever the schema says: Spark takes it from one file's footer, and another file
        // may still hold nulls, which would read as 0.
        int at = firstNull(a);
        if (at >= 0) {
          throw bad(r, name, "values[" + at + "] is null, expected a float32 value");
        }
        if (hasShape && !r.isNullAt(SHAPE_COL)) {
          checkShape(r, name, r.getArray(SHAPE_COL), n);
        }
        if (buf.length < n) {
          buf = new float[Math.max(n, (int) Math.min(Integer.MAX_VALUE - 8, 2L * buf.length))];
        }
        copy(a, buf, n);
        F f = folds.get(id);
        if (f == null) {
          f = make.create(id);
          folds.set(id, f);
        }
        f.accept(buf, 0, n);
      }
      List<Tuple2<Integer, F>> out = new ArrayList<>();
      for (int t = 0; t < folds.size(); t++) {
        if (folds.get(t) != null) {
          out.add(new Tuple2<>(t, folds.get(t)));
        }
      }
      return out.iterator();
    }

    /** The index of the first null element, or -1. */
    static int firstNull(ArrayData a) {
      int n = a.numElements();
      if (a instanceof UnsafeArrayData u && !anyNullBit(u, n)) {
        return -1;
      }
      for (int j = 0; j < n; j++) {
        if (a.isNullAt(j)) {
          return j;
        }
      }
      return -1;
    }

    /**
     * Whether any null bit is set, a word at a time rather than a bit test per value. UnsafeArrayData's
     * layout (its Javadoc): [numElements: 8 bytes][null bits, in 8-byte words][values].
     */
    private static boolean anyNullBit(UnsafeArrayData u, int n) {
      long at = u.getBaseOffset() + 8;
      for (int w = 0, words = (n + 63) / 64; w < words; w++, at += 8) {
        if (Platform.getLong(u.getBaseObject(), at) != 0) {
          return true;
        }
      }
      return false;
    }

    private static void copy(ArrayData a, float[] buf, int n) {
      if (a instanceof UnsafeArrayData u) {
        Platform.copyMemory(u.getBaseObject(), u.getBaseOffset() + UnsafeArrayData.calculateHeaderPortionInBytes(n),
            buf, Platform.FLOAT_ARRAY_OFFSET, 4L * n);
      } else {
        for (int j = 0; j < n; j++) {
          buf[j] = a.getFloat(j);
        }
      }
    }

    private void checkShape(InternalRow r, String name, ArrayData shape, int n) {
      long product = 1;
      for (int d = 0; d < shape.numElements() && product >= 0; d++) {
        long dim = shape.isNullAt(d) ? -1 : shape.getLong(d);
        try {
          product = dim < 0 ? -1 : Math.multiplyExact(product, dim);
        } catch (ArithmeticException overflow) {
          product = -1;
        }
      }
      if (product != n) {
        List<String> dims = new ArrayList<>();
        for (int d = 0; d < shape.numElements(); d++) {
          dims.add(shape.isNullAt(d) ? "null" : Long.toString(shape.getLong(d)));
        }
        throw bad(r, name, "shape [" + String.join(", ", dims) + "] does not match its " + n + " values");
      }
    }

    private RuntimeException bad(InternalRow r, String name, String what) {
      String file = r.isNullAt(FILE_COL) ? "" : r.getUTF8String(FILE_COL).toString();
      String where = file.isEmpty() ? path : file;
      String sample = r.isNullAt(SAMPLE_COL) ? "sample null" : "sample " + r.getLong(SAMPLE_COL);
      return name == null ? Errors.badFile(where, sample + ": " + what) : Errors.badTensor(where, name, sample + ": " + what);
    }
  }

  private static final java.util.regex.Pattern UNREADABLE = java.util.regex.Pattern.compile(
      "Encountered error while reading file (\\S+?)\\.? |(\\S+) is not a Parquet file");

  /**
   * Runs a Spark action over the dataset. A file Parquet cannot read (truncated, corrupt, not
   * Parquet) fails a task deep inside Spark: that becomes bad input naming the file. Q16's own
   * errors pass through (the command line finds them in the chain).
   */
  static <T> T reading(String path, java.util.function.Supplier<T> action) {
    try {
      return action.get();
    } catch (Exception e) { // SparkException is checked, and Scala throws it anyway
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof io.q16.Q16Exception) {
          throw unchecked(e);
        }
      }
      for (Throwable t = e; t != null; t = t.getCause()) {
        java.util.regex.Matcher m = UNREADABLE.matcher(String.valueOf(t.getMessage()));
        if (m.find()) {
          String file = m.group(1) != null ? m.group(1) : m.group(2);
          throw Errors.badFile(file, "cannot be read as Parquet (activation dataset " + path + "): "
              + firstLine(rootMessage(e)), e);
        }
      }
      throw unchecked(e);
    }
  }

  private static RuntimeException unchecked(Exception e) {
    return e instanceof RuntimeException r ? r : new RuntimeException(e);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
