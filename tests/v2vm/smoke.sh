#!/bin/bash
# smoke.sh: proves the pure cgroup-v2 lane. On the host it boots the VM and
# re-runs itself inside; in the guest it checks the controllers, loadable
# network modules, and runc with memory.max (OOM kill) and pids.max.
# Prints "N passed, N failed"; exits non-zero if any check failed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${1:-} != --in-guest ]]; then
	exec "$here/run.sh" --share "$here" --timeout "${V2VM_SMOKE_TIMEOUT:-300}" -- "$here/smoke.sh" --in-guest
fi

[[ -d /.v2vm-init ]] || { echo "smoke.sh --in-guest: not inside the v2vm guest" >&2; exit 2; }
pass=0 fail=0
check() { # check NAME CMD...: run one check, report it
	local t0=${EPOCHREALTIME/./} r ms
	if "${@:2}"; then pass=$((pass + 1)) r=ok; else fail=$((fail + 1)) r=FAIL; fi
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	printf '%-4s %-36s %6d ms\n' "$r" "$1" "$ms"
}

controllers() {
	local have c
	have=" $(cat /sys/fs/cgroup/cgroup.controllers) "
	for c in cpu memory pids io cpuset hugetlb; do
		[[ $have == *" $c "* ]] || { echo "missing controller $c in:$have" >&2; return 1; }
	done
	[[ $(cat /sys/fs/cgroup/cgroup.subtree_control) == "$(cat /sys/fs/cgroup/cgroup.controllers)" ]]
}

netmods() {
	ip link add v2vm-d0 type dummy && ip link del v2vm-d0 &&
		ip link add v2vm-v0 type veth peer name v2vm-v1 && ip link del v2vm-v0
}

# bundle DIR CGROUP MEM PIDS ARGS...: a busybox bundle on tmpfs with limits.
bundle() {
	local dir=$1 cg=$2 mem=$3 pids=$4 a args
	shift 4
	mkdir -p "$dir/rootfs/bin"
	cp /bin/busybox "$dir/rootfs/bin/"
	for a in sh cat dd sleep seq echo true; do ln -sf busybox "$dir/rootfs/bin/$a"; done
	args=$(printf '"%s",' "$@")
	cat >"$dir/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": [${args%,}],
  "env": ["PATH=/bin"], "noNewPrivileges": true},
 "root": {"path": "rootfs"}, "hostname": "smoke",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
  {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
  {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"]}],
 "linux": {"cgroupsPath": "$cg",
  "resources": {"memory": {"limit": $mem, "swap": $mem}, "pids": {"limit": $pids}},
  "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "network"}, {"type": "cgroup"}]}}
JSON
}

oom() {
	local d rc=0
	d=$(mktemp -d /tmp/smoke-oom.XXXXXX)
	bundle "$d" /smoke/oom $((32 << 20)) 100 dd if=/dev/zero of=/dev/null bs=128M count=1
	runc --root /run/smoke-runc run -b "$d" smoke-oom || rc=$?
	echo "exit $rc; $(grep oom_kill /sys/fs/cgroup/smoke/memory.events)"
	rm -rf "$d"
	[[ $rc == 137 ]] && grep -qx 'oom_kill 1' /sys/fs/cgroup/smoke/memory.events
}

pidsmax() {
	local d out cur word n
	d=$(mktemp -d /tmp/smoke-pids.XXXXXX)
	# shellcheck disable=SC2016 # expanded in the container
	bundle "$d" /smoke/pids $((256 << 20)) 8 sh -c \
		'for i in $(seq 20); do (sleep 30 &) 2>/dev/null; done; cat /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids.events'
	out=$(runc --root /run/smoke-runc run -b "$d" smoke-pids) || true
	rm -rf "$d"
	read -r -d '' cur word n <<<"$out" || true
	echo "pids.current $cur (max 8), pids.events $word $n"
	[[ $cur -le 8 && $word == max && $n -ge 1 ]]
}

check "cgroup2 controllers all enabled" controllers
check "dummy and veth modules load" netmods
check "runc memory.max: OOM kill" oom
check "runc pids.max holds" pidsmax
rmdir /sys/fs/cgroup/smoke 2>/dev/null || true
echo "$pass passed, $fail failed"
((fail == 0))
