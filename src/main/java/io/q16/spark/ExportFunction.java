package io.q16.spark;

import io.q16.export.ArrowExport;
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
  private final long arrowBatchBytes;

  /**
   * @param manifestJson the manifest as JSON (records do not survive Kryo; bytes do)
   * @param outputDir where the files go (the export's staging directory)
   * @param shardDir the Q16 output whose shards are read
   * @param arrowBatchBytes codes per Arrow record batch (whole rows), each mapped without copying
   */
  ExportFunction(Broadcast<HadoopConf> conf, Broadcast<byte[]> manifestJson, String outputDir, String shardDir,
      ModelExport.Kind kind, long arrowBatchBytes) {
    this.arrowBatchBytes = arrowBatchBytes;
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
    List<String> shardFiles = shardFiles(m, shardDir);
    java.util.Map<String, Manifest.TensorEntry> byName = m.tensorsByName();
    List<FileChecksum> out = new ArrayList<>();
    while (tasks.hasNext()) {
      ExportTask task = tasks.next();
      List<Manifest.TensorEntry> tensors = new ArrayList<>();
      for (String name : task.getTensors()) {
        tensors.add(byName.get(name));
      }
      if (kind == ModelExport.Kind.ARROW) {
        for (Manifest.TensorEntry t : tensors) {
          if (!Manifest.TensorEntry.QUANTIZED.equals(t.status())) {
            continue;
          }
          String base = ArrowExport.fileName(t.name());
          ArrowExport.Params[] params = new ArrowExport.Params[1];
          out.add(writeFile(c, base + ".arrow",
              o -> params[0] = ArrowExport.write(t, shardFiles, c, o, arrowBatchBytes)));
          if (params[0] != null) {
            out.add(writeFile(c, base + ".params.arrow", o -> ArrowExport.writeParams(t, params[0], o)));
          }
        }
        continue;
      }
      out.add(writeFile(c, task.getFile(), o -> ModelExport.write(o, m, tensors, kind, shardFiles, c)));
    }
    return out.iterator();
  }

  /** The paths of {@code m}'s shards in the output {@code dir}, indexed like the manifest's shards. */
  static List<String> shardFiles(Manifest m, String dir) {
    List<String> out = new ArrayList<>();
    for (Manifest.Shard s : m.shards()) {
      out.add(new Path(dir, s.path()).toString());
    }
    return out;
  }

  /** Streams one output file. */
  interface Body {
    void writeTo(OutputStream o) throws IOException;
  }

  private FileChecksum writeFile(Configuration c, String name, Body body) throws IOException {
    return writeFile(c, outputDir, name, body);
  }

  /** Writes {@code name} in {@code outputDir} under an attempt-unique temporary name, then renames it into place. */
  static FileChecksum writeFile(Configuration c, String outputDir, String name, Body body) throws IOException {
    Path target = new Path(outputDir, name);
    TaskContext ctx = TaskContext.get();
    long attempt = ctx == null ? 0 : ctx.taskAttemptId();
    Path tmp = new Path(outputDir, "." + name + ".attempt-" + attempt);
    FileSystem fs = HadoopFs.fileSystem(target, c);
    CRC32C crc = new CRC32C();
    try (CheckedOutputStream checked = new CheckedOutputStream(fs.create(tmp, true), crc);
        OutputStream o = new BufferedOutputStream(checked, 1 << 20)) {
      body.writeTo(o);
      o.flush();
    } catch (IOException | RuntimeException e) {
      fs.delete(tmp, false);
      throw e;
    }
    long bytes = fs.getFileStatus(tmp).getLen();
    if (fs.exists(target)) {
      fs.delete(target, false); // an earlier attempt's identical file
    }
    if (!fs.rename(tmp, target)) {
      throw new UncheckedIOException(new IOException("cannot rename " + tmp + " to " + target));
    }
    return new FileChecksum(name, bytes, (int) crc.getValue());
  }
}
