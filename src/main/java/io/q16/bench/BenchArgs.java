package io.q16.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The options every bench entry point takes, and how it starts its numpy peer.
 *
 * @param python the interpreter for the numpy peer, or null for Java only
 */
record BenchArgs(int elements, int reps, int warmup, long seed, String python) {

  /** Parses {@code --elements --reps --warmup --seed --python --no-numpy}; null after printing --help. */
  static BenchArgs parse(String name, String[] args, int elements, int reps) {
    int warmup = 2;
    long seed = 42;
    String python = "python3";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--elements" -> elements = Integer.parseInt(args[++i]);
        case "--reps" -> reps = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--python" -> python = args[++i];
        case "--no-numpy" -> python = null;
        case "-h", "--help" -> {
          System.out.println("usage: " + name + " [--elements N] [--reps R] [--warmup W] [--seed S]"
              + " [--python python3 | --no-numpy]");
          return null;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i] + " (try --help)");
      }
    }
    return new BenchArgs(elements, reps, warmup, seed, python);
  }

  /**
   * Starts {@code python SCRIPT DIR REPS WARMUP}, the script copied from this package's resources
   * into {@code dir}, on one thread and without the OpenBLAS settings this machine exports for old
   * builds (they slow a current numpy; env README). Its stderr goes to ours.
   */
  Process startNumpy(String script, Path dir) throws IOException {
    Path copy = dir.resolve(script);
    try (InputStream in = BenchArgs.class.getResourceAsStream(script)) {
      Files.write(copy, in.readAllBytes());
    }
    ProcessBuilder pb = new ProcessBuilder(python, copy.toString(), dir.toString(), Integer.toString(reps),
        Integer.toString(warmup));
    pb.environment().remove("OPENBLAS_CORETYPE");
    pb.environment().remove("OPENBLAS_L2_SIZE");
    for (String v : new String[] {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}) {
      pb.environment().put(v, "1");
    }
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    return pb.start();
  }
}
