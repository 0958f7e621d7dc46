package io.q16.report;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A self-contained report page (no network, no scripts): tables and inline SVG charts, written as
 * well-formed XHTML so that any XML parser can check it. Built section by section.
 */
public final class HtmlReport {
  private static final String SVG = "xmlns=\"http://www.w3.org/2000/svg\"";

  private final StringBuilder body = new StringBuilder();
  private final String title;

  public HtmlReport(String title) {
    this.title = title;
  }

  /** Escapes text for XML content and attributes. */
  public static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c < 0x20 && c != '\n' && c != '\t' ? ' ' : c);
      }
    }
    return b.toString();
  }

  public HtmlReport heading(String text) {
    body.append("<h2>").append(esc(text)).append("</h2>\n");
    return this;
  }

  public HtmlReport paragraph(String text) {
    body.append("<p>").append(esc(text)).append("</p>\n");
    return this;
  }

  /** A table; cells are text. */
  public HtmlReport table(List<String> header, List<List<String>> rows) {
    body.append("<table>\n<tr>");
    for (String h : header) {
      body.append("<th>").append(esc(h)).append("</th>");
    }
    body.append("</tr>\n");
    for (List<String> r : rows) {
      body.append("<tr>");
      for (String c : r) {
        body.append("<td>").append(esc(c)).append("</td>");
      }
      body.append("</tr>\n");
    }
    body.append("</table>\n");
    return this;
  }

  /**
   * The layer of a tensor name: its longest prefix that ends in a numeric path component
   * ('.' or '/' separated), with the separator after it ({@code model.layers.3.mlp.up.weight} is
   * in {@code model.layers.3.}); a name without a numeric component is its own layer.
   */
  public static String layerOf(String name) {
    int end = -1;
    int start = 0;
    for (int i = 0; i <= name.length(); i++) {
      if (i == name.length() || name.charAt(i) == '.' || name.charAt(i) == '/') {
        if (i > start && allDigits(name, start, i)) {
          end = i;
        }
        start = i + 1;
      }
    }
    return end < 0 ? name : name.substring(0, Math.min(name.length(), end + 1));
  }

  private static boolean allDigits(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  /**
   * Orders names with their digit runs compared as numbers ({@code layers.2.} before
   * {@code layers.10.}): Q16 lists tensors in name order, where layer 10 sorts before layer 2.
   */
  static int naturalCompare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      char ca = a.charAt(i);
      char cb = b.charAt(j);
      if (Character.isDigit(ca) && Character.isDigit(cb)) {
        int ei = i;
        int ej = j;
        while (ei < a.length() && Character.isDigit(a.charAt(ei))) {
          ei++;
        }
        while (ej < b.length() && Character.isDigit(b.charAt(ej))) {
          ej++;
        }
        String da = a.substring(i, ei).replaceFirst("^0+(?=.)", "");
        String db = b.substring(j, ej).replaceFirst("^0+(?=.)", "");
        int c = da.length() != db.length() ? Integer.compare(da.length(), db.length()) : da.compareTo(db);
        if (c != 0) {
          return c;
        }
        i = ei;
        j = ej;
      } else {
        if (ca != cb) {
          return Character.compare(ca, cb);
        }
        i++;
        j++;
      }
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /**
   * A model-level chart of SQNR per layer ({@link #layerOf}), layers in name order with numbers
   * compared as numbers: a bar at each layer's weakest tensor, a dot for every tensor (same place
   * in each layer's slot for the same position in the layer), and hover titles with the exact
   * values. +Inf (exact round trip) and NaN (no signal and no error: an all-zero or empty tensor)
   * are drawn in an "exact" band above the axis. Slots narrow down to a few pixels for hundreds
   * of layers (the figure then scrolls sideways) and labels are thinned to stay readable.
   *
   * @param sqnrDb per name, in dB
   */
  public HtmlReport sqnrByLayer(String title, List<String> names, double[] sqnrDb) {
    if (names.size() != sqnrDb.length) {
      throw new IllegalArgumentException(names.size() + " names, " + sqnrDb.length + " values");
    }
    Map<String, List<Integer>> byLayer = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      byLayer.computeIfAbsent(layerOf(names.get(i)), k -> new ArrayList<>()).add(i);
    }
    List<String> layers = new ArrayList<>(byLayer.keySet());
    layers.sort(HtmlReport::naturalCompare);

    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double v : sqnrDb) {
      if (Double.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (lo > hi) {
      lo = 0;
      hi = 100;
    }
    // The axis starts a step below the weakest tensor rather than at 0 dB: SQNR is already a
    // logarithm, and the differences between tensors (a few dB at 70-90 dB) are what matters.
    double step = tickStep(Math.max(hi - lo, 10));
    double yLo = Math.floor(lo / step) * step - step;
    if (lo >= 0) {
      yLo = Math.max(0, yLo);
    }
    double yHi = Math.max(yLo + step, Math.ceil(hi / step) * step);

    int groups = layers.size();
    double slot = Math.max(6, Math.min(100, 800.0 / Math.max(1, groups)));
    int every = (int) Math.ceil(13 / slot); // rotated 10px labels need about 13px apart
    int maxChars = 0;
    for (int g = 0; g < groups; g += every) {
      maxChars = Math.max(maxChars, label(layers.get(g)).length());
    }
    final int left = 70;
    final int bandTop = 8;
    final int bandH = 18;
    final int plotTop = bandTop + bandH + 8;
    final int plotH = 240;
    final int plotBottom = plotTop + plotH;
    final int labelH = (int) Math.ceil(maxChars * 5.6 * Math.sin(Math.toRadians(55))) + 16;
    final double plotW = slot * groups;
    final int width = (int) Math.ceil(left + plotW + 24);
    final int height = plotBottom + labelH + 24;

    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT,
        "<div class=\"scroll\"><figure class=\"chart\"><svg %s width=\"%d\" height=\"%d\" role=\"img\""
            + " font-family=\"sans-serif\">%n<title>%s</title>%n", SVG, width, height, esc(title)));
    // The exact band (only when a value needs it), and horizontal grid lines with their dB values.
    boolean anyExact = false;
    for (double v : sqnrDb) {
      anyExact |= !Double.isFinite(v);
    }
    if (anyExact) {
      s.append(String.format(Locale.ROOT,
          "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#eef6ee\"/>"
              + "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\" fill=\"#2e7d32\">exact (&#8734;)</text>%n",
          left, bandTop, plotW, bandH, left - 6, bandTop + 13));
    }
    for (double t = yLo; t <= yHi + step / 2; t += step) {
      double y = y(t, yLo, yHi, plotTop, plotH);
      s.append(String.format(Locale.ROOT,
          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\"/>"
              + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%s</text>%n",
          left, y, left + plotW, y, t == 0 ? "#888" : "#e3e3e3", left - 6, y + 3.5, fmt(t, "%.0f")));
    }
    s.append(String.format(Locale.ROOT,
        "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">SQNR (dB)</text>%n",
        plotTop + plotH / 2));
    double dotR = names.size() > 400 ? 1.5 : 2.2;
    for (int g = 0; g < groups; g++) {
      String layer = layers.get(g);
      List<Integer> members = byLayer.get(layer);
      double x0 = left + g * slot;
      double barX = x0 + slot * 0.15;
      double barW = slot * 0.7;
      int weakest = -1;
      for (int i : members) {
        if (Double.isFinite(sqnrDb[i]) && (weakest < 0 || sqnrDb[i] < sqnrDb[weakest])) {
          weakest = i;
        }
      }
      String barTitle;
      double top;
      String fill;
      if (weakest >= 0) {
        top = y(sqnrDb[weakest], yLo, yHi, plotTop, plotH);
        fill = "#4a7ab5";
        barTitle = String.format(Locale.ROOT, "%s: weakest %.2f dB (%s), %d tensor%s", label(layer), sqnrDb[weakest],
            names.get(weakest), members.size(), members.size() == 1 ? "" : "s");
      } else {
        top = bandTop + bandH / 2.0;
        fill = "#a5d6a7";
        barTitle = label(layer) + ": every tensor exact, " + members.size() + " tensor" + (members.size() == 1 ? "" : "s");
      }
      double base = y(yLo, yLo, yHi, plotTop, plotH);
      s.append(String.format(Locale.ROOT,
          "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>%s</title></rect>%n",
          barX, Math.min(top, base), barW, Math.abs(base - top), fill, esc(barTitle)));
      for (int k = 0; k < members.size(); k++) {
        int i = members.get(k);
        double v = sqnrDb[i];
        double cx = barX + (k + 0.5) / members.size() * barW;
        double cy = Double.isFinite(v) ? y(v, yLo, yHi, plotTop, plotH) : bandTop + bandH / 2.0;
        String what = Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f dB", v)
            : Double.isNaN(v) ? "no signal and no error (all zero or empty): exact"
            : v > 0 ? "exact round trip (SQNR infinite)" : "-Infinity dB";
        s.append(String.format(Locale.ROOT,
            "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"%s\"><title>%s: %s</title></circle>%n",
            cx, cy, dotR, Double.isFinite(v) ? "#e07b00" : "#2e7d32", esc(names.get(i)), esc(what)));
      }
      if (g % every == 0) {
        double lx = x0 + slot / 2;
        s.append(String.format(Locale.ROOT,
            "<text transform=\"translate(%.2f %d) rotate(-55)\" text-anchor=\"end\" font-size=\"10\">%s<title>%s</title></text>%n",
            lx + 3, plotBottom + 10, esc(label(layer)), esc(layer)));
      }
    }
    s.append(String.format(Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" font-size=\"11\">layer (%d; name up to its last numeric"
            + " component)%s</text>%n",
        left, height - 6, groups, every > 1 ? ", every " + ordinal(every) + " labelled" : ""));
    s.append("</svg><figcaption>").append(esc(title + ". Bars: each layer's weakest tensor; dots: every tensor "
        + "(hover for its name and SQNR)" + (anyExact ? "; top band: exact round trips (SQNR infinite)." : ".")))
        .append("</figcaption></figure></div>\n");
    body.append(s);
    return this;
  }

  private static String ordinal(int n) {
    return n == 2 ? "2nd" : n == 3 ? "3rd" : n + "th";
  }

  /** A layer key as a label: without its trailing separator, and at most 28 characters (the end kept). */
  private static String label(String layer) {
    String l = layer.endsWith(".") || layer.endsWith("/") ? layer.substring(0, layer.length() - 1) : layer;
    return l.length() <= 28 ? l : "\u2026" + l.substring(l.length() - 27);
  }

  private static double y(double v, double lo, double hi, int top, int h) {
    return top + (hi - v) / (hi - lo) * h;
  }

  /** A round tick step (1, 2 or 5 times a power of ten) giving at most about 6 ticks over {@code span}. */
  private static double tickStep(double span) {
    double raw = span / 6;
    double p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * p >= raw) {
        return m * p;
      }
    }
    return 10 * p;
  }

  private static String fmt(double v, String f) {
    return String.format(Locale.ROOT, f, v);
  }

  /**
   * A histogram of |x| with log-scale counts over [0, hi], and vertical marks at the given
   * thresholds (the chosen one first, drawn solid; candidates dashed). Hover a bar for its range
   * and count.
   */
  public HtmlReport histogram(String caption, long[] counts, double hi, double[] marks, String[] markLabels) {
    int w = 560;
    int h = 140;
    int x0 = 10;
    int y0 = 8;
    double maxLog = 0;
    for (long c : counts) {
      maxLog = Math.max(maxLog, Math.log10(1 + c));
    }
    body.append(String.format(Locale.ROOT,
        "<figure class=\"hist\"><svg %s width=\"%d\" height=\"%d\" role=\"img\" font-family=\"sans-serif\">%n",
        SVG, w + 2 * x0, h + y0 + 42));
    body.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\""
        + " stroke=\"#ddd\"/>%n", x0, y0, w, h));
    double bw = (double) w / Math.max(1, counts.length);
    // One outline for all bins: a step path along their tops (far smaller than a rect per bin).
    StringBuilder path = new StringBuilder(String.format(Locale.ROOT, "M%d %d", x0, y0 + h));
    for (int i = 0; i < counts.length; i++) {
      double bh = maxLog > 0 ? Math.log10(1 + counts[i]) / maxLog * h : 0;
      path.append(String.format(Locale.ROOT, "V%.1fH%.1f", y0 + h - bh, x0 + (i + 1) * bw));
    }
    path.append(String.format(Locale.ROOT, "V%dZ", y0 + h));
    body.append("<path d=\"").append(path).append("\" fill=\"#7f9fc9\"/>\n");
    for (int m = 0; m < marks.length; m++) {
      double x = x0 + (hi > 0 ? Math.min(1, marks[m] / hi) : 0) * w;
      String label = markLabels[m] + " " + fmt(marks[m], "%.4g");
      boolean right = x > x0 + w * 0.75;
      body.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"%s><title>%s</title></line>"
              + "<text x=\"%.1f\" y=\"%d\" font-size=\"10\"%s>%s</text>%n",
          x, y0, x, y0 + h, m == 0 ? "#c0392b" : "#555", m == 0 ? "" : " stroke-dasharray=\"4 3\"", esc(label),
          right ? x - 3 : x + 3, y0 + 12 + m * 11, right ? " text-anchor=\"end\"" : "", esc(label)));
    }
    body.append(String.format(Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" font-size=\"10\">0</text><text x=\"%d\" y=\"%d\" font-size=\"10\""
            + " text-anchor=\"end\">%s</text><text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\""
            + " fill=\"#555\">|x| (%d bins; counts on a log scale)</text>%n",
        x0, y0 + h + 12, x0 + w, y0 + h + 12, esc(fmt(hi, "%.4g")), x0 + w / 2.0, y0 + h + 12, counts.length));
    body.append("</svg><figcaption>").append(esc(caption)).append("</figcaption></figure>\n");
    return this;
  }

  /** The whole page as UTF-8 XHTML. */
  public byte[] toBytes() {
    String page = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
        + "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head><meta charset=\"UTF-8\"/><title>"
        + esc(title) + "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}"
        + "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        + "th{background:#eee}td:first-child{text-align:left}figure{margin:12px 0}"
        + "figure.hist{display:inline-block;vertical-align:top;margin:8px 16px 8px 0;max-width:580px}"
        + "div.scroll{overflow-x:auto}figcaption{font-size:12px;color:#555}</style></head>\n<body>\n<h1>"
        + esc(title) + "</h1>\n" + body + "</body>\n</html>\n";
    return page.getBytes(StandardCharsets.UTF_8);
  }
}
