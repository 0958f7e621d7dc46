package io.q16.format;

import java.util.List;
import java.util.Map;

/**
 * An ONNX model as the planner sees it: every tensor stored in it (initializers, Constant nodes'
 * values, both also inside subgraphs) located by byte range in the model file or its external
 * data files, and the nodes that consume them, so that weights and their channel axes can be chosen
 * without loading the model.
 *
 * @param model the tensors as a {@link Model}: each readable tensor's bytes are one range of a file
 * @param nodes every node of every graph, in file order
 * @param unreadable tensors whose values are not one little-endian byte range (varint-packed
 *     int32_data / int64_data, string tensors), by name, with the reason: never quantized
 * @param opset the default-domain opset the model imports
 * @param inputs the main graph's inputs that are not initializers
 * @param outputs the main graph's outputs
 */
public record OnnxModel(Model model, List<Node> nodes, Map<String, String> unreadable, long opset,
    List<String> inputs, List<String> outputs) {

  /**
   * One node.
   *
   * @param graph the path of its graph: "main", or "main/If_0.then_branch" for a subgraph
   * @param ints its integer attributes (for example Gemm's transB, Conv's group)
   */
  public record Node(String graph, String name, String opType, String domain, List<String> inputs,
      List<String> outputs, Map<String, Long> ints) {}

  /** How Q16 treats a float tensor of an ONNX model by default. */
  public enum Role {
    /** The weight input of Conv, Gemm or MatMul: quantized, per channel on {@link Weight#axis}. */
    WEIGHT,
    /** The bias of Conv or Gemm: kept float32 (an int32 bias at s_in·s_w overflows at int16). */
    BIAS,
    /** Any other float tensor: kept float unless selected. */
    OTHER
  }

  /** A float tensor's role and, for weights, the output-channel axis. */
  public record Weight(Role role, int axis, String consumer) {}

  /**
   * Roles of the float tensors: Conv's W (input 1) is [M, C/g, kH, kW], output channels on axis 0;
   * Gemm's B is [K, N] (axis 1) or, with transB = 1, [N, K] (axis 0); MatMul's B is [..., K, N]
   * (the last axis). Conv's and Gemm's input 2 is a bias. A tensor feeding several nodes takes
   * the first weight role found.
   */
  public Map<String, Weight> roles() {
    Map<String, Weight> out = new java.util.LinkedHashMap<>();
    java.util.Set<String> tensors = new java.util.HashSet<>();
    for (var t : model.tensors()) {
      tensors.add(t.name());
    }
    for (Node n : nodes) {
      if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
        continue;
      }
      String w = n.inputs().size() > 1 ? n.inputs().get(1) : null;
      String b = n.inputs().size() > 2 ? n.inputs().get(2) : null;
      switch (n.opType()) {
        case "Conv", "ConvTranspose" -> {
          // ConvTranspose's W is [C, M/g, kH, kW]: output channels on axis 1.
          put(out, tensors, w, new Weight(Role.WEIGHT, n.opType().equals("Conv") ? 0 : 1, n.opType()));
          put(out, tensors, b, new Weight(Role.BIAS, 0, n.opType()));
        }
        case "Gemm" -> {
          put(out, tensors, w, new Weight(Role.WEIGHT, n.ints().getOrDefault("transB", 0L) == 1 ? 0 : 1, "Gemm"));
          put(out, tensors, b, new Weight(Role.BIAS, 0, "Gemm"));
        }
        case "MatMul" -> {
          if (w != null && tensors.contains(w)) {
            int rank = model.tensor(w).shape().length;
            put(out, tensors, w, new Weight(Role.WEIGHT, Math.max(0, rank - 1), "MatMul"));
          }
        }
        default -> { }
      }
    }
    return out;
  }

  private static void put(Map<String, Weight> out, java.util.Set<String> tensors, String name, Weight w) {
    if (name == null || name.isEmpty() || !tensors.contains(name)) {
      return;
    }
    Weight old = out.get(name);
    if (old == null || (old.role() != Role.WEIGHT && w.role() == Role.WEIGHT)) {
      out.put(name, w);
    }
  }
}
