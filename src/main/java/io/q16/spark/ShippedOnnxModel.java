package io.q16.spark;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.q16.Errors;
import io.q16.format.Model;
import io.q16.format.OnnxModel;
import io.q16.fs.HadoopFs;
import io.q16.format.ByteSource;
import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * An ONNX model as executors open it in ONNX Runtime: the model file's bytes followed by a
 * {@code suffix} that protobuf merges into it (extra graph outputs, see
 * {@link io.q16.format.OnnxActivations#exposeSuffix}), so nothing is rewritten or staged.
 *
 * <ul>
 *   <li>The bytes travel as a broadcast (fetched once per executor, shared by its tasks) when the
 *       model file is at most {@code broadcastLimit}; a larger file (up to protobuf's 2 GiB) is read
 *       by each task from its Hadoop path instead, which keeps the driver and the block managers
 *       from holding a second copy.
 *   <li>External data: ONNX Runtime reads it from a local folder, relative to the model. A session
 *       made from bytes resolves it against {@code session.model_external_initializers_file_folder_path},
 *       which is set to the model's own folder when the model is on the local file system (a shared
 *       mount on a cluster), and otherwise to a local copy of the external files that each executor
 *       JVM makes once, under Spark's per-executor files directory (deleted with the executor).
 * </ul>
 *
 * A class, not a record: it reaches executors inside executor functions.
 */
final class ShippedOnnxModel implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String EXTERNAL_FOLDER = "session.model_external_initializers_file_folder_path";

  /** Model files up to this size are broadcast; larger ones are read by each task. */
  static final long BROADCAST_LIMIT = 256L << 20;

  private final String path;
  private final long size;
  private final Broadcast<byte[]> bytes;
  private final Broadcast<HadoopConf> conf;
  private final byte[] suffix;
  private final String localFolder;
  private final String[] external;
  private final long[] externalSizes;

  private ShippedOnnxModel(String path, long size, Broadcast<byte[]> bytes, Broadcast<HadoopConf> conf, byte[] suffix,
      String localFolder, String[] external, long[] externalSizes) {
    this.path = path;
    this.size = size;
    this.bytes = bytes;
    this.conf = conf;
    this.suffix = suffix;
    this.localFolder = localFolder;
    this.external = external;
    this.externalSizes = externalSizes;
  }

  /**
   * @param path the model file as the file system names it
   * @param model the model as planned (its external data files)
   * @param suffix bytes appended to the model file (may be empty)
   */
  static ShippedOnnxModel of(JavaSparkContext jsc, String path, OnnxModel model, byte[] suffix, long broadcastLimit,
      Configuration conf) throws IOException {
    FileStatus status = HadoopFs.statusOrNull(path, conf);
    if (status == null) {
      throw Errors.missing(path);
    }
    Broadcast<byte[]> bytes = null;
    if (status.getLen() <= broadcastLimit) {
      byte[] all = new byte[Math.addExact((int) status.getLen(), suffix.length)];
      try (ByteSource in = HadoopFs.open(path, conf)) {
        in.readFully(0, all, 0, (int) status.getLen());
      }
      System.arraycopy(suffix, 0, all, (int) status.getLen(), suffix.length);
      bytes = jsc.broadcast(all);
    }
    // External files by their location relative to the model's folder (the planner refused any
    // location outside it).
    String dir = status.getPath().getParent().toString() + "/";
    List<String> external = new ArrayList<>();
    List<Long> sizes = new ArrayList<>();
    for (Model.SourceFile f : model.model().files()) {
      if ("onnx-external-data".equals(f.metadata().get("format"))) {
        if (!f.path().startsWith(dir)) {
          throw Errors.badFile(path, "external data file " + f.path() + " is not inside the model's folder");
        }
        external.add(f.path().substring(dir.length()));
        sizes.add(f.size());
      }
    }
    FileSystem fs = HadoopFs.fileSystem(status.getPath(), conf);
    String local = "file".equals(fs.getUri().getScheme()) ? new File(status.getPath().getParent().toUri()).getPath() : null;
    long[] externalSizes = new long[sizes.size()];
    for (int i = 0; i < externalSizes.length; i++) {
      externalSizes[i] = sizes.get(i);
    }
    return new ShippedOnnxModel(status.getPath().toString(), status.getLen(), bytes, jsc.broadcast(new HadoopConf(conf)),
        suffix, local, external.toArray(new String[0]), externalSizes);
  }

  String path() {
    return path;
  }

  /** Whether executors get the bytes by broadcast (else each task reads the file). */
  boolean broadcast() {
    return bytes != null;
  }

  /**
   * A session on an executor, with {@code threads} intra-op threads (the task's cores: more would
   * compete with the executor's other tasks) and sequential execution. The caller closes it.
   */
  OrtSession open(OrtEnvironment env, int threads) throws IOException {
    byte[] model = bytes != null ? bytes.value() : readWithSuffix();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(Math.max(1, threads));
      options.setInterOpNumThreads(1);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      // No graph optimizations, as ONNX Runtime's own calibrator (quantization/calibrate.py,
      // ORT_DISABLE_ALL): fusions would compute some activations differently depending on which
      // other values are outputs, while unfused every activation is the value the graph defines.
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      // ONNX Runtime's warnings (unused initializers and the like) would drown Q16's progress.
      options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
      // Without it a model loaded from bytes resolves external data against the process's
      // working directory.
      String folder = localFolder != null ? localFolder : external.length > 0 ? localCopy() : null;
      if (folder != null) {
        options.addConfigEntry(EXTERNAL_FOLDER, folder);
      }
      return env.createSession(model, options);
    } catch (OrtException e) {
      throw Errors.badFile(path, "ONNX Runtime cannot load the model (with its activations as extra outputs): "
          + firstLine(e.getMessage()), e);
    }
  }

  private byte[] readWithSuffix() throws IOException {
    byte[] all = new byte[Math.addExact((int) size, suffix.length)];
    try (ByteSource in = HadoopFs.open(path, conf.value().get())) {
      if (in.size() != size) {
        throw Errors.badFile(path, "changed size from " + size + " to " + in.size() + " bytes while calibrating");
      }
      in.readFully(0, all, 0, (int) size);
    }
    System.arraycopy(suffix, 0, all, (int) size, suffix.length);
    return all;
  }

  /** Local copies of this JVM, by model: made once per executor, shared by its tasks. */
  private static final Map<String, String> COPIES = new HashMap<>();

  /**
   * The external data files copied under Spark's files directory of this executor, keeping their
   * relative locations, written under a temporary name and renamed so a failed copy is never used.
   */
  private String localCopy() throws IOException {
    String key = path + "\n" + String.join("\n", external) + "\n" + java.util.Arrays.toString(externalSizes);
    synchronized (COPIES) {
      String done = COPIES.get(key);
      if (done != null) {
        return done;
      }
      java.nio.file.Path root = java.nio.file.Path.of(SparkFiles.getRootDirectory(), "q16-onnx-" + hash(key));
      Configuration c = conf.value().get();
      Path dir = new Path(path).getParent();
      for (int i = 0; i < external.length; i++) {
        java.nio.file.Path target = root.resolve(external[i]).normalize();
        if (!target.startsWith(root)) {
          throw Errors.badFile(path, "external data location '" + external[i] + "' leaves the model's folder");
        }
        if (Files.isRegularFile(target) && Files.size(target) == externalSizes[i]) {
          continue;
        }
        Files.createDirectories(target.getParent());
        java.nio.file.Path tmp = Files.createTempFile(target.getParent(), ".copy", ".tmp");
        Path source = new Path(dir, external[i]);
        try (java.io.InputStream in = HadoopFs.fileSystem(source, c).open(source)) {
          Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      COPIES.put(key, root.toString());
      return root.toString();
    }
  }

  private static String hash(String s) {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String firstLine(String s) {
    String m = String.valueOf(s);
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
