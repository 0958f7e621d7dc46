package io.q16.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;

/** Reads a report page with the JDK's XML parser: it must be well-formed XHTML. */
public final class Html {
  private Html() {}

  public static Document parse(Path page) throws IOException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
      return f.newDocumentBuilder().parse(Files.newInputStream(page));
    } catch (javax.xml.parsers.ParserConfigurationException | org.xml.sax.SAXException e) {
      throw new AssertionError(page + " is not well-formed: " + e.getMessage(), e);
    }
  }
}
