package io.q16.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.DynamicMessage;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reading and rebuilding ONNX messages parsed with {@link OnnxSchema}: DynamicMessage is
 * immutable, so every edit rebuilds the message through its builder, which keeps the fields
 * that Q16's schema does not declare (unknown fields) as they were.
 */
final class Protos {
  private Protos() {}

  static Object get(DynamicMessage m, String field) {
    return m.getField(Onnx.field(m.getDescriptorForType(), field));
  }

  static String string(DynamicMessage m, String field) {
    return (String) get(m, field);
  }

  static boolean has(DynamicMessage m, String field) {
    return m.hasField(Onnx.field(m.getDescriptorForType(), field));
  }

  @SuppressWarnings("unchecked")
  static List<DynamicMessage> messages(DynamicMessage m, String field) {
    return (List<DynamicMessage>) get(m, field);
  }

  @SuppressWarnings("unchecked")
  static List<String> strings(DynamicMessage m, String field) {
    return (List<String>) get(m, field);
  }

  @SuppressWarnings("unchecked")
  static List<Long> longs(DynamicMessage m, String field) {
    return (List<Long>) get(m, field);
  }

  /** {@code m} with repeated {@code field} replaced by {@code values}. */
  static DynamicMessage withList(DynamicMessage m, String field, List<?> values) {
    Descriptor d = m.getDescriptorForType();
    DynamicMessage.Builder b = m.toBuilder().clearField(Onnx.field(d, field));
    for (Object v : values) {
      b.addRepeatedField(Onnx.field(d, field), v);
    }
    return b.build();
  }

  static DynamicMessage with(DynamicMessage m, String field, Object value) {
    return m.toBuilder().setField(Onnx.field(m.getDescriptorForType(), field), value).build();
  }

  // Nodes.

  static String op(DynamicMessage node) {
    return string(node, "op_type");
  }

  /** True for the default ONNX domain ("" or "ai.onnx"). */
  static boolean defaultDomain(DynamicMessage node) {
    String d = string(node, "domain");
    return d.isEmpty() || d.equals("ai.onnx");
  }

  /** A node's name for messages: its name, else its first output. */
  static String label(DynamicMessage node) {
    String n = string(node, "name");
    List<String> outs = strings(node, "output");
    return !n.isEmpty() ? n : outs.isEmpty() ? "(unnamed)" : outs.get(0);
  }

  static DynamicMessage attribute(DynamicMessage node, String name) {
    for (DynamicMessage a : messages(node, "attribute")) {
      if (string(a, "name").equals(name)) {
        return a;
      }
    }
    return null;
  }

  static Long attrInt(DynamicMessage node, String name) {
    DynamicMessage a = attribute(node, name);
    return a == null ? null : (Long) get(a, "i");
  }

  static String attrString(DynamicMessage node, String name) {
    DynamicMessage a = attribute(node, name);
    return a == null ? null : ((ByteString) get(a, "s")).toStringUtf8();
  }

  static List<Long> attrInts(DynamicMessage node, String name) {
    DynamicMessage a = attribute(node, name);
    return a == null ? null : longs(a, "ints");
  }

  static DynamicMessage withoutAttribute(DynamicMessage node, String name) {
    List<DynamicMessage> keep = new ArrayList<>();
    for (DynamicMessage a : messages(node, "attribute")) {
      if (!string(a, "name").equals(name)) {
        keep.add(a);
      }
    }
    return withList(node, "attribute", keep);
  }

  static DynamicMessage withAttribute(DynamicMessage node, DynamicMessage attr) {
    String name = string(attr, "name");
    return withoutAttribute(node, name).toBuilder()
        .addRepeatedField(Onnx.field(OnnxSchema.NODE, "attribute"), attr).build();
  }

  static DynamicMessage attrString(String name, String value) {
    return DynamicMessage.newBuilder(OnnxSchema.ATTRIBUTE)
        .setField(Onnx.field(OnnxSchema.ATTRIBUTE, "name"), name)
        .setField(Onnx.field(OnnxSchema.ATTRIBUTE, "type"), OnnxSchema.ATTR_STRING)
        .setField(Onnx.field(OnnxSchema.ATTRIBUTE, "s"), ByteString.copyFromUtf8(value))
        .build();
  }

  /** A Constant node whose value is {@code tensor}. */
  static DynamicMessage constant(String output, DynamicMessage tensor) {
    return Onnx.node("Constant", output, List.of(), List.of(output), Onnx.attrTensor("value", tensor));
  }

  /** Every subgraph held by a node's attributes. */
  static List<DynamicMessage> subgraphs(DynamicMessage node) {
    List<DynamicMessage> out = new ArrayList<>();
    for (DynamicMessage a : messages(node, "attribute")) {
      if (has(a, "g")) {
        out.add((DynamicMessage) get(a, "g"));
      }
      out.addAll(messages(a, "graphs"));
    }
    return out;
  }

  /** A function rebuilding a graph. */
  interface GraphEdit {
    DynamicMessage apply(DynamicMessage graph);
  }

  /** {@code node} with every subgraph of its attributes rebuilt by {@code edit}. */
  static DynamicMessage mapSubgraphs(DynamicMessage node, GraphEdit edit) {
    List<DynamicMessage> attrs = messages(node, "attribute");
    boolean any = false;
    List<DynamicMessage> out = new ArrayList<>(attrs.size());
    for (DynamicMessage a : attrs) {
      if (has(a, "g") || !messages(a, "graphs").isEmpty()) {
        any = true;
        DynamicMessage.Builder b = a.toBuilder();
        if (has(a, "g")) {
          b.setField(Onnx.field(OnnxSchema.ATTRIBUTE, "g"), edit.apply((DynamicMessage) get(a, "g")));
        }
        if (!messages(a, "graphs").isEmpty()) {
          List<DynamicMessage> gs = new ArrayList<>();
          for (DynamicMessage g : messages(a, "graphs")) {
            gs.add(edit.apply(g));
          }
          b.clearField(Onnx.field(OnnxSchema.ATTRIBUTE, "graphs"));
          gs.forEach(g -> b.addRepeatedField(Onnx.field(OnnxSchema.ATTRIBUTE, "graphs"), g));
        }
        out.add(b.build());
      } else {
        out.add(a);
      }
    }
    return any ? withList(node, "attribute", out) : node;
  }

  /** Every name a graph and its subgraphs use: values, nodes, initializers. */
  static void collectNames(DynamicMessage graph, Set<String> names) {
    for (DynamicMessage t : messages(graph, "initializer")) {
      names.add(string(t, "name"));
    }
    for (String f : new String[] {"input", "output", "value_info"}) {
      for (DynamicMessage v : messages(graph, f)) {
        names.add(string(v, "name"));
      }
    }
    for (DynamicMessage n : messages(graph, "node")) {
      names.add(string(n, "name"));
      names.addAll(strings(n, "input"));
      names.addAll(strings(n, "output"));
      for (DynamicMessage g : subgraphs(n)) {
        collectNames(g, names);
      }
    }
  }

  /** Fresh names that collide with nothing in the model. */
  static final class Names {
    private final Set<String> taken = new HashSet<>();

    Names(DynamicMessage model) {
      collectNames((DynamicMessage) get(model, "graph"), taken);
    }

    String fresh(String base) {
      String n = base;
      for (int i = 1; !taken.add(n); i++) {
        n = base + "_" + i;
      }
      return n;
    }
  }
}
