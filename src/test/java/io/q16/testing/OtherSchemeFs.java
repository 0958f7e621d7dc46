package io.q16.testing;

import java.net.URI;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local file system under another scheme ({@code q16other:}), for code that must not assume a
 * model is a local file: ONNX Runtime cannot open such a path, so anything it reads must be copied.
 */
public final class OtherSchemeFs extends RawLocalFileSystem {
  public static final String SCHEME = "q16other";

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }
}
