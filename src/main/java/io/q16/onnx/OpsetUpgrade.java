package io.q16.onnx;

import com.google.protobuf.DynamicMessage;
import io.q16.Errors;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Raises a model's default-domain opset (to 21 for int16 Q/DQ), converting the nodes whose
 * semantics changed on the way, as ONNX's version converter does, and refusing with one line
 * naming the node when a change is not converted. The changes, by the opset that made them (from
 * the ONNX changelog and the version converter's adapters):
 *
 * <ul>
 *   <li>9: BatchNormalization loses {@code spatial}; Scan loses its batch axis (refused).
 *   <li>10: Slice's starts/ends/axes and TopK's k become inputs; Upsample is deprecated and the
 *       experimental ops are removed (refused).
 *   <li>11: Clip's min/max and Pad's pads/value become inputs; Resize-10 changes its coordinate
 *       transformation (refused); Scatter becomes ScatterElements.
 *   <li>12: Dropout's ratio becomes an input (inference: Dropout is the identity, so it is dropped).
 *   <li>13: Squeeze/Unsqueeze axes, Split's split and ReduceSum's axes become inputs;
 *       Softmax/LogSoftmax/Hardmax work along one axis instead of coercing to 2-D (converted as
 *       Flatten → op → Reshape, exact); Resize takes no empty scales beside sizes, drops
 *       tf_half_pixel_for_nn (refused).
 *   <li>14: BatchNormalization's extra outputs need training_mode (refused).
 *   <li>16: RoiAlign's default coordinate transformation becomes half_pixel (the old one is set).
 *   <li>18: the other Reduce* ops' axes become inputs; Split needs num_outputs without split.
 *   <li>20: GridSample renames bilinear/bicubic to linear/cubic; DFT's axis becomes an input (refused).
 *   <li>21: GroupNormalization's scale and bias become per channel (refused).
 * </ul>
 * Every other operator kept its semantics between opset 7 and 21 (new types, new optional
 * attributes with the old behaviour as default); models older than opset 7 are refused.
 */
public final class OpsetUpgrade {
  public static final long QDQ_INT16_OPSET = 21;
  /** The IR version that opset 21 needs. */
  public static final long IR_FOR_21 = 10;

  private static final Set<String> REDUCE_18 = Set.of("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
      "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");
  private static final Set<String> REMOVED = Set.of("Upsample", "Affine", "Crop", "DynamicSlice", "GRUUnit",
      "GivenTensorFill", "ImageScaler", "ParametricSoftplus", "Scale", "ScaledTanh", "ConstantFill");

  private final String file;
  private final long from;
  private final long to;
  private final Protos.Names names;
  private final List<String> converted = new ArrayList<>();

  private OpsetUpgrade(String file, long from, long to, Protos.Names names) {
    this.file = file;
    this.from = from;
    this.to = to;
    this.names = names;
  }

  /** The result: the model, and one line per converted node. */
  public record Result(DynamicMessage model, long fromOpset, long toOpset, List<String> converted) {}

  /** The default-domain opset a model imports, or -1. */
  public static long opset(DynamicMessage model) {
    for (DynamicMessage op : Protos.messages(model, "opset_import")) {
      String d = Protos.string(op, "domain");
      if (d.isEmpty() || d.equals("ai.onnx")) {
        return (Long) Protos.get(op, "version");
      }
    }
    return -1;
  }

  /**
   * {@code model} at opset max(current, {@code to}) and IR version at least {@link #IR_FOR_21}
   * when {@code to} >= 21; {@code file} names the model in errors.
   */
  public static Result upgrade(String file, DynamicMessage model, long to, Protos.Names names) {
    long from = opset(model);
    if (from < 0) {
      throw Errors.badFile(file, "imports no default-domain opset: not a model Q16 can raise to opset " + to);
    }
    if (from >= to) {
      return new Result(model, from, from, List.of());
    }
    if (from < 7) {
      throw Errors.badFile(file, "opset " + from + " is older than 7: Q16 raises models from opset 7 on (convert it with"
          + " onnx.version_converter first)");
    }
    OpsetUpgrade u = new OpsetUpgrade(file, from, to, names);
    DynamicMessage graph = u.graph((DynamicMessage) Protos.get(model, "graph"), "main");
    List<DynamicMessage> imports = new ArrayList<>();
    for (DynamicMessage op : Protos.messages(model, "opset_import")) {
      String d = Protos.string(op, "domain");
      imports.add(d.isEmpty() || d.equals("ai.onnx") ? Protos.with(op, "version", to) : op);
    }
    DynamicMessage out = Protos.withList(Protos.with(model, "graph", graph), "opset_import", imports);
    long ir = (Long) Protos.get(model, "ir_version");
    if (to >= 21 && ir < IR_FOR_21) {
      out = Protos.with(out, "ir_version", IR_FOR_21);
    }
    return new Result(out, from, to, List.copyOf(u.converted));
  }

  private DynamicMessage graph(DynamicMessage g, String path) {
    List<DynamicMessage> nodes = new ArrayList<>();
    for (DynamicMessage n : Protos.messages(g, "node")) {
      String sub = path + "/" + Protos.label(n);
      n = Protos.mapSubgraphs(n, s -> graph(s, sub));
      if (Protos.defaultDomain(n)) {
        node(n, path, nodes);
      } else {
        nodes.add(n);
      }
    }
    return Protos.withList(g, "node", nodes);
  }

  private RuntimeException refuse(DynamicMessage n, String path, String why) {
    return Errors.badFile(file, "node '" + Protos.label(n) + "' (" + Protos.op(n) + ") in graph " + path + ": " + why
        + "; raising opset " + from + " to " + to + " would change its meaning, so the export is refused");
  }

  private void note(DynamicMessage n, String what) {
    converted.add(Protos.op(n) + " '" + Protos.label(n) + "': " + what);
  }

  /** Appends {@code n}, converted, and any nodes it needs, to {@code out}. */
  private void node(DynamicMessage n, String path, List<DynamicMessage> out) {
    String op = Protos.op(n);
    if (REMOVED.contains(op)) {
      throw refuse(n, path, "the operator was deprecated or removed at opset 10");
    }
    switch (op) {
      case "Squeeze", "Unsqueeze" -> {
        if (from < 13) {
          n = attributeToInput(n, "axes", 1, out);
        }
      }
      case "ReduceSum" -> {
        if (from < 13) {
          n = attributeToInput(n, "axes", 1, out);
        }
      }
      case "Split" -> {
        if (from < 13) {
          n = attributeToInput(n, "split", 1, out);
        }
        List<String> ins = Protos.strings(n, "input");
        if (from < 18 && (ins.size() < 2 || ins.get(1).isEmpty()) && Protos.attribute(n, "num_outputs") == null) {
          n = Protos.withAttribute(n, Onnx.attrInt("num_outputs", Protos.strings(n, "output").size()));
          note(n, "num_outputs set (opset 18)");
        }
      }
      case "Softmax", "LogSoftmax", "Hardmax" -> {
        if (from < 13) {
          softmax(n, out);
          return;
        }
      }
      case "Clip" -> {
        if (from < 11) {
          n = clip(n, out);
        }
      }
      case "Pad" -> {
        if (from < 11) {
          n = pad(n, out);
        }
      }
      case "Slice" -> {
        if (from < 10) {
          DynamicMessage s = n;
          List<String> ins = new ArrayList<>(Protos.strings(n, "input"));
          for (String a : new String[] {"starts", "ends", "axes"}) {
            List<Long> v = Protos.attrInts(s, a);
            ins.add(v == null ? "" : constInts(s, a, v, out));
            s = Protos.withoutAttribute(s, a);
          }
          while (ins.get(ins.size() - 1).isEmpty()) {
            ins.remove(ins.size() - 1);
          }
          n = Protos.withList(s, "input", ins);
          note(n, "starts/ends/axes attributes -> inputs (opset 10)");
        }
      }
      case "TopK" -> {
        if (from < 10) {
          Long k = Protos.attrInt(n, "k");
          List<String> ins = new ArrayList<>(Protos.strings(n, "input"));
          ins.add(constInts(n, "k", List.of(k == null ? 0L : k), out));
          n = Protos.withList(Protos.withoutAttribute(n, "k"), "input", ins);
          note(n, "k attribute -> input (opset 10)");
        }
      }
      case "Dropout" -> {
        if (from < 12 && Protos.attribute(n, "ratio") != null) {
          n = Protos.withoutAttribute(n, "ratio");
          note(n, "ratio attribute dropped (inference: identity; opset 12)");
        }
      }
      case "Scatter" -> {
        n = Protos.with(n, "op_type", "ScatterElements");
        note(n, "Scatter -> ScatterElements (opset 11)");
      }
      case "Resize" -> {
        if (from == 10) {
          throw refuse(n, path, "Resize-10's coordinate transformation differs from Resize-11's");
        }
        if (from < 13) {
          if ("tf_half_pixel_for_nn".equals(Protos.attrString(n, "coordinate_transformation_mode"))) {
            throw refuse(n, path, "coordinate_transformation_mode tf_half_pixel_for_nn was removed at opset 13");
          }
          List<String> ins = new ArrayList<>(Protos.strings(n, "input"));
          if (ins.size() > 3 && !ins.get(3).isEmpty() && !ins.get(2).isEmpty()) {
            ins.set(2, "");
            n = Protos.withList(n, "input", ins);
            note(n, "empty scales beside sizes omitted (opset 13)");
          }
        }
      }
      case "BatchNormalization" -> {
        Long spatial = Protos.attrInt(n, "spatial");
        if (from < 9 && spatial != null) {
          if (spatial != 1) {
            throw refuse(n, path, "spatial = " + spatial + " (per-activation statistics) was removed at opset 9");
          }
          n = Protos.withoutAttribute(n, "spatial");
          note(n, "spatial = 1 attribute dropped (opset 9)");
        }
        if (from < 14 && Protos.strings(n, "output").size() > 1) {
          throw refuse(n, path, "its running mean/variance outputs need training_mode from opset 14");
        }
      }
      case "Scan" -> {
        if (from < 9) {
          throw refuse(n, path, "Scan-8's batch axis and sequence_lens were removed at opset 9");
        }
      }
      case "RoiAlign" -> {
        if (from < 16 && Protos.attribute(n, "coordinate_transformation_mode") == null) {
          n = Protos.withAttribute(n, Protos.attrString("coordinate_transformation_mode", "output_half_pixel"));
          note(n, "coordinate_transformation_mode = output_half_pixel kept explicit (opset 16)");
        }
      }
      case "GridSample" -> {
        String mode = Protos.attrString(n, "mode");
        if (from < 20 && mode != null && (mode.equals("bilinear") || mode.equals("bicubic"))) {
          n = Protos.withAttribute(n, Protos.attrString("mode", mode.equals("bilinear") ? "linear" : "cubic"));
          note(n, "mode " + mode + " renamed (opset 20)");
        }
      }
      case "DFT" -> {
        if (from < 20) {
          throw refuse(n, path, "DFT's axis became an input at opset 20");
        }
      }
      case "GroupNormalization" -> {
        if (from < 21) {
          throw refuse(n, path, "scale and bias are per group before opset 21 and per channel from it");
        }
      }
      default -> { }
    }
    if (REDUCE_18.contains(op) && from < 18) {
      n = attributeToInput(n, "axes", 1, out);
    }
    out.add(n);
  }

  /** Moves an ints attribute to input {@code index} as an int64 Constant; absent stays absent. */
  private DynamicMessage attributeToInput(DynamicMessage n, String attr, int index, List<DynamicMessage> out) {
    List<Long> v = Protos.attrInts(n, attr);
    if (v == null) {
      return n;
    }
    List<String> ins = new ArrayList<>(Protos.strings(n, "input"));
    while (ins.size() < index) {
      ins.add("");
    }
    ins.add(index, constInts(n, attr, v, out));
    note(n, attr + " attribute -> input");
    return Protos.withList(Protos.withoutAttribute(n, attr), "input", ins);
  }

  private String constInts(DynamicMessage n, String what, List<Long> v, List<DynamicMessage> out) {
    String name = names.fresh(Protos.label(n) + "_" + what);
    long[] values = v.stream().mapToLong(Long::longValue).toArray();
    out.add(Protos.constant(name, Onnx.int64s(name, new long[] {values.length}, values)));
    return name;
  }

  /** A float scalar Constant cast to the type of {@code like}: old attributes were floats of any T. */
  private String constLike(DynamicMessage n, String what, float v, String like, List<DynamicMessage> out) {
    String c = names.fresh(Protos.label(n) + "_" + what + "_f32");
    out.add(Protos.constant(c, Onnx.floats(c, new long[0], new float[] {v})));
    String cast = names.fresh(Protos.label(n) + "_" + what);
    out.add(Onnx.node("CastLike", cast, List.of(c, like), List.of(cast)));
    return cast;
  }

  private DynamicMessage clip(DynamicMessage n, List<DynamicMessage> out) {
    String x = Protos.strings(n, "input").get(0);
    List<String> ins = new ArrayList<>(List.of(x));
    for (String a : new String[] {"min", "max"}) {
      DynamicMessage attr = Protos.attribute(n, a);
      ins.add(attr == null ? "" : constLike(n, a, (Float) Protos.get(attr, "f"), x, out));
    }
    while (ins.get(ins.size() - 1).isEmpty()) {
      ins.remove(ins.size() - 1);
    }
    note(n, "min/max attributes -> inputs (opset 11)");
    return Protos.withList(Protos.withoutAttribute(Protos.withoutAttribute(n, "min"), "max"), "input", ins);
  }

  private DynamicMessage pad(DynamicMessage n, List<DynamicMessage> out) {
    String x = Protos.strings(n, "input").get(0);
    List<Long> pads = Protos.attrInts(n, "pads");
    if (pads == null) {
      pads = Protos.attrInts(n, "paddings");
    }
    if (pads == null) {
      throw refuse(n, "main", "it has no pads attribute");
    }
    DynamicMessage value = Protos.attribute(n, "value");
    List<String> ins = new ArrayList<>(List.of(x, constInts(n, "pads", pads, out)));
    if (value != null) {
      ins.add(constLike(n, "value", (Float) Protos.get(value, "f"), x, out));
    }
    note(n, "pads/value attributes -> inputs (opset 11)");
    DynamicMessage m = Protos.withoutAttribute(Protos.withoutAttribute(Protos.withoutAttribute(n, "pads"), "paddings"),
        "value");
    return Protos.withList(m, "input", ins);
  }

  /**
   * Softmax-12 and older coerce the input to 2-D at {@code axis} and normalize each row; from
   * opset 13 the op normalizes along {@code axis} alone. axis = -1 means the same in both; any
   * other axis becomes Shape(x), Flatten(x, axis) → op(axis = -1) → Reshape to Shape(x), which
   * is the old definition written out.
   */
  private void softmax(DynamicMessage n, List<DynamicMessage> out) {
    Long axis = Protos.attrInt(n, "axis");
    long a = axis == null ? 1 : axis;
    if (a == -1) {
      out.add(n);
      return;
    }
    String x = Protos.strings(n, "input").get(0);
    String y = Protos.strings(n, "output").get(0);
    String label = Protos.label(n);
    String shape = names.fresh(label + "_shape");
    String flat = names.fresh(label + "_flat");
    String z = names.fresh(label + "_2d");
    out.add(Onnx.node("Shape", shape, List.of(x), List.of(shape)));
    out.add(Onnx.node("Flatten", flat, List.of(x), List.of(flat), Onnx.attrInt("axis", a)));
    DynamicMessage op = Protos.withAttribute(n, Onnx.attrInt("axis", -1));
    op = Protos.withList(Protos.withList(op, "input", List.of(flat)), "output", List.of(z));
    out.add(op);
    out.add(Onnx.node("Reshape", names.fresh(label + "_reshape"), List.of(z, shape), List.of(y)));
    note(n, "axis " + a + " coerced to 2-D as before opset 13 (Flatten -> " + Protos.op(n) + " -> Reshape)");
  }
}
