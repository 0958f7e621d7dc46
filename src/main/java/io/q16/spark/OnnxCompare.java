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
import org.apache.spark.sql.catalyst.InternalRow;

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

  /** The inputs of one sample, for {@code floatModel} (open for the task). */
  abstract Map<String, OrtModel.Tensor> inputs(T element, OrtModel floatModel);

  @Override
  public Iterator<OutputComparison> call(Integer partition, Iterator<T> elements) throws IOException {
    Configuration c = conf.value().get();
    List<Path> temporary = new ArrayList<>();
    Map<String, OutputComparison> out = new LinkedHashMap<>();
    try (OrtModel f = OrtModel.open(local(floatModel, c, temporary));
        OrtModel q = OrtModel.open(local(quantized, c, temporary))) {
      while (elements.hasNext()) {
        Map<String, OrtModel.Tensor> in = inputs(elements.next(), f);
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
    /** The float model's declared inputs, read once per task (generation needs their types and shapes). */
    private transient List<OrtModel.InputInfo> declared;

    Generated(Broadcast<HadoopConf> conf, ModelFiles floatModel, ModelFiles quantized, InputGenerator generator) {
      super(conf, floatModel, quantized);
      this.generator = generator;
    }

    @Override
    Map<String, OrtModel.Tensor> inputs(Long index, OrtModel floatModel) {
      if (declared == null) {
        declared = floatModel.inputs();
      }
      return generator.sample(declared, index);
    }
  }

  /** Samples from a model-inputs dataset ({@link OnnxInputs}), one model run each. */
  static final class Rows extends OnnxCompare<InternalRow> {
    private static final long serialVersionUID = 2L;
    private final OnnxInputs.Spec spec;
    private transient OnnxInputs.Batcher batcher;

    Rows(Broadcast<HadoopConf> conf, ModelFiles floatModel, ModelFiles quantized, OnnxInputs.Spec spec) {
      super(conf, floatModel, quantized);
      this.spec = spec;
    }

    @Override
    Map<String, OrtModel.Tensor> inputs(InternalRow row, OrtModel floatModel) {
      if (batcher == null) {
        batcher = spec.batcher();
      }
      OnnxInputs.Sample s = batcher.decode(row);
      Map<String, OrtModel.Tensor> out = new LinkedHashMap<>();
      for (int i = 0; i < spec.inputNames().length; i++) {
        out.put(spec.inputNames()[i], new OrtModel.Tensor(s.shapes[i], s.data[i]));
      }
      return out;
    }
  }
}
