package io.q16.spark;

import io.q16.export.OnnxPayloads;
import io.q16.format.CountingOutputStream;
import io.q16.format.Manifest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * Executor side of the ONNX exports of large models: writes whole external data files, each
 * tensor at the offset the driver planned (the driver wrote those offsets into the model), under
 * an attempt-unique name renamed into place when complete.
 */
final class OnnxDataFunction implements MapPartitionsFunction<OnnxDataTask, FileChecksum> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<byte[]> manifestJson;
  private final String outputDir;
  private final String shardDir;

  OnnxDataFunction(Broadcast<HadoopConf> conf, Broadcast<byte[]> manifestJson, String outputDir, String shardDir) {
    this.conf = conf;
    this.manifestJson = manifestJson;
    this.outputDir = outputDir;
    this.shardDir = shardDir;
  }

  @Override
  public Iterator<FileChecksum> call(Iterator<OnnxDataTask> tasks) throws IOException {
    Configuration c = conf.value().get();
    Manifest m = Manifest.fromJson(manifestJson.value());
    List<String> shardFiles = ExportFunction.shardFiles(m, shardDir);
    Map<String, Manifest.TensorEntry> byName = m.tensorsByName();
    List<FileChecksum> out = new ArrayList<>();
    while (tasks.hasNext()) {
      OnnxDataTask task = tasks.next();
      out.add(ExportFunction.writeFile(c, outputDir, task.getFile(), o -> {
        CountingOutputStream counted = new CountingOutputStream(o);
        for (int i = 0; i < task.getTensors().size(); i++) {
          long offset = task.getOffsets().get(i);
          if (counted.count() > offset) {
            throw new IllegalStateException(task.getFile() + ": tensor '" + task.getTensors().get(i) + "' planned at "
                + offset + " but " + counted.count() + " bytes were written before it");
          }
          OnnxPayloads.pad(counted, offset - counted.count());
          OnnxPayloads.write(byName.get(task.getTensors().get(i)), OnnxPayloads.Kind.valueOf(task.getKinds().get(i)),
              shardFiles, c, counted);
        }
        counted.flush();
      }));
    }
    return out.iterator();
  }

}
