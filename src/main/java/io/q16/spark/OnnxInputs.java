package io.q16.spark;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.q16.Errors;
import io.q16.format.OnnxActivations;
import io.q16.format.OnnxActivations.Input;
import io.q16.format.OnnxSchema;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * A dataset of ONNX model inputs in Parquet: one row per sample, and for each graph input a column
 * named exactly as the input holding the sample's tensor flattened row-major as an ARRAY of the
 * input's element type (float ← FLOAT; double ← DOUBLE or FLOAT; int64 ← BIGINT or INT; int32 ←
 * INT; bool ← BOOLEAN: only widenings that lose nothing), plus optionally {@code <input>__shape}
 * ARRAY&lt;BIGINT&gt; (or INT) with that sample's shape. Without a shape column (or where it is
 * null) the sample's shape is the declared one with a symbolic leading (batch) axis of 1, so the
 * shape column is required when a later axis is symbolic. Other columns are ignored.
 *
 * <p>The schema is checked against the model's declared inputs before anything runs; each row is
 * checked on the executor that decodes it (nulls, rank, fixed axes, element count), errors naming
 * the file, the row and the column. {@code calibrate MODEL.onnx --activations} reads this format,
 * {@code generate onnx-inputs} writes it, and {@link Batcher} turns rows into ONNX Runtime tensors.
 */
public final class OnnxInputs {
  /** The suffix of a shape column: {@code input_ids__shape}. */
  public static final String SHAPE_SUFFIX = "__shape";

  /** Column element kinds. */
  static final int FLOAT = 0;
  static final int DOUBLE = 1;
  static final int LONG = 2;
  static final int INT = 3;
  static final int BOOLEAN = 4;

  private final String path;
  private final Dataset<Row> scan;
  private final Input[] inputs;
  private final int[] kinds;
  private final long rows;
  private final long bytes;
  private JavaRDD<InternalRow> persisted;

  private OnnxInputs(String path, Dataset<Row> scan, Input[] inputs, int[] kinds, long rows, long bytes) {
    this.path = path;
    this.scan = scan;
    this.inputs = inputs;
    this.kinds = kinds;
    this.rows = rows;
    this.bytes = bytes;
  }

  /**
   * Checks the dataset at {@code path} against the model's inputs and counts its rows. Bad input is
   * one line naming the path and the column (or the model and the input).
   *
   * @param model the model file, for errors about its inputs
   * @param partitions about this many tasks per pass (0: Spark's file split)
   */
  static OnnxInputs open(SparkSession spark, String path, String model, List<Input> inputs, int partitions) {
    if (inputs.isEmpty()) {
      throw Errors.badFile(model, "the model has no graph inputs to feed");
    }
    // A session of its own, as for activation datasets: reader settings for this dataset only.
    SparkSession reader = spark.newSession();
    Dataset<Row> df = ActivationSource.read(reader, path);
    int[] kinds = checkSchema(path, model, df.schema(), inputs);
    long rows = ActivationSource.reading(path, df::count);
    if (rows == 0) {
      throw Errors.badFile(path, "the model input dataset holds no rows");
    }
    long bytes = df.queryExecution().analyzed().stats().sizeInBytes().longValue();
    ActivationSource.readerBatchRows(reader, bytes, rows);
    ActivationSource.splitInto(reader, bytes, partitions);
    List<String> found = Arrays.asList(df.schema().fieldNames());
    List<Column> cols = new ArrayList<>();
    for (Input in : inputs) {
      cols.add(functions.col(quote(in.name())));
      String shape = in.name() + SHAPE_SUFFIX;
      cols.add(found.contains(shape) ? functions.col(quote(shape)).cast("array<bigint>")
          : functions.lit(null).cast("array<bigint>"));
    }
    // Where each row comes from, for errors: Spark's file metadata, exact for Parquet.
    cols.add(functions.col("_metadata.file_path"));
    cols.add(functions.col("_metadata.row_index"));
    return new OnnxInputs(path, df.select(cols.toArray(new Column[0])), inputs.toArray(new Input[0]), kinds, rows,
        bytes);
  }

  private static String quote(String column) {
    return "`" + column.replace("`", "``") + "`";
  }

  /** The column element kind each input takes, or bad input naming the column. */
  static int[] checkSchema(String path, String model, StructType schema, List<Input> inputs) {
    List<String> found = Arrays.asList(schema.fieldNames());
    int[] kinds = new int[inputs.size()];
    for (int i = 0; i < kinds.length; i++) {
      Input in = inputs.get(i);
      String expected = expected(in.elemType());
      if (expected == null) {
        throw Errors.badFile(model, "model input '" + in.name() + "' is " + OnnxActivations.typeName(in.elemType())
            + ": Q16 feeds float, double, int64, int32 and bool inputs");
      }
      if (!found.contains(in.name())) {
        throw Errors.badFile(path, "has no column '" + in.name() + "' for model input " + in + " (expected "
            + expected + "; found " + String.join(", ", found) + ")");
      }
      StructField f = schema.apply(in.name());
      int kind = f.dataType() instanceof ArrayType a ? kind(a.elementType(), in.elemType()) : -1;
      if (kind < 0) {
        throw Errors.badFile(path, "column '" + in.name() + "' is " + f.dataType().sql() + ", but model input "
            + in + " needs " + expected);
      }
      kinds[i] = kind;
      String shapeName = in.name() + SHAPE_SUFFIX;
      if (found.contains(shapeName)) {
        DataType t = schema.apply(shapeName).dataType();
        if (!(t instanceof ArrayType a && (a.elementType().equals(DataTypes.LongType)
            || a.elementType().equals(DataTypes.IntegerType)))) {
          throw Errors.badFile(path, "column '" + shapeName + "' is " + t.sql() + ", expected ARRAY<BIGINT>"
              + " (the shape of each sample of model input " + in.name() + ")");
        }
      } else if (in.dims() == null || symbolicAfterFirst(in.dims())) {
        throw Errors.badFile(path, "has no column '" + shapeName + "': model input " + in + " has "
            + (in.dims() == null ? "no declared shape" : "symbolic axes after the first")
            + ", so each sample's shape must be given as ARRAY<BIGINT>");
      }
    }
    return kinds;
  }

  private static boolean symbolicAfterFirst(long[] dims) {
    for (int d = 1; d < dims.length; d++) {
      if (dims[d] < 0) {
        return true;
      }
    }
    return false;
  }

  /** The column types an input takes, or null if Q16 cannot feed it. */
  private static String expected(int elemType) {
    return switch (elemType) {
      case OnnxSchema.FLOAT -> "ARRAY<FLOAT>";
      case OnnxSchema.DOUBLE -> "ARRAY<DOUBLE> or ARRAY<FLOAT>";
      case OnnxSchema.INT64 -> "ARRAY<BIGINT> or ARRAY<INT>";
      case OnnxSchema.INT32 -> "ARRAY<INT>";
      case OnnxSchema.BOOL -> "ARRAY<BOOLEAN>";
      default -> null;
    };
  }

  /** The kind of a column of {@code element} for an input of {@code elemType}, -1 if it would lose values. */
  private static int kind(DataType element, int elemType) {
    boolean ok = switch (elemType) {
      case OnnxSchema.FLOAT -> element.equals(DataTypes.FloatType);
      case OnnxSchema.DOUBLE -> element.equals(DataTypes.DoubleType) || element.equals(DataTypes.FloatType);
      case OnnxSchema.INT64 -> element.equals(DataTypes.LongType) || element.equals(DataTypes.IntegerType);
      case OnnxSchema.INT32 -> element.equals(DataTypes.IntegerType);
      case OnnxSchema.BOOL -> element.equals(DataTypes.BooleanType);
      default -> false;
    };
    if (!ok) {
      return -1;
    }
    if (element.equals(DataTypes.FloatType)) {
      return FLOAT;
    }
    if (element.equals(DataTypes.DoubleType)) {
      return DOUBLE;
    }
    if (element.equals(DataTypes.LongType)) {
      return LONG;
    }
    return element.equals(DataTypes.IntegerType) ? INT : BOOLEAN;
  }

  String path() {
    return path;
  }

  long rows() {
    return rows;
  }

  long bytes() {
    return bytes;
  }

  Input[] inputs() {
    return inputs.clone();
  }

  int[] kinds() {
    return kinds.clone();
  }

  /**
   * The rows in at least {@code tasks} partitions (at most one per row). Spark splits Parquet files
   * only at row groups, and a dataset of token ids is often one small row group, while each row costs
   * a model run: then the rows are spread round-robin over {@code tasks} partitions once (a shuffle
   * of the inputs, never of activations) and kept, serialized, for the following passes.
   */
  JavaRDD<InternalRow> rows(int tasks) {
    if (persisted != null) {
      return persisted;
    }
    JavaRDD<InternalRow> in = scan.queryExecution().toRdd().toJavaRDD();
    int target = (int) Math.min(tasks, rows);
    if (in.getNumPartitions() >= target) {
      return in;
    }
    // The reader reuses its row objects: each is copied before it is shuffled.
    persisted = in.map(InternalRow::copy).repartition(target).persist(StorageLevel.MEMORY_AND_DISK_SER());
    return persisted;
  }

  /** Drops the kept rows, if any. */
  void release() {
    if (persisted != null) {
      persisted.unpersist(false);
      persisted = null;
    }
  }

  /** Bytes of input each partition of {@code rows} reads, about: for progress. */
  long[] partitionBytes(JavaRDD<InternalRow> rdd) {
    if (rdd != persisted) {
      return ActivationSource.partitionBytes(rdd.partitions());
    }
    long[] out = new long[rdd.getNumPartitions()];
    Arrays.fill(out, bytes / out.length);
    return out;
  }

  /** What executors need to decode rows and batch them: a class, shipped inside executor functions. */
  static final class Spec implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final Input[] inputs;
    private final int[] kinds;
    private final int maxRows;
    private final String path;

    /** @param maxRows samples per batch at most */
    Spec(Input[] inputs, int[] kinds, int maxRows, String path) {
      this.inputs = inputs;
      this.kinds = kinds;
      this.maxRows = maxRows;
      this.path = path;
    }

    Batcher batcher() {
      return new Batcher(inputs, kinds, maxRows, path);
    }

    /** The model inputs, in the order of a {@link Sample}'s data. */
    String[] inputNames() {
      String[] names = new String[inputs.length];
      for (int i = 0; i < names.length; i++) {
        names[i] = inputs[i].name();
      }
      return names;
    }
  }

  /** The executor-side spec of this dataset's rows, batched by up to {@code maxRows}. */
  Spec spec(int maxRows) {
    return new Spec(inputs, kinds, maxRows, path);
  }

  /** One decoded sample: per input its values (already of the input's Java type) and shape. */
  static final class Sample {
    final Object[] data;
    final long[][] shapes;
    final String file;
    final long row;

    Sample(Object[] data, long[][] shapes, String file, long row) {
      this.data = data;
      this.shapes = shapes;
      this.file = file;
      this.row = row;
    }
  }

  /**
   * Executor side: decodes rows of {@link #rows} and concatenates up to {@code maxRows} of them along
   * axis 0 into one ONNX Runtime tensor per input. Rows join a batch only when every input's axis 0
   * is symbolic (a batch axis) and their other axes equal the batch's; otherwise the batch is run
   * first. Buffers are direct, reused and grown, so a tensor is built without a copy by ONNX Runtime.
   */
  static final class Batcher {
    private final Input[] inputs;
    private final long[][] declared;
    private final int[] kinds;
    private final int maxRows;
    private final boolean batchable;
    private final String path;
    private final List<Sample> batch = new ArrayList<>();
    private final ByteBuffer[] buffers;

    Batcher(Input[] inputs, int[] kinds, int maxRows, String path) {
      this.inputs = inputs;
      this.kinds = kinds;
      this.maxRows = Math.max(1, maxRows);
      this.declared = new long[inputs.length][];
      boolean b = true;
      for (int i = 0; i < inputs.length; i++) {
        declared[i] = inputs[i].dims();
        b &= declared[i] != null && declared[i].length > 0 && declared[i][0] < 0;
      }
      this.batchable = b;
      this.path = path;
      this.buffers = new ByteBuffer[inputs.length];
    }

    /** Decodes and checks one row of {@link OnnxInputs#rows}; the values are copied out of it. */
    Sample decode(InternalRow r) {
      int n = inputs.length;
      String file = r.isNullAt(2 * n) ? path : r.getUTF8String(2 * n).toString();
      long row = r.isNullAt(2 * n + 1) ? -1 : r.getLong(2 * n + 1);
      Object[] data = new Object[n];
      long[][] shapes = new long[n][];
      for (int i = 0; i < n; i++) {
        Input in = inputs[i];
        if (r.isNullAt(2 * i)) {
          throw bad(file, row, in.name(), "is null");
        }
        ArrayData a = r.getArray(2 * i);
        int at = ActivationSource.RowFold.firstNull(a);
        if (at >= 0) {
          throw bad(file, row, in.name(), "element " + at + " is null");
        }
        data[i] = values(a, kinds[i], in.elemType());
        shapes[i] = shape(r.isNullAt(2 * i + 1) ? null : r.getArray(2 * i + 1), in, declared[i], a.numElements(),
            file, row);
      }
      return new Sample(data, shapes, file, row);
    }

    private static Object values(ArrayData a, int kind, int elemType) {
      switch (elemType) {
        case OnnxSchema.FLOAT:
          return a.toFloatArray();
        case OnnxSchema.DOUBLE: {
          if (kind == DOUBLE) {
            return a.toDoubleArray();
          }
          float[] f = a.toFloatArray();
          double[] d = new double[f.length];
          for (int j = 0; j < f.length; j++) {
            d[j] = f[j];
          }
          return d;
        }
        case OnnxSchema.INT64: {
          if (kind == LONG) {
            return a.toLongArray();
          }
          int[] v = a.toIntArray();
          long[] l = new long[v.length];
          for (int j = 0; j < v.length; j++) {
            l[j] = v[j];
          }
          return l;
        }
        case OnnxSchema.INT32:
          return a.toIntArray();
        default:
          return a.toBooleanArray();
      }
    }

    private static long[] shape(ArrayData given, Input in, long[] declared, int count, String file, long row) {
      String column = given == null ? in.name() : in.name() + SHAPE_SUFFIX;
      long[] shape;
      if (given == null) {
        if (declared == null) {
          throw bad(file, row, in.name() + SHAPE_SUFFIX, "is null, and model input '" + in.name()
              + "' declares no shape to fall back to");
        }
        shape = declared.clone();
        if (shape.length > 0 && shape[0] < 0) {
          shape[0] = 1;
        }
      } else {
        shape = new long[given.numElements()];
        for (int d = 0; d < shape.length; d++) {
          if (given.isNullAt(d)) {
            throw bad(file, row, column, "element " + d + " is null");
          }
          shape[d] = given.getLong(d);
        }
      }
      if (declared != null && shape.length != declared.length) {
        throw bad(file, row, column, "shape " + Arrays.toString(shape) + " has rank " + shape.length
            + ", but model input " + in + " has rank " + declared.length);
      }
      long product = 1;
      for (int d = 0; d < shape.length; d++) {
        if (shape[d] < 0 || (declared != null && declared[d] >= 0 && shape[d] != declared[d])) {
          throw bad(file, row, column, "shape " + Arrays.toString(shape) + " does not fit model input " + in);
        }
        product = product < 0 ? -1 : multiplyOrMinus(product, shape[d]);
      }
      if (product != count) {
        throw bad(file, row, in.name(), "holds " + count + " values, but its shape " + Arrays.toString(shape)
            + " needs " + (product < 0 ? "more than 2^63" : product));
      }
      return shape;
    }

    private static long multiplyOrMinus(long a, long b) {
      try {
        return Math.multiplyExact(a, b);
      } catch (ArithmeticException e) {
        return -1;
      }
    }

    static RuntimeException bad(String file, long row, String column, String what) {
      return Errors.badFile(file, "row " + row + ": column '" + column + "' " + what);
    }

    /** Whether {@code s} can join the batch now; if not, the batch must be run and cleared first. */
    boolean fits(Sample s) {
      List<Sample> b = batch;
      if (b.isEmpty()) {
        return true;
      }
      if (!batchable || b.size() >= maxRows) {
        return false;
      }
      long[][] first = b.get(0).shapes;
      for (int i = 0; i < inputs.length; i++) {
        if (!Arrays.equals(first[i], 1, first[i].length, s.shapes[i], 1, s.shapes[i].length)) {
          return false;
        }
      }
      return true;
    }

    void add(Sample s) {
      batch.add(s);
    }

    /** Samples in the batch. */
    int size() {
      return batch.size();
    }

    /** Whether the batch is full. */
    boolean full() {
      return batch.size() >= (batchable ? maxRows : 1);
    }

    void clear() {
      batch.clear();
    }

    /**
     * The batch as one tensor per input, by input name, in the batch's own buffers: valid until the
     * next call. The caller closes the tensors.
     */
    Map<String, OnnxTensor> tensors(OrtEnvironment env) throws OrtException {
      List<Sample> b = batch;
      Map<String, OnnxTensor> out = new LinkedHashMap<>();
      try {
        for (int i = 0; i < inputs.length; i++) {
          long[] shape = b.get(0).shapes[i].clone();
          long elements = 0;
          for (Sample s : b) {
            elements += length(s.data[i]);
          }
          if (b.size() > 1) {
            long lead = 0;
            for (Sample s : b) {
              lead += s.shapes[i][0];
            }
            shape[0] = lead;
          }
          out.put(inputs[i].name(), tensor(env, i, b, elements, shape));
        }
      } catch (OrtException | RuntimeException e) {
        for (OnnxTensor t : out.values()) {
          t.close();
        }
        throw e;
      }
      return out;
    }

    private OnnxTensor tensor(OrtEnvironment env, int i, List<Sample> b, long elements, long[] shape)
        throws OrtException {
      int elemType = inputs[i].elemType();
      int size = elemType == OnnxSchema.FLOAT || elemType == OnnxSchema.INT32 ? 4 : elemType == OnnxSchema.BOOL ? 1 : 8;
      long need = elements * size;
      if (need > Integer.MAX_VALUE) {
        throw bad(b.get(0).file, b.get(0).row, inputs[i].name(), "makes a batch tensor of " + need
            + " bytes: more than a buffer holds (use a smaller --batch)");
      }
      ByteBuffer buf = buffers[i];
      if (buf == null || buf.capacity() < need) {
        buf = ByteBuffer.allocateDirect((int) Math.max(need, buf == null ? 0 : Math.min(Integer.MAX_VALUE, 2L * buf.capacity())))
            .order(ByteOrder.nativeOrder());
        buffers[i] = buf;
      }
      buf.clear();
      buf.limit((int) need);
      ByteBuffer v = buf.slice().order(ByteOrder.nativeOrder());
      for (Sample s : b) {
        put(v, s.data[i]);
      }
      return OnnxTensor.createTensor(env, v.rewind(), shape, javaType(elemType));
    }

    private static OnnxJavaType javaType(int elemType) {
      return switch (elemType) {
        case OnnxSchema.FLOAT -> OnnxJavaType.FLOAT;
        case OnnxSchema.DOUBLE -> OnnxJavaType.DOUBLE;
        case OnnxSchema.INT64 -> OnnxJavaType.INT64;
        case OnnxSchema.INT32 -> OnnxJavaType.INT32;
        default -> OnnxJavaType.BOOL;
      };
    }

    /** Appends a sample's values (native order) at {@code v}'s position and advances it. */
    private static void put(ByteBuffer v, Object values) {
      int at = v.position();
      if (values instanceof float[] f) {
        v.asFloatBuffer().put(f);
        v.position(at + 4 * f.length);
      } else if (values instanceof double[] d) {
        v.asDoubleBuffer().put(d);
        v.position(at + 8 * d.length);
      } else if (values instanceof long[] l) {
        v.asLongBuffer().put(l);
        v.position(at + 8 * l.length);
      } else if (values instanceof int[] n) {
        v.asIntBuffer().put(n);
        v.position(at + 4 * n.length);
      } else {
        for (boolean x : (boolean[]) values) {
          v.put((byte) (x ? 1 : 0));
        }
      }
    }

    private static int length(Object array) {
      return java.lang.reflect.Array.getLength(array);
    }
  }
}
