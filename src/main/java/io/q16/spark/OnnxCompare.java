package io.q16.spark;

import io.q16.Errors;
import io.q16.fs.HadoopFs;
import io.q16.onnx.InputGenerator;
import io.q16.onnx.OrtModel;
import io.q16.onnx.OutputComparison;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;

/**
 * Executor side of the ONNX verify: one task opens the float model and the quantized model in
 * ONNX Runtime once, runs both on each of its samples, and folds every float output into an
 * {@link OutputComparison}; only those accumulators leave the task. The samples are generated
 * from their index ({@link Generated}) or read from a Parquet dataset of model inputs
 * ({@link Rows}).
 */
abstract class OnnxCompare<T> implements Function2<Integer, Iterator<T>, Iterator<OutputComparison>> {
  private static final long serialVersionUID = 1L;

  /** A model's files: the .onnx first, then its external data files, each with its path relative to the first's folder. */
  static final class ModelFiles implements Serializable {
    private static final long serialVersionUID = 1L;
    final ArrayList<String> paths;
    final ArrayList<String> relative;

    ModelFiles(List<String> paths, List<String> relative) {
      this.paths = new ArrayList<>(paths);
      this.relative = new ArrayList<>(relative);
    }
  }

  private final Broadcast<HadoopConf> conf;
  private final ModelFiles floatModel;
  private final ModelFiles quantized;

  OnnxCompare(Broadcast<HadoopConf> conf, ModelFiles floatModel, ModelFiles quantized) {
    this.conf = conf;
    this.floatModel = floatModel;
    this.quantized = quantized;
  }

  /** The inputs of one sample. */
  abstract Map<String, OrtModel.Tensor> inputs(T element, List<OrtModel.InputInfo> declared);

  @Override
  public Iterator<OutputComparison> call(Integer partition, Iterator<T> elements) throws IOException {
    Configuration c = conf.value().get();
    List<Path> temporary = new ArrayList<>();
    Map<String, OutputComparison> out = new LinkedHashMap<>();
    try (OrtModel f = OrtModel.open(local(floatModel, c, temporary));
        OrtModel q = OrtModel.open(local(quantized, c, temporary))) {
      List<OrtModel.InputInfo> declared = f.inputs();
      while (elements.hasNext()) {
        Map<String, OrtModel.Tensor> in = inputs(elements.next(), declared);
        Map<String, OrtModel.Tensor> a = f.run(in);
        Map<String, OrtModel.Tensor> b = q.run(in);
        for (Map.Entry<String, OrtModel.Tensor> e : a.entrySet()) {
          OrtModel.Tensor y = b.get(e.getKey());
          if (y == null) {
            throw Errors.badFile(quantized.paths.get(0), "has no float output '" + e.getKey() + "' (the float model has)");
          }
          out.computeIfAbsent(e.getKey(), k -> new OutputComparison(k, partition))
              .update((float[]) e.getValue().values(), (float[]) y.values(), e.getValue().shape());
        }
      }
    } finally {
      for (Path p : temporary) {
        deleteTree(p);
      }
    }
    return out.values().iterator();
  }

  /**
   * A local path ONNX Runtime can open: the file itself on a local file system, else a copy of
   * the model and its external data (same relative layout) in a temporary folder.
   */
  private static String local(ModelFiles m, Configuration c, List<Path> temporary) throws IOException {
    org.apache.hadoop.fs.Path first = new org.apache.hadoop.fs.Path(m.paths.get(0));
    if ("file".equals(HadoopFs.fileSystem(first, c).getUri().getScheme())) {
      return first.toUri().getPath();
    }
    Path dir = Files.createTempDirectory("q16-onnx-");
    temporary.add(dir);
    for (int i = 0; i < m.paths.size(); i++) {
      Path target = dir.resolve(m.relative.get(i)).normalize();
      if (!target.startsWith(dir)) {
        throw Errors.badFile(m.paths.get(i), "lies outside the model's folder");
      }
      Files.createDirectories(target.getParent());
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(m.paths.get(i));
      try (InputStream in = HadoopFs.fileSystem(p, c).open(p)) {
        Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return dir.resolve(m.relative.get(0)).toString();
  }

  private static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }

  /** Samples generated from their index. */
  static final class Generated extends OnnxCompare<Long> {
    private static final long serialVersionUID = 1L;
    private final InputGenerator generator;

    Generated(Broadcast<HadoopConf> conf, ModelFiles floatModel, ModelFiles quantized, InputGenerator generator) {
      super(conf, floatModel, quantized);
      this.generator = generator;
    }

    @Override
    Map<String, OrtModel.Tensor> inputs(Long index, List<OrtModel.InputInfo> declared) {
      return generator.sample(declared, index);
    }
  }

  /**
   * Samples from a Parquet dataset: one row per sample, one column per model input holding its
   * values as a flat array (row-major), and optionally {@code <input>__shape} with its shape (the format of {@link OnnxInputs});
   * without it the declared shape is used, its one symbolic dimension (if any) inferred from the
   * length.
   */
  static final class Rows extends OnnxCompare<Row> {
    private static final long serialVersionUID = 1L;
    private final String dataset;

    Rows(Broadcast<HadoopConf> conf, ModelFiles floatModel, ModelFiles quantized, String dataset) {
      super(conf, floatModel, quantized);
      this.dataset = dataset;
    }

    @Override
    Map<String, OrtModel.Tensor> inputs(Row row, List<OrtModel.InputInfo> declared) {
      Map<String, OrtModel.Tensor> out = new LinkedHashMap<>();
      for (OrtModel.InputInfo in : declared) {
        int col = fieldIndex(row, in.name());
        if (col < 0 || row.isNullAt(col)) {
          throw Errors.badFile(dataset, "has no values for model input '" + in.name() + "' (a column of that name)");
        }
        List<Object> values = row.getList(col);
        int shapeCol = fieldIndex(row, in.name() + OnnxInputs.SHAPE_SUFFIX);
        long[] shape = shapeCol >= 0 && !row.isNullAt(shapeCol) ? longs(row.getList(shapeCol)) : null;
        out.put(in.name(), new OrtModel.Tensor(shape(in, shape, values.size()), convert(in, values)));
      }
      return out;
    }

    private static int fieldIndex(Row row, String name) {
      String[] names = row.schema().fieldNames();
      for (int i = 0; i < names.length; i++) {
        if (names[i].equals(name)) {
          return i;
        }
      }
      return -1;
    }

    private static long[] longs(List<Object> l) {
      long[] out = new long[l.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = ((Number) l.get(i)).longValue();
      }
      return out;
    }

    private long[] shape(OrtModel.InputInfo in, long[] given, int n) {
      long[] s = given != null ? given : in.shape().clone();
      long known = 1;
      int unknown = -1;
      for (int i = 0; i < s.length; i++) {
        if (s[i] < 0) {
          if (unknown >= 0) {
            throw Errors.badFile(dataset, "input '" + in.name() + "' has several symbolic dimensions: add a column '"
                + in.name() + OnnxInputs.SHAPE_SUFFIX + "'");
          }
          unknown = i;
        } else {
          known *= s[i];
        }
      }
      if (unknown >= 0 && known > 0) {
        s[unknown] = n / known;
      }
      long total = 1;
      for (long d : s) {
        total *= d;
      }
      if (total != n) {
        throw Errors.badFile(dataset, "input '" + in.name() + "': " + n + " values do not fill shape "
            + java.util.Arrays.toString(s));
      }
      return s;
    }

    private static Object convert(OrtModel.InputInfo in, List<Object> v) {
      switch (in.type()) {
        case "float32" -> {
          float[] f = new float[v.size()];
          for (int i = 0; i < f.length; i++) {
            f[i] = ((Number) v.get(i)).floatValue();
          }
          return f;
        }
        case "int64" -> {
          return longs(v);
        }
        case "int32" -> {
          int[] x = new int[v.size()];
          for (int i = 0; i < x.length; i++) {
            x[i] = ((Number) v.get(i)).intValue();
          }
          return x;
        }
        default -> {
          boolean[] b = new boolean[v.size()];
          for (int i = 0; i < b.length; i++) {
            Object o = v.get(i);
            b[i] = o instanceof Boolean x ? x : ((Number) o).intValue() != 0;
          }
          return b;
        }
      }
    }
  }
}
