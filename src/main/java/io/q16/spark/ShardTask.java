package io.q16.spark;

import java.io.Serializable;
import java.util.List;

/** A control row: one output shard and the chunks it holds, in (tensor, chunk) order. */
public class ShardTask implements Serializable {
  private static final long serialVersionUID = 1L;

  private int shard;
  private List<ChunkTask> chunks;

  public ShardTask() {}

  ShardTask(int shard, List<ChunkTask> chunks) {
    this.shard = shard;
    this.chunks = new java.util.ArrayList<>(chunks); // mutable: Kryo rebuilds lists by adding
  }

  public int getShard() {
    return shard;
  }

  public void setShard(int shard) {
    this.shard = shard;
  }

  public List<ChunkTask> getChunks() {
    return chunks;
  }

  public void setChunks(List<ChunkTask> chunks) {
    this.chunks = chunks;
  }
}
