package io.q16.format;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.q16.Errors;
import io.q16.fs.HadoopFs;
import io.q16.tensor.DType;
import io.q16.tensor.TensorInfo;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

/**
 * Plans an ONNX model without loading it: one pass over the protobuf wire format with
 * protobuf-java's {@link CodedInputStream}, reading the small messages (nodes, names, shapes) and
 * skipping tensor payloads, whose byte ranges are recorded instead. Executors then read tensors by
 * positioned reads exactly as they read safetensors: from the model file for {@code raw_data} and
 * packed {@code float_data} / {@code double_data} (little-endian, contiguous), from the external
 * files for external data.
 *
 * <p>Tensors come from the graph's initializers and from Constant nodes ({@code value}
 * attribute), in the main graph and in every subgraph (If / Loop / Scan bodies). An external-data
 * location must be a relative path inside the model's folder: an absolute one or one with
 * {@code ..} is refused, so a model file cannot make Q16 read other files.
 */
public final class OnnxReader {
  private static final int MAX_DEPTH = 64;

  private final String path;
  private final Path dir;
  private final long fileSize;
  private final Configuration conf;
  private final List<TensorInfo> tensors = new ArrayList<>();
  private final Map<String, String> unreadable = new LinkedHashMap<>();
  private final List<OnnxModel.Node> nodes = new ArrayList<>();
  private final Map<String, Long> externalSizes = new HashMap<>();
  private final List<String> inputs = new ArrayList<>();
  private final List<String> outputs = new ArrayList<>();
  private long opset = -1;
  private CodedInputStream in;

  private OnnxReader(String path, long fileSize, Configuration conf) {
    this.path = path;
    this.dir = new Path(path).getParent();
    this.fileSize = fileSize;
    this.conf = conf;
  }

  /** Reads the model at {@code location} (a .onnx file). */
  public static OnnxModel read(String location, Configuration conf) throws IOException {
    FileStatus status = HadoopFs.statusOrNull(location, conf);
    if (status == null) {
      throw Errors.missing(location);
    }
    String path = status.getPath().toString();
    if (status.getLen() > Integer.MAX_VALUE) {
      throw Errors.badFile(path, "is " + status.getLen() + " bytes: a protobuf message cannot exceed 2 GiB"
          + " (large ONNX models keep their weights in external data files)");
    }
    OnnxReader r = new OnnxReader(path, status.getLen(), conf);
    try (FSDataInputStream raw = HadoopFs.fileSystem(status.getPath(), conf).open(status.getPath());
        InputStream buffered = new BufferedInputStream(raw, 1 << 16)) {
      r.in = CodedInputStream.newInstance(buffered);
      // Lengths are checked against the file before anything is allocated for them.
      r.in.setSizeLimit((int) status.getLen());
      r.in.setRecursionLimit(MAX_DEPTH);
      r.scanModel();
    } catch (InvalidProtocolBufferException e) {
      throw Errors.badFile(path, "is not a valid ONNX model at byte " + r.position() + ": " + e.getMessage());
    }
    Map<String, TensorInfo> byName = new HashMap<>();
    for (TensorInfo t : r.tensors) {
      if (byName.put(t.name(), t) != null) {
        throw Errors.badTensor(path, t.name(), "is defined twice (initializers and Constant outputs must be unique)");
      }
    }
    List<TensorInfo> sorted = new ArrayList<>(r.tensors);
    sorted.sort(Comparator.comparing(TensorInfo::name));
    List<Model.SourceFile> files = new ArrayList<>();
    files.add(new Model.SourceFile(path, status.getLen(), 0, Map.of("format", "onnx")));
    for (Map.Entry<String, Long> e : r.externalSizes.entrySet()) {
      files.add(new Model.SourceFile(e.getKey(), e.getValue(), 0, Map.of("format", "onnx-external-data")));
    }
    Model model = new Model(location, List.copyOf(files), List.copyOf(sorted));
    return new OnnxModel(model, List.copyOf(r.nodes), Map.copyOf(r.unreadable), r.opset, List.copyOf(r.inputs),
        List.copyOf(r.outputs));
  }

  private long position() {
    return in == null ? 0 : in.getTotalBytesRead();
  }

  private void scanModel() throws IOException {
    boolean sawGraph = false;
    boolean sawOpset = false;
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 7 -> {
          sawGraph = true;
          int old = enter(tag);
          scanGraph("main", 0);
          in.popLimit(old);
        }
        case 8 -> {
          sawOpset = true;
          DynamicMessage op = DynamicMessage.parseFrom(OnnxSchema.OPSET, in.readBytes());
          String domain = (String) op.getField(OnnxSchema.OPSET.findFieldByName("domain"));
          if (domain.isEmpty() || domain.equals("ai.onnx")) {
            opset = (Long) op.getField(OnnxSchema.OPSET.findFieldByName("version"));
          }
        }
        default -> in.skipField(tag);
      }
    }
    if (!sawGraph) {
      throw Errors.badFile(path, "is not an ONNX model: it has no graph (field 7 of ModelProto)");
    }
    if (!sawOpset) {
      throw Errors.badFile(path, "is not a valid ONNX model: it imports no operator set (opset_import)");
    }
  }

  /** Reads a length-delimited field's length and limits the stream to it. */
  private int enter(int tag) throws IOException {
    if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
      throw Errors.badFile(path, "is not a valid ONNX model: field " + WireFormat.getTagFieldNumber(tag)
          + " at byte " + position() + " is not a message");
    }
    int len = in.readRawVarint32();
    if (len < 0) {
      throw Errors.badFile(path, "is not a valid ONNX model: negative length at byte " + position());
    }
    return in.pushLimit(len);
  }

  private void scanGraph(String graph, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw Errors.badFile(path, "nests subgraphs deeper than " + MAX_DEPTH);
    }
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> {
          int old = enter(tag);
          scanNode(graph, depth);
          in.popLimit(old);
        }
        case 5 -> {
          int old = enter(tag);
          scanTensor(null);
          in.popLimit(old);
        }
        case 11, 12 -> {
          DynamicMessage v = DynamicMessage.parseFrom(OnnxSchema.VALUE_INFO, in.readBytes());
          String name = (String) v.getField(OnnxSchema.VALUE_INFO.findFieldByName("name"));
          if (depth == 0) {
            (WireFormat.getTagFieldNumber(tag) == 11 ? inputs : outputs).add(name);
          }
        }
        default -> in.skipField(tag);
      }
    }
    if (depth == 0) {
      java.util.Set<String> initializers = new java.util.HashSet<>();
      for (TensorInfo t : tensors) {
        initializers.add(t.name());
      }
      initializers.addAll(unreadable.keySet());
      inputs.removeIf(initializers::contains);
    }
  }

  private void scanNode(String graph, int depth) throws IOException {
    List<String> ins = new ArrayList<>();
    List<String> outs = new ArrayList<>();
    String name = "";
    String op = "";
    String domain = "";
    Map<String, Long> ints = new HashMap<>();
    List<TensorInfo> pending = new ArrayList<>();
    int before = tensors.size();
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> ins.add(in.readStringRequireUtf8());
        case 2 -> outs.add(in.readStringRequireUtf8());
        case 3 -> name = in.readStringRequireUtf8();
        case 4 -> op = in.readStringRequireUtf8();
        case 7 -> domain = in.readStringRequireUtf8();
        case 5 -> {
          int old = enter(tag);
          scanAttribute(graph, name, ints, depth);
          in.popLimit(old);
        }
        default -> in.skipField(tag);
      }
    }
    // A Constant's tensor is named by the node's output (its own name field is usually empty).
    if (op.equals("Constant") && outs.size() == 1) {
      for (int i = before; i < tensors.size(); i++) {
        TensorInfo t = tensors.get(i);
        if (t.name().isEmpty()) {
          tensors.set(i, new TensorInfo(outs.get(0), t.dtype(), t.shape(), t.file(), t.dataStart(), t.byteLength()));
        }
      }
      String anon = unreadable.remove("");
      if (anon != null) {
        unreadable.put(outs.get(0), anon);
      }
    }
    for (int i = before; i < tensors.size(); i++) {
      if (tensors.get(i).name().isEmpty()) {
        throw Errors.badFile(path, "node '" + Errors.printable(name) + "' (" + op + ") in graph " + graph + " holds a tensor without a name");
      }
    }
    nodes.add(new OnnxModel.Node(graph, name, op, domain, List.copyOf(ins), List.copyOf(outs), Map.copyOf(ints)));
  }

  private void scanAttribute(String graph, String node, Map<String, Long> ints, int depth) throws IOException {
    String name = "";
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> name = in.readStringRequireUtf8();
        case 3 -> ints.put(name, in.readInt64());
        case 5, 10 -> {
          int old = enter(tag);
          scanTensor(null);
          in.popLimit(old);
        }
        case 6, 11 -> {
          int old = enter(tag);
          scanGraph(graph + "/" + (node.isEmpty() ? "node" : node) + "." + name, depth + 1);
          in.popLimit(old);
        }
        default -> in.skipField(tag);
      }
    }
  }

  /** One TensorProto: its header fields are read, its payload located and skipped. */
  private void scanTensor(String fallbackName) throws IOException {
    String name = fallbackName == null ? "" : fallbackName;
    List<Long> dims = new ArrayList<>();
    int dataType = 0;
    long payloadStart = -1;
    long payloadLength = 0;
    String storage = null;
    Map<String, String> external = new HashMap<>();
    int location = 0;
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      int field = WireFormat.getTagFieldNumber(tag);
      int wire = WireFormat.getTagWireType(tag);
      switch (field) {
        case 1 -> {
          if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int old = in.pushLimit(in.readRawVarint32());
            while (!in.isAtEnd()) {
              dims.add(in.readInt64());
            }
            in.popLimit(old);
          } else {
            dims.add(in.readInt64());
          }
        }
        case 2 -> dataType = in.readInt32();
        case 8 -> name = in.readStringRequireUtf8();
        case 9, 4, 10 -> {
          if (wire != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            throw Errors.badFile(path, "tensor '" + Errors.printable(name) + "': unpacked float_data / double_data is not supported"
                + " (field " + field + " at byte " + position() + ")");
          }
          int len = in.readRawVarint32();
          payloadStart = position();
          payloadLength = len;
          storage = field == 9 ? "raw_data" : field == 4 ? "float_data" : "double_data";
          // Checked here rather than left to the skip, so that the error names the tensor (its
          // name, field 8, precedes raw_data in writers' field order).
          int untilLimit = in.getBytesUntilLimit(); // -1: no limit (a tensor is always inside one)
          long left = untilLimit < 0 ? fileSize - payloadStart : Math.min(untilLimit, fileSize - payloadStart);
          if (len < 0 || len > left) {
            String what = storage + " of " + Integer.toUnsignedString(len) + " bytes at byte " + payloadStart
                + " runs past the end of its TensorProto or of the file (" + left + " bytes left): truncated or corrupt";
            throw name.isEmpty() ? Errors.badFile(path, "a tensor's " + what) : Errors.badTensor(path, name, what);
          }
          in.skipRawBytes(len);
        }
        case 5, 7, 6, 11 -> {
          storage = field == 5 ? "int32_data" : field == 7 ? "int64_data" : field == 6 ? "string_data" : "uint64_data";
          in.skipField(tag);
        }
        case 13 -> {
          DynamicMessage e = DynamicMessage.parseFrom(OnnxSchema.ENTRY, in.readBytes());
          external.put((String) e.getField(OnnxSchema.ENTRY.findFieldByName("key")),
              (String) e.getField(OnnxSchema.ENTRY.findFieldByName("value")));
        }
        case 14 -> location = in.readInt32();
        default -> in.skipField(tag);
      }
    }
    long[] shape = new long[dims.size()];
    long elements = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = dims.get(i);
      if (shape[i] < 0) {
        throw Errors.badTensor(path, name, "has a negative dimension " + shape[i]);
      }
      try {
        elements = Math.multiplyExact(elements, shape[i]);
      } catch (ArithmeticException e) {
        throw Errors.badTensor(path, name, "has a shape whose element count overflows 64 bits");
      }
    }
    DType dtype = dtype(dataType);
    if (dtype == null) {
      unreadable.put(name, "data_type " + dataType + " is not a numeric type Q16 reads");
      return;
    }
    long need;
    try {
      need = Math.multiplyExact(elements, dtype.size());
    } catch (ArithmeticException e) {
      throw Errors.badTensor(path, name, "is too large: " + elements + " elements");
    }
    if (location == 1 || !external.isEmpty()) {
      tensors.add(externalTensor(name, dtype, shape, need, external));
      return;
    }
    if (storage == null && need == 0) {
      tensors.add(new TensorInfo(name, dtype, shape, path, 0, 0));
      return;
    }
    if (storage == null || !(storage.equals("raw_data")
        || (storage.equals("float_data") && dtype == DType.F32)
        || (storage.equals("double_data") && dtype == DType.F64))) {
      unreadable.put(name, storage == null ? "has no data" : "keeps its values in " + storage
          + " (varint-packed): only raw_data, float_data and double_data are read by byte range");
      return;
    }
    if (payloadLength != need) {
      throw Errors.badTensor(path, name, "holds " + payloadLength + " bytes of " + storage + " at offset "
          + payloadStart + ", but its shape " + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + need);
    }
    tensors.add(new TensorInfo(name, dtype, shape, path, payloadStart, payloadLength));
  }

  private TensorInfo externalTensor(String name, DType dtype, long[] shape, long need, Map<String, String> ext)
      throws IOException {
    String loc = ext.get("location");
    if (loc == null || loc.isEmpty()) {
      throw Errors.badTensor(path, name, "has external data without a location");
    }
    // The location must stay inside the model's folder: no absolute paths, no '..', no schemes.
    String normalized = loc.replace('\\', '/');
    boolean escapes = normalized.startsWith("/") || normalized.contains(":") || normalized.startsWith("~");
    for (String part : normalized.split("/")) {
      escapes |= part.equals("..");
    }
    if (escapes) {
      throw Errors.badTensor(path, name, "external data location '" + loc
          + "' is absolute or leaves the model's folder: refused (a model must not make Q16 read other files)");
    }
    long offset = parseLong(name, ext, "offset", 0);
    long length = parseLong(name, ext, "length", need);
    if (length != need) {
      throw Errors.badTensor(path, name, "external data length " + length + " does not match its shape's " + need
          + " bytes");
    }
    Path file = new Path(dir, normalized);
    String key = file.toString();
    Long size = externalSizes.get(key);
    if (size == null) {
      FileStatus st = HadoopFs.statusOrNull(key, conf);
      if (st == null || st.isDirectory()) {
        throw Errors.badTensor(path, name, "external data file '" + loc + "' does not exist beside the model");
      }
      size = st.getLen();
      externalSizes.put(key, size);
    }
    if (offset < 0 || offset > size - length) {
      throw Errors.badTensor(path, name, "external data [" + offset + ", +" + length + ") lies outside '" + loc
          + "' (" + size + " bytes)");
    }
    return new TensorInfo(name, dtype, shape, key, offset, length);
  }

  private long parseLong(String tensor, Map<String, String> ext, String key, long otherwise) {
    String v = ext.get(key);
    if (v == null) {
      return otherwise;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw Errors.badTensor(path, tensor, "external data " + key + " '" + v + "' is not a number");
    }
  }

  /** ONNX data_type to DType; null for types Q16 does not read (strings, complex, 4-bit, float8). */
  static DType dtype(int dataType) {
    return switch (dataType) {
      case OnnxSchema.FLOAT -> DType.F32;
      case OnnxSchema.UINT8 -> DType.U8;
      case OnnxSchema.INT8 -> DType.I8;
      case OnnxSchema.UINT16 -> DType.U16;
      case OnnxSchema.INT16 -> DType.I16;
      case OnnxSchema.INT32 -> DType.I32;
      case OnnxSchema.INT64 -> DType.I64;
      case OnnxSchema.BOOL -> DType.BOOL;
      case OnnxSchema.FLOAT16 -> DType.F16;
      case OnnxSchema.DOUBLE -> DType.F64;
      case OnnxSchema.UINT32 -> DType.U32;
      case OnnxSchema.UINT64 -> DType.U64;
      case OnnxSchema.BFLOAT16 -> DType.BF16;
      default -> null;
    };
  }
}
