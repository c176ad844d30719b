#!/bin/bash
# Summarize a `go test -v ./tests/engines` log: one line per check with its
# result and time, the reason of each skip, then totals. Used to write
# reference-runc.txt.
set -euo pipefail
log=${1:?usage: summarize.sh LOG}
echo "# engine checks: $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r)"
for v in podman conmon containerd dockerd runc; do
    command -v "$v" >/dev/null && printf '#   %s\n' "$("$v" --version 2>&1 | head -1)"
done
awk '
/^=== (RUN|CONT)/ { cur = $3; next }
/^ +[a-z_]+_test\.go:[0-9]+: / && !/_test\.go:[0-9]+: \$ / { sub(/^ +[a-z_]+_test\.go:[0-9]+: /, ""); last[cur] = $0; next }
/^ *--- (PASS|FAIL|SKIP)/ {
    line = $0; sub(/^ *--- /, "", line)
    name = $3
    if ($2 == "SKIP:") line = line "  -- " last[name]
    print line
    if ($0 ~ /^ +--- PASS/) p++
    if ($0 ~ /^ +--- FAIL/) f++
    if ($0 ~ /--- SKIP/) s++
}
END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
