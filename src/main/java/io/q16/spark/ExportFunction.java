package io.q16.spark;

import io.q16.export.ModelExport;
import io.q16.format.Manifest;
import io.q16.fs.HadoopFs;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * Executor side of export: writes whole output files, each under an attempt-unique temporary
 * name renamed into place when complete, so a retried or speculative task never leaves a partial
 * file. Output content is deterministic, so whichever attempt's rename lands is the same file.
 */
final class ExportFunction implements MapPartitionsFunction<ExportTask, FileChecksum> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<byte[]> manifestJson;
  private final String outputDir;
  private final String shardDir;
  private final ModelExport.Kind kind;

  /**
   * @param manifestJson the manifest as JSON (records do not survive Kryo; bytes do)
   * @param outputDir where the files go (the export's staging directory)
   * @param shardDir the Q16 output whose shards are read
   */
  ExportFunction(Broadcast<HadoopConf> conf, Broadcast<byte[]> manifestJson, String outputDir, String shardDir,
      ModelExport.Kind kind) {
    this.conf = conf;
    this.manifestJson = manifestJson;
    this.outputDir = outputDir;
    this.shardDir = shardDir;
    this.kind = kind;
  }

  @Override
  public Iterator<FileChecksum> call(Iterator<ExportTask> tasks) throws IOException {
    Configuration c = conf.value().get();
    Manifest m = Manifest.fromJson(manifestJson.value());
    List<String> shardFiles = new ArrayList<>();
    for (Manifest.Shard s : m.shards()) {
      shardFiles.add(new Path(shardDir, s.path()).toString());
    }
    List<FileChecksum> out = new ArrayList<>();
    while (tasks.hasNext()) {
      ExportTask task = tasks.next();
      List<Manifest.TensorEntry> tensors = new ArrayList<>();
      for (String name : task.getTensors()) {
        tensors.add(m.tensor(name));
      }
      Path target = new Path(outputDir, task.getFile());
      TaskContext ctx = TaskContext.get();
      long attempt = ctx == null ? 0 : ctx.taskAttemptId();
      Path tmp = new Path(outputDir, "." + task.getFile() + ".attempt-" + attempt);
      FileSystem fs = HadoopFs.fileSystem(target, c);
      CRC32C crc = new CRC32C();
      long bytes;
      try (CheckedOutputStream checked = new CheckedOutputStream(fs.create(tmp, true), crc);
          OutputStream o = new BufferedOutputStream(checked, 1 << 20)) {
        ModelExport.write(o, m, tensors, kind, shardFiles, c);
        o.flush();
      } catch (IOException | RuntimeException e) {
        fs.delete(tmp, false);
        throw e;
      }
      bytes = fs.getFileStatus(tmp).getLen();
      if (fs.exists(target)) {
        fs.delete(target, false); // an earlier attempt's identical file
      }
      if (!fs.rename(tmp, target)) {
        throw new UncheckedIOException(new IOException("cannot rename " + tmp + " to " + target));
      }
      out.add(new FileChecksum(task.getFile(), bytes, (int) crc.getValue()));
    }
    return out.iterator();
  }
}
