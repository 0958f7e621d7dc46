package io.q16.onnx;

import io.q16.Errors;
import io.q16.Glob;
import io.q16.fs.HadoopFs;
import io.q16.format.OnnxModel;
import io.q16.format.OnnxReader;
import io.q16.quant.Granularity;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;

/**
 * Which float tensors of an ONNX model quantize selects, and how: by default only the weights of
 * Conv, ConvTranspose, Gemm and MatMul (per channel on their output-channel axis when the
 * granularity is "auto"), plus the tensors that an {@code --include} glob names. Everything else
 * stays float32 with a reason that the manifest records.
 */
public final class OnnxSelection {
  /** Why a bias stays float: the manifest says so (DESIGN.md §5). */
  public static final String BIAS_REASON = "bias of a Conv/Gemm: kept float32 (an int32 bias at s_in·s_w overflows at"
      + " int16; ONNX Runtime has open issues about int16 bias)";
  /** Why any other float tensor stays float. */
  public static final String OTHER_REASON = "not a Conv/Gemm/MatMul weight: kept float32 (select it with --include)";

  private final OnnxModel model;
  private final Map<String, OnnxModel.Weight> roles;
  private final List<Pattern> include;

  private OnnxSelection(OnnxModel model, List<String> include) {
    this.model = model;
    this.roles = model.roles();
    this.include = new ArrayList<>();
    for (String g : include) {
      this.include.add(Glob.compile(g));
    }
  }

  /**
   * The selection for the model at {@code location} if it is an ONNX file, else null (safetensors
   * models quantize every float tensor; {@code --include} is then a usage error).
   */
  public static OnnxSelection read(String location, Configuration conf, List<String> include) throws IOException {
    var status = HadoopFs.statusOrNull(location, conf);
    boolean onnx = status != null && status.isFile()
        && status.getPath().getName().toLowerCase(Locale.ROOT).endsWith(".onnx");
    if (!onnx) {
      if (!include.isEmpty()) {
        throw Errors.usage("--include selects tensors of ONNX models; " + location
            + " is not one (every float tensor of a safetensors model is quantized)");
      }
      return null;
    }
    return new OnnxSelection(OnnxReader.read(location, conf), include);
  }

  /** The selection over an already planned model. */
  public static OnnxSelection of(OnnxModel model, List<String> include) {
    return new OnnxSelection(model, include);
  }

  public OnnxModel model() {
    return model;
  }

  /** Null when float tensor {@code name} is quantized, else why it stays float. */
  public String keepReason(String name) {
    OnnxModel.Weight w = roles.get(name);
    if (w != null && w.role() == OnnxModel.Role.WEIGHT || included(name)) {
      return null;
    }
    return w != null && w.role() == OnnxModel.Role.BIAS ? BIAS_REASON : OTHER_REASON;
  }

  private boolean included(String name) {
    for (Pattern p : include) {
      if (p.matcher(name).matches()) {
        return true;
      }
    }
    return false;
  }

  /**
   * The automatic granularity: per channel on the output-channel axis for a weight of rank >= 2,
   * {@code otherwise} for everything else (tensors selected by --include, 1-D weights).
   */
  public Granularity auto(String name, long[] shape, Granularity otherwise) {
    OnnxModel.Weight w = roles.get(name);
    if (w != null && w.role() == OnnxModel.Role.WEIGHT && shape.length >= 2 && w.axis() < shape.length) {
      return Granularity.channel(w.axis());
    }
    return otherwise;
  }
}
