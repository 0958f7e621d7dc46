package io.q16.format;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Builds ONNX messages against {@link OnnxSchema}: tensors, nodes, attributes, graphs and models,
 * as the exports write them and the tests build their models.
 */
public final class Onnx {
  private Onnx() {}

  public static FieldDescriptor field(Descriptor d, String name) {
    FieldDescriptor f = d.findFieldByName(name);
    if (f == null) {
      throw new IllegalArgumentException(d.getName() + " has no field " + name + " in Q16's schema");
    }
    return f;
  }

  /** A tensor with little-endian {@code raw_data}. */
  public static DynamicMessage tensor(String name, int dataType, long[] dims, byte[] raw) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(OnnxSchema.TENSOR)
        .setField(field(OnnxSchema.TENSOR, "name"), name)
        .setField(field(OnnxSchema.TENSOR, "data_type"), dataType)
        .setField(field(OnnxSchema.TENSOR, "raw_data"), ByteString.copyFrom(raw));
    for (long d : dims) {
      b.addRepeatedField(field(OnnxSchema.TENSOR, "dims"), d);
    }
    return b.build();
  }

  /** A float32 tensor with raw_data. */
  public static DynamicMessage floats(String name, long[] dims, float[] values) {
    ByteBuffer bb = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(values);
    return tensor(name, OnnxSchema.FLOAT, dims, bb.array());
  }

  /** An int16 tensor with raw_data. */
  public static DynamicMessage int16s(String name, long[] dims, short[] values) {
    ByteBuffer bb = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asShortBuffer().put(values);
    return tensor(name, OnnxSchema.INT16, dims, bb.array());
  }

  /** An int64 tensor with raw_data. */
  public static DynamicMessage int64s(String name, long[] dims, long[] values) {
    ByteBuffer bb = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asLongBuffer().put(values);
    return tensor(name, OnnxSchema.INT64, dims, bb.array());
  }

  public static DynamicMessage attrInt(String name, long v) {
    return attribute(name, OnnxSchema.ATTR_INT, "i", v);
  }

  public static DynamicMessage attrFloat(String name, float v) {
    return attribute(name, OnnxSchema.ATTR_FLOAT, "f", v);
  }

  public static DynamicMessage attrTensor(String name, DynamicMessage t) {
    return attribute(name, OnnxSchema.ATTR_TENSOR, "t", t);
  }

  public static DynamicMessage attrGraph(String name, DynamicMessage g) {
    return attribute(name, OnnxSchema.ATTR_GRAPH, "g", g);
  }

  /** An attribute whose value is in {@code field} (its type tag says which, as IR version 2+ requires). */
  private static DynamicMessage attribute(String name, int type, String field, Object value) {
    return DynamicMessage.newBuilder(OnnxSchema.ATTRIBUTE)
        .setField(field(OnnxSchema.ATTRIBUTE, "name"), name)
        .setField(field(OnnxSchema.ATTRIBUTE, "type"), type)
        .setField(field(OnnxSchema.ATTRIBUTE, field), value)
        .build();
  }

  public static DynamicMessage node(String op, String name, List<String> inputs, List<String> outputs,
      DynamicMessage... attributes) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(OnnxSchema.NODE)
        .setField(field(OnnxSchema.NODE, "op_type"), op)
        .setField(field(OnnxSchema.NODE, "name"), name);
    for (String i : inputs) {
      b.addRepeatedField(field(OnnxSchema.NODE, "input"), i);
    }
    for (String o : outputs) {
      b.addRepeatedField(field(OnnxSchema.NODE, "output"), o);
    }
    for (DynamicMessage a : attributes) {
      b.addRepeatedField(field(OnnxSchema.NODE, "attribute"), a);
    }
    return b.build();
  }

  /**
   * A value's declaration with element type and shape; a dimension below 0 is symbolic (named
   * "d" + its index), for batch axes.
   */
  public static DynamicMessage valueInfo(String name, int elemType, long... dims) {
    DynamicMessage.Builder shape = DynamicMessage.newBuilder(OnnxSchema.SHAPE);
    for (int i = 0; i < dims.length; i++) {
      DynamicMessage.Builder d = DynamicMessage.newBuilder(OnnxSchema.DIMENSION);
      if (dims[i] >= 0) {
        d.setField(field(OnnxSchema.DIMENSION, "dim_value"), dims[i]);
      } else {
        d.setField(field(OnnxSchema.DIMENSION, "dim_param"), "d" + i);
      }
      shape.addRepeatedField(field(OnnxSchema.SHAPE, "dim"), d.build());
    }
    DynamicMessage tensorType = DynamicMessage.newBuilder(OnnxSchema.TYPE_TENSOR)
        .setField(field(OnnxSchema.TYPE_TENSOR, "elem_type"), elemType)
        .setField(field(OnnxSchema.TYPE_TENSOR, "shape"), shape.build())
        .build();
    return DynamicMessage.newBuilder(OnnxSchema.VALUE_INFO)
        .setField(field(OnnxSchema.VALUE_INFO, "name"), name)
        .setField(field(OnnxSchema.VALUE_INFO, "type"),
            DynamicMessage.newBuilder(OnnxSchema.TYPE).setField(field(OnnxSchema.TYPE, "tensor_type"), tensorType).build())
        .build();
  }

  public static DynamicMessage graph(String name, List<DynamicMessage> nodes, List<DynamicMessage> initializers,
      List<DynamicMessage> inputs, List<DynamicMessage> outputs) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(OnnxSchema.GRAPH)
        .setField(field(OnnxSchema.GRAPH, "name"), name);
    nodes.forEach(n -> b.addRepeatedField(field(OnnxSchema.GRAPH, "node"), n));
    initializers.forEach(t -> b.addRepeatedField(field(OnnxSchema.GRAPH, "initializer"), t));
    inputs.forEach(v -> b.addRepeatedField(field(OnnxSchema.GRAPH, "input"), v));
    outputs.forEach(v -> b.addRepeatedField(field(OnnxSchema.GRAPH, "output"), v));
    return b.build();
  }

  /** A model importing the default domain at {@code opset}, IR version 8 (opset 13..18) or 10 (21+). */
  public static DynamicMessage model(DynamicMessage graph, long opset) {
    DynamicMessage op = DynamicMessage.newBuilder(OnnxSchema.OPSET)
        .setField(field(OnnxSchema.OPSET, "domain"), "")
        .setField(field(OnnxSchema.OPSET, "version"), opset)
        .build();
    return DynamicMessage.newBuilder(OnnxSchema.MODEL)
        .setField(field(OnnxSchema.MODEL, "ir_version"), opset >= 21 ? 10L : 8L)
        .setField(field(OnnxSchema.MODEL, "producer_name"), "q16")
        .setField(field(OnnxSchema.MODEL, "graph"), graph)
        .addRepeatedField(field(OnnxSchema.MODEL, "opset_import"), op)
        .build();
  }
}
