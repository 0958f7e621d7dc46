package io.q16.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real command line in a JVM of its own, so that a heap limit is the production one: local
 * mode, where that heap is the driver's and the executors'.
 */
public final class Forks {
  private Forks() {}

  /** A forked run: exit code, and stdout and stderr together. */
  public record Fork(int code, String output) {}

  /** Runs {@code q16 args} with {@code -Xmx<heap>}, temporary files under {@code tmp}, for at most 10 minutes. */
  public static Fork q16(Path tmp, String heap, String... args) throws IOException, InterruptedException {
    Path log = tmp.resolve("fork-" + args[0] + "-" + System.nanoTime() + ".log");
    Process p = start(tmp, heap, log, args);
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("q16 " + args[0] + " did not finish in 10 minutes");
    }
    return new Fork(p.exitValue(), Files.readString(log));
  }

  /** Starts {@code q16 args} as {@link #q16} does, stdout and stderr to {@code log}, and returns at once. */
  public static Process start(Path tmp, String heap, Path log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + heap);
    for (String opt : System.getProperty("q16.addOpens").split(" ")) {
      cmd.add(opt);
    }
    cmd.add("-Dspark.master=local[2]");
    cmd.add("-Dspark.ui.enabled=false");
    cmd.add("-Djava.io.tmpdir=" + tmp);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.q16.cli.Q16");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    return pb.start();
  }
}
