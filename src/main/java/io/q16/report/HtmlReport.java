package io.q16.report;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * A self-contained report page (no network, no scripts): tables and inline SVG charts, written as
 * well-formed XHTML so that any XML parser can check it. Built section by section.
 */
public final class HtmlReport {
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
   * A horizontal bar chart of one value per label (e.g. SQNR per tensor), with the values written
   * beside the bars.
   */
  public HtmlReport bars(String caption, List<String> labels, double[] values, String unit) {
    int rowH = 16;
    int labelW = 360;
    int barW = 420;
    double max = 0;
    for (double v : values) {
      if (Double.isFinite(v)) {
        max = Math.max(max, v);
      }
    }
    int h = rowH * labels.size() + 24;
    body.append(String.format(Locale.ROOT,
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">%n",
        labelW + barW + 90, h));
    for (int i = 0; i < labels.size(); i++) {
      double v = values[i];
      int y = 8 + i * rowH;
      double w = max > 0 && Double.isFinite(v) ? Math.max(0, v) / max * barW : 0;
      body.append(String.format(Locale.ROOT,
          "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">%s</text>"
              + "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#4a7ab5\"/>"
              + "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>%n",
          labelW - 6, y + 11, esc(labels.get(i)), labelW, y + 2, w, rowH - 4, labelW + w + 4, y + 11,
          esc(Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f %s", v, unit) : String.valueOf(v))));
    }
    body.append("</svg><figcaption>").append(esc(caption)).append("</figcaption></figure>\n");
    return this;
  }

  /**
   * A histogram of |x| with log-scale counts over [0, hi], and vertical marks at the given
   * thresholds (the chosen one first, drawn solid; candidates dashed).
   */
  public HtmlReport histogram(String caption, long[] counts, double hi, double[] marks, String[] markLabels) {
    int w = 640;
    int h = 160;
    double maxLog = 0;
    for (long c : counts) {
      maxLog = Math.max(maxLog, Math.log10(1 + c));
    }
    body.append(String.format(Locale.ROOT,
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">%n", w + 20, h + 30));
    double bw = (double) w / Math.max(1, counts.length);
    StringBuilder path = new StringBuilder();
    for (int i = 0; i < counts.length; i++) {
      double bh = maxLog > 0 ? Math.log10(1 + counts[i]) / maxLog * h : 0;
      if (bh > 0) {
        path.append(String.format(Locale.ROOT, "M%.2f %.2fh%.2fv%.2fh%.2fz", 10 + i * bw, h - bh + 5, bw, bh, -bw));
      }
    }
    body.append("<path d=\"").append(path).append("\" fill=\"#7f9fc9\"/>\n");
    for (int m = 0; m < marks.length; m++) {
      double x = 10 + (hi > 0 ? marks[m] / hi : 0) * w;
      body.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"5\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"%s/>"
              + "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%s</text>%n",
          x, x, h + 5, m == 0 ? "#c0392b" : "#555", m == 0 ? "" : " stroke-dasharray=\"4 3\"", x + 2,
          h + 18 + (m % 2) * 10, esc(markLabels[m])));
    }
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
        + "figcaption{font-size:12px;color:#555}</style></head>\n<body>\n<h1>" + esc(title) + "</h1>\n" + body
        + "</body>\n</html>\n";
    return page.getBytes(StandardCharsets.UTF_8);
  }
}
