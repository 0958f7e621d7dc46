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
  /**
   * Renames the part files of {@code dir} to {@code part-00000.parquet}, ... by partition, so that
   * the same rows give the same file names whatever the job's UUID, and returns their total bytes.
   *
   * @param out the output, for errors
   */
  static long renameInOrder(FileSystem fs, Path dir, String out) throws IOException {
    long bytes = 0;
    for (java.util.Map.Entry<Integer, Path> e : list(fs, dir).entrySet()) {
      Path target = new Path(dir, String.format(java.util.Locale.ROOT, "part-%05d.parquet", e.getKey()));
      if (!fs.rename(e.getValue(), target)) {
        throw io.q16.Errors.output(out, "cannot rename " + e.getValue() + " to " + target.getName());
      }
      bytes += fs.getFileStatus(target).getLen();
    }
    return bytes;
  }

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
