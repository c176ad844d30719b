#!/bin/bash
# Install (idempotently) the apt packages the CRI lane needs, and make
# sure the install left no daemon running that the tests do not own.
set -euo pipefail

PKGS=(containerd containernetworking-plugins busybox-static util-linux iproute2 runc gcc libc6-dev)
DAEMONS='dockerd|containerd|docker-proxy|containerd-shim|containerd-shim-runc-v2|podman|conmon'

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "cri-deps: all packages present"
    exit 0
fi

daemon_pids() {
    ps -eo pid=,comm= | awk -v re="^($DAEMONS)\$" '$2 ~ re {print $1}' | sort -n
}

before=$(daemon_pids)
echo "cri-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# A postinst may have started a service (when no policy-rc.d forbids it):
# stop exactly the daemons that appeared during this install.
after=$(daemon_pids)
for pid in $(comm -13 <(echo "$before") <(echo "$after")); do
    echo "cri-deps: stopping $(ps -o comm= -p "$pid" 2>/dev/null) pid $pid started by a postinst"
    kill -TERM "$pid" 2>/dev/null || true
done
for pid in $(comm -13 <(echo "$before") <(echo "$after")); do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
done
echo "cri-deps: done"
