package io.q16.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The report of {@code q16 quantize} ({@code DIR/report/index.html} and {@code report.json}):
 * per tensor what was done (scheme, granularity, calibration, threshold, scales) and what it cost
 * (clipped values, SQNR, MSE, max error), with each tensor's |x| histogram, all measured by the
 * quantize pass itself from the codes it wrote.
 */
public final class QuantizeReport {
  public static final String FORMAT = "q16-quantize-report";
  public static final int FORMAT_VERSION = 1;

  private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

  private QuantizeReport() {}

  /**
   * One quantized tensor.
   *
   * @param calibration {@code minmax}, or {@code calibration file} when the threshold came from one
   * @param threshold the T the parameters were computed from: max |x| for min/max calibration (per
   *     unit: the largest unit's), the calibrated threshold (at most max |x|) otherwise
   * @param scale the per-tensor scale; null per unit (see scaleMin, scaleMax) and for non-linear codecs
   * @param sqnrDb 10·log10(Σx² / Σ(x - x̂)²) over the finite values; null when there is no error
   *     (mse 0) or no signal
   * @param histogram |x| counts over [0, max |x|], equal-width bins (finite values only)
   * @param sumX2 Σx² over the finite values, and {@code sumE2} Σ(x - x̂)², exactly as summed (an
   *     incremental quantize reuses them for tensors it does not read again; absent in older reports)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Tensor(
      String name,
      String dtype,
      String scheme,
      String granularity,
      String calibration,
      float threshold,
      float absmax,
      Float scale,
      Float scaleMin,
      Float scaleMax,
      Long units,
      long elements,
      long finite,
      long clipped,
      double clippedFraction,
      Double sqnrDb,
      double mse,
      double maxAbsErr,
      Histogram histogram,
      Double sumX2,
      Double sumE2) {}

  /** Counts of |x| in {@code counts.length} equal bins over [0, hi]. */
  public record Histogram(float hi, long[] counts) {}

  /** A tensor left as it was, and why. */
  public record Skipped(String name, String dtype, String status, String reason) {}

  /**
   * The whole report.
   *
   * @param sqnrDb over every quantized tensor together (Σ over all of them), null if exact
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Report(
      String format,
      int formatVersion,
      String output,
      String model,
      String scheme,
      String granularity,
      String calibration,
      long elements,
      long clipped,
      Double sqnrDb,
      List<Tensor> tensors,
      List<Skipped> notQuantized) {}

  public static byte[] json(Report r) {
    try {
      return JSON.writeValueAsBytes(r);
    } catch (IOException e) {
      throw new IllegalStateException("quantize report does not serialize", e);
    }
  }

  public static Report fromJson(byte[] json) throws IOException {
    return JSON.readValue(json, Report.class);
  }

  /** The report page: summary, SQNR per layer, the per-tensor table, then each tensor's histogram. */
  public static byte[] html(Report r) {
    HtmlReport page = new HtmlReport("Q16 quantize: " + r.output());
    page.paragraph(String.format(Locale.ROOT,
        "%s: %d tensors quantized (%s, %s, %s), %,d values, %,d clipped; SQNR over the whole model %s.",
        r.model(), r.tensors().size(), r.scheme(), r.granularity(), r.calibration(), r.elements(), r.clipped(),
        r.sqnrDb() == null ? "infinite (exact)" : fmt("%.2f dB", r.sqnrDb())));
    page.paragraph("Measured by the quantize pass from the codes it wrote: x^ is each code dequantized, SQNR is"
        + " 10 log10(sum x^2 / sum (x - x^)^2), over finite values. Run jobs/q16 verify on this directory for an"
        + " independent check against the source (it writes verify.html beside this page).");
    List<String> names = new ArrayList<>();
    double[] sqnr = new double[r.tensors().size()];
    List<List<String>> rows = new ArrayList<>();
    for (int i = 0; i < sqnr.length; i++) {
      Tensor t = r.tensors().get(i);
      names.add(t.name());
      sqnr[i] = sqnrForChart(t);
      rows.add(List.of(t.name(), t.scheme(), t.granularity(), t.calibration(), fmt("%.6g", t.threshold()),
          fmt("%.6g", t.absmax()), t.absmax() > 0 ? fmt("%.4f", t.threshold() / t.absmax()) : "-", scales(t),
          fmt("%,d", t.clipped()), fmt("%.4g%%", 100 * t.clippedFraction()),
          t.sqnrDb() != null ? fmt("%.2f", t.sqnrDb()) : t.mse() == 0 && t.finite() > 0 ? "exact" : "-",
          fmt("%.4e", t.mse()), fmt("%.4e", t.maxAbsErr())));
    }
    page.sqnrByLayer("SQNR per layer (dB)", names, sqnr);
    page.heading("Tensors");
    page.table(List.of("tensor", "scheme", "granularity", "calibration", "threshold", "max|x|", "threshold / max",
        "scale", "clipped", "clipped %", "SQNR dB", "MSE", "max|x-x^|"), rows);
    if (!r.notQuantized().isEmpty()) {
      page.heading("Not quantized");
      List<List<String>> skipped = new ArrayList<>();
      for (Skipped s : r.notQuantized()) {
        skipped.add(List.of(s.name(), s.dtype(), s.status(), s.reason()));
      }
      page.table(List.of("tensor", "dtype", "status", "reason"), skipped);
    }
    page.heading("|x| histograms");
    page.paragraph("Counts on a log scale over [0, max|x|]; the red line is the threshold the parameters were"
        + " computed from (values beyond it clip).");
    for (Tensor t : r.tensors()) {
      if (t.histogram() == null || t.finite() == 0) {
        continue;
      }
      page.histogram(t.name() + ": " + (t.sqnrDb() == null ? "exact" : fmt("%.2f dB", t.sqnrDb())) + ", "
              + fmt("%,d", t.clipped()) + " clipped",
          t.histogram().counts(), t.histogram().hi(), new double[] {t.threshold()},
          new String[] {t.threshold() == t.absmax() ? "T = max|x|:" : "T:"});
    }
    return page.toBytes();
  }

  /** The chart's value: +Inf for an exact round trip, NaN for a tensor with no signal at all. */
  private static double sqnrForChart(Tensor t) {
    if (t.sqnrDb() != null) {
      return t.sqnrDb();
    }
    return t.mse() == 0 && t.absmax() > 0 ? Double.POSITIVE_INFINITY : Double.NaN;
  }

  private static String scales(Tensor t) {
    if (t.scale() != null) {
      return fmt("%.5e", t.scale());
    }
    if (t.scaleMin() != null) {
      return fmt("%.4e", t.scaleMin()) + " .. " + fmt("%.4e", t.scaleMax()) + " (" + t.units() + " units)";
    }
    return "-";
  }

  private static String fmt(String f, Object v) {
    return String.format(Locale.ROOT, f, v);
  }
}
