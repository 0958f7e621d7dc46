package io.q16.spark;

import io.q16.tensor.Chunk;
import io.q16.tensor.Plan;
import io.q16.tensor.TensorInfo;
import java.io.Serializable;

/**
 * A control row: one chunk to read, as a Spark bean. Self-describing, so an executor needs nothing
 * but this row and the Hadoop configuration to find its bytes.
 */
public class ChunkTask implements Serializable {
  private static final long serialVersionUID = 1L;

  private int id;
  private int tensorId;
  private String tensor;
  private int chunk;
  private long elemOffset;
  private int count;
  private String file;
  private long byteOffset;
  private String dtype;
  /** quantize --incremental: the previous shard holding this chunk's row, to copy instead of reading the source. */
  private String previousShard;

  public ChunkTask() {}

  static ChunkTask of(Plan plan, int id) {
    Chunk c = plan.chunks().get(id);
    TensorInfo t = plan.tensors().get(c.tensor());
    ChunkTask task = new ChunkTask();
    task.id = id;
    task.tensorId = c.tensor();
    task.tensor = t.name();
    task.chunk = c.index();
    task.elemOffset = c.elemOffset();
    task.count = c.elemCount();
    task.file = t.file();
    task.byteOffset = plan.sourceOffset(c);
    task.dtype = t.dtype().name();
    return task;
  }

  public int getId() {
    return id;
  }

  public void setId(int id) {
    this.id = id;
  }

  public int getTensorId() {
    return tensorId;
  }

  public void setTensorId(int tensorId) {
    this.tensorId = tensorId;
  }

  public String getTensor() {
    return tensor;
  }

  public void setTensor(String tensor) {
    this.tensor = tensor;
  }

  public int getChunk() {
    return chunk;
  }

  public void setChunk(int chunk) {
    this.chunk = chunk;
  }

  public long getElemOffset() {
    return elemOffset;
  }

  public void setElemOffset(long elemOffset) {
    this.elemOffset = elemOffset;
  }

  public int getCount() {
    return count;
  }

  public void setCount(int count) {
    this.count = count;
  }

  public String getFile() {
    return file;
  }

  public void setFile(String file) {
    this.file = file;
  }

  public long getByteOffset() {
    return byteOffset;
  }

  public void setByteOffset(long byteOffset) {
    this.byteOffset = byteOffset;
  }

  public String getDtype() {
    return dtype;
  }

  public void setDtype(String dtype) {
    this.dtype = dtype;
  }

  public String getPreviousShard() {
    return previousShard;
  }

  public void setPreviousShard(String previousShard) {
    this.previousShard = previousShard;
  }
}
