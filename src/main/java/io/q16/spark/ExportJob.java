package io.q16.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.q16.export.ModelExport;
import io.q16.format.Crc32c;
import io.q16.format.Manifest;
import io.q16.fs.OutputDir;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

/**
 * {@code q16 export DIR --to safetensors|fake-quant|arrow --out OUT}: writes a Q16 output as a
 * safetensors model (one file, or Hugging Face-style shards plus {@code model.safetensors.index.json}
 * when larger than {@code --file-mb}) or as Arrow IPC files (one per tensor); each file is written
 * whole by one executor task.
 */
public final class ExportJob {
  /** The commit record of an export directory, written last. */
  public static final String MARKER = "q16-export.json";

  /** What to export where. */
  public record Options(String dir, String out, ModelExport.Kind kind, long fileBytes, long arrowBatchBytes) {}

  private ExportJob() {}

  public static List<FileChecksum> run(SparkSession spark, Options o, PrintStream progress) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Manifest m = VerifyJob.readManifest(o.dir(), conf);

    // Tensors in manifest order, cut into files of about fileBytes.
    List<List<String>> groups = new ArrayList<>();
    List<String> current = new ArrayList<>();
    long inFile = 0;
    for (Manifest.TensorEntry t : m.tensors()) {
      long b = ModelExport.outputBytes(t, o.kind());
      if (!current.isEmpty() && inFile + b > o.fileBytes()) {
        groups.add(current);
        current = new ArrayList<>();
        inFile = 0;
      }
      current.add(t.name());
      inFile += b;
    }
    if (!current.isEmpty()) {
      groups.add(current);
    }
    List<ExportTask> tasks = new ArrayList<>();
    for (int i = 0; i < groups.size(); i++) {
      String name = groups.size() == 1 ? "model.safetensors"
          : String.format("model-%05d-of-%05d.safetensors", i + 1, groups.size());
      tasks.add(new ExportTask(name, groups.get(i)));
    }
    String runId = OutputDir.newRunId();
    try (OutputDir out = OutputDir.create(o.out(), conf, runId, MARKER)) {
      Broadcast<HadoopConf> hconf = jsc.broadcast(new HadoopConf(conf));
      Broadcast<byte[]> manifest = jsc.broadcast(m.toJson());
      long t0 = System.nanoTime();
      List<FileChecksum> files = spark
          .createDataset(jsc.parallelize(tasks, Math.max(1, tasks.size())).rdd(), Encoders.bean(ExportTask.class))
          .mapPartitions(new ExportFunction(hconf, manifest, out.staging().toString(), o.dir(), o.kind(), o.arrowBatchBytes()),
              FileChecksum.ENCODER)
          .collectAsList();
      progress.printf("[export] %d file%s written in %.1fs%n", files.size(), files.size() == 1 ? "" : "s",
          (System.nanoTime() - t0) / 1e9);
      ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      if (tasks.size() > 1 && o.kind() != ModelExport.Kind.ARROW) {
        Map<String, Manifest.TensorEntry> byName = m.tensorsByName();
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (ExportTask task : tasks) {
          for (String name : task.getTensors()) {
            Manifest.TensorEntry t = byName.get(name);
            total += ModelExport.outputBytes(t, o.kind());
            weightMap.put(name, task.getFile());
            if (o.kind() == ModelExport.Kind.INT16 && Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
              weightMap.put(name + ".scale", task.getFile());
              weightMap.put(name + ".zero_point", task.getFile());
            }
          }
        }
        out.writeAtomically("model.safetensors.index.json", json.writeValueAsBytes(
            Map.of("metadata", Map.of("total_size", total), "weight_map", weightMap)));
      }
      Map<String, Object> marker = new LinkedHashMap<>();
      marker.put("format", "q16-export");
      marker.put("kind", switch (o.kind()) {
        case INT16 -> "safetensors";
        case FAKE_QUANT -> "fake-quant";
        case ARROW -> "arrow";
      });
      if (o.kind() == ModelExport.Kind.ARROW) {
        Map<String, String> files2 = new LinkedHashMap<>();
        for (Manifest.TensorEntry t : m.tensors()) {
          files2.put(t.name(), Manifest.TensorEntry.QUANTIZED.equals(t.status())
              ? io.q16.export.ArrowExport.fileName(t.name()) + ".arrow" : "not exported (" + t.status() + ")");
        }
        marker.put("tensors", files2);
      }
      marker.put("from", o.dir());
      marker.put("sourceFingerprint", m.source().fingerprint());
      List<Map<String, Object>> list = new ArrayList<>();
      for (FileChecksum f : files) {
        list.add(Map.of("path", f.getPath(), "bytes", f.getBytes(), "crc32c", Crc32c.hex(f.getCrc32c())));
      }
      marker.put("files", list);
      out.writeAtomically(MARKER, json.writeValueAsBytes(marker));
      out.commit();
      return files;
    }
  }
}
