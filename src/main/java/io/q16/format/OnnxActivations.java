package io.q16.format;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
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
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

/**
 * The activations of an ONNX model that int16 activation quantization needs ranges for, and the
 * model inputs that produce them: the float32 values of the main graph that enter or leave a
 * quantizable operator (Conv, ConvTranspose, Gemm, MatMul), which are exactly the tensors a QDQ
 * export puts QuantizeLinear→DequantizeLinear pairs on (A16W16). Weights (initializers, Constant
 * outputs) are not activations; biases (input 2) stay float and are not taps either.
 *
 * <p>Element types are inferred over the graph in node order (ONNX requires topological order):
 * declared types first (graph inputs, outputs, value_info, initializers, Constant values), then
 * per operator (the output takes its inputs' shared type T, Cast takes {@code to}, Shape gives
 * int64, comparisons give bool). A candidate whose type cannot be inferred, or is not float32
 * (a float16 or double model), is not exposed and is listed in {@link #skipped()} with the reason.
 * Values inside If / Loop / Scan bodies cannot be graph outputs of the main graph and are not
 * candidates.
 *
 * <p>{@link #exposeSuffix} gives the bytes that make a model report these values as extra graph
 * outputs when appended to the model file, without rewriting (or even reading) the model: protobuf
 * merges a repeated embedded message field ("for embedded message fields, the parser merges
 * multiple instances of the same field, as if with the Message::MergeFrom method"; repeated fields
 * append), so {@code model bytes || ModelProto{graph{output: [...]}}} parses as the model with its
 * outputs extended. This works whatever the model's size, and its external data stays untouched.
 */
public final class OnnxActivations {
  /** The operators whose activations are quantized in A16W16. */
  public static final Set<String> QUANTIZABLE = Set.of("Conv", "ConvTranspose", "Gemm", "MatMul");

  private final String path;
  private final List<Input> inputs;
  private final List<String> names;
  private final List<String> graphInputTaps;
  private final Set<String> declaredOutputs;
  private final Map<String, String> skipped;

  private OnnxActivations(String path, List<Input> inputs, List<String> names, List<String> graphInputTaps,
      Set<String> declaredOutputs, Map<String, String> skipped) {
    this.path = path;
    this.inputs = inputs;
    this.names = names;
    this.graphInputTaps = graphInputTaps;
    this.declaredOutputs = declaredOutputs;
    this.skipped = skipped;
  }

  /**
   * One graph input that is not an initializer, as the graph declares it. A class, not a record:
   * executors receive it, and Spark's Kryo cannot build records.
   */
  public static final class Input implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String name;
    private final int elemType;
    private final long[] dims;
    private final String[] dimNames;

    /**
     * @param elemType ONNX TensorProto.DataType, 0 if not declared
     * @param dims per axis its size, -1 where symbolic or unknown; null if the rank is not declared
     * @param dimNames per axis its dim_param ("" if none); null if the rank is not declared
     */
    public Input(String name, int elemType, long[] dims, String[] dimNames) {
      this.name = name;
      this.elemType = elemType;
      this.dims = dims;
      this.dimNames = dimNames;
    }

    public String name() {
      return name;
    }

    public int elemType() {
      return elemType;
    }

    /** Declared sizes, -1 for a symbolic axis; null when the rank is unknown. */
    public long[] dims() {
      return dims == null ? null : dims.clone();
    }

    public String[] dimNames() {
      return dimNames == null ? null : dimNames.clone();
    }

    /** The declared shape as text, symbolic axes by name: [batch_size, 16]. */
    public String shapeText() {
      if (dims == null) {
        return "[unknown rank]";
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < dims.length; i++) {
        out.add(dims[i] >= 0 ? Long.toString(dims[i]) : dimNames[i].isEmpty() ? "?" : dimNames[i]);
      }
      return "[" + String.join(", ", out) + "]";
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Input i && i.name.equals(name) && i.elemType == elemType && Arrays.equals(i.dims, dims)
          && Arrays.equals(i.dimNames, dimNames);
    }

    @Override
    public int hashCode() {
      return name.hashCode() * 31 + elemType;
    }

    @Override
    public String toString() {
      return name + " " + typeName(elemType) + " " + shapeText();
    }
  }

  /** Finds the activations of the model at {@code location}, read by {@link OnnxReader} as {@code model}. */
  public static OnnxActivations of(String location, OnnxModel model, Configuration conf) throws IOException {
    FileStatus status = HadoopFs.statusOrNull(location, conf);
    if (status == null) {
      throw Errors.missing(location);
    }
    String path = status.getPath().toString();
    Map<String, DynamicMessage> declaredInputs = new LinkedHashMap<>();
    Map<String, Integer> types = new HashMap<>();
    Set<String> outputs = new TreeSet<>();
    scanValueInfos(status, conf, path, declaredInputs, types, outputs);

    Set<String> weights = new java.util.HashSet<>(model.unreadable().keySet());
    for (TensorInfo t : model.model().tensors()) {
      weights.add(t.name());
      types.put(t.name(), elemType(t.dtype()));
    }
    for (String u : model.unreadable().keySet()) {
      types.putIfAbsent(u, 0);
    }
    List<Input> inputs = new ArrayList<>();
    for (String name : model.inputs()) {
      DynamicMessage v = declaredInputs.get(name);
      inputs.add(v == null ? new Input(name, 0, null, null) : input(v));
    }

    // Types in node order; the main graph only (subgraph values are not outputs of the main graph).
    Set<String> candidates = new TreeSet<>();
    for (OnnxModel.Node n : model.nodes()) {
      if (!n.graph().equals("main")) {
        continue;
      }
      inferTypes(n, types);
      if (QUANTIZABLE.contains(n.opType()) && (n.domain().isEmpty() || n.domain().equals("ai.onnx"))) {
        for (int i = 0; i < Math.min(2, n.inputs().size()); i++) {
          String in = n.inputs().get(i);
          if (!in.isEmpty() && !weights.contains(in)) {
            candidates.add(in);
          }
        }
        if (!n.outputs().isEmpty() && !n.outputs().get(0).isEmpty()) {
          candidates.add(n.outputs().get(0));
        }
      }
    }
    List<String> names = new ArrayList<>();
    List<String> fromInputs = new ArrayList<>();
    Map<String, String> skipped = new LinkedHashMap<>();
    Set<String> graphInputs = new java.util.HashSet<>(model.inputs());
    for (String c : candidates) {
      int type = types.getOrDefault(c, 0);
      if (type == OnnxSchema.FLOAT) {
        names.add(c);
        if (graphInputs.contains(c)) {
          fromInputs.add(c);
        }
      } else {
        skipped.put(c, type == 0 ? "element type not inferred" : "element type " + typeName(type) + ", not float32");
      }
    }
    return new OnnxActivations(path, List.copyOf(inputs), List.copyOf(names), List.copyOf(fromInputs),
        java.util.Collections.unmodifiableSet(outputs), java.util.Collections.unmodifiableMap(skipped));
  }

  /** The model file (as the file system names it). */
  public String path() {
    return path;
  }

  /** The graph inputs that are not initializers, in graph order. */
  public List<Input> inputs() {
    return inputs;
  }

  /** The float32 activations, sorted by name. */
  public List<String> names() {
    return names;
  }

  /** The activations that are graph inputs: their values are the input data itself. */
  public List<String> graphInputTaps() {
    return graphInputTaps;
  }

  /** The activations that ONNX Runtime must return: {@link #names()} without the graph inputs. */
  public List<String> outputTaps() {
    List<String> out = new ArrayList<>(names);
    out.removeAll(graphInputTaps);
    return out;
  }

  /** Candidates not exposed, with the reason. */
  public Map<String, String> skipped() {
    return skipped;
  }

  /**
   * Bytes to append to the model file so that every name in {@code taps} that is not already a
   * graph output becomes one, declared float32 (ONNX Runtime infers the shapes).
   */
  public byte[] exposeSuffix(Collection<String> taps) {
    DynamicMessage.Builder graph = DynamicMessage.newBuilder(OnnxSchema.GRAPH);
    FieldDescriptor output = Onnx.field(OnnxSchema.GRAPH, "output");
    for (String t : taps) {
      if (!declaredOutputs.contains(t)) {
        DynamicMessage tensorType = DynamicMessage.newBuilder(OnnxSchema.TYPE_TENSOR)
            .setField(Onnx.field(OnnxSchema.TYPE_TENSOR, "elem_type"), OnnxSchema.FLOAT).build();
        graph.addRepeatedField(output, DynamicMessage.newBuilder(OnnxSchema.VALUE_INFO)
            .setField(Onnx.field(OnnxSchema.VALUE_INFO, "name"), t)
            .setField(Onnx.field(OnnxSchema.VALUE_INFO, "type"), DynamicMessage.newBuilder(OnnxSchema.TYPE)
                .setField(Onnx.field(OnnxSchema.TYPE, "tensor_type"), tensorType).build())
            .build());
      }
    }
    return DynamicMessage.newBuilder(OnnxSchema.MODEL).setField(Onnx.field(OnnxSchema.MODEL, "graph"), graph.build())
        .build().toByteArray();
  }

  /** Reads the main graph's input (11), output (12) and value_info (13) declarations, skipping the rest. */
  private static void scanValueInfos(FileStatus status, Configuration conf, String path,
      Map<String, DynamicMessage> inputs, Map<String, Integer> types, Set<String> outputs) throws IOException {
    try (FSDataInputStream raw = HadoopFs.fileSystem(status.getPath(), conf).open(status.getPath());
        InputStream buffered = new BufferedInputStream(raw, 1 << 16)) {
      CodedInputStream in = CodedInputStream.newInstance(buffered);
      in.setSizeLimit((int) Math.min(Integer.MAX_VALUE, status.getLen()));
      while (!in.isAtEnd()) {
        int tag = in.readTag();
        if (WireFormat.getTagFieldNumber(tag) != 7 || WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          in.skipField(tag);
          continue;
        }
        int old = in.pushLimit(in.readRawVarint32());
        while (!in.isAtEnd()) {
          int g = in.readTag();
          int field = WireFormat.getTagFieldNumber(g);
          if (field < 11 || field > 13 || WireFormat.getTagWireType(g) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            in.skipField(g);
            continue;
          }
          DynamicMessage v = DynamicMessage.parseFrom(OnnxSchema.VALUE_INFO, in.readBytes());
          String name = (String) v.getField(Onnx.field(OnnxSchema.VALUE_INFO, "name"));
          int type = elemType(v);
          if (type != 0) {
            types.put(name, type);
          }
          if (field == 11) {
            inputs.put(name, v);
          } else if (field == 12) {
            outputs.add(name);
          }
        }
        in.popLimit(old);
      }
    } catch (InvalidProtocolBufferException e) {
      throw Errors.badFile(path, "is not a valid ONNX model: " + e.getMessage());
    }
  }

  private static DynamicMessage tensorType(DynamicMessage valueInfo) {
    DynamicMessage type = (DynamicMessage) valueInfo.getField(Onnx.field(OnnxSchema.VALUE_INFO, "type"));
    FieldDescriptor tt = Onnx.field(OnnxSchema.TYPE, "tensor_type");
    return type.hasField(tt) ? (DynamicMessage) type.getField(tt) : null;
  }

  private static int elemType(DynamicMessage valueInfo) {
    DynamicMessage t = tensorType(valueInfo);
    return t == null ? 0 : (Integer) t.getField(Onnx.field(OnnxSchema.TYPE_TENSOR, "elem_type"));
  }

  private static Input input(DynamicMessage v) {
    String name = (String) v.getField(Onnx.field(OnnxSchema.VALUE_INFO, "name"));
    DynamicMessage t = tensorType(v);
    FieldDescriptor shapeField = Onnx.field(OnnxSchema.TYPE_TENSOR, "shape");
    if (t == null || !t.hasField(shapeField)) {
      return new Input(name, elemType(v), null, null);
    }
    DynamicMessage shape = (DynamicMessage) t.getField(shapeField);
    FieldDescriptor dim = Onnx.field(OnnxSchema.SHAPE, "dim");
    FieldDescriptor value = Onnx.field(OnnxSchema.DIMENSION, "dim_value");
    FieldDescriptor param = Onnx.field(OnnxSchema.DIMENSION, "dim_param");
    int rank = shape.getRepeatedFieldCount(dim);
    long[] dims = new long[rank];
    String[] names = new String[rank];
    for (int i = 0; i < rank; i++) {
      DynamicMessage d = (DynamicMessage) shape.getRepeatedField(dim, i);
      dims[i] = d.hasField(value) ? (Long) d.getField(value) : -1;
      names[i] = d.hasField(param) ? (String) d.getField(param) : "";
      if (dims[i] < 0) {
        dims[i] = -1;
      }
    }
    return new Input(name, elemType(v), dims, names);
  }

  /** Operators whose output 0 has the type of input 0. */
  private static final Set<String> LIKE_INPUT0 = Set.of("Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid",
      "HardSigmoid", "HardSwish", "Tanh", "Softmax", "LogSoftmax", "Softplus", "Softsign", "Gelu", "Erf", "Exp", "Log",
      "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Identity", "Dropout",
      "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Expand", "Tile", "Slice", "Gather", "GatherElements",
      "GatherND", "Split", "Pad", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "MaxPool", "AveragePool",
      "GlobalAveragePool", "GlobalMaxPool", "LpPool", "BatchNormalization", "InstanceNormalization",
      "LayerNormalization", "GroupNormalization", "LRN", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
      "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "CumSum", "TopK", "Trilu",
      "ScatterND", "ScatterElements", "ReverseSequence", "Shrink", "ThresholdedRelu", "Mish", "Hardmax", "Pow",
      "Einsum", "Range", "Clip", "PRelu");
  /** Operators whose inputs and output 0 share one type T: the first typed input decides. */
  private static final Set<String> SHARED = Set.of("Add", "Sub", "Mul", "Div", "Max", "Min", "Mean", "Sum",
      "Concat", "MatMul", "Gemm", "Conv", "ConvTranspose");
  private static final Set<String> TO_INT64 = Set.of("Shape", "Size", "NonZero", "ArgMax", "ArgMin",
      "NonMaxSuppression");
  private static final Set<String> TO_BOOL = Set.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
      "Not", "And", "Or", "Xor", "IsNaN", "IsInf");

  private static void inferTypes(OnnxModel.Node n, Map<String, Integer> types) {
    if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
      return;
    }
    String op = n.opType();
    int type = 0;
    if (LIKE_INPUT0.contains(op) && !n.inputs().isEmpty()) {
      type = types.getOrDefault(n.inputs().get(0), 0);
    } else if (SHARED.contains(op)) {
      for (String in : n.inputs()) {
        type = types.getOrDefault(in, 0);
        if (type != 0) {
          break;
        }
      }
    } else if (op.equals("Where") && n.inputs().size() == 3) {
      type = types.getOrDefault(n.inputs().get(1), types.getOrDefault(n.inputs().get(2), 0));
    } else if (op.equals("Cast")) {
      type = n.ints().getOrDefault("to", 0L).intValue();
    } else if (op.equals("CastLike") && n.inputs().size() == 2) {
      type = types.getOrDefault(n.inputs().get(1), 0);
    } else if (op.equals("DequantizeLinear") && n.inputs().size() >= 2) {
      type = types.getOrDefault(n.inputs().get(1), 0);
    } else if (TO_INT64.contains(op)) {
      type = OnnxSchema.INT64;
    } else if (TO_BOOL.contains(op)) {
      type = OnnxSchema.BOOL;
    }
    if (type == 0) {
      return;
    }
    // Split has many outputs of T; other operators' extra outputs (MaxPool's indices, TopK's, Dropout's mask) differ.
    int outs = op.equals("Split") ? n.outputs().size() : Math.min(1, n.outputs().size());
    for (int i = 0; i < outs; i++) {
      if (!n.outputs().get(i).isEmpty()) {
        types.putIfAbsent(n.outputs().get(i), type);
      }
    }
  }

  private static int elemType(DType d) {
    return switch (d) {
      case F32 -> OnnxSchema.FLOAT;
      case F64 -> OnnxSchema.DOUBLE;
      case F16 -> OnnxSchema.FLOAT16;
      case BF16 -> OnnxSchema.BFLOAT16;
      case I64 -> OnnxSchema.INT64;
      case I32 -> OnnxSchema.INT32;
      case I16 -> OnnxSchema.INT16;
      case I8 -> OnnxSchema.INT8;
      case U8 -> OnnxSchema.UINT8;
      case U16 -> OnnxSchema.UINT16;
      case U32 -> OnnxSchema.UINT32;
      case U64 -> OnnxSchema.UINT64;
      case BOOL -> OnnxSchema.BOOL;
      default -> 0;
    };
  }

  /** ONNX's name of a TensorProto.DataType. */
  public static String typeName(int elemType) {
    return switch (elemType) {
      case 0 -> "undeclared";
      case OnnxSchema.FLOAT -> "float";
      case OnnxSchema.UINT8 -> "uint8";
      case OnnxSchema.INT8 -> "int8";
      case OnnxSchema.UINT16 -> "uint16";
      case OnnxSchema.INT16 -> "int16";
      case OnnxSchema.INT32 -> "int32";
      case OnnxSchema.INT64 -> "int64";
      case OnnxSchema.BOOL -> "bool";
      case OnnxSchema.FLOAT16 -> "float16";
      case OnnxSchema.DOUBLE -> "double";
      case OnnxSchema.UINT32 -> "uint32";
      case OnnxSchema.UINT64 -> "uint64";
      case OnnxSchema.BFLOAT16 -> "bfloat16";
      default -> "data_type " + elemType;
    };
  }
}
