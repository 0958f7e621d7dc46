package io.q16.spark;

import io.q16.export.OnnxPayloads;
import io.q16.format.Manifest;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
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
    List<String> shardFiles = new ArrayList<>();
    for (Manifest.Shard s : m.shards()) {
      shardFiles.add(new Path(shardDir, s.path()).toString());
    }
    Map<String, Manifest.TensorEntry> byName = m.tensorsByName();
    List<FileChecksum> out = new ArrayList<>();
    while (tasks.hasNext()) {
      OnnxDataTask task = tasks.next();
      out.add(ExportFunction.writeFile(c, outputDir, task.getFile(), o -> {
        Counting counted = new Counting(o);
        for (int i = 0; i < task.getTensors().size(); i++) {
          long offset = task.getOffsets().get(i);
          if (counted.written > offset) {
            throw new IllegalStateException(task.getFile() + ": tensor '" + task.getTensors().get(i) + "' planned at "
                + offset + " but " + counted.written + " bytes were written before it");
          }
          OnnxPayloads.pad(counted, offset - counted.written);
          OnnxPayloads.write(byName.get(task.getTensors().get(i)), OnnxPayloads.Kind.valueOf(task.getKinds().get(i)),
              shardFiles, c, counted);
        }
        counted.flush();
      }));
    }
    return out.iterator();
  }

  /** Counts what passes, so each tensor starts at its planned offset. */
  private static final class Counting extends FilterOutputStream {
    long written;

    Counting(OutputStream o) {
      super(o);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      written++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      written += len;
    }
  }
}
