package io.q16.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.DynamicMessage;
import io.q16.Q16Exception;
import io.q16.format.Onnx;
import io.q16.format.OnnxSchema;
import io.q16.testing.OnnxModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Raising the opset keeps every output bit for bit: old models (opset 9 and 11) with each
 * operator whose attributes became inputs or whose semantics changed, run by ONNX Runtime before
 * and after; operators that cannot be converted are refused naming the node.
 */
class OpsetUpgradeTest {
  @TempDir Path tmp;

  private Map<String, OrtModel.Tensor> run(DynamicMessage model, String file, Map<String, OrtModel.Tensor> in)
      throws IOException {
    Path p = OnnxModels.write(tmp.resolve(file), model);
    try (OrtModel m = OrtModel.open(p.toString())) {
      return m.run(in);
    }
  }

  private void assertSameOutputs(DynamicMessage old, long[] shape, List<String> expectConverted) throws IOException {
    OnnxRewrite.Exported up = OnnxRewrite.export("old.onnx", old.toByteArray(), true, Map.of(), Map.of(), Set.of());
    assertThat(up.toOpset()).isEqualTo(21);
    for (String c : expectConverted) {
      assertThat(up.converted()).as(c).anyMatch(s -> s.startsWith(c));
    }
    DynamicMessage upgraded = DynamicMessage.parseFrom(OnnxSchema.MODEL, up.model());
    assertThat((Long) upgraded.getField(Onnx.field(OnnxSchema.MODEL, "ir_version"))).isEqualTo(10);
    Map<String, OrtModel.Tensor> in = OnnxModels.floatInputs("x", shape, 1, 3).get(0);
    Map<String, OrtModel.Tensor> a = run(old, "old.onnx", in);
    Map<String, OrtModel.Tensor> b = run(upgraded, "new.onnx", in);
    assertThat(b.keySet()).isEqualTo(a.keySet());
    for (String k : a.keySet()) {
      assertThat(b.get(k).shape()).as(k).isEqualTo(a.get(k).shape());
      assertThat((float[]) b.get(k).values()).as(k).isEqualTo((float[]) a.get(k).values());
    }
  }

  private static List<DynamicMessage> outputs(String... names) {
    List<DynamicMessage> outs = new ArrayList<>();
    for (String o : names) {
      outs.add(Onnx.valueInfo(o, OnnxSchema.FLOAT));
    }
    return outs;
  }

  @Test
  void opset11AttributesBecomeInputsAndSoftmaxKeepsItsCoercion() throws IOException {
    List<DynamicMessage> nodes = List.of(
        Onnx.node("Unsqueeze", "unsq", List.of("x"), List.of("u"), OnnxModels.ints("axes", 0)),
        Onnx.node("Squeeze", "sq", List.of("u"), List.of("s"), OnnxModels.ints("axes", 0)),
        Onnx.node("Split", "split", List.of("s"), List.of("p1", "p2"), Onnx.attrInt("axis", 2),
            OnnxModels.ints("split", 2, 4)),
        Onnx.node("Split", "halves", List.of("s"), List.of("h1", "h2"), Onnx.attrInt("axis", 2)),
        Onnx.node("ReduceSum", "rsum", List.of("s"), List.of("rs"), OnnxModels.ints("axes", 1)),
        Onnx.node("ReduceMean", "rmean", List.of("s"), List.of("rm"), OnnxModels.ints("axes", 2)),
        Onnx.node("ReduceMax", "rmax", List.of("s"), List.of("rx"), OnnxModels.ints("axes", 0, 2)),
        Onnx.node("Softmax", "sm1", List.of("s"), List.of("sm1"), Onnx.attrInt("axis", 1)),
        Onnx.node("LogSoftmax", "lsm", List.of("s"), List.of("lsm")),
        Onnx.node("Softmax", "sm_last", List.of("s"), List.of("sm2"), Onnx.attrInt("axis", -1)),
        Onnx.node("Hardmax", "hm", List.of("s"), List.of("hm"), Onnx.attrInt("axis", 0)));
    DynamicMessage g = Onnx.graph("g", nodes, List.of(), List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, 2, 3, 6)),
        outputs("p1", "p2", "h1", "h2", "rs", "rm", "rx", "sm1", "lsm", "sm2", "hm"));
    assertSameOutputs(Onnx.model(g, 11), new long[] {2, 3, 6}, List.of("Unsqueeze 'unsq'", "Squeeze 'sq'",
        "Split 'split': split", "Split 'halves': num_outputs", "ReduceSum", "ReduceMean", "ReduceMax", "Softmax 'sm1'",
        "LogSoftmax", "Hardmax"));
  }

  @Test
  void opset9ClipPadSliceTopKDropout() throws IOException {
    List<DynamicMessage> nodes = List.of(
        Onnx.node("Clip", "clip", List.of("x"), List.of("c"), Onnx.attrFloat("min", -0.5f), Onnx.attrFloat("max", 0.75f)),
        Onnx.node("Pad", "pad", List.of("c"), List.of("p"), OnnxModels.ints("pads", 0, 1, 0, 2),
            Onnx.attrFloat("value", 1.5f)),
        Onnx.node("Slice", "slice", List.of("p"), List.of("s"), OnnxModels.ints("starts", 1), OnnxModels.ints("ends", 4),
            OnnxModels.ints("axes", 1)),
        Onnx.node("TopK", "topk", List.of("p"), List.of("tv", "ti"), Onnx.attrInt("k", 2)),
        Onnx.node("Dropout", "drop", List.of("p"), List.of("d"), Onnx.attrFloat("ratio", 0.3f)));
    DynamicMessage g = Onnx.graph("g", nodes, List.of(), List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, 3, 5)),
        outputs("s", "tv", "d"));
    assertSameOutputs(Onnx.model(g, 9), new long[] {3, 5}, List.of("Clip", "Pad", "Slice", "TopK", "Dropout"));
  }

  @Test
  void operatorsWhoseMeaningChangedAreRefusedByName() {
    DynamicMessage up = Onnx.graph("g", List.of(Onnx.node("Upsample", "up1", List.of("x", "scales"), List.of("y"))),
        List.of(), List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, 1, 1, 2, 2)), outputs("y"));
    assertThatThrownBy(() -> OnnxRewrite.export("m.onnx", Onnx.model(up, 9).toByteArray(), true, Map.of(), Map.of(),
        Set.of())).isInstanceOf(Q16Exception.class).hasMessageContaining("m.onnx").hasMessageContaining("'up1' (Upsample)")
        .hasMessageContaining("opset 9 to 21");
    DynamicMessage gn = Onnx.graph("g", List.of(Onnx.node("GroupNormalization", "gn", List.of("x", "s", "b"),
        List.of("y"), Onnx.attrInt("num_groups", 2))), List.of(), List.of(), List.of());
    assertThatThrownBy(() -> OnnxRewrite.export("m.onnx", Onnx.model(gn, 18).toByteArray(), true, Map.of(), Map.of(),
        Set.of())).hasMessageContaining("'gn' (GroupNormalization)").hasMessageContaining("per channel");
    assertThatThrownBy(() -> OnnxRewrite.export("m.onnx", Onnx.model(gn, 5).toByteArray(), true, Map.of(), Map.of(),
        Set.of())).hasMessageContaining("older than 7");
  }

  @Test
  void fieldsOutsideQ16sSchemaSurviveTheRewrite() throws IOException {
    DynamicMessage g = Onnx.graph("g", List.of(Onnx.node("Relu", "r", List.of("x"), List.of("y"))), List.of(),
        List.of(Onnx.valueInfo("x", OnnxSchema.FLOAT, 2)), outputs("y"));
    // ModelProto.doc_string (6) and metadata_props (14) are not in Q16's schema.
    com.google.protobuf.UnknownFieldSet extra = com.google.protobuf.UnknownFieldSet.newBuilder()
        .addField(6, com.google.protobuf.UnknownFieldSet.Field.newBuilder()
            .addLengthDelimited(com.google.protobuf.ByteString.copyFromUtf8("a model doc")).build())
        .build();
    DynamicMessage m = Onnx.model(g, 13).toBuilder().setUnknownFields(extra).build();
    OnnxRewrite.Exported up = OnnxRewrite.export("m.onnx", m.toByteArray(), true, Map.of(), Map.of(), Set.of());
    DynamicMessage back = DynamicMessage.parseFrom(OnnxSchema.MODEL, up.model());
    assertThat(back.getUnknownFields().getField(6).getLengthDelimitedList().get(0).toStringUtf8())
        .isEqualTo("a model doc");
  }
}
