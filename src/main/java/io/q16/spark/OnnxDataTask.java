package io.q16.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A control row of an ONNX export: one external data file and the tensors it holds, each with
 * what is written for it ({@link io.q16.export.OnnxPayloads.Kind}) and its offset in the file.
 */
public class OnnxDataTask implements Serializable {
  private static final long serialVersionUID = 1L;

  private String file;
  private List<String> tensors;
  private List<String> kinds;
  private List<Long> offsets;

  public OnnxDataTask() {}

  OnnxDataTask(String file) {
    this.file = file;
    this.tensors = new ArrayList<>(); // mutable: Kryo rebuilds lists by adding
    this.kinds = new ArrayList<>();
    this.offsets = new ArrayList<>();
  }

  void add(String tensor, String kind, long offset) {
    tensors.add(tensor);
    kinds.add(kind);
    offsets.add(offset);
  }

  public String getFile() {
    return file;
  }

  public void setFile(String file) {
    this.file = file;
  }

  public List<String> getTensors() {
    return tensors;
  }

  public void setTensors(List<String> tensors) {
    this.tensors = tensors;
  }

  public List<String> getKinds() {
    return kinds;
  }

  public void setKinds(List<String> kinds) {
    this.kinds = kinds;
  }

  public List<Long> getOffsets() {
    return offsets;
  }

  public void setOffsets(List<Long> offsets) {
    this.offsets = offsets;
  }
}
