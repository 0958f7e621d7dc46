package io.q16.fs;

import io.q16.Errors;
import io.q16.format.Manifest;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.util.ShutdownHookManager;

/**
 * An output directory that appears whole or not at all.
 *
 * <p>Everything is written to a hidden staging directory beside {@code out}. {@link #commit()}
 * moves a previous output aside, renames the staging directory to {@code out}, then deletes the
 * previous output: until a complete replacement exists, what the user had is untouched. A
 * directory that is not a Q16 output (no manifest, not empty) is never replaced. If the process
 * dies or is interrupted before the commit, a shutdown hook deletes the staging directory.
 */
public final class OutputDir implements AutoCloseable {
  private final String out;
  private final String marker;
  private final Path outPath;
  private final Path staging;
  private final Path previous;
  private final FileSystem fs;
  private final Runnable hook;
  private boolean done;

  private OutputDir(String out, String marker, Path outPath, FileSystem fs, String runId) {
    this.out = out;
    this.marker = marker;
    this.outPath = outPath;
    this.fs = fs;
    Path parent = outPath.getParent();
    this.staging = new Path(parent, "." + outPath.getName() + ".q16-staging-" + runId);
    this.previous = new Path(parent, "." + outPath.getName() + ".q16-previous-" + runId);
    this.hook = this::abortQuietly;
    // Before Hadoop closes its file systems at shutdown (priority 10), so the delete can run.
    ShutdownHookManager.get().addShutdownHook(hook, FileSystem.SHUTDOWN_HOOK_PRIORITY + 1);
  }

  /**
   * Checks that {@code out} may be (re)placed and creates its staging directory. Fails before any
   * work is done if {@code out} is a file or a directory that is not a Q16 output.
   */
  public static OutputDir create(String out, Configuration conf, String runId) throws IOException {
    return create(out, conf, runId, Manifest.FILE_NAME);
  }

  /**
   * As {@link #create(String, Configuration, String)} for an output whose commit record is
   * {@code marker}: a directory holding it (or empty) may be replaced, any other is refused.
   */
  public static OutputDir create(String out, Configuration conf, String runId, String marker) throws IOException {
    Path p = new Path(out);
    FileSystem fs = HadoopFs.fileSystem(p, conf);
    Path qualified = fs.makeQualified(p);
    if (qualified.getParent() == null) {
      throw Errors.output(out, "cannot write to the root of a file system");
    }
    checkReplaceable(out, qualified, fs, marker);
    OutputDir dir = new OutputDir(out, marker, qualified, fs, runId);
    if (!fs.mkdirs(dir.staging)) {
      throw Errors.output(out, "cannot create staging directory " + dir.staging);
    }
    return dir;
  }

  private static void checkReplaceable(String out, Path p, FileSystem fs, String marker) throws IOException {
    FileStatus status;
    try {
      status = fs.getFileStatus(p);
    } catch (java.io.FileNotFoundException e) {
      return;
    }
    if (!status.isDirectory()) {
      throw Errors.output(out, "exists and is a file; refusing to replace it");
    }
    if (fs.exists(new Path(p, marker))) {
      return;
    }
    if (fs.listStatus(p).length > 0) {
      throw Errors.output(
          out, "exists, is not empty and holds no " + marker + " (not a Q16 output); refusing to replace it");
    }
  }

  /** A run id for staging names: UTC time to the second, then 8 random hex digits. */
  public static String newRunId() {
    return java.time.Instant.now().toString().replaceAll("[^0-9]", "").substring(0, 14) + "-"
        + java.util.UUID.randomUUID().toString().substring(0, 8);
  }

  /** The staging directory: write everything here. */
  public Path staging() {
    return staging;
  }

  public FileSystem fileSystem() {
    return fs;
  }

  /** The final location. */
  public Path path() {
    return outPath;
  }

  /** Writes {@code bytes} to {@code name} inside staging through a temporary file and a rename. */
  public void writeAtomically(String name, byte[] bytes) throws IOException {
    writeAtomically(fs, new Path(staging, name), bytes);
  }

  /** Writes {@code bytes} to {@code target} through a temporary sibling and a rename. */
  public static void writeAtomically(FileSystem fs, Path target, byte[] bytes) throws IOException {
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
    try (OutputStream o = fs.create(tmp, true)) {
      o.write(bytes);
    }
    if (fs.exists(target) && !fs.delete(target, false)) {
      throw Errors.output(target.toString(), "cannot replace");
    }
    if (!fs.rename(tmp, target)) {
      throw Errors.output(target.toString(), "cannot rename " + tmp + " into place");
    }
  }

  /** Swaps the staging directory in as {@code out}; the previous output is deleted last. */
  public void commit() throws IOException {
    checkReplaceable(out, outPath, fs, marker);
    boolean hadPrevious = fs.exists(outPath);
    if (hadPrevious && !fs.rename(outPath, previous)) {
      throw Errors.output(out, "cannot move the previous output aside to " + previous);
    }
    if (!fs.rename(staging, outPath)) {
      // Put the previous output back: the user must never be left with neither.
      if (hadPrevious) {
        fs.rename(previous, outPath);
      }
      throw Errors.output(out, "cannot rename staging directory " + staging + " into place");
    }
    done = true;
    if (hadPrevious) {
      fs.delete(previous, true);
    }
    removeHook();
  }

  /** Deletes the staging directory; {@code out} is untouched. */
  public void abort() {
    abortQuietly();
    removeHook();
  }

  private void removeHook() {
    try {
      ShutdownHookManager.get().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // Called from another shutdown hook: ours runs (and finds nothing to do) or already ran.
    }
  }

  private synchronized void abortQuietly() {
    if (done) {
      return;
    }
    done = true;
    try {
      fs.delete(staging, true);
    } catch (IOException | RuntimeException e) {
      System.err.println("q16: warning: could not delete staging directory " + staging + ": " + e);
    }
  }

  @Override
  public void close() {
    if (!done) {
      abort();
    }
  }
}
