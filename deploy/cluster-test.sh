#!/usr/bin/env bash
# deploy/cluster-test.sh: the standalone-cluster integration test (.ci/run runs it). Starts a
# cluster of 2 workers on loopback with deploy/standalone.sh, submits `quantize` and `verify` of the
# sample model through spark-submit with the shaded jar, and checks that
#   - both workers ran an executor, each in its own JVM (the PIDs in their logs differ from each
#     other and from the driver's),
#   - verify passed,
#   - killing one executor's JVM (kill -9) in the middle of a second quantize (a 256 MiB generated
#     model) does not fail the job: Spark retries the lost tasks on a new executor, and the
#     output is byte-identical to a local-mode run's, like the first one's;
#   - a 1280 MiB model, more than the 2 x 512 MiB executors hold, converts and verifies (the peak
#     executor heap from Spark's event log is printed);
#   - the shards are byte-identical to a local-mode run's, and so is the manifest's list of tensors
#     and shards (quantize canonicalizes each shard's Parquet footer, whose encoding lists
#     parquet-mr writes in a HashSet order that varies between JVMs),
# then stops everything (also on failure). Exit 0 only if all holds. About 3-4 minutes.
set -euo pipefail
Q16_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$Q16_HOME"
work="$Q16_HOME/target/cluster-test"
sa="$work/standalone"
rm -rf "$work"
mkdir -p "$work"
trap 'deploy/standalone.sh stop --work "$sa"' EXIT
fail() { echo "cluster-test: FAIL: $*" >&2; exit 1; }

model=sample-data/tiny-block.safetensors
jobs/q16 quantize "$model" --out "$work/local" > "$work/local.log" 2>&1 || { cat "$work/local.log"; fail "local quantize"; }

url="$(deploy/standalone.sh start --workers 2 --cores 1 --memory 1g --work "$sa" --port 7277)"
echo "cluster-test: cluster up at $url"
submit=(--master "$url" --executor-memory 512m --total-executor-cores 2 --conf spark.executor.cores=1)
# jobs/q16 execs the driver JVM, so its PID is the driver's.
jobs/q16 quantize "$model" --out "$work/cluster" --partitions 4 "${submit[@]}" > "$work/quantize.log" 2>&1 &
driver_pid=$!
wait "$driver_pid" || { tail -30 "$work/quantize.log"; fail "quantize on the cluster"; }
jobs/q16 verify "$work/cluster" "${submit[@]}" > "$work/verify.log" 2>&1 \
  || { tail -30 "$work/verify.log"; fail "verify on the cluster"; }

# Executors: one per worker for the quantize application, each its own JVM.
pids=()
for w in 1 2; do
  log="$(ls "$sa"/worker-$w/app-*/*/stderr 2>/dev/null | head -1)"
  [[ -n "$log" ]] || fail "worker $w ran no executor"
  pid="$(grep -o 'process name: [0-9]*' "$log" | head -1 | grep -o '[0-9]*$')"
  [[ -n "$pid" ]] || fail "no executor PID in $log"
  pids+=("$pid")
done
[[ "${pids[0]}" != "${pids[1]}" ]] || fail "both executors report PID ${pids[0]}"
for p in "${pids[@]}"; do
  [[ "$p" != "$$" && "$p" != "$driver_pid" ]] || fail "executor PID $p is the driver's"
done
echo "cluster-test: executors ran as separate JVMs: PIDs ${pids[*]} (driver $driver_pid)"

# Same output as local mode, byte for byte, though written by other JVMs.
(cd "$work/local/shards" && sha256sum -- *) > "$work/local.sums"
(cd "$work/cluster/shards" && sha256sum -- *) > "$work/cluster.sums"
diff "$work/local.sums" "$work/cluster.sums" || fail "shards differ from the local run"
python3 - "$work/local/manifest.json" "$work/cluster/manifest.json" <<'PY' || fail "the manifest differs from local mode"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a["tensors"] == b["tensors"] and a["shards"] == b["shards"] else 1)
PY
# A killed executor: the job survives through task retry, and the output does not change.
big="$work/big.safetensors"
jobs/q16 generate "$big" --size-mb 256 --tensor-mb 32 --seed 3 > /dev/null 2>&1 || fail "generate"
jobs/q16 quantize "$big" --out "$work/big-local" --chunk-mb 4 > "$work/big-local.log" 2>&1 \
  || { tail -20 "$work/big-local.log"; fail "local quantize of the big model"; }
jobs/q16 quantize "$big" --out "$work/big-cluster" --chunk-mb 4 --partitions 16 "${submit[@]}" \
  > "$work/big-cluster.log" 2>&1 &
driver_pid=$!
victim=""
for ((i = 0; i < 600; i++)); do
  if grep -q '^\[quantize\]' "$work/big-cluster.log"; then
    # An executor of this cluster: a child JVM of one of its workers.
    victim="$(pgrep -P "$(cat "$sa/pids/worker-1")" -f CoarseGrainedExecutorBackend | head -1 || true)"
    [[ -n "$victim" ]] && break
  fi
  kill -0 "$driver_pid" 2>/dev/null || break
  sleep 0.2
done
[[ -n "$victim" ]] || fail "no executor to kill while quantize ran"
kill -9 "$victim"
echo "cluster-test: killed executor JVM $victim during the quantize pass"
wait "$driver_pid" || { tail -30 "$work/big-cluster.log"; fail "quantize did not survive a killed executor"; }
grep -q "Lost executor" "$work/big-cluster.log" || fail "the driver never saw the executor die (killed too late?)"
(cd "$work/big-local/shards" && sha256sum -- *) > "$work/big-local.sums"
(cd "$work/big-cluster/shards" && sha256sum -- *) > "$work/big-cluster.sums"
diff "$work/big-local.sums" "$work/big-cluster.sums" || fail "shards after a killed executor differ from the local run"
python3 - "$work/big-local/manifest.json" "$work/big-cluster/manifest.json" <<'PY' || fail "manifest after a killed executor differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a["tensors"] == b["tensors"] and a["shards"] == b["shards"] else 1)
PY
rm -f "$big"

# Larger than the executors' memory: 1280 MiB of tensors (two of 640 MiB, each larger than one
# executor's heap) on 2 executors of 512 MiB converts and verifies; executor memory is O(chunk).
huge="$work/huge.safetensors"
jobs/q16 generate "$huge" --size-mb 1280 --tensor-mb 640 --seed 5 > /dev/null 2>&1 || fail "generate 1280 MiB"
events="$work/events"
mkdir -p "$events"
metrics=(--conf spark.eventLog.enabled=true --conf "spark.eventLog.dir=file://$events"
  --conf spark.eventLog.logStageExecutorMetrics=true
  --conf spark.executor.metrics.pollingInterval=100 --conf spark.executor.extraJavaOptions=-Xlog:gc)
jobs/q16 quantize "$huge" --out "$work/huge" "${submit[@]}" "${metrics[@]}" > "$work/huge.log" 2>&1 \
  || { tail -20 "$work/huge.log"; fail "quantize of a model larger than the executors' memory"; }
jobs/q16 verify "$work/huge" "${submit[@]}" "${metrics[@]}" >> "$work/huge.log" 2>&1 \
  || { tail -20 "$work/huge.log"; fail "verify of a model larger than the executors' memory"; }
grep -q "PASSED" "$work/huge.log" || fail "verify of the 1280 MiB model did not pass"
read -r used live < <(deploy/executor-peak-heap.py "$events" "$sa")
(( used > 0 && used <= 512 && live > 0 && live < 512 )) || fail "implausible executor heap: $used MiB used, $live after GC"
echo "cluster-test: 1280 MiB model on 2 x 512 MiB executors converted and verified; executor heap at most" \
  "$used MiB in use, $live MiB after a GC"
rm -rf "$huge" "$work/huge"
echo "cluster-test: PASSED (quantize + verify on 2 workers; a killed executor changed nothing; shards and manifest identical to local mode)"
