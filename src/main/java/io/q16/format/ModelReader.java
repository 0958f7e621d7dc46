package io.q16.format;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.q16.Errors;
import io.q16.fs.HadoopFs;
import io.q16.tensor.TensorInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Resolves what the user names as MODEL into a {@link Model}, from headers only.
 *
 * <p>MODEL is a {@code .safetensors} file, a sharded model's {@code *.safetensors.index.json}
 * (Hugging Face: {@code {"metadata": {...}, "weight_map": {"tensor": "shard file"}}}), or a
 * directory holding exactly one of those. Pickle checkpoints are refused: loading them runs code.
 */
public final class ModelReader {
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();
  private static final long MAX_INDEX_BYTES = SafetensorsHeader.MAX_HEADER_BYTES;
  private static final List<String> PICKLE = List.of(".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle");

  private ModelReader() {}

  public static Model read(String location, Configuration conf) throws IOException {
    FileStatus status = HadoopFs.statusOrNull(location, conf);
    if (status == null) {
      throw Errors.missing(location);
    }
    String path = status.getPath().toString();
    if (status.isDirectory()) {
      return read(pickInDirectory(location, status.getPath(), conf), conf);
    }
    String lower = path.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".index.json")) {
      return readIndex(location, path, conf);
    }
    if (lower.endsWith(".onnx")) {
      return OnnxReader.read(location, conf).model();
    }
    for (String ext : PICKLE) {
      if (lower.endsWith(ext)) {
        throw Errors.badFile(
            location,
            "pickle checkpoints are refused (loading one runs arbitrary code): convert it to"
                + " safetensors first");
      }
    }
    SafetensorsHeader h = readHeader(path, conf);
    List<TensorInfo> tensors = new ArrayList<>(h.tensors());
    tensors.sort(Comparator.comparing(TensorInfo::name));
    return new Model(location, List.of(sourceFile(h)), List.copyOf(tensors));
  }

  private static String pickInDirectory(String location, Path dir, Configuration conf)
      throws IOException {
    FileSystem fs = HadoopFs.fileSystem(dir, conf);
    List<String> indexes = new ArrayList<>();
    List<String> singles = new ArrayList<>();
    for (FileStatus s : fs.listStatus(dir)) {
      String name = s.getPath().getName();
      if (!s.isFile() || name.startsWith(".")) {
        continue;
      }
      if (name.endsWith(".safetensors.index.json")) {
        indexes.add(s.getPath().toString());
      } else if (name.endsWith(".safetensors")) {
        singles.add(s.getPath().toString());
      }
    }
    if (indexes.size() == 1) {
      return indexes.get(0);
    }
    if (indexes.isEmpty() && singles.size() == 1) {
      return singles.get(0);
    }
    if (indexes.isEmpty() && singles.isEmpty()) {
      throw Errors.badFile(location, "directory holds no .safetensors file or index");
    }
    throw Errors.badFile(
        location,
        "directory holds several models (" + (indexes.isEmpty() ? singles : indexes)
            + "): name the file or index to use");
  }

  private static Model readIndex(String location, String indexPath, Configuration conf)
      throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(HadoopFs.readSmall(indexPath, conf, MAX_INDEX_BYTES, "index"));
    } catch (JsonParseException e) {
      throw Errors.badFile(indexPath, "index is not valid JSON: " + e.getOriginalMessage());
    }
    JsonNode map = root == null ? null : root.get("weight_map");
    if (map == null || !map.isObject() || map.isEmpty()) {
      throw Errors.badFile(indexPath, "index has no \"weight_map\" object");
    }
    Path dir = new Path(indexPath).getParent();
    // tensor -> shard file name, and shard file name -> its tensors, in index order
    Map<String, List<String>> byFile = new LinkedHashMap<>();
    Map<String, String> fileOf = new HashMap<>();
    map.fields()
        .forEachRemaining(
            e -> {
              JsonNode v = e.getValue();
              if (!v.isTextual()) {
                throw Errors.badTensor(indexPath, e.getKey(), "weight_map value is not a file name");
              }
              String file = v.textValue();
              // An index must not make Q16 read files outside the model's folder.
              if (file.isEmpty() || file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                throw Errors.badTensor(
                    indexPath, e.getKey(), "shard name '" + file + "' is not a plain file name in the index's folder");
              }
              fileOf.put(e.getKey(), file);
              byFile.computeIfAbsent(file, k -> new ArrayList<>()).add(e.getKey());
            });
    List<Model.SourceFile> files = new ArrayList<>();
    List<TensorInfo> tensors = new ArrayList<>();
    for (Map.Entry<String, List<String>> e : byFile.entrySet()) {
      String shardPath = new Path(dir, e.getKey()).toString();
      if (HadoopFs.statusOrNull(shardPath, conf) == null) {
        throw Errors.badFile(
            indexPath, "names shard '" + e.getKey() + "' (for tensor '" + Errors.printable(e.getValue().get(0)) + "'), which does not exist");
      }
      SafetensorsHeader h = readHeader(shardPath, conf);
      files.add(sourceFile(h));
      for (TensorInfo t : h.tensors()) {
        String listed = fileOf.get(t.name());
        if (!e.getKey().equals(listed)) {
          throw Errors.badTensor(
              shardPath,
              t.name(),
              listed == null
                  ? "is in the shard but not in the index's weight_map"
                  : "is also in shard '" + listed + "' according to the index");
        }
        tensors.add(t);
      }
      if (h.tensors().size() != e.getValue().size()) {
        for (String name : e.getValue()) {
          if (h.tensors().stream().noneMatch(t -> t.name().equals(name))) {
            throw Errors.badTensor(indexPath, name, "is mapped to shard '" + e.getKey() + "' but the shard has no such tensor");
          }
        }
      }
    }
    tensors.sort(Comparator.comparing(TensorInfo::name));
    return new Model(location, List.copyOf(files), List.copyOf(tensors));
  }

  private static SafetensorsHeader readHeader(String path, Configuration conf) throws IOException {
    try (ByteSource src = HadoopFs.open(path, conf)) {
      return SafetensorsHeader.read(src);
    }
  }

  private static Model.SourceFile sourceFile(SafetensorsHeader h) {
    return new Model.SourceFile(h.path(), h.fileSize(), h.headerCrc32c(), h.metadata());
  }
}
