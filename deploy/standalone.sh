#!/usr/bin/env bash
# deploy/standalone.sh start|stop|status [OPTIONS]: a Spark standalone cluster on loopback, made of
# the Spark jars the Maven build copied to target/spark-jars (no Spark installation needed): one
# master and N workers, each a separate JVM, logs and PIDs under a work folder.
#
#   deploy/standalone.sh start --workers 2 --cores 1 --memory 1g     # prints the master URL
#   jobs/q16 quantize MODEL --out OUT --master "$(deploy/standalone.sh url)"
#   deploy/standalone.sh stop
#
# Options: --workers N [2], --cores C per worker [1], --memory M per worker [1g], --work DIR
# [target/standalone], --port P master port [7177]. `stop` kills by the recorded PIDs (TERM, then
# KILL after 10 s), executors first; `status` lists what runs. Executors are started by the
# workers as their own JVMs (org.apache.spark.executor.CoarseGrainedExecutorBackend), with their
# logs in WORK/worker-I/app-*/E/stderr.
set -euo pipefail
Q16_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARK_JARS="$Q16_HOME/target/spark-jars"

cmd="${1:-}"; shift || true
workers=2 cores=1 memory=1g work="$Q16_HOME/target/standalone" port=7177
while (($#)); do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --cores) cores="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "standalone.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
url="spark://127.0.0.1:$port"
export SPARK_LOCAL_IP=127.0.0.1

add_opens=(-XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false)

# Waits until FILE contains PATTERN, or fails after SECONDS showing the file's end.
wait_for() {
  local file="$1" pattern="$2" seconds="$3" i
  for ((i = 0; i < seconds * 2; i++)); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "standalone.sh: no '$pattern' in $file after ${seconds}s:" >&2
  tail -20 "$file" >&2 || true
  return 1
}

start() {
  [[ -d "$SPARK_JARS" ]] || (cd "$Q16_HOME" && mvn -B -q -DskipTests package)
  if [[ -f "$work/pids/master" ]] && kill -0 "$(cat "$work/pids/master")" 2>/dev/null; then
    echo "standalone.sh: a cluster already runs from $work (stop it first)" >&2
    exit 1
  fi
  rm -rf "$work"
  mkdir -p "$work/pids" "$work/logs" "$work/spark-home"
  # Workers need SPARK_HOME with the Spark jars in jars/ and SPARK_SCALA_VERSION, or every
  # executor fails with "Cannot find any build directories" (STACK.md).
  ln -s "$SPARK_JARS" "$work/spark-home/jars"
  export SPARK_HOME="$work/spark-home" SPARK_SCALA_VERSION=2.12
  nohup java -Xmx512m "${add_opens[@]}" -cp "$SPARK_JARS/*" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port 0 > "$work/logs/master.log" 2>&1 &
  echo $! > "$work/pids/master"
  wait_for "$work/logs/master.log" "Starting Spark master at" 60
  for ((i = 1; i <= workers; i++)); do
    mkdir -p "$work/worker-$i"
    nohup java -Xmx256m "${add_opens[@]}" -cp "$SPARK_JARS/*" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores "$cores" --memory "$memory" --work-dir "$work/worker-$i" --webui-port 0 \
      "$url" > "$work/logs/worker-$i.log" 2>&1 &
    echo $! > "$work/pids/worker-$i"
  done
  for ((i = 1; i <= workers; i++)); do
    wait_for "$work/logs/worker-$i.log" "Successfully registered with master" 90
  done
  echo "$url"
}

stop() {
  [[ -d "$work/pids" ]] || return 0
  local pids=() f pid i
  # Executors first (children of the workers), then workers, then the master.
  for f in "$work"/pids/worker-* "$work"/pids/master; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    pids+=($(pgrep -P "$pid" 2>/dev/null || true) "$pid")
  done
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  rm -f "$work"/pids/*
}

status() {
  local f
  for f in "$work"/pids/*; do
    [[ -f "$f" ]] || continue
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$(basename "$f") $(cat "$f") running"; else echo "$(basename "$f") stopped"; fi
  done
  pgrep -f CoarseGrainedExecutorBackend | sed 's/^/executor /' || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) echo "$url" ;;
  *) echo "usage: deploy/standalone.sh start|stop|status|url [--workers N] [--cores C] [--memory M] [--work DIR] [--port P]" >&2; exit 2 ;;
esac
