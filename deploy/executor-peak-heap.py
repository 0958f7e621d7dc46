#!/usr/bin/env python3
"""deploy/executor-peak-heap.py EVENT_LOG_DIR: the largest JVM heap any executor reported, in MiB.

Executors report JVMHeapMemory in task-end and stage executor-metric events (with
spark.eventLog.logStageExecutorMetrics=true); the driver's own reports carry
"Executor ID": "driver" and are skipped. Used by deploy/cluster-test.sh and jobs/bench-scale.
"""
import os
import re
import sys

peak = 0
for name in os.listdir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], name)) as f:
        for line in f:
            if '"Executor ID":"driver"' in line:
                continue
            for v in re.findall(r'"JVMHeapMemory":(\d+)', line):
                peak = max(peak, int(v))
print(peak // 1048576)
