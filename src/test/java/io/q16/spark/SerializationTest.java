package io.q16.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.q16.quant.QuantParams;
import io.q16.quant.Scheme;
import io.q16.tensor.DType;
import io.q16.tensor.Plan;
import io.q16.tensor.TensorInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/** Everything shipped to executors survives both of Spark's serializers. */
class SerializationTest {
  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(Serializer serializer, T value) {
    SerializerInstance s = serializer.newInstance();
    return (T) s.deserialize(s.serialize(value, ClassTag$.MODULE$.AnyRef()), ClassTag$.MODULE$.AnyRef());
  }

  @Test
  void executorPayloadsSurviveJavaAndKryo() {
    SparkConf conf = new SparkConf().set("spark.kryo.registrationRequired", "false");
    Plan plan = Plan.of(List.of(new TensorInfo("t", DType.BF16, new long[] {10, 3}, "file:/m", 64, 60)), 16, 64);
    Configuration hadoop = new Configuration(false);
    hadoop.set("fs.s3a.endpoint", "http://127.0.0.1:9000");
    QuantParams p = QuantParams.of(Scheme.ASYMMETRIC, -1f, 3f, 3f);
    Map<String, VerifyFunction.TensorRef> refs = new HashMap<>();
    io.q16.quant.TensorSpec spec = new io.q16.quant.TensorSpec(new long[] {10, 3},
        io.q16.quant.Granularity.group(2), Scheme.ASYMMETRIC, true).withParams(new float[] {1f}, new int[] {3});
    refs.put("t", new VerifyFunction.TensorRef("file:/m", 64, "BF16", p, spec));

    for (Serializer s : new Serializer[] {new JavaSerializer(conf), new KryoSerializer(conf)}) {
      ChunkTask task = roundTrip(s, ChunkTask.of(plan, 2));
      assertThat(task.getByteOffset()).isEqualTo(64 + 2 * 8 * 2); // chunk 2 of 8 BF16 elements each
      assertThat(task.getDtype()).isEqualTo("BF16");
      ShardTask shard = roundTrip(s, new ShardTask(1, List.of(ChunkTask.of(plan, 0), ChunkTask.of(plan, 1))));
      assertThat(shard.getChunks()).extracting(ChunkTask::getId).containsExactly(0, 1);
      assertThat(roundTrip(s, new HadoopConf(hadoop)).get().get("fs.s3a.endpoint")).isEqualTo("http://127.0.0.1:9000");
      assertThat(roundTrip(s, new QuantParams[] {p})[0]).isEqualTo(p);
      io.q16.quant.RoundTripStats rt = new io.q16.quant.RoundTripStats(2.5f, 8)
          .addLinearReference(new float[] {1f, -2.5f, Float.NaN}, 0, new short[] {3, -8, 0}, 0, 3, 0.3f, 0);
      ChunkOutcome outcome = new ChunkOutcome(3, 4, 5, rt, 0.25f, 0.5f);
      ChunkOutcome back = roundTrip(s, outcome);
      assertThat(back).isEqualTo(outcome);
      assertThat(back.roundTrip().bins()).containsExactly(0, 0, 0, 1, 0, 0, 0, 1);
      assertThat(back.roundTrip().sqnrDb()).isEqualTo(rt.sqnrDb());
      assertThat(roundTrip(s, new ChunkOutcome(6, 0, 7, null, Float.NaN, Float.NaN)).scaleMin()).isNaN();
      assertThat(roundTrip(s, new float[] {1.5f, 0f})).containsExactly(1.5f, 0f);
      assertThat(roundTrip(s, refs)).isEqualTo(refs);
      assertThat(roundTrip(s, new io.q16.quant.TensorSpec[] {spec})[0]).isEqualTo(spec);
      assertThat(roundTrip(s, spec).layout().units()).isEqualTo(20);
    }
  }
}
