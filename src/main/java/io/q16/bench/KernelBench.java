package io.q16.bench;

import io.q16.calib.MagnitudeStats;
import io.q16.calib.RangeStats;
import io.q16.quant.Codes;
import io.q16.quant.GranularKernel;
import io.q16.quant.Granularity;
import io.q16.quant.LinearKernel;
import io.q16.quant.LogCodec;
import io.q16.quant.LogParams;
import io.q16.quant.MinifloatCodec;
import io.q16.quant.MinifloatParams;
import io.q16.quant.NonlinearParams;
import io.q16.quant.QuantParams;
import io.q16.quant.Scheme;
import io.q16.quant.UnitLayout;
import io.q16.tensor.DType;
import io.q16.tensor.Decode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * Kernel throughput on one thread, next to numpy doing the same work on the same data in the same
 * run: every linear scheme and granularity, the log and minifloat (E5, E7) codecs' encoding and
 * decoding, the range statistics and F32 decoding. JDK only.
 *
 * <pre>
 * java -cp target/q16.jar io.q16.bench.KernelBench [--elements N] [--reps R] [--warmup W]
 *     [--seed S] [--python python3 | --no-numpy]
 * </pre>
 *
 * <p>It generates N (default 16M) seeded Gaussian float32 values, computes the parameters of each
 * case (min/max calibration per tensor, per channel along axis 0 of [4096, 4096], per group of
 * 128), and times the fast kernel and the scalar reference kernel: W warm-up runs, then R timed
 * runs over all N values, reported as the median in elements per second. The values and
 * parameters go to a temporary directory, where python3 times the numpy equivalent (see
 * numpy_kernels.py) with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset and one thread. The codes
 * of all four linear implementations must be identical (CRC-32 of the int16 codes), and for the
 * non-linear codecs the fast Java kernels must give the codes (and decoded values) of their scalar
 * references; the exit code is 1 if not. numpy's non-linear peers are reported with the fraction
 * of their results identical to Java's (its log and exp2 are not fdlibm's). The last column
 * divides each kernel's rate by the linear per-tensor kernel's (symmetric) in the same run.
 */
public final class KernelBench {
  private static final int ROWS = 4096;
  private static final int GROUP = 128;

  private KernelBench() {}

  /** One timed case: its label, the Java fast and reference timings, numpy's. */
  private record Row(String label, double[] fast, double[] reference, double[] numpy, double[] numpyInPlace,
      String codes) {}

  /** Label of the row whose fast rate the last column divides by. */
  private static final String LINEAR_PER_TENSOR = "symmetric, per tensor";

  public static void main(String[] args) throws Exception {
    BenchArgs a = BenchArgs.parse("KernelBench", args, 1 << 24, 7);
    if (a == null) {
      return;
    }
    if (a.elements() % (ROWS * GROUP) != 0) {
      throw new IllegalArgumentException("--elements must be a multiple of " + ROWS * GROUP);
    }
    System.exit(new KernelBench.Run(a).run());
  }

  private static final class Run {
    private final int n;
    private final int reps;
    private final int warmup;
    private final long seed;
    private final String python;
    private final BenchArgs args;
    private final float[] x;
    private final short[] q;
    private long sink;

    Run(BenchArgs a) {
      this.args = a;
      this.n = a.elements();
      this.reps = a.reps();
      this.warmup = a.warmup();
      this.seed = a.seed();
      this.python = a.python();
      this.x = new float[n];
      this.q = new short[n];
    }

    int run() throws Exception {
      System.out.printf(Locale.ROOT, "KernelBench: %d float32 values (seed %d), 1 thread, %d warm-up + %d timed runs,"
          + " median%n", n, seed, warmup, reps);
      System.out.printf(Locale.ROOT, "java %s (%s), %s, %d cores, %s%n", System.getProperty("java.version"),
          System.getProperty("java.vm.name"), System.getProperty("os.arch"),
          Runtime.getRuntime().availableProcessors(), cpuModel());
      SplittableRandom r = new SplittableRandom(seed);
      for (int i = 0; i < n; i++) {
        x[i] = (float) (r.nextGaussian() * 0.02);
      }
      Path dir = Files.createTempDirectory("q16-kernel-bench");
      try {
        byte[] raw = Codes.floats(x);
        Files.write(dir.resolve("x.f32"), raw);
        String[] grans = {"tensor", "channel", "group"};
        StringBuilder caseList = new StringBuilder();
        List<Case> cases = new ArrayList<>();
        for (Scheme scheme : Scheme.LINEAR) {
          for (String gran : grans) {
            Case c = new Case(scheme, gran);
            cases.add(c);
            caseList.append(String.format(Locale.ROOT, "%s %s %s %d %d %d%n", c.name, scheme.cliName(), gran,
                scheme.qmin(), scheme.qmax(), c.scales.length));
            Files.write(dir.resolve(c.name + ".scales.f32"), Codes.floats(c.scales));
            float[] zpf = new float[c.zps.length];
            for (int u = 0; u < zpf.length; u++) {
              zpf[u] = c.zps[u];
            }
            Files.write(dir.resolve(c.name + ".zps.f32"), Codes.floats(zpf));
          }
        }
        Files.writeString(dir.resolve("cases.txt"), caseList);

        MagnitudeStats mags = new MagnitudeStats().update(x, 0, n);
        List<Codec> codecs = List.of(
            new Codec("log", NonlinearParams.fromStats(Scheme.LOG, 0, mags.absmax(), mags.minNonZero())),
            new Codec("minifloat-e5", NonlinearParams.fromStats(Scheme.MINIFLOAT, 5, mags.absmax(), mags.minNonZero())),
            new Codec("minifloat-e7", NonlinearParams.fromStats(Scheme.MINIFLOAT, 7, mags.absmax(), mags.minNonZero())));
        StringBuilder codecList = new StringBuilder();
        for (Codec c : codecs) {
          codecList.append(c.describe()).append('\n');
        }
        Files.writeString(dir.resolve("nonlinear.txt"), codecList);
        List<Timed> timed = new ArrayList<>(cases);
        for (Codec c : codecs) {
          timed.add(c.encoder);
          timed.add(c.decoder);
        }
        String tables = tableBuildTimes(codecs.get(0).params.log());

        // Compile every kernel before timing any, then time round robin (each run times every
        // case once), so that no case is favoured by its place in the order.
        for (int i = 0; i < warmup; i++) {
          for (Timed c : timed) {
            sink += c.run(false) + c.run(true);
          }
        }
        for (Timed c : timed) {
          c.fast = new double[reps];
          c.reference = new double[reps];
        }
        for (int i = 0; i < reps; i++) {
          for (Timed c : timed) {
            c.fast[i] = timeOnce(() -> c.run(false));
            c.reference[i] = timeOnce(() -> c.run(true));
          }
        }
        boolean identical = true;
        for (Case c : cases) {
          Arrays.fill(q, (short) 0);
          long fastClipped = c.run(false);
          String fastCodes = crc() + "/" + fastClipped;
          Arrays.fill(q, (short) 0);
          long refClipped = c.run(true);
          String refCodes = crc() + "/" + refClipped;
          if (!fastCodes.equals(refCodes)) {
            System.out.printf("MISMATCH %s: fast codes/clipped %s, reference %s%n", c.name, fastCodes, refCodes);
            identical = false;
          }
          c.codes = fastCodes;
          System.out.printf(Locale.ROOT, "  java  %-28s fast %6.0f, reference %6.0f Melem/s  codes/clipped %s%n",
              c.name, rate(c.fast), rate(c.reference), fastCodes);
        }
        for (Codec c : codecs) {
          identical &= c.check(dir);
        }
        double[] range = time(() -> {
          RangeStats s = new RangeStats().update(x, 0, n);
          return (long) s.max();
        });
        double[] rangeScalar = time(() -> scalarRange(x));
        float[] decoded = new float[n];
        double[] decode = time(() -> {
          Decode.toFloat(DType.F32, raw, 0, decoded, 0, n);
          return Float.floatToRawIntBits(decoded[n - 1]);
        });
        if (!Arrays.equals(decoded, x)) {
          System.out.println("MISMATCH decode");
          identical = false;
        }
        double[] decodeScalar = time(() -> scalarDecode(raw, decoded));

        Map<String, Map<String, String>> numpy = new HashMap<>();
        String numpyInfo = python == null ? "numpy not run (--no-numpy)" : runNumpy(dir, numpy);
        List<Row> rows = new ArrayList<>();
        for (Case c : cases) {
          Map<String, String> e = numpy.get(c.name + "/expr");
          Map<String, String> p = numpy.get(c.name + "/inplace");
          String codes = "java only";
          if (e != null && p != null) {
            boolean same = c.codes.equals(e.get("crc") + "/" + e.get("clipped"))
                && c.codes.equals(p.get("crc") + "/" + p.get("clipped"));
            identical &= same;
            codes = same ? "identical codes" : "DIFFER";
          }
          rows.add(new Row(c.label, c.fast, c.reference, e == null ? null : times(e), p == null ? null : times(p),
              codes));
        }
        for (Codec c : codecs) {
          for (Timed t : List.of(c.encoder, c.decoder)) {
            Map<String, String> e = numpy.get(t.name + "/expr");
            Map<String, String> p = numpy.get(t.name + "/inplace");
            String results = "java only";
            if (e != null && p != null) {
              results = "numpy: " + same(e, p) + (t == c.encoder ? " codes" : " values") + " identical";
            }
            rows.add(new Row(t.label, t.fast, t.reference, e == null ? null : times(e), p == null ? null : times(p),
                results));
          }
        }
        Map<String, String> np = numpy.get("range/minmax");
        rows.add(new Row("range statistics (min, max, non-finite counts)", range, rangeScalar,
            np == null ? null : times(np), null, "numpy: x.min(), x.max()"));
        Map<String, String> nd = numpy.get("decode/frombuffer");
        rows.add(new Row("decode F32 (little-endian bytes to float[])", decode, decodeScalar,
            nd == null ? null : times(nd), null, "numpy: frombuffer().copy()"));

        System.out.println();
        System.out.println(numpyInfo);
        System.out.println(tables);
        printTable(rows);
        System.out.println(identical ? "All results identical: Java fast = Java reference for every kernel, and"
            + " = numpy (both variants) for the linear ones."
            : "SOME RESULTS DIFFER: see MISMATCH/DIFFER above.");
        return identical ? 0 : 1;
      } finally {
        try (Stream<Path> files = Files.walk(dir)) {
          files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }

    /** A kernel timed round robin: its fast and reference variants. */
    private abstract static class Timed {
      final String name;
      final String label;
      double[] fast;
      double[] reference;

      Timed(String name, String label) {
        this.name = name;
        this.label = label;
      }

      /** Runs the fast or the reference variant over all values; returns something to keep alive. */
      abstract long run(boolean reference) throws Exception;
    }

    /** One scheme and granularity: its parameters, computed from the data as the job does. */
    private final class Case extends Timed {
      final Scheme scheme;
      final QuantParams tensor;
      final UnitLayout layout;
      final float[] scales;
      final int[] zps;
      String codes;

      Case(Scheme scheme, String gran) {
        super(scheme.cliName() + "." + gran, scheme.cliName() + ", " + switch (gran) {
          case "tensor" -> "per tensor";
          case "channel" -> "per channel (axis 0 of [" + ROWS + ", " + n / ROWS + "])";
          default -> "per group of " + GROUP;
        });
        this.scheme = scheme;
        if (gran.equals("tensor")) {
          RangeStats s = new RangeStats().update(x, 0, n);
          tensor = QuantParams.minMax(scheme, s.min(), s.max());
          layout = null;
          scales = new float[] {tensor.scale()};
          zps = new int[] {tensor.zeroPoint()};
          return;
        }
        tensor = null;
        long[] shape = {ROWS, n / ROWS};
        layout = UnitLayout.of(shape, gran.equals("channel") ? Granularity.channel(0) : Granularity.group(GROUP));
        int units = (int) layout.units();
        float[] min = new float[units];
        float[] max = new float[units];
        Arrays.fill(min, Float.POSITIVE_INFINITY);
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        GranularKernel.ranges(x, 0, n, 0, layout, min, max, 0);
        scales = new float[units];
        zps = new int[units];
        for (int u = 0; u < units; u++) {
          QuantParams p = QuantParams.minMax(scheme, min[u], max[u]);
          scales[u] = p.scale();
          zps[u] = p.zeroPoint();
        }
      }

      @Override
      long run(boolean reference) {
        if (tensor != null) {
          return reference
              ? LinearKernel.quantizeReference(x, 0, q, 0, n, tensor)
              : LinearKernel.quantize(x, 0, q, 0, n, tensor);
        }
        return reference
            ? GranularKernel.quantizeReference(x, 0, q, 0, n, 0, layout, scales, zps, 0, scheme.qmin(), scheme.qmax())
            : GranularKernel.quantize(x, 0, q, 0, n, 0, layout, scales, zps, 0, scheme.qmin(), scheme.qmax());
      }
    }

    /**
     * A non-linear codec with parameters from the data's magnitude statistics, as the job computes
     * them: its encoder (values to {@code q}) and decoder (its own codes to {@code decoded}).
     */
    private final class Codec {
      final String name;
      final NonlinearParams params;
      final short[] codes = new short[n];
      final float[] decoded = new float[n];
      final Timed encoder;
      final Timed decoder;

      Codec(String name, NonlinearParams params) {
        this.name = name;
        this.params = params;
        LogParams lp = params.log();
        MinifloatParams mp = params.minifloat();
        String what = lp != null
            ? String.format(Locale.ROOT, "log (A = %.4g, k = %.1f)", lp.absmax(), lp.codesPerOctave())
            : String.format(Locale.ROOT, "minifloat E%d (bias %d)", mp.exponentBits(), mp.bias());
        encoder = new Timed(name + ".encode", what + ", encode") {
          @Override
          long run(boolean reference) {
            if (lp != null) {
              return reference ? LogCodec.encodeReference(x, 0, q, 0, n, lp) : LogCodec.encode(x, 0, q, 0, n, lp);
            }
            return reference ? MinifloatCodec.encodeReference(x, 0, q, 0, n, mp) : MinifloatCodec.encode(x, 0, q, 0, n, mp);
          }
        };
        params.encode(x, 0, codes, 0, n);
        decoder = new Timed(name + ".decode", what + ", decode") {
          @Override
          long run(boolean reference) {
            if (lp != null) {
              if (reference) {
                LogCodec.decodeReference(codes, 0, decoded, 0, n, lp);
              } else {
                LogCodec.decode(codes, 0, decoded, 0, n, lp);
              }
            } else if (reference) {
              MinifloatCodec.decodeReference(codes, 0, decoded, 0, n, mp);
            } else {
              MinifloatCodec.decode(codes, 0, decoded, 0, n, mp);
            }
            return Float.floatToRawIntBits(decoded[n - 1]);
          }
        };
      }

      /** The line of nonlinear.txt: name, kind and exact parameters (hexadecimal doubles). */
      String describe() {
        LogParams lp = params.log();
        if (lp != null) {
          return name + " log " + Double.toHexString(lp.absmax()) + " " + Double.toHexString(lp.codesPerOctave()) + " "
              + Double.toHexString(lp.minPositive());
        }
        return name + " minifloat " + params.minifloat().exponentBits() + " " + params.minifloat().bias();
      }

      /**
       * Fast against reference (codes and clipped count; decoded values of the same codes), then
       * writes the codes and decoded values for numpy to compare with. True if identical.
       */
      boolean check(Path dir) throws Exception {
        Arrays.fill(q, (short) 0);
        String fast = crc() + "/" + encoder.run(false);
        System.arraycopy(q, 0, codes, 0, n);
        Arrays.fill(q, (short) 0);
        String ref = crc() + "/" + encoder.run(true);
        boolean same = fast.equals(ref);
        if (!same) {
          System.out.printf("MISMATCH %s: fast codes/clipped %s, reference %s%n", encoder.name, fast, ref);
        }
        decoder.run(true);
        float[] want = decoded.clone();
        Arrays.fill(decoded, Float.NaN);
        decoder.run(false);
        for (int i = 0; i < n; i++) {
          if (Float.floatToRawIntBits(decoded[i]) != Float.floatToRawIntBits(want[i])) {
            System.out.printf(Locale.ROOT, "MISMATCH %s: code %d decodes to %s, reference %s%n", decoder.name, codes[i],
                decoded[i], want[i]);
            same = false;
            break;
          }
        }
        System.out.printf(Locale.ROOT, "  java  %-28s fast %6.0f, reference %6.0f Melem/s  codes/clipped %s%n",
            encoder.name, rate(encoder.fast), rate(encoder.reference), fast);
        System.out.printf(Locale.ROOT, "  java  %-28s fast %6.0f, reference %6.0f Melem/s%n",
            decoder.name, rate(decoder.fast), rate(decoder.reference));
        byte[] b = new byte[2 * n];
        Codes.pack(codes, n, b, false);
        Files.write(dir.resolve(name + ".codes.i16"), b);
        Files.write(dir.resolve(name + ".decoded.f32"), Codes.floats(decoded));
        return same;
      }
    }

    /**
     * The cost of the log codec's tables, built once per parameters: the first encode and decode of
     * 65536 values with fresh parameters (median of 5), next to the same calls once built.
     */
    private String tableBuildTimes(LogParams p) {
      int m = 1 << 16;
      short[] codes = new short[m];
      float[] out = new float[m];
      double[][] t = new double[4][5];
      for (int i = 0; i < 5; i++) {
        LogParams fresh = new LogParams(p.absmax(), p.codesPerOctave());
        long t0 = System.nanoTime();
        LogCodec.encode(x, 0, codes, 0, m, fresh);
        long t1 = System.nanoTime();
        LogCodec.encode(x, 0, codes, 0, m, fresh);
        long t2 = System.nanoTime();
        LogCodec.decode(codes, 0, out, 0, m, fresh);
        long t3 = System.nanoTime();
        LogCodec.decode(codes, 0, out, 0, m, fresh);
        long t4 = System.nanoTime();
        t[0][i] = (t1 - t0) / 1e6;
        t[1][i] = (t2 - t1) / 1e6;
        t[2][i] = (t3 - t2) / 1e6;
        t[3][i] = (t4 - t3) / 1e6;
      }
      for (double[] a : t) {
        Arrays.sort(a);
      }
      return String.format(Locale.ROOT, "log tables, once per parameters: first encode of %d values %.1f ms"
          + " (then %.2f ms), first decode %.1f ms (then %.2f ms)", m, t[0][2], t[1][2], t[2][2], t[3][2]);
    }

    interface Work {
      long run() throws Exception;
    }

    private double timeOnce(Work w) throws Exception {
      long t0 = System.nanoTime();
      sink += w.run();
      return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds of each timed run, after the warm-up runs. */
    private double[] time(Work w) throws Exception {
      for (int i = 0; i < warmup; i++) {
        sink += w.run();
      }
      double[] t = new double[reps];
      for (int i = 0; i < reps; i++) {
        long t0 = System.nanoTime();
        sink += w.run();
        t[i] = (System.nanoTime() - t0) / 1e9;
      }
      return t;
    }

    private double rate(double[] seconds) {
      double[] s = seconds.clone();
      Arrays.sort(s);
      double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      return n / median / 1e6;
    }

    private String crc() {
      byte[] b = new byte[2 * n];
      Codes.pack(q, n, b, false);
      CRC32 c = new CRC32();
      c.update(b);
      return String.format(Locale.ROOT, "%08x", c.getValue());
    }

    private String runNumpy(Path dir, Map<String, Map<String, String>> out) throws IOException, InterruptedException {
      Process p = args.startNumpy("numpy_kernels.py", dir);
      String info = "numpy: no INFO line";
      try (BufferedReader rd = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = rd.readLine()) != null; ) {
          if (line.startsWith("INFO ")) {
            info = line.substring(5);
          } else if (line.startsWith("RESULT ")) {
            Map<String, String> kv = new HashMap<>();
            for (String tok : line.substring(7).split(" ")) {
              int eq = tok.indexOf('=');
              kv.put(tok.substring(0, eq), tok.substring(eq + 1));
            }
            out.put(kv.get("name") + "/" + kv.get("variant"), kv);
            System.out.printf(Locale.ROOT, "  numpy %-28s %-10s %6.0f Melem/s  codes/clipped %s/%s%n",
                kv.get("name"), kv.get("variant"), rate(times(kv)), kv.get("crc"), kv.get("clipped"));
          }
        }
      }
      int rc = p.waitFor();
      if (rc != 0) {
        throw new IOException(python + " exited with " + rc);
      }
      return info;
    }

    /** numpy's fraction of results identical to Java's, over both variants (the lower). */
    private static String same(Map<String, String> e, Map<String, String> p) {
      double f = Math.min(Double.parseDouble(e.get("same")), Double.parseDouble(p.get("same")));
      return f == 1.0 ? "all" : String.format(Locale.ROOT, "%.4f%%", 100 * f);
    }

    private static double[] times(Map<String, String> kv) {
      return Arrays.stream(kv.get("times").split(",")).mapToDouble(Double::parseDouble).toArray();
    }

    private void printTable(List<Row> rows) {
      double linear = rows.stream().filter(r -> r.label.equals(LINEAR_PER_TENSOR)).mapToDouble(r -> rate(r.fast))
          .findFirst().orElse(Double.NaN);
      System.out.println();
      System.out.println("Median Melem/s on one thread (" + n + " float32 values); ratios are Java fast / numpy, and"
          + " Java fast / the linear per-tensor kernel (" + LINEAR_PER_TENSOR + ").");
      System.out.println();
      System.out.println("| work | Java fast | Java scalar | numpy | numpy in place | Java / numpy | Java / numpy in"
          + " place | Java / linear | results |");
      System.out.println("|---|--:|--:|--:|--:|--:|--:|--:|---|");
      for (Row r : rows) {
        double f = rate(r.fast);
        boolean kernel = !r.label.startsWith("range") && !r.label.startsWith("decode F32");
        System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s |%n", r.label, f,
            rate(r.reference),
            r.numpy == null ? "-" : String.format(Locale.ROOT, "%.0f", rate(r.numpy)),
            r.numpyInPlace == null ? "-" : String.format(Locale.ROOT, "%.0f", rate(r.numpyInPlace)),
            r.numpy == null ? "-" : String.format(Locale.ROOT, "%.1fx", f / rate(r.numpy)),
            r.numpyInPlace == null ? "-" : String.format(Locale.ROOT, "%.1fx", f / rate(r.numpyInPlace)),
            kernel ? String.format(Locale.ROOT, "%.2f", f / linear) : "-",
            r.codes);
      }
      if (sink == 42) {
        System.out.println(); // keeps the results alive for the JIT
      }
    }
  }

  /** The previous range loop, one value at a time (the figure the fast path is compared with). */
  private static long scalarRange(float[] x) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    long bad = 0;
    for (float v : x) {
      if (v - v == 0f) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      } else {
        bad++;
      }
    }
    return bad + Float.floatToRawIntBits(lo) + Float.floatToRawIntBits(hi);
  }

  private static final VarHandle F32 = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

  /** The previous F32 decoding loop, one VarHandle read per value. */
  private static long scalarDecode(byte[] raw, float[] out) {
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) F32.get(raw, 4 * i);
    }
    return Float.floatToRawIntBits(out[out.length - 1]);
  }

  static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim())
          .orElse("cpu unknown");
    } catch (IOException | UncheckedIOException e) {
      return "cpu unknown";
    }
  }

}
