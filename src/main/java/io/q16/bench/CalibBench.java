package io.q16.bench;

import io.q16.calib.CandidateErrors;
import io.q16.calib.Histogram;
import io.q16.calib.Thresholds;
import io.q16.quant.QuantParams;
import io.q16.quant.Scheme;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * Calibration kernels on one thread: the |x| histogram pass next to numpy.histogram with the same
 * bins on the same values in the same run (the counts must be identical: exit code 1 if not), the
 * per-tensor threshold searches (percentile, mse, kl int16, kl trt) on the merged histogram, and
 * the measurement pass (four candidate thresholds quantized and their squared errors summed
 * exactly).
 *
 * <pre>
 * java -cp target/q16.jar io.q16.bench.CalibBench [--elements N] [--reps R] [--warmup W] [--seed S]
 *     [--python python3 | --no-numpy]
 * </pre>
 *
 * Values: N (default 16M) seeded Gaussians with one in 20000 scaled by 40 (outliers), float32.
 * Rates are medians of R timed runs after W warm-ups.
 */
public final class CalibBench {
  private CalibBench() {}

  public static void main(String[] args) throws Exception {
    BenchArgs a = BenchArgs.parse("CalibBench", args, 1 << 24, 5);
    if (a == null) {
      return;
    }
    int elements = a.elements();
    int reps = a.reps();
    int warmup = a.warmup();
    long seed = a.seed();
    String python = a.python();
    float[] x = new float[elements];
    SplittableRandom r = new SplittableRandom(seed);
    float absmax = 0;
    for (int i = 0; i < x.length; i++) {
      double g = gaussian(r);
      x[i] = (float) (r.nextInt(20000) == 0 ? 40 * g : g);
      absmax = Math.max(absmax, Math.abs(x[i]));
    }
    System.out.printf(Locale.ROOT, "CalibBench: %d float32 values (Gaussian, 1 in 20000 x40), max|x| %.6g, java %s%n",
        elements, absmax, System.getProperty("java.version"));
    int[] binCases = {2048, 1 << 18, 1 << 20};

    System.out.println("histogram of |x| over [0, max|x|], one thread (Melem/s, median):");
    Map<Integer, String> javaCrc = new HashMap<>();
    Map<Integer, Double> javaRate = new HashMap<>();
    Map<Integer, Histogram> hists = new HashMap<>();
    for (int bins : binCases) {
      double[] t = new double[reps];
      Histogram h = null;
      for (int k = 0; k < warmup + reps; k++) {
        long t0 = System.nanoTime();
        h = new Histogram(0, absmax, bins, true);
        h.accept(x, 0, x.length);
        if (k >= warmup) {
          t[k - warmup] = (System.nanoTime() - t0) / 1e9;
        }
      }
      hists.put(bins, h);
      javaCrc.put(bins, crc(h.counts()));
      javaRate.put(bins, elements / median(t) / 1e6);
      System.out.printf(Locale.ROOT, "  java  %8d bins %8.0f Melem/s  counts crc %s%n", bins, javaRate.get(bins),
          javaCrc.get(bins));
    }
    boolean ok = true;
    if (python != null) {
      Path dir = Files.createTempDirectory("q16-calibbench");
      try {
        ByteBuffer b = ByteBuffer.allocate(4 * elements).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(x);
        Files.write(dir.resolve("x.f32"), b.array());
        StringBuilder cases = new StringBuilder();
        for (int bins : binCases) {
          cases.append(bins).append(' ').append(Double.toString(absmax)).append('\n');
        }
        Files.writeString(dir.resolve("cases.txt"), cases);
        for (String[] res : numpy(a, dir)) {
          int bins = Integer.parseInt(res[0]);
          double rate = elements / Double.parseDouble(res[1]) / 1e6;
          boolean same = res[2].equals(javaCrc.get(bins));
          ok &= same;
          System.out.printf(Locale.ROOT, "  numpy %8d bins %8.0f Melem/s  counts crc %s %s   java/numpy %.1fx%n", bins,
              rate, res[2], same ? "(identical)" : "(DIFFERENT)", javaRate.get(bins) / rate);
        }
      } finally {
        try (var s = Files.list(dir)) {
          for (Path p : s.toList()) {
            Files.delete(p);
          }
        }
        Files.delete(dir);
      }
    }

    final float hi = absmax;
    System.out.println("threshold search per tensor on the merged histogram (ms, median):");
    for (int bins : binCases) {
      Histogram h = hists.get(bins);
      System.out.printf(Locale.ROOT, "  %8d bins: percentile %8.2f  mse %8.1f  kl-int16 %8.1f  kl-trt %8.1f%n", bins,
          ms(reps, warmup, () -> Thresholds.percentile(h, 99.999)),
          ms(reps, warmup, () -> Thresholds.mseFine(h, 32767, 128)),
          ms(reps, warmup, () -> Thresholds.klFine(h, 32768, 128)),
          ms(1, 1, () -> Thresholds.klTensorRt(Histogram.of(0, hi, coarsen(h.counts(), 2048)), 128)));
    }
    Histogram fine = hists.get(1 << 20);
    Thresholds.KlFine kl = Thresholds.klFine(fine, 32768, 128);
    Thresholds.MseFine mse = Thresholds.mseFine(fine, 32767, 128);
    System.out.printf(Locale.ROOT, "  at 2^20 bins: kl-int16 T = %.6g (%s, %d candidates), mse T = %.6g; max|x| %.6g%n",
        kl.threshold(), kl.discriminates() ? "discriminates" : "cannot discriminate", kl.candidates(), mse.threshold(),
        absmax);

    System.out.println("measurement pass: 4 candidate thresholds, exact squared-error sums, one thread:");
    QuantParams[] cands = new QuantParams[4];
    double[] ts = {absmax, mse.threshold(), kl.threshold(), Thresholds.percentile(fine, 99.999)};
    for (int k = 0; k < 4; k++) {
      float t = (float) Math.min(ts[k], absmax);
      cands[k] = QuantParams.calibrated(Scheme.SYMMETRIC, -absmax, absmax, t);
    }
    double[] t = new double[reps];
    for (int k = 0; k < warmup + reps; k++) {
      long t0 = System.nanoTime();
      new CandidateErrors(cands, absmax).accept(x, 0, x.length);
      if (k >= warmup) {
        t[k - warmup] = (System.nanoTime() - t0) / 1e9;
      }
    }
    System.out.printf(Locale.ROOT, "  %8.0f Melem/s (%.1f ns per value and candidate)%n", elements / median(t) / 1e6,
        median(t) * 1e9 / elements / 4);
    if (!ok) {
      System.out.println("FAIL: numpy's counts differ from Java's");
      System.exit(1);
    }
  }

  private static double ms(int reps, int warmup, Runnable r) {
    double[] t = new double[reps];
    for (int k = 0; k < warmup + reps; k++) {
      long t0 = System.nanoTime();
      r.run();
      if (k >= warmup) {
        t[k - warmup] = (System.nanoTime() - t0) / 1e6;
      }
    }
    return median(t);
  }

  private static long[] coarsen(long[] c, int bins) {
    long[] out = new long[bins];
    int f = c.length / bins;
    for (int i = 0; i < c.length; i++) {
      out[i / f] += c[i];
    }
    return out;
  }

  private static List<String[]> numpy(BenchArgs a, Path dir) throws IOException, InterruptedException {
    Process p = a.startNumpy("numpy_histogram.py", dir);
    List<String[]> out = new ArrayList<>();
    try (BufferedReader rd = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = rd.readLine()) != null; ) {
        if (line.startsWith("INFO ")) {
          System.out.println("  " + line.substring(5));
        } else if (line.startsWith("RESULT ")) {
          Map<String, String> kv = new HashMap<>();
          for (String tok : line.substring(7).split(" ")) {
            int eq = tok.indexOf('=');
            kv.put(tok.substring(0, eq), tok.substring(eq + 1));
          }
          double[] times = Arrays.stream(kv.get("times").split(",")).mapToDouble(Double::parseDouble).toArray();
          out.add(new String[] {kv.get("bins"), Double.toString(median(times)), kv.get("crc")});
        }
      }
    }
    if (p.waitFor() != 0) {
      throw new IOException(a.python() + " exited with " + p.exitValue());
    }
    return out;
  }

  private static String crc(long[] counts) {
    ByteBuffer b = ByteBuffer.allocate(8 * counts.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(counts);
    CRC32 c = new CRC32();
    c.update(b.array());
    return String.format(Locale.ROOT, "%08x", c.getValue());
  }

  private static double median(double[] t) {
    double[] s = t.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static double gaussian(SplittableRandom r) {
    // Box-Muller: SplittableRandom has no nextGaussian on Java 17.
    double u = 1 - r.nextDouble();
    double v = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
