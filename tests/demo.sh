#!/usr/bin/env bash
# The demo: a busybox bundle built on the spot (the seed's create_lowerfs.sh),
# run as a container in every namespace, owned by a new user namespace whose
# root is an unprivileged range outside, in a cgroup of its own. It shows what
# the container sees; then the same rootfs as the read-only lower layer of an
# overlay root (and the upper layer's content, the diff, after a write inside);
# then a server in a container answering through a veth pair, in a network
# namespace of the demo's own. It removes everything it made.
set -euo pipefail

tekapo=$(realpath "${1:-bin/tekapo}")
work=$(mktemp -d /tmp/tekapo-demo.XXXXXX)
chmod 755 "$work" # the user namespace's root must reach the rootfs
root="$work/state"
id="demo-$$"
netns="tekapo-demo-$$"
cleanup() {
	for c in "$id" "$id-overlay"; do
		"$tekapo" --root "$root" delete --force "$c" >/dev/null 2>&1 || true
	done
	if [ -e "/run/netns/$netns" ]; then
		nsenter --net="/run/netns/$netns" "$tekapo" --root "$root" delete --force "$id-net" >/dev/null 2>&1 || true
		ip netns del "$netns" 2>/dev/null || true
	fi
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

echo
echo "== overlay root: tekapo run --overlay --overlay-dir $work/overlay --overlay-keep $id-overlay"
echo "   (rootfs/ is the read-only lower layer; the container's changes go to its own upper layer;"
echo "    no user namespace from here on, so the container's root owns the lower layer's files)"
mkdir -p "$work/overlay"
python3 - <<'EOF2'
import json
c = json.load(open("config.json"))
c["process"]["args"] = ["sh", "-c", "echo 'written inside' > /root/hello; rm /etc/group; echo '-- inside: /root/hello:' $(cat /root/hello)"]
c["root"]["readonly"] = False
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]
c["linux"].pop("uidMappings", None)
c["linux"].pop("gidMappings", None)
json.dump(c, open("config.json", "w"), indent=1)
EOF2
"$tekapo" --root "$root" run --overlay --overlay-dir "$work/overlay" --overlay-keep "$id-overlay"
echo "-- the upper layer after delete (kept: --overlay-keep): the container's diff, whiteouts included:"
(cd "$work/overlay/$id-overlay/upper" && find . -mindepth 1 | sort | while read -r f; do
	case "$(stat -c %F "$f")" in
	"character special file") printf '   %s  whiteout (char %s,%s)  %s\n' "$(stat -c %A "$f")" "$(stat -c %t "$f")" "$(stat -c %T "$f")" "$f" ;;
	directory) printf '   %s  directory  %s\n' "$(stat -c %A "$f")" "$f" ;;
	*) printf '   %s  %s bytes  %s: %s\n' "$(stat -c %A "$f")" "$(stat -c %s "$f")" "$f" "$(cat "$f")" ;;
	esac
done)
if [ -e "$rootfs/etc/group" ] && [ ! -e "$rootfs/root/hello" ]; then
	echo "-- the lower layer is untouched: rootfs/etc/group is there, rootfs/root/hello is not"
else
	echo "demo: the lower layer changed" >&2
	exit 1
fi

echo
echo "== veth: a server in the container answers through a veth pair (org.tekapo.net.veth)"
echo "   all inside a network namespace of the demo's own ($netns): no traffic leaves it"
ip netns add "$netns"
python3 - <<'EOF2'
import json
c = json.load(open("config.json"))
c["process"]["args"] = ["sh", "-c", "while true; do echo \"pong from $(hostname) at $(ip -o -4 addr show eth0 | awk '{print $4}')\" | nc -l -p 50000 >/dev/null; done"]
c["root"]["readonly"] = True
c["annotations"] = {"org.tekapo.net.veth": "name=eth0,host=tkdemo0,address=10.200.0.2/24,hostAddress=10.200.0.1/24,gateway=10.200.0.1"}
json.dump(c, open("config.json", "w"), indent=1)
EOF2
innet() { nsenter --net="/run/netns/$netns" "$@"; }
innet "$tekapo" --root "$root" run --detach "$id-net"
echo "-- outside (the demo's namespace): $(innet ip -br addr show tkdemo0)"
echo "-- inside: $(innet "$tekapo" --root "$root" exec "$id-net" sh -c "ip -o -4 addr show eth0 | awk '{print \$2, \$4}'")"
echo "-- inside: $(innet "$tekapo" --root "$root" exec "$id-net" ip route | head -1)"
reply=""
for _ in $(seq 50); do
	reply=$(echo ping | innet busybox nc -w 2 10.200.0.2 50000 2>/dev/null || true)
	[ -n "$reply" ] && break
	sleep 0.1
done
echo "-- client outside: echo ping | nc 10.200.0.2 50000  ->  ${reply:-no answer}"
innet "$tekapo" --root "$root" delete --force "$id-net"
echo "-- after delete, interfaces left in $netns: $(innet ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"
[ -n "$reply" ] || { echo "demo: the container's server did not answer" >&2; exit 1; }
