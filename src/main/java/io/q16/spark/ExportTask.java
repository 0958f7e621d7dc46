package io.q16.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** A control row: one output file of an export and the tensors it holds, in order. */
public class ExportTask implements Serializable {
  private static final long serialVersionUID = 1L;

  private String file;
  private List<String> tensors;

  public ExportTask() {}

  ExportTask(String file, List<String> tensors) {
    this.file = file;
    this.tensors = new ArrayList<>(tensors); // mutable: Kryo rebuilds lists by adding
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
}
