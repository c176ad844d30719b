#!/usr/bin/env python3
"""steps.py N TEKAPO [BUNDLE]: runs `TEKAPO --debug --log-format json run`
N times in BUNDLE (default: cwd) and prints each setup step's median
duration (wall) from the --debug lines, in the order they come."""
import json, os, subprocess, sys, tempfile

n, tekapo = int(sys.argv[1]), sys.argv[2]
cwd = sys.argv[3] if len(sys.argv) > 3 else "."
root = tempfile.mkdtemp(prefix="steps-")
order, res = [], {}
unit = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
def ms(d):
    for u in ("ns", "µs", "us", "ms", "s"):
        if d.endswith(u) and (u != "s" or d[-2].isdigit()):
            return float(d[: -len(u)]) * unit[u]
    return 0.0
for i in range(n):
    log = os.path.join(root, "log%d" % i)
    subprocess.run([tekapo, "--debug", "--log-format", "json", "--log", log, "--root", root, "run", "st%d" % i],
                   cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for line in open(log):
        l = json.loads(line)
        if l.get("level") == "debug" and "duration" in l:
            if l["msg"] not in res:
                order.append(l["msg"]); res[l["msg"]] = []
            res[l["msg"]].append(ms(l["duration"]))
for m in order:
    v = sorted(res[m])
    print("%8.2f ms  %s" % (v[len(v) // 2], m))
