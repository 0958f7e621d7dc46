package io.q16.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.testing.Html;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The report pages: layer grouping, and well-formed charts that name every tensor. */
class HtmlReportTest {
  private static final String SVG = "http://www.w3.org/2000/svg";

  @TempDir Path tmp;

  @Test
  void layersAreTheLongestPrefixEndingInANumericComponent() {
    assertThat(HtmlReport.layerOf("model.layers.3.mlp.up_proj.weight")).isEqualTo("model.layers.3.");
    assertThat(HtmlReport.layerOf("model.layers.3.mlp.experts.17.w1")).isEqualTo("model.layers.3.mlp.experts.17.");
    assertThat(HtmlReport.layerOf("/model/layers.12/attn/MatMul")).isEqualTo("/model/layers.12/");
    assertThat(HtmlReport.layerOf("model.embed_tokens.weight")).isEqualTo("model.embed_tokens.weight");
    assertThat(HtmlReport.layerOf("layer1.0.conv1.weight")).isEqualTo("layer1.0."); // "layer1" is not numeric
    assertThat(HtmlReport.layerOf("bias.0")).isEqualTo("bias.0");
    assertThat(HtmlReport.layerOf("")).isEmpty();
  }

  @Test
  void layersSortWithTheirNumbersComparedAsNumbers() {
    List<String> l = new ArrayList<>(List.of("m.layers.10.", "m.layers.2.", "m.norm.weight", "m.layers.02x", "lm_head"));
    l.sort(HtmlReport::naturalCompare);
    assertThat(l).containsExactly("lm_head", "m.layers.2.", "m.layers.02x", "m.layers.10.", "m.norm.weight");
  }

  private Document page(HtmlReport r) throws IOException {
    Path p = tmp.resolve("index.html");
    Files.write(p, r.toBytes());
    return Html.parse(p);
  }

  @Test
  void sqnrChartHasABarPerLayerADotPerTensorAndExactValuesInTheirBand() throws IOException {
    List<String> names = List.of("lm_head.weight", "model.layers.10.mlp.w", "model.layers.2.attn.q", "model.layers.2.attn.k",
        "model.layers.2.norm", "zeros.bias", "model.layers.10.attn.q");
    double[] sqnr = {87.5, 66.25, 88.125, Double.POSITIVE_INFINITY, -3.5, Double.NaN, 90};
    Document d = page(new HtmlReport("t").sqnrByLayer("SQNR per layer", names, sqnr));
    NodeList rects = d.getElementsByTagNameNS(SVG, "rect");
    List<String> barTitles = new ArrayList<>();
    for (int i = 0; i < rects.getLength(); i++) {
      if (rects.item(i).getTextContent().contains(":")) {
        barTitles.add(rects.item(i).getTextContent());
      }
    }
    // Layers in numeric order; each bar at its weakest tensor; an all-exact layer says so.
    assertThat(barTitles).hasSize(4);
    assertThat(barTitles.get(0)).startsWith("lm_head.weight: weakest 87.50 dB");
    assertThat(barTitles.get(1)).startsWith("model.layers.2: weakest -3.50 dB (model.layers.2.norm), 3 tensors");
    assertThat(barTitles.get(2)).startsWith("model.layers.10: weakest 66.25 dB (model.layers.10.mlp.w), 2 tensors");
    assertThat(barTitles.get(3)).isEqualTo("zeros.bias: every tensor exact, 1 tensor");
    NodeList dots = d.getElementsByTagNameNS(SVG, "circle");
    assertThat(dots.getLength()).isEqualTo(names.size());
    StringBuilder all = new StringBuilder();
    for (int i = 0; i < dots.getLength(); i++) {
      all.append(dots.item(i).getTextContent()).append('\n');
    }
    assertThat(all.toString()).contains("model.layers.2.attn.q: 88.125 dB")
        .contains("model.layers.2.attn.k: exact round trip (SQNR infinite)")
        .contains("zeros.bias: no signal and no error (all zero or empty): exact");
  }

  @Test
  void hundredsOfLayersScrollAndThinTheirLabels() throws IOException {
    List<String> names = new ArrayList<>();
    double[] sqnr = new double[800 * 3];
    for (int l = 0; l < 800; l++) {
      for (String role : new String[] {"q", "k", "v"}) {
        sqnr[names.size()] = 80 + (l % 7);
        names.add("model.layers." + l + ".attn." + role + "_proj.weight");
      }
    }
    Document d = page(new HtmlReport("t").sqnrByLayer("SQNR per layer", names, sqnr));
    assertThat(d.getElementsByTagNameNS(SVG, "circle").getLength()).isEqualTo(2400);
    Element svg = (Element) d.getElementsByTagNameNS(SVG, "svg").item(0);
    assertThat(Integer.parseInt(svg.getAttribute("width"))).isGreaterThan(800 * 6);
    int labels = 0;
    NodeList texts = d.getElementsByTagNameNS(SVG, "text");
    for (int i = 0; i < texts.getLength(); i++) {
      if (((Element) texts.item(i)).getAttribute("transform").contains("rotate(-55)")) {
        labels++;
      }
    }
    assertThat(labels).isBetween(800 / 3 - 1, 800 / 2); // every 3rd at 6 px a slot
    assertThat(d.getDocumentElement().getTextContent()).contains("every 3rd labelled");
  }

  @Test
  void histogramIsWellFormedWithItsMarks() throws IOException {
    long[] counts = new long[256];
    counts[0] = 1_000_000;
    counts[255] = 1;
    Document d = page(new HtmlReport("t <&> \"q\"").histogram("w: |x|", counts, 2.5, new double[] {2.0, 2.5},
        new String[] {"T", "max"}));
    assertThat(d.getElementsByTagNameNS(SVG, "line").getLength()).isEqualTo(2);
    assertThat(d.getDocumentElement().getTextContent()).contains("T 2.000").contains("max 2.500").contains("t <&> \"q\"");
  }
}
