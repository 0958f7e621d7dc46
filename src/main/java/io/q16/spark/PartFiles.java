package io.q16.spark;

import java.io.IOException;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** The part files Spark's Parquet writer committed into a directory, by partition, ready to be renamed. */
final class PartFiles {
  private static final Pattern PART_FILE = Pattern.compile("part-(\\d+)-.*\\.parquet");

  private PartFiles() {}

  /**
   * The part files of {@code dir} by partition number; the local file system's {@code .crc} side
   * files are deleted (their names would no longer match once the parts are renamed).
   */
  static SortedMap<Integer, Path> list(FileSystem fs, Path dir) throws IOException {
    SortedMap<Integer, Path> parts = new TreeMap<>();
    for (FileStatus s : fs.listStatus(dir)) {
      String name = s.getPath().getName();
      Matcher m = PART_FILE.matcher(name);
      if (m.matches()) {
        if (parts.put(Integer.parseInt(m.group(1)), s.getPath()) != null) {
          throw new IllegalStateException("two part files for partition " + m.group(1) + " in " + dir);
        }
      } else if (name.endsWith(".crc")) {
        fs.delete(s.getPath(), false);
      }
    }
    return parts;
  }
}
