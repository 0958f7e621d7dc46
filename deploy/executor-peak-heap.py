#!/usr/bin/env python3
"""deploy/executor-peak-heap.py EVENT_LOG_DIR [STANDALONE_WORK_DIR]: executors' peak heap, in MiB.

Prints two numbers: the largest heap in use any executor reported, and the largest heap left
after a garbage collection (or -1 without GC logs).

- Heap in use comes from JVMHeapMemory in the event log's task-end and stage executor-metric
  events (spark.eventLog.logStageExecutorMetrics=true, spark.executor.metrics.pollingInterval
  set). The driver's reports carry "Executor ID": "driver" and are skipped. This figure counts
  garbage not yet collected, so it grows towards the heap size whatever the work.
- Heap after GC is the live data plus survivors: the figure that shows what a task holds. It is
  read from the executors' -Xlog:gc lines ("Pause Young ... 300M->45M(512M)") in the stdout
  files under STANDALONE_WORK_DIR/worker-*/APP_ID/*/stdout, for the applications whose event
  logs are in EVENT_LOG_DIR.

Used by deploy/cluster-test.sh and jobs/bench-scale.
"""
import glob
import os
import re
import sys

events = sys.argv[1]
used = 0
apps = []
for name in os.listdir(events):
    apps.append(name.split(".")[0])
    with open(os.path.join(events, name)) as f:
        for line in f:
            if '"Executor ID":"driver"' in line:
                continue
            for v in re.findall(r'"JVMHeapMemory":(\d+)', line):
                used = max(used, int(v))
live = -1
if len(sys.argv) > 2:
    for app in apps:
        for path in glob.glob(os.path.join(sys.argv[2], "worker-*", app, "*", "stdout")):
            with open(path) as f:
                for line in f:
                    m = re.search(r"\] GC\(\d+\) Pause .*?(\d+)M->(\d+)M\(\d+M\)", line)
                    if m:
                        live = max(live, int(m.group(2)))
print(used // 1048576, live)
