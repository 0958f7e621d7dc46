package io.q16.format;

import io.q16.tensor.TensorInfo;
import java.util.List;
import java.util.Map;

/**
 * A model as the planner sees it: its files and their tensors, read from headers only.
 *
 * @param location the path the user gave (a file, an index or a directory)
 * @param files every source file, in index order
 * @param tensors every tensor, sorted by name so that plans do not depend on file layout
 */
public record Model(String location, List<SourceFile> files, List<TensorInfo> tensors) {

  /**
   * One source file.
   *
   * @param path fully qualified Hadoop path
   * @param size bytes
   * @param headerCrc32c CRC-32C of its header (8-byte length and JSON)
   * @param metadata the header's __metadata__
   */
  public record SourceFile(String path, long size, int headerCrc32c, Map<String, String> metadata) {}

  public long totalBytes() {
    long n = 0;
    for (TensorInfo t : tensors) {
      n += t.byteLength();
    }
    return n;
  }

  public TensorInfo tensor(String name) {
    for (TensorInfo t : tensors) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }
}
