package io.q16.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites an ONNX model's graphs (the main graph and every subgraph) for the exports: a
 * quantized weight W becomes int16 codes W_q, a float scale and an int16 zero point feeding
 * {@code DequantizeLinear → W}, so its consumers are unchanged; a weight held by a Constant node
 * becomes Constant nodes feeding the same DequantizeLinear, in place; other tensors get new
 * values (fake-quant) or new storage (external data). Calibrated activations V get
 * {@code QuantizeLinear → DequantizeLinear} after their producer and every consumer but the
 * kept-float nodes reads the dequantized value.
 */
public final class OnnxRewrite {
  /** Where a tensor's bytes go: inline raw_data, or a range of an external data file. */
  public record Data(ByteString inline, String location, long offset, long length) {
    public static Data inline(byte[] b) {
      return new Data(ByteString.copyFrom(b), null, 0, b.length);
    }

    public static Data external(String location, long offset, long length) {
      return new Data(null, location, offset, length);
    }
  }

  /** What becomes of one tensor. */
  public sealed interface Replacement permits Dequantize, Values {}

  /**
   * DequantizeLinear(codes, scales, zeroPoints) → the tensor. {@code axis} -1 for one scale;
   * {@code blockSize} > 0 for blocks of that many elements along {@code axis} (opset 21).
   */
  public record Dequantize(int codeType, long[] unitDims, int axis, int blockSize, Data codes, Data scales,
      Data zeroPoints) implements Replacement {}

  /** The tensor keeps its name, type and shape; its bytes are {@code data}. */
  public record Values(Data data) implements Replacement {}

  /** One activation's int16 Q/DQ parameters. */
  public record Activation(float scale, short zeroPoint) {}

  private final Map<String, Replacement> tensors;
  private final Map<String, Activation> activations;
  private final Set<String> floatNodes;
  private final Protos.Names names;
  private final Set<String> done = new HashSet<>();
  private final Set<String> activated = new HashSet<>();

  private OnnxRewrite(Map<String, Replacement> tensors, Map<String, Activation> activations, Set<String> floatNodes,
      Protos.Names names) {
    this.tensors = tensors;
    this.activations = activations;
    this.floatNodes = floatNodes;
    this.names = names;
  }

  /** The rewritten model and the activations that got Q/DQ (those the graph has). */
  public record Result(DynamicMessage model, Set<String> activations) {}

  /**
   * Applies {@code tensors} (by tensor name) and {@code activations} (by value name) to
   * {@code model}; {@code floatNodes} are nodes (by first output) that keep reading float
   * activations. Every named tensor must be found.
   */
  public static Result apply(DynamicMessage model, Map<String, Replacement> tensors, Map<String, Activation> activations,
      Set<String> floatNodes, Protos.Names names) {
    OnnxRewrite r = new OnnxRewrite(tensors, activations, floatNodes, names);
    DynamicMessage g = r.graph((DynamicMessage) Protos.get(model, "graph"), true);
    for (String t : tensors.keySet()) {
      if (!r.done.contains(t)) {
        throw new IllegalStateException("tensor '" + t + "' was not found in the model's graphs");
      }
    }
    return new Result(Protos.with(model, "graph", g), Set.copyOf(r.activated));
  }

  /** An exported model: its bytes, the opset change and what it converted, the activations that got Q/DQ. */
  public record Exported(byte[] model, long fromOpset, long toOpset, List<String> converted, Set<String> activations) {}

  /**
   * Parses {@code source} (the bytes of {@code file}) against Q16's schema, keeping every field it
   * does not declare, raises its opset to 21 when {@code raiseOpset} (int16 Q/DQ), applies the
   * replacements and activation Q/DQ, and serializes it.
   */
  public static Exported export(String file, byte[] source, boolean raiseOpset, Map<String, Replacement> tensors,
      Map<String, Activation> activations, Set<String> floatNodes) {
    DynamicMessage model;
    try {
      com.google.protobuf.CodedInputStream in = com.google.protobuf.CodedInputStream.newInstance(source);
      in.enableAliasing(true); // raw_data shares the source bytes instead of copying them
      in.setSizeLimit(Integer.MAX_VALUE);
      model = DynamicMessage.newBuilder(OnnxSchema.MODEL).mergeFrom(in).build();
    } catch (java.io.IOException e) {
      throw io.q16.Errors.badFile(file, "is not a valid ONNX model: " + e.getMessage());
    }
    Protos.Names names = new Protos.Names(model);
    OpsetUpgrade.Result up = raiseOpset ? OpsetUpgrade.upgrade(file, model, OpsetUpgrade.QDQ_INT16_OPSET, names)
        : new OpsetUpgrade.Result(model, OpsetUpgrade.opset(model), OpsetUpgrade.opset(model), List.of());
    Result r = apply(up.model(), tensors, activations, floatNodes, names);
    return new Exported(r.model().toByteArray(), up.fromOpset(), up.toOpset(), up.converted(), r.activations());
  }

  /** {@code t} with its data replaced: type {@code dataType}, bytes {@code d}. */
  public static DynamicMessage withData(DynamicMessage t, int dataType, Data d) {
    DynamicMessage.Builder b = t.toBuilder();
    for (String f : new String[] {"raw_data", "float_data", "double_data", "int32_data", "int64_data", "external_data",
        "data_location"}) {
      b.clearField(Onnx.field(OnnxSchema.TENSOR, f));
    }
    b.setField(Onnx.field(OnnxSchema.TENSOR, "data_type"), dataType);
    if (d.inline() != null) {
      b.setField(Onnx.field(OnnxSchema.TENSOR, "raw_data"), d.inline());
      return b.build();
    }
    b.setField(Onnx.field(OnnxSchema.TENSOR, "data_location"), 1);
    String[][] kv = {{"location", d.location()}, {"offset", Long.toString(d.offset())},
        {"length", Long.toString(d.length())}};
    for (String[] e : kv) {
      b.addRepeatedField(Onnx.field(OnnxSchema.TENSOR, "external_data"), DynamicMessage.newBuilder(OnnxSchema.ENTRY)
          .setField(Onnx.field(OnnxSchema.ENTRY, "key"), e[0])
          .setField(Onnx.field(OnnxSchema.ENTRY, "value"), e[1]).build());
    }
    return b.build();
  }

  private static DynamicMessage tensor(String name, int type, long[] dims, Data d) {
    return withData(Onnx.tensor(name, type, dims, new byte[0]), type, d);
  }

  private DynamicMessage graph(DynamicMessage g, boolean main) {
    List<DynamicMessage> initializers = new ArrayList<>();
    List<DynamicMessage> head = new ArrayList<>();
    Set<String> dropInputs = new HashSet<>();
    for (DynamicMessage t : Protos.messages(g, "initializer")) {
      String name = Protos.string(t, "name");
      Replacement r = tensors.get(name);
      if (r == null) {
        initializers.add(t);
        continue;
      }
      done.add(name);
      if (r instanceof Values v) {
        initializers.add(withData(t, (Integer) Protos.get(t, "data_type"), v.data()));
        continue;
      }
      Dequantize q = (Dequantize) r;
      long[] dims = Protos.longs(t, "dims").stream().mapToLong(Long::longValue).toArray();
      String[] in = dqInputs(name);
      initializers.add(tensor(in[0], q.codeType(), dims, q.codes()));
      initializers.add(tensor(in[1], OnnxSchema.FLOAT, q.unitDims(), q.scales()));
      initializers.add(tensor(in[2], q.codeType(), q.unitDims(), q.zeroPoints()));
      head.add(dq(name, in, q));
      // Models of IR < 4 list initializers as graph inputs; W is now a node's output.
      dropInputs.add(name);
    }
    List<DynamicMessage> nodes = new ArrayList<>(head);
    for (DynamicMessage n : Protos.messages(g, "node")) {
      n = Protos.mapSubgraphs(n, s -> graph(s, false));
      List<String> outs = Protos.strings(n, "output");
      Replacement r = Protos.op(n).equals("Constant") && outs.size() == 1 ? tensors.get(outs.get(0)) : null;
      if (r == null) {
        nodes.add(n);
        continue;
      }
      String name = outs.get(0);
      done.add(name);
      DynamicMessage attr = Protos.attribute(n, "value");
      DynamicMessage value = (DynamicMessage) Protos.get(attr, "t");
      if (r instanceof Values v) {
        DynamicMessage t = withData(value, (Integer) Protos.get(value, "data_type"), v.data());
        nodes.add(Protos.withAttribute(n, Onnx.attrTensor("value", t)));
        continue;
      }
      Dequantize q = (Dequantize) r;
      long[] dims = Protos.longs(value, "dims").stream().mapToLong(Long::longValue).toArray();
      String[] in = dqInputs(name);
      nodes.add(Protos.constant(in[0], tensor(in[0], q.codeType(), dims, q.codes())));
      nodes.add(Protos.constant(in[1], tensor(in[1], OnnxSchema.FLOAT, q.unitDims(), q.scales())));
      nodes.add(Protos.constant(in[2], tensor(in[2], q.codeType(), q.unitDims(), q.zeroPoints())));
      nodes.add(dq(name, in, q));
    }
    List<DynamicMessage> inputs = new ArrayList<>();
    for (DynamicMessage v : Protos.messages(g, "input")) {
      if (!dropInputs.contains(Protos.string(v, "name"))) {
        inputs.add(v);
      }
    }
    DynamicMessage out = Protos.withList(Protos.withList(Protos.withList(g, "initializer", initializers), "node", nodes),
        "input", inputs);
    return activations.isEmpty() ? out : activate(out, main);
  }

  private String[] dqInputs(String name) {
    return new String[] {names.fresh(name + "_quantized"), names.fresh(name + "_scale"),
        names.fresh(name + "_zero_point")};
  }

  private static DynamicMessage dq(String output, String[] in, Dequantize q) {
    List<DynamicMessage> attrs = new ArrayList<>();
    if (q.axis() >= 0) {
      attrs.add(Onnx.attrInt("axis", q.axis()));
    }
    if (q.blockSize() > 0) {
      attrs.add(Onnx.attrInt("block_size", q.blockSize()));
    }
    return Onnx.node("DequantizeLinear", output + "_DequantizeLinear", List.of(in), List.of(output),
        attrs.toArray(new DynamicMessage[0]));
  }

  /**
   * Q/DQ on the calibrated values this graph produces (node outputs; graph inputs of the main
   * graph): V → QuantizeLinear → DequantizeLinear → V_dq right after V's producer, and every
   * consumer (here and in subgraphs) but the kept-float nodes reads V_dq. Graph outputs stay V.
   */
  private DynamicMessage activate(DynamicMessage g, boolean main) {
    Set<String> initializerNames = new HashSet<>();
    for (DynamicMessage t : Protos.messages(g, "initializer")) {
      initializerNames.add(Protos.string(t, "name"));
    }
    Map<String, String> rename = new LinkedHashMap<>();
    List<String> fromInputs = new ArrayList<>();
    if (main) {
      for (DynamicMessage v : Protos.messages(g, "input")) {
        String name = Protos.string(v, "name");
        if (activations.containsKey(name) && !initializerNames.contains(name) && !tensors.containsKey(name)) {
          fromInputs.add(name);
        }
      }
    }
    for (DynamicMessage n : Protos.messages(g, "node")) {
      if (Protos.op(n).equals("Constant") || Protos.op(n).equals("DequantizeLinear") && tensors.containsKey(
          Protos.strings(n, "output").get(0))) {
        continue; // weights are not activations
      }
      for (String o : Protos.strings(n, "output")) {
        if (activations.containsKey(o)) {
          rename.put(o, null);
        }
      }
    }
    for (String v : fromInputs) {
      rename.put(v, null);
    }
    // A value read only by kept-float nodes (or by nothing) gets no Q/DQ.
    Set<String> read = new HashSet<>();
    for (DynamicMessage n : Protos.messages(g, "node")) {
      quantizedReads(n, read);
    }
    rename.keySet().retainAll(read);
    fromInputs.retainAll(read);
    if (rename.isEmpty()) {
      return g;
    }
    rename.replaceAll((v, ignored) -> names.fresh(v + "_dequantized"));
    List<DynamicMessage> initializers = new ArrayList<>(Protos.messages(g, "initializer"));
    List<DynamicMessage> nodes = new ArrayList<>();
    for (String v : fromInputs) {
      qdq(v, rename.get(v), initializers, nodes);
    }
    for (DynamicMessage n : Protos.messages(g, "node")) {
      nodes.add(renameInputs(n, rename));
      for (String o : Protos.strings(n, "output")) {
        if (rename.containsKey(o) && !fromInputs.contains(o)) {
          qdq(o, rename.get(o), initializers, nodes);
        }
      }
    }
    return Protos.withList(Protos.withList(g, "initializer", initializers), "node", nodes);
  }

  /** The values that {@code n} and the nodes of its subgraphs read, unless they are kept-float nodes. */
  private void quantizedReads(DynamicMessage n, Set<String> read) {
    List<String> outs = Protos.strings(n, "output");
    if (!outs.isEmpty() && floatNodes.contains(outs.get(0))) {
      return;
    }
    read.addAll(Protos.strings(n, "input"));
    for (DynamicMessage s : Protos.subgraphs(n)) {
      for (DynamicMessage m : Protos.messages(s, "node")) {
        quantizedReads(m, read);
      }
    }
  }

  private void qdq(String v, String dequantized, List<DynamicMessage> initializers, List<DynamicMessage> nodes) {
    Activation a = activations.get(v);
    String s = names.fresh(v + "_scale");
    String z = names.fresh(v + "_zero_point");
    String q = names.fresh(v + "_quantized");
    initializers.add(Onnx.floats(s, new long[0], new float[] {a.scale()}));
    initializers.add(Onnx.int16s(z, new long[0], new short[] {a.zeroPoint()}));
    nodes.add(Onnx.node("QuantizeLinear", names.fresh(v + "_QuantizeLinear"), List.of(v, s, z), List.of(q)));
    nodes.add(Onnx.node("DequantizeLinear", names.fresh(v + "_DequantizeLinear"), List.of(q, s, z), List.of(dequantized)));
    activated.add(v);
  }

  /** {@code n} reading the renamed values, in its subgraphs too, unless it is a kept-float node. */
  private DynamicMessage renameInputs(DynamicMessage n, Map<String, String> rename) {
    List<String> outs = Protos.strings(n, "output");
    if (!outs.isEmpty() && floatNodes.contains(outs.get(0))) {
      return n;
    }
    List<String> ins = Protos.strings(n, "input");
    List<String> renamed = new ArrayList<>(ins.size());
    boolean changed = false;
    for (String i : ins) {
      String r = rename.get(i);
      renamed.add(r == null ? i : r);
      changed |= r != null;
    }
    DynamicMessage out = changed ? Protos.withList(n, "input", renamed) : n;
    return Protos.mapSubgraphs(out, s -> {
      List<DynamicMessage> inner = new ArrayList<>();
      for (DynamicMessage m : Protos.messages(s, "node")) {
        inner.add(renameInputs(m, rename));
      }
      return Protos.withList(s, "node", inner);
    });
  }
}
