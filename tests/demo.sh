#!/usr/bin/env bash
# The demo: a busybox bundle built on the spot (the seed's create_lowerfs.sh),
# run as a container in every namespace, owned by a new user namespace whose
# root is an unprivileged range outside, in a cgroup of its own. It shows what
# the container sees, then removes everything it made.
set -euo pipefail

tekapo=$(realpath "${1:-bin/tekapo}")
work=$(mktemp -d /tmp/tekapo-demo.XXXXXX)
chmod 755 "$work" # the user namespace's root must reach the rootfs
root="$work/state"
id="demo-$$"
cleanup() {
	"$tekapo" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== building a busybox rootfs in $work/bundle/rootfs"
rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs"/{bin,dev,etc,proc,sys,tmp,root}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"

cat >"$rootfs/demo.sh" <<'EOF'
echo "-- my PID:      $$"
echo "-- my hostname: $(hostname)"
echo "-- id:          $(id)"
echo "-- uid_map:     $(cat /proc/self/uid_map)"
echo "-- cgroup:      $(grep '^0::' /proc/self/cgroup) (the container's own cgroup is the root)"
echo "-- processes:"; ps -o pid,user,args
echo "-- mounts:"; cat /proc/mounts
EOF

echo "== writing config.json (tekapo spec, then: all namespaces, uid/gid 0 -> 100000)"
cd "$work/bundle"
"$tekapo" spec
python3 - <<'EOF'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "/demo.sh"]
c["hostname"] = "tekapo-demo"
ns = {n["type"] for n in c["linux"]["namespaces"]}
for t in ("pid", "network", "ipc", "uts", "mount", "cgroup", "user"):
    if t not in ns:
        c["linux"]["namespaces"].append({"type": t})
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["linux"]["cgroupsPath"] = "/tekapo-demo/" + str(__import__("os").getpid())
json.dump(c, open("config.json", "w"), indent=1)
EOF

echo "== tekapo run $id"
"$tekapo" --root "$root" run "$id"
echo "== the container exited; tekapo removed its cgroup, state and mounts"
