package io.q16.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.q16.Errors;
import io.q16.Glob;
import io.q16.export.ModelExport;
import io.q16.export.OnnxPayloads;
import io.q16.format.Calibration;
import io.q16.format.Crc32c;
import io.q16.format.Manifest;
import io.q16.format.OnnxModel;
import io.q16.format.OnnxReader;
import io.q16.format.OnnxSchema;
import io.q16.fs.HadoopFs;
import io.q16.fs.OutputDir;
import io.q16.onnx.OnnxRewrite;
import io.q16.quant.Granularity;
import io.q16.quant.QuantParams;
import io.q16.quant.Scheme;
import io.q16.quant.TensorSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 export DIR --to onnx-qdq|onnx-fake-quant --out OUT}: the source ONNX model of a Q16
 * output, rewritten by the driver (parsed against Q16's schema, so every field it does not
 * declare survives) with the quantized weights as int16 initializers feeding DequantizeLinear
 * (opset raised to 21) or as fake-quant float32 values. A model that would exceed
 * {@code externalBytes} keeps its weights in external data files beside {@code model.onnx},
 * written whole by executor tasks; a smaller one is one self-contained file.
 */
public final class OnnxExportJob {
  public static final String MODEL_FILE = "model.onnx";

  /** What to export where. */
  /**
   * What to export. {@code keepFloat} may hold "auto": then the quantized weights whose SQNR,
   * measured by quantize and recorded in the manifest, is below {@code sqnrBudgetDb} stay float.
   */
  public record Options(String dir, String out, boolean qdq, String activations, List<String> keepFloat,
      boolean keepFirstLast, long externalBytes, long fileBytes, double sqnrBudgetDb) {}

  /** The --keep-float value that keeps weights by measured SQNR instead of by name. */
  public static final String AUTO = "auto";

  /** What was written. */
  public record Result(String model, List<FileChecksum> files, long fromOpset, long toOpset, int quantized,
      int keptFloat, int activations, boolean externalData) {}

  private OnnxExportJob() {}

  public static Result run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Manifest m = VerifyJob.readManifest(o.dir(), conf);
    String source = m.source().location();
    if (!source.toLowerCase(Locale.ROOT).endsWith(".onnx")) {
      throw Errors.usage(o.dir() + " was quantized from " + source + ", not an ONNX model: --to onnx-qdq and"
          + " onnx-fake-quant rewrite the source .onnx");
    }
    if (o.activations() != null && !o.qdq()) {
      throw Errors.usage("--activations inserts int16 Q/DQ on activations: it goes with --to onnx-qdq");
    }
    for (Manifest.SourceFile f : m.source().files()) {
      var st = HadoopFs.statusOrNull(f.path(), conf);
      if (st == null || st.getLen() != f.size()) {
        throw Errors.badFile(f.path(), st == null ? "source file named by the manifest is missing"
            : "is " + st.getLen() + " bytes, the manifest recorded " + f.size() + ": the model changed since quantization");
      }
    }
    OnnxModel planned = OnnxReader.read(source, conf);
    String modelFile = planned.model().files().get(0).path();
    Set<String> keep = floatWeights(planned, m, o);

    // What each tensor becomes, and how many bytes it takes.
    OnnxPayloads.Kind quantKind = o.qdq() ? OnnxPayloads.Kind.QDQ : OnnxPayloads.Kind.FAKE_QUANT;
    Map<String, OnnxPayloads.Kind> kinds = new LinkedHashMap<>();
    long replacedInline = 0;
    long payload = 0;
    int quantized = 0;
    for (Manifest.TensorEntry t : m.tensors()) {
      boolean external = !t.sourceFile().equals(modelFile);
      OnnxPayloads.Kind k = null;
      if (Manifest.TensorEntry.QUANTIZED.equals(t.status()) && !keep.contains(t.name())) {
        if (!"F32".equals(t.dtype())) {
          throw Errors.badTensor(source, t.name(), "is " + t.dtype() + ": the ONNX exports replace float32 tensors"
              + " (its consumers expect " + t.dtype() + "); keep it float with --keep-float");
        }
        if (o.qdq() && t.codec() != null) {
          throw Errors.badTensor(source, t.name(), "uses the " + t.codec().kind() + " codec, which DequantizeLinear"
              + " cannot express: export --to onnx-fake-quant, or quantize with a linear scheme");
        }
        k = quantKind;
        quantized++;
      } else if (external) {
        k = OnnxPayloads.Kind.COPY; // the output must not point at the source's files
      }
      if (k != null) {
        kinds.put(t.name(), k);
        payload += OnnxPayloads.align(OnnxPayloads.size(OnnxPayloads.parts(t, k)));
        replacedInline += external ? 0 : t.sourceBytes();
      }
    }
    long estimate = planned.model().files().get(0).size() - replacedInline + payload;
    boolean externalData = estimate > o.externalBytes();
    Map<String, Manifest.TensorEntry> byName = m.tensorsByName();
    List<String> shardFiles = ExportFunction.shardFiles(m, o.dir());
    Calibration cal = o.activations() == null ? null : readCalibration(o.activations(), conf);
    Map<String, Calibration.Entry> calibrated = cal == null ? Map.of() : new TreeMap<>(cal.byName());
    Scheme actScheme = cal == null ? null : activationScheme(o.activations(), cal);

    String runId = OutputDir.newRunId();
    try (OutputDir out = OutputDir.create(o.out(), conf, runId, ExportJob.MARKER)) {
      Map<String, OnnxRewrite.Replacement> replacements = new HashMap<>();
      List<FileChecksum> files = new ArrayList<>();
      long t0 = System.nanoTime();
      if (externalData) {
        List<OnnxDataTask> tasks = new ArrayList<>();
        Map<String, long[]> placed = new HashMap<>(); // tensor -> {task, offset}
        OnnxDataTask current = null;
        long at = 0;
        List<String> order = new ArrayList<>(kinds.keySet());
        for (String name : order) {
          long size = OnnxPayloads.size(OnnxPayloads.parts(byName.get(name), kinds.get(name)));
          if (current == null || (at > 0 && at + size > o.fileBytes())) {
            current = new OnnxDataTask("");
            tasks.add(current);
            at = 0;
          }
          current.add(name, kinds.get(name).name(), at);
          placed.put(name, new long[] {tasks.size() - 1, at});
          at = OnnxPayloads.align(at + size);
        }
        for (int i = 0; i < tasks.size(); i++) {
          tasks.get(i).setFile(tasks.size() == 1 ? MODEL_FILE + ".data"
              : String.format("model-%05d-of-%05d.onnx.data", i + 1, tasks.size()));
        }
        Broadcast<HadoopConf> hconf = jsc.broadcast(new HadoopConf(conf));
        Broadcast<byte[]> manifest = jsc.broadcast(m.toJson());
        if (!tasks.isEmpty()) {
          files.addAll(spark
              .createDataset(jsc.parallelize(tasks, tasks.size()).rdd(), Encoders.bean(OnnxDataTask.class))
              .mapPartitions(new OnnxDataFunction(hconf, manifest, out.staging().toString(), o.dir()), FileChecksum.ENCODER)
              .collectAsList());
        }
        for (Map.Entry<String, long[]> e : placed.entrySet()) {
          Manifest.TensorEntry t = byName.get(e.getKey());
          OnnxPayloads.Kind k = kinds.get(e.getKey());
          long[] parts = OnnxPayloads.parts(t, k);
          long[] off = OnnxPayloads.offsets(parts);
          String loc = tasks.get((int) e.getValue()[0]).getFile();
          OnnxRewrite.Data[] data = new OnnxRewrite.Data[parts.length];
          for (int i = 0; i < parts.length; i++) {
            data[i] = OnnxRewrite.Data.external(loc, e.getValue()[1] + off[i], parts[i]);
          }
          replacements.put(e.getKey(), replacement(t, k, data));
        }
      } else {
        for (Map.Entry<String, OnnxPayloads.Kind> e : kinds.entrySet()) {
          Manifest.TensorEntry t = byName.get(e.getKey());
          byte[][] parts = OnnxPayloads.inMemory(t, e.getValue(), shardFiles, conf);
          OnnxRewrite.Data[] data = new OnnxRewrite.Data[parts.length];
          for (int i = 0; i < parts.length; i++) {
            data[i] = OnnxRewrite.Data.inline(parts[i]);
          }
          replacements.put(e.getKey(), replacement(t, e.getValue(), data));
        }
      }
      Map<String, OnnxRewrite.Activation> activations = activations(calibrated, actScheme, planned);
      byte[] src = HadoopFs.readSmall(modelFile, conf, Integer.MAX_VALUE - 8, "ONNX model");
      OnnxRewrite.Exported x = OnnxRewrite.export(modelFile, src, o.qdq(), replacements, activations,
          floatNodes(planned, m, keep));
      out.writeAtomically(MODEL_FILE, x.model());
      CRC32C crc = new CRC32C();
      crc.update(x.model());
      files.add(0, new FileChecksum(MODEL_FILE, x.model().length, (int) crc.getValue()));
      progress.printf("[export] %s: %d tensors quantized, %d kept float, opset %d -> %d (%d nodes converted), %d"
              + " activations with Q/DQ, %s, %.1fs%n", MODEL_FILE, quantized, keep.size(), x.fromOpset(), x.toOpset(),
          x.converted().size(), x.activations().size(), externalData ? (files.size() - 1) + " external data file(s)"
              : "weights inline", (System.nanoTime() - t0) / 1e9);
      writeMarker(out, o, m, x, files, keep, quantized, externalData, calibrated.size());
      out.commit();
      return new Result(new Path(o.out(), MODEL_FILE).toString(), files, x.fromOpset(), x.toOpset(), quantized,
          keep.size(), x.activations().size(), externalData);
    }
  }

  private static OnnxRewrite.Replacement replacement(Manifest.TensorEntry t, OnnxPayloads.Kind k, OnnxRewrite.Data[] d) {
    if (k != OnnxPayloads.Kind.QDQ) {
      return new OnnxRewrite.Values(d[0]);
    }
    TensorSpec spec = ModelExport.spec(t);
    long[] shape = t.shape().stream().mapToLong(Long::longValue).toArray();
    Granularity g = spec.granularity();
    int axis = switch (g.kind()) {
      case TENSOR -> -1;
      case CHANNEL -> g.axis();
      case GROUP -> shape.length - 1;
    };
    return new OnnxRewrite.Dequantize(spec.unsigned() ? OnnxSchema.UINT16 : OnnxSchema.INT16,
        OnnxPayloads.unitDims(shape, g), axis, g.kind() == Granularity.Kind.GROUP ? g.groupSize() : 0, d[0], d[1], d[2]);
  }

  /**
   * Weights that stay float in the export: those matching an export --keep-float glob and, with
   * --keep-first-last, the weights of the first and last Conv/Gemm/MatMul of the main graph (in
   * node order, which ONNX requires to be topological) that have a weight.
   */
  private static Set<String> floatWeights(OnnxModel planned, Manifest m, Options o) {
    Set<String> keep = new java.util.TreeSet<>();
    boolean auto = o.keepFloat().contains(AUTO);
    List<Pattern> globs = o.keepFloat().stream().filter(g -> !g.equals(AUTO)).map(Glob::compile).toList();
    for (Manifest.TensorEntry t : m.tensors()) {
      if (!Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
        continue;
      }
      if (globs.stream().anyMatch(p -> p.matcher(t.name()).matches())) {
        keep.add(t.name());
      }
      // Absent SQNR means the round trip was exact (or the manifest predates the measurement).
      if (auto && t.sqnrDb() != null && t.sqnrDb() < o.sqnrBudgetDb()) {
        keep.add(t.name());
      }
    }
    if (o.keepFirstLast()) {
      List<String> weights = layerWeights(planned);
      if (!weights.isEmpty()) {
        keep.add(weights.get(0));
        keep.add(weights.get(weights.size() - 1));
      }
    }
    return keep;
  }

  /** The weights of the main graph's Conv/ConvTranspose/Gemm/MatMul nodes, in node order. */
  private static List<String> layerWeights(OnnxModel planned) {
    Map<String, OnnxModel.Weight> roles = planned.roles();
    List<String> out = new ArrayList<>();
    for (OnnxModel.Node n : planned.nodes()) {
      if (n.graph().equals("main") && n.inputs().size() > 1) {
        OnnxModel.Weight w = roles.get(n.inputs().get(1));
        if (w != null && w.role() == OnnxModel.Role.WEIGHT && isLayer(n.opType())) {
          out.add(n.inputs().get(1));
        }
      }
    }
    return out;
  }

  private static boolean isLayer(String op) {
    return io.q16.format.OnnxActivations.QUANTIZABLE.contains(op);
  }

  /** Nodes (by first output) whose weight stays float: they keep reading float activations too. */
  private static Set<String> floatNodes(OnnxModel planned, Manifest m, Set<String> keep) {
    Map<String, Manifest.TensorEntry> byName = m.tensorsByName();
    Set<String> out = new HashSet<>();
    for (OnnxModel.Node n : planned.nodes()) {
      if (isLayer(n.opType()) && n.inputs().size() > 1 && !n.outputs().isEmpty()) {
        Manifest.TensorEntry w = byName.get(n.inputs().get(1));
        if (w != null && (keep.contains(w.name()) || !Manifest.TensorEntry.QUANTIZED.equals(w.status()))) {
          out.add(n.outputs().get(0));
        }
      }
    }
    return out;
  }

  private static Calibration readCalibration(String path, Configuration conf) throws IOException {
    var status = HadoopFs.statusOrNull(path, conf);
    if (status == null) {
      throw Errors.missing(path);
    }
    if (status.isDirectory()) {
      path = new Path(path, Calibration.FILE_NAME).toString();
    }
    try {
      Calibration c = Calibration.fromJson(HadoopFs.readSmall(path, conf, 256L << 20, "calibration"));
      if (!Calibration.FORMAT.equals(c.format()) || c.formatVersion() > Calibration.FORMAT_VERSION) {
        throw Errors.badFile(path, "format " + c.format() + " version " + c.formatVersion() + " is not one this Q16 reads");
      }
      return c;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw Errors.badFile(path, "calibration is not valid: " + e.getOriginalMessage());
    }
  }

  /** The calibration's scheme; symmetric-restricted (T/32767, ONNX Runtime's) when it names none. */
  private static Scheme activationScheme(String path, Calibration c) {
    Scheme s = c.scheme() == null ? Scheme.SYMMETRIC_RESTRICTED : Scheme.parse(c.scheme());
    if (!s.linear()) {
      throw Errors.badFile(path, "scheme " + c.scheme() + " is not linear: QuantizeLinear needs a scale and zero point");
    }
    return s;
  }

  /**
   * Q/DQ parameters per calibrated activation, by value name, with the weights' arithmetic
   * (DESIGN.md §3): the threshold T (or the asymmetric [clipMin, clipMax]) of each entry. Entries
   * that name a tensor of the model (weights) are left out.
   */
  static Map<String, OnnxRewrite.Activation> activations(Map<String, Calibration.Entry> calibrated, Scheme scheme,
      OnnxModel planned) {
    Map<String, OnnxRewrite.Activation> out = new TreeMap<>();
    for (Calibration.Entry e : calibrated.values()) {
      if (planned.model().tensor(e.name()) != null) {
        continue;
      }
      float t = e.threshold();
      float min = e.min() != null ? e.min() : -t;
      float max = e.max() != null ? e.max() : t;
      QuantParams p = e.clipMin() != null && e.clipMax() != null
          ? QuantParams.clipped(scheme, min, max, e.clipMin(), e.clipMax())
          : QuantParams.calibrated(scheme, min, max, t);
      out.put(e.name(), new OnnxRewrite.Activation(p.scale(), (short) p.zeroPoint()));
    }
    return out;
  }

  private static void writeMarker(OutputDir out, Options o, Manifest m, OnnxRewrite.Exported x,
      List<FileChecksum> files, Set<String> keep, int quantized, boolean externalData, int calibrated)
      throws IOException {
    Map<String, Object> marker = new LinkedHashMap<>();
    marker.put("format", "q16-export");
    marker.put("kind", o.qdq() ? "onnx-qdq" : "onnx-fake-quant");
    marker.put("model", MODEL_FILE);
    marker.put("from", o.dir());
    marker.put("source", m.source().location());
    marker.put("sourceFingerprint", m.source().fingerprint());
    marker.put("opset", Map.of("from", x.fromOpset(), "to", x.toOpset()));
    marker.put("converted", x.converted());
    marker.put("quantizedTensors", quantized);
    marker.put("keptFloat", List.copyOf(keep));
    if (o.keepFloat().contains(AUTO)) {
      // --keep-float auto: each weight kept float by the budget, with the SQNR quantize measured.
      Map<String, Double> below = new java.util.TreeMap<>();
      for (Manifest.TensorEntry t : m.tensors()) {
        if (keep.contains(t.name()) && t.sqnrDb() != null && t.sqnrDb() < o.sqnrBudgetDb()) {
          below.put(t.name(), t.sqnrDb());
        }
      }
      marker.put("sqnrBudgetDb", o.sqnrBudgetDb());
      marker.put("keptFloatBySqnr", below);
    }
    marker.put("externalData", externalData);
    if (o.activations() != null) {
      marker.put("activations", Map.of("calibration", o.activations(), "entries", calibrated,
          "quantized", new java.util.TreeSet<>(x.activations())));
    }
    List<Map<String, Object>> list = new ArrayList<>();
    for (FileChecksum f : files) {
      list.add(Map.of("path", f.getPath(), "bytes", f.getBytes(), "crc32c", Crc32c.hex(f.getCrc32c())));
    }
    marker.put("files", list);
    out.writeAtomically(ExportJob.MARKER, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValueAsBytes(marker));
  }
}
