#!/usr/bin/env python3
"""cpu.py N 'cmd1' 'cmd2' ...: runs the shell commands interleaved N times
(round i runs every command once, in a rotating order) and prints the median
CPU (user+sys of the command's whole tree, from getrusage(RUSAGE_CHILDREN))
and wall time of each. Used by docs/performance.md for the profile's floors."""
import os, resource, subprocess, sys, time

n, cmds = int(sys.argv[1]), sys.argv[2:]
res = {c: [] for c in cmds}
for i in range(n):
    for j in range(len(cmds)):
        c = cmds[(i + j) % len(cmds)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.monotonic()
        subprocess.run(["sh", "-c", "exec " + c.replace("{i}", str(i))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        res[c].append((cpu, wall))
med = lambda v: sorted(v)[len(v) // 2]
for c in cmds:
    print("%8.1f ms cpu %8.1f ms wall  %s" % (1000 * med([s[0] for s in res[c]]), 1000 * med([s[1] for s in res[c]]), c))
