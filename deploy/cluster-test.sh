#!/usr/bin/env bash
# deploy/cluster-test.sh: the standalone-cluster integration test (.ci/run runs it). Starts a
# cluster of 2 workers on loopback with deploy/standalone.sh, submits `quantize` and `verify` of the
# sample model through spark-submit with the shaded jar, and checks that
#   - both workers ran an executor, each in its own JVM (the PIDs in their logs differ from each
#     other and from the driver's),
#   - verify passed,
#   - the shards are byte-identical to a local-mode run's, and so is the manifest's list of tensors
#     and shards (quantize canonicalizes each shard's Parquet footer, whose encoding lists
#     parquet-mr writes in a HashSet order that varies between JVMs),
# then stops everything (also on failure). Exit 0 only if all holds. About 2 minutes.
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
echo "cluster-test: PASSED (quantize + verify on 2 workers; shards and manifest identical to local mode)"
