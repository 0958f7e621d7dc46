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
      ChunkTask reused = ChunkTask.of(plan, 1);
      reused.setPreviousShard("hdfs://nn/prev/shards/shard-00000-of-00001.parquet");
      assertThat(roundTrip(s, new ShardTask(0, List.of(reused))).getChunks().get(0).getPreviousShard())
          .isEqualTo(reused.getPreviousShard());
      ShardCopy copy = roundTrip(s, new ShardCopy("file:/a/shards/x.parquet", "file:/b/shards/x.parquet"));
      assertThat(copy.from()).isEqualTo("file:/a/shards/x.parquet");
      assertThat(copy.to()).isEqualTo("file:/b/shards/x.parquet");
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
      // Calibration: the fold factories (broadcast) and the folds and search results (shuffled, collected).
      float[] x = {0.5f, -2f, 1.25f, Float.POSITIVE_INFINITY, 3f};
      io.q16.calib.TensorHistograms th = roundTrip(s, new CalibrateJob.HistogramBins(new float[] {3f},
          new float[] {-2f}, new float[] {3f}, new int[] {2048})).create(0);
      th.accept(x, 0, x.length);
      io.q16.calib.TensorHistograms th2 = roundTrip(s, th);
      io.q16.calib.Histogram h = th.magnitudes();
      io.q16.calib.Histogram h2 = th2.magnitudes();
      assertThat(h2.counts()).isEqualTo(h.counts());
      assertThat(th2.values().counts()).isEqualTo(th.values().counts());
      assertThat(h2.outside()).isEqualTo(1);
      h2.accept(x, 0, 1); // still folds |x| after the trip
      assertThat(h2.total()).isEqualTo(5);
      io.q16.calib.CandidateErrors e = roundTrip(s, new CalibrateJob.Candidates(
          new QuantParams[][] {{p, QuantParams.calibrated(Scheme.SYMMETRIC, -2f, 3f, 1f)}}, new float[] {3f})).create(0);
      e.accept(x, 0, x.length);
      io.q16.calib.CandidateErrors e2 = roundTrip(s, e);
      e2.accept(x, 0, x.length); // the transient scratch comes back
      e.accept(x, 0, x.length);
      assertThat(e2.squaredError(1)).isEqualTo(e.squaredError(1));
      assertThat(e2.clipped(1)).isEqualTo(e.clipped(1)).isPositive();
      ThresholdSearch.Result r = roundTrip(s, new ThresholdSearch(99.9, ThresholdSearch.KlProfile.INT16, 32767)
          .search(0, h));
      assertThat(r.threshold(ThresholdSearch.Method.MINMAX)).isEqualTo(3.0);
      assertThat(roundTrip(s, new ActivationSource.Ranges()).create(3).count()).isZero();
      ActivationRow row = roundTrip(s, new ActivationRow("t", 7, new float[] {1f, -2f}, new int[] {2}));
      assertThat(row.getValues()).containsExactly(1f, -2f);
      assertThat(row.getShape()).containsExactly(2);
      assertThat(roundTrip(s, new GenerateActivationsJob.GenerateRows(2, 3, 9)).call(List.of(5L).iterator()).next()
          .getTensor()).isEqualTo("layers.0.mlp.act");
      // ONNX exports and verify: control rows, the comparison accumulators tasks return, the
      // input generator and the compare functions (with their model file lists) they receive.
      OnnxDataTask data = new OnnxDataTask("model.onnx.data");
      data.add("w", "QDQ", 128);
      OnnxDataTask data2 = roundTrip(s, data);
      assertThat(data2.getTensors()).containsExactly("w");
      assertThat(data2.getOffsets()).containsExactly(128L);
      io.q16.onnx.OutputComparison c = new io.q16.onnx.OutputComparison("logits", 3);
      c.update(new float[] {1f, 2f, 3f, 4f}, new float[] {1f, 2f, 4f, 3f}, new long[] {2, 2});
      io.q16.onnx.OutputComparison c2 = roundTrip(s, c);
      assertThat(c2.partition()).isEqualTo(3);
      assertThat(c2.cosine()).isEqualTo(c.cosine());
      assertThat(c2.top1Agreement()).isEqualTo(0.5);
      io.q16.onnx.OrtModel.InputInfo in = new io.q16.onnx.OrtModel.InputInfo("ids", "int64", new long[] {-1, -1},
          new String[] {"batch", "seq"});
      io.q16.onnx.InputGenerator gen = new io.q16.onnx.InputGenerator(5, Map.of("seq", 7L), Map.of("ids", new long[] {3, 9}));
      assertThat(roundTrip(s, gen).sample(List.of(in), 4).get("ids").values())
          .isEqualTo(gen.sample(List.of(in), 4).get("ids").values());
      OnnxCompare.ModelFiles files = new OnnxCompare.ModelFiles(List.of("file:/m/model.onnx"), List.of("model.onnx"));
      assertThat(roundTrip(s, new OnnxCompare.Generated(null, files, files, gen))).isNotNull();
      // ONNX activations: the declared inputs and the batching spec (inside executor functions),
      // and the rows of generate onnx-inputs.
      io.q16.format.OnnxActivations.Input act = new io.q16.format.OnnxActivations.Input("input_ids",
          io.q16.format.OnnxSchema.INT64, new long[] {-1, -1}, new String[] {"batch", "seq"});
      assertThat(roundTrip(s, new io.q16.format.OnnxActivations.Input[] {act})[0]).isEqualTo(act);
      OnnxInputs.Spec spec2 = roundTrip(s, new OnnxInputs.Spec(new io.q16.format.OnnxActivations.Input[] {act},
          new int[] {OnnxInputs.LONG}, 4, "file:/d"));
      assertThat(spec2.batcher().size()).isZero();
      assertThat(spec2.inputNames()).containsExactly("input_ids");
      assertThat(roundTrip(s, new OnnxCompare.Rows(null, files, files, spec2))).isNotNull();
      org.apache.spark.sql.Row g = roundTrip(s, new GenerateOnnxInputsJob.GenerateRows(
          new io.q16.format.OnnxActivations.Input[] {act}, new long[][] {{1, 3}}, new boolean[] {true}, 7, 100))
          .call(List.of(2L).iterator()).next();
      assertThat(java.util.Arrays.stream((long[]) g.get(1)).boxed().toList()).hasSize(3).allMatch(v -> v >= 0 && v < 100);
      assertThat((long[]) g.get(2)).containsExactly(1, 3);
    }
  }
}
