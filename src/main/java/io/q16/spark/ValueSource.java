package io.q16.spark;

import io.q16.calib.Fold;
import java.util.List;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * The values calibration reads, tensor by tensor: a model's weights (the chunks of the plan) or an
 * activation dataset. Each pass folds every tensor's values into one {@link Fold} per tensor on
 * executors and merges them; the driver only ever sees the merged statistics.
 */
interface ValueSource {
  /** Tensor names; a tensor's id is its index here. */
  List<String> names();

  /**
   * One pass over all values: {@code factory} makes each tensor's empty fold on the executors, the
   * folds of a tensor are merged (on executors), and {@code finish} turns each tensor's merged fold
   * into what the driver collects, still on an executor, so that per-tensor work such as a threshold
   * search runs in parallel and a large statistic need not travel to the driver. Tensors with no
   * values give nothing.
   *
   * @param pass the pass's name in progress lines
   */
  <F extends Fold<F>, R> List<R> fold(String pass, Broadcast<? extends FoldFactory<F>> factory,
      Function<Tuple2<Integer, F>, R> finish);

  /** {@link #fold} collecting the merged folds themselves, by tensor id (null: no values). */
  default <F extends Fold<F>> F[] collect(String pass, Broadcast<? extends FoldFactory<F>> factory, Class<F> type) {
    @SuppressWarnings("unchecked")
    F[] out = (F[]) java.lang.reflect.Array.newInstance(type, names().size());
    for (Tuple2<Integer, F> r : fold(pass, factory, (Tuple2<Integer, F> t) -> t)) {
      out[r._1()] = r._2();
    }
    return out;
  }
}
