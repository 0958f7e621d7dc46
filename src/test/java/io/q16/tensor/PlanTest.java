package io.q16.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PlanTest {
  private static TensorInfo t(String name, DType dtype, long elements, long start) {
    return new TensorInfo(name, dtype, new long[] {elements}, "f", start, elements * dtype.size());
  }

  @Test
  void chunksCoverEveryElementOnceInBoundedPieces() {
    List<TensorInfo> ts = List.of(t("a", DType.F32, 1000, 0), t("b", DType.F16, 777, 4000), t("c", DType.F32, 0, 5554),
        t("d", DType.F32, 1, 5554));
    Plan plan = Plan.of(ts, 256, 1000);
    long[] covered = new long[ts.size()];
    int[] lastIndex = {-1, -1, -1, -1};
    int lastShard = 0;
    for (Chunk c : plan.chunks()) {
      assertThat(c.elemOffset()).isEqualTo(covered[c.tensor()]);
      assertThat(c.index()).isEqualTo(lastIndex[c.tensor()] + 1);
      assertThat(plan.sourceBytes(c)).isLessThanOrEqualTo(256).isPositive();
      assertThat(c.shard()).isBetween(lastShard, lastShard + 1);
      covered[c.tensor()] += c.elemCount();
      lastIndex[c.tensor()] = c.index();
      lastShard = c.shard();
    }
    for (int i = 0; i < ts.size(); i++) {
      assertThat(covered[i]).isEqualTo(ts.get(i).elements());
    }
    Chunk inB = plan.chunks().stream().filter(c -> c.tensor() == 1 && c.index() == 2).findFirst().orElseThrow();
    assertThat(plan.sourceOffset(inB)).isEqualTo(4000 + 2L * inB.elemOffset());
    // Shards hold at most shardBytes of codes, unless one chunk alone is larger.
    long[] perShard = new long[plan.shardCount()];
    for (Chunk c : plan.chunks()) {
      perShard[c.shard()] += 2L * c.elemCount();
    }
    assertThat(java.util.Arrays.stream(perShard).boxed().toList()).allMatch(b -> b > 0 && b <= 1000);
  }

  @Test
  void tinyChunkSizeStillTakesOneElement() {
    Plan plan = Plan.of(List.of(t("a", DType.F64, 3, 0)), 1, 1);
    assertThat(plan.chunks()).hasSize(3);
    assertThat(plan.shardCount()).isEqualTo(3);
    assertThatThrownBy(() -> Plan.of(List.of(), 0, 1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shapesRejectNegativeAndOverflow() {
    assertThat(Shapes.elements(new long[] {})).isEqualTo(1);
    assertThat(Shapes.elements(new long[] {3, 0, 5})).isZero();
    assertThat(Shapes.elements(new long[] {-1, 4})).isEqualTo(-1);
    assertThat(Shapes.elements(new long[] {1L << 40, 1L << 30})).isEqualTo(-1);
    assertThat(Shapes.elements(new long[] {0, 1L << 40, 1L << 30})).isEqualTo(-1);
    assertThat(Shapes.elements(new long[] {1L << 31, 1L << 31})).isEqualTo(1L << 62);
  }
}
