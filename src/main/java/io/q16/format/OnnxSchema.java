package io.q16.format;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;

/**
 * The part of ONNX's schema (onnx/onnx.proto, proto2) that Q16 reads and writes, declared in code
 * with ONNX's field numbers. Everything else in a model is an unknown field to this schema, and
 * protobuf-java keeps unknown fields of proto2 messages through parse and rewrite: a model Q16
 * rewrites loses nothing it did not touch. No generated code and no protoc in the build.
 */
public final class OnnxSchema {
  private OnnxSchema() {}

  /** TensorProto.DataType values Q16 maps. */
  public static final int FLOAT = 1;
  public static final int UINT8 = 2;
  public static final int INT8 = 3;
  public static final int UINT16 = 4;
  public static final int INT16 = 5;
  public static final int INT32 = 6;
  public static final int INT64 = 7;
  public static final int BOOL = 9;
  public static final int FLOAT16 = 10;
  public static final int DOUBLE = 11;
  public static final int UINT32 = 12;
  public static final int UINT64 = 13;
  public static final int BFLOAT16 = 16;

  /** AttributeProto.AttributeType values Q16 writes. */
  public static final int ATTR_FLOAT = 1;
  public static final int ATTR_INT = 2;
  public static final int ATTR_STRING = 3;
  public static final int ATTR_TENSOR = 4;
  public static final int ATTR_GRAPH = 5;

  public static final Descriptor MODEL;
  public static final Descriptor GRAPH;
  public static final Descriptor NODE;
  public static final Descriptor ATTRIBUTE;
  public static final Descriptor TENSOR;
  public static final Descriptor VALUE_INFO;
  public static final Descriptor TYPE;
  public static final Descriptor TYPE_TENSOR;
  public static final Descriptor SHAPE;
  public static final Descriptor DIMENSION;
  public static final Descriptor OPSET;
  public static final Descriptor ENTRY;

  static {
    FileDescriptorProto file = FileDescriptorProto.newBuilder()
        .setName("q16/onnx-subset.proto")
        .setPackage("onnx")
        .setSyntax("proto2")
        .addMessageType(message("StringStringEntryProto",
            optional("key", 1, Type.TYPE_STRING),
            optional("value", 2, Type.TYPE_STRING)))
        .addMessageType(message("OperatorSetIdProto",
            optional("domain", 1, Type.TYPE_STRING),
            optional("version", 2, Type.TYPE_INT64)))
        .addMessageType(message("ModelProto",
            optional("ir_version", 1, Type.TYPE_INT64),
            optional("producer_name", 2, Type.TYPE_STRING),
            optional("producer_version", 3, Type.TYPE_STRING),
            optional("graph", 7, ".onnx.GraphProto"),
            repeated("opset_import", 8, ".onnx.OperatorSetIdProto")))
        .addMessageType(message("GraphProto",
            repeated("node", 1, ".onnx.NodeProto"),
            optional("name", 2, Type.TYPE_STRING),
            repeated("initializer", 5, ".onnx.TensorProto"),
            repeated("input", 11, ".onnx.ValueInfoProto"),
            repeated("output", 12, ".onnx.ValueInfoProto"),
            repeated("value_info", 13, ".onnx.ValueInfoProto")))
        .addMessageType(message("NodeProto",
            repeated("input", 1, Type.TYPE_STRING),
            repeated("output", 2, Type.TYPE_STRING),
            optional("name", 3, Type.TYPE_STRING),
            optional("op_type", 4, Type.TYPE_STRING),
            repeated("attribute", 5, ".onnx.AttributeProto"),
            optional("domain", 7, Type.TYPE_STRING)))
        .addMessageType(message("AttributeProto",
            optional("name", 1, Type.TYPE_STRING),
            optional("f", 2, Type.TYPE_FLOAT),
            optional("i", 3, Type.TYPE_INT64),
            optional("s", 4, Type.TYPE_BYTES),
            optional("t", 5, ".onnx.TensorProto"),
            optional("g", 6, ".onnx.GraphProto"),
            repeated("ints", 8, Type.TYPE_INT64),
            repeated("tensors", 10, ".onnx.TensorProto"),
            repeated("graphs", 11, ".onnx.GraphProto"),
            optional("type", 20, Type.TYPE_INT32)))
        .addMessageType(message("TensorProto",
            repeated("dims", 1, Type.TYPE_INT64),
            optional("data_type", 2, Type.TYPE_INT32),
            packedRepeated("float_data", 4, Type.TYPE_FLOAT),
            packedRepeated("int32_data", 5, Type.TYPE_INT32),
            packedRepeated("int64_data", 7, Type.TYPE_INT64),
            optional("name", 8, Type.TYPE_STRING),
            optional("raw_data", 9, Type.TYPE_BYTES),
            packedRepeated("double_data", 10, Type.TYPE_DOUBLE),
            repeated("external_data", 13, ".onnx.StringStringEntryProto"),
            optional("data_location", 14, Type.TYPE_INT32)))
        .addMessageType(message("ValueInfoProto",
            optional("name", 1, Type.TYPE_STRING),
            optional("type", 2, ".onnx.TypeProto")))
        .addMessageType(message("TypeProto",
            optional("tensor_type", 1, ".onnx.TypeProto.Tensor"))
            .addNestedType(message("Tensor",
                optional("elem_type", 1, Type.TYPE_INT32),
                optional("shape", 2, ".onnx.TensorShapeProto"))))
        .addMessageType(message("TensorShapeProto",
            repeated("dim", 1, ".onnx.TensorShapeProto.Dimension"))
            .addNestedType(message("Dimension",
                optional("dim_value", 1, Type.TYPE_INT64),
                optional("dim_param", 2, Type.TYPE_STRING))))
        .build();
    FileDescriptor fd;
    try {
      fd = FileDescriptor.buildFrom(file, new FileDescriptor[0]);
    } catch (DescriptorValidationException e) {
      throw new ExceptionInInitializerError(e);
    }
    MODEL = fd.findMessageTypeByName("ModelProto");
    GRAPH = fd.findMessageTypeByName("GraphProto");
    NODE = fd.findMessageTypeByName("NodeProto");
    ATTRIBUTE = fd.findMessageTypeByName("AttributeProto");
    TENSOR = fd.findMessageTypeByName("TensorProto");
    VALUE_INFO = fd.findMessageTypeByName("ValueInfoProto");
    TYPE = fd.findMessageTypeByName("TypeProto");
    TYPE_TENSOR = TYPE.findNestedTypeByName("Tensor");
    SHAPE = fd.findMessageTypeByName("TensorShapeProto");
    DIMENSION = SHAPE.findNestedTypeByName("Dimension");
    OPSET = fd.findMessageTypeByName("OperatorSetIdProto");
    ENTRY = fd.findMessageTypeByName("StringStringEntryProto");
  }

  private static DescriptorProto.Builder message(String name, FieldDescriptorProto.Builder... fields) {
    DescriptorProto.Builder m = DescriptorProto.newBuilder().setName(name);
    for (FieldDescriptorProto.Builder f : fields) {
      m.addField(f);
    }
    return m;
  }

  private static FieldDescriptorProto.Builder optional(String name, int number, Type type) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setLabel(Label.LABEL_OPTIONAL).setType(type);
  }

  private static FieldDescriptorProto.Builder optional(String name, int number, String messageType) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setLabel(Label.LABEL_OPTIONAL)
        .setType(Type.TYPE_MESSAGE).setTypeName(messageType);
  }

  private static FieldDescriptorProto.Builder repeated(String name, int number, Type type) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setLabel(Label.LABEL_REPEATED).setType(type);
  }

  private static FieldDescriptorProto.Builder repeated(String name, int number, String messageType) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setLabel(Label.LABEL_REPEATED)
        .setType(Type.TYPE_MESSAGE).setTypeName(messageType);
  }

  /** ONNX declares these [packed = true]; protobuf parsers accept packed and unpacked either way. */
  private static FieldDescriptorProto.Builder packedRepeated(String name, int number, Type type) {
    return repeated(name, number, type).setOptions(
        com.google.protobuf.DescriptorProtos.FieldOptions.newBuilder().setPacked(true));
  }
}
