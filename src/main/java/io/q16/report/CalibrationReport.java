package io.q16.report;

import io.q16.format.Calibration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The calibrate report: the chosen threshold per tensor with its measured error, every method's
 * measured error side by side (so that a method that helps int8 and hurts int16 shows it), and
 * each tensor's |x| histogram with all thresholds drawn on it.
 */
public final class CalibrationReport {
  private CalibrationReport() {}

  /**
   * One pass of a calibration that ran a model (ONNX activations): its samples, its wall time and that
   * of its model stage (first task's start to last task's end; the rest is merging and, in the
   * histogram pass, the searches), and the shares of the tasks' summed time spent in each part of
   * the work (fractions of 1).
   */
  public record Pass(String name, long samples, double seconds, double modelSeconds, double taskSeconds, long sessions,
      double runtime,
      double statistics, double copies, double sessionStart, double reading) {}

  /**
   * The calibration page.
   *
   * @param display per tensor (same order as {@code c.tensors()}), its |x| histogram summed down to
   *     a few hundred bins over [0, max|x|], or null
   * @param passes the passes' times when a model was run (may be empty)
   */
  public static byte[] html(Calibration c, long[][] display, List<Pass> passes) {
    HtmlReport r = new HtmlReport("Q16 calibration: " + c.source());
    r.paragraph("Method " + c.method() + ", scheme " + c.scheme() + ", KL profile " + c.klProfile() + ", up to "
        + c.bins() + " histogram bins over [0, max|x|] per tensor. Every method's threshold is measured on the data"
        + " (exact sums): MSE and SQNR are what quantize will get with that threshold.");
    if (!passes.isEmpty()) {
      r.heading("Time per pass (the model runs once per pass)");
      r.paragraph("Shares are of the tasks' summed time: in ONNX Runtime's session.run, in folding the activations"
          + " into statistics, copying them out of ONNX Runtime, creating sessions (one per task), and reading and"
          + " decoding the input rows.");
      List<List<String>> rows = new ArrayList<>();
      for (Pass p : passes) {
        rows.add(List.of(p.name(), Long.toString(p.samples()), String.format(Locale.ROOT, "%.1f", p.seconds()),
            String.format(Locale.ROOT, "%.1f", p.modelSeconds()),
            String.format(Locale.ROOT, "%.1f", p.modelSeconds() > 0 ? p.samples() / p.modelSeconds() : 0),
            String.format(Locale.ROOT, "%.1f", p.taskSeconds()), pct(p.runtime()), pct(p.statistics()), pct(p.copies()),
            pct(p.sessionStart()) + " (" + p.sessions() + ")", pct(p.reading())));
      }
      r.table(List.of("pass", "samples", "pass s", "model stage s", "samples/s", "task s", "ONNX Runtime", "statistics",
          "output copies", "sessions", "reading inputs"), rows);
    }
    List<List<String>> rows = new ArrayList<>();
    for (Calibration.Entry e : c.tensors()) {
      rows.add(List.of(e.name(), e.method(), g(e.threshold()), g(e.absmax()),
          String.format(Locale.ROOT, "%.4f", e.absmax() > 0 ? e.threshold() / e.absmax() : 1),
          String.format(Locale.ROOT, "%.5f%%", 100 * e.clippedFraction()), db(e.sqnrDb(), e.mse()),
          e.mse() == null ? "-" : g(e.mse()),
          e.binsPerInt16Step() < 0 ? "-" : String.format(Locale.ROOT, "%.3g", e.binsPerInt16Step()),
          e.note() == null ? "" : e.note()));
    }
    List<String> names = new ArrayList<>();
    double[] sqnr = new double[c.tensors().size()];
    for (int t = 0; t < sqnr.length; t++) {
      Calibration.Entry e = c.tensors().get(t);
      names.add(e.name());
      // Absent SQNR: exact (zero error) when there was a measurement of a signal, else unknown
      // (an all-zero tensor has no signal), as in quantize's chart.
      sqnr[t] = e.sqnrDb() != null ? e.sqnrDb()
          : e.mse() != null && e.absmax() > 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    }
    r.sqnrByLayer("SQNR per layer with the chosen thresholds (measured on the data)", names, sqnr);
    r.heading("Chosen thresholds");
    r.table(List.of("tensor", "method", "threshold", "max|x|", "threshold / max", "clipped", "SQNR dB", "MSE",
        "bins per int16 step", "note"), rows);

    r.heading("Measured SQNR of every method (dB; higher is better)");
    List<String> header = new ArrayList<>(List.of("tensor"));
    List<Calibration.Candidate> first = c.tensors().isEmpty() ? List.of() : c.tensors().get(0).candidates();
    for (Calibration.Candidate k : first) {
      header.add(k.method());
    }
    header.add("best");
    List<List<String>> measured = new ArrayList<>();
    for (Calibration.Entry e : c.tensors()) {
      List<String> row = new ArrayList<>(List.of(e.name()));
      Calibration.Candidate best = null;
      for (Calibration.Candidate k : e.candidates()) {
        row.add(db(k.sqnrDb(), k.mse()) + (k.clipped() > 0 ? " (" + k.clipped() + " clipped)" : ""));
        if (best == null || k.mse() < best.mse()) {
          best = k;
        }
      }
      row.add(best == null ? "-" : best.method());
      measured.add(row);
    }
    r.table(header, measured);

    r.heading("Histograms");
    for (int t = 0; t < c.tensors().size(); t++) {
      Calibration.Entry e = c.tensors().get(t);
      if (display == null || display[t] == null) {
        continue;
      }
      double[] marks = new double[1 + e.candidates().size()];
      String[] labels = new String[marks.length];
      marks[0] = e.threshold();
      labels[0] = e.method();
      for (int k = 0; k < e.candidates().size(); k++) {
        marks[k + 1] = e.candidates().get(k).threshold();
        labels[k + 1] = e.candidates().get(k).method();
      }
      r.histogram(e.name() + ": |x| histogram (log counts); " + (e.resolution() == null ? "" : e.resolution()),
          display[t], e.absmax(), marks, labels);
    }
    return r.toBytes();
  }

  private static String pct(double share) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * share);
  }

  private static String g(double v) {
    return String.format(Locale.ROOT, "%.6g", v);
  }

  /** SQNR in dB; a null SQNR with zero error is exact. */
  private static String db(Double sqnr, Double mse) {
    if (sqnr == null) {
      return mse != null && mse == 0 ? "exact" : "-";
    }
    return String.format(Locale.ROOT, "%.2f", sqnr);
  }
}
