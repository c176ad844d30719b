#!/bin/bash
# in-systemd.sh CMD [ARGS...]: run inside the v2vm guest (tests/v2vm/run.sh).
# Boots Debian's systemd (the host's /usr) as PID 1 of a new pid and mount
# namespace, as a container manager would, on the guest's pure cgroup v2
# root; waits until it is running; runs CMD inside its namespaces (so the
# PIDs tekapo hands systemd are systemd's own); then kills that systemd
# (the namespace goes with it) and exits with CMD's status.
#
#   step                      bound
#   systemd up (its socket)   30 s
#   is-system-running --wait  60 s
set -u
start=$(date +%s.%N)
# A target of its own with nothing in it: basic.target's sysinit units
# (modprobe@, journald, tmpfiles, ...) took a minute under emulation and
# the driver needs none of them. The guest's /etc is a tmpfs overlay.
mkdir -p /etc/systemd/system
printf '[Unit]\nDescription=tekapo systemd lane\n' >/etc/systemd/system/tekapo-lane.target
log=/run/in-systemd.log
unshare --pid --fork --mount --mount-proc --propagation private \
	env container=tekapo-vm /lib/systemd/systemd --system --unit=tekapo-lane.target \
	--log-target=console --show-status=no >"$log" 2>&1 &
outer=$!
pid=
for _ in $(seq 150); do
	pid=$(pgrep -P "$outer" -x systemd || true)
	if [ -n "$pid" ] && nsenter -t "$pid" -m -p test -S /run/systemd/private; then break; fi
	pid=
	sleep 0.2
done
if [ -z "$pid" ]; then
	echo "in-systemd: systemd did not come up; its log:" >&2
	tail -40 "$log" >&2
	exit 125
fi
state=$(timeout 60 nsenter -t "$pid" -m -p systemctl is-system-running --wait 2>&1)
printf 'in-systemd: systemd %s as PID 1 (%s) after %s s\n' \
	"$(nsenter -t "$pid" -m -p systemctl --version | head -1 | cut -d' ' -f2)" "$state" \
	"$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >&2
case "$state" in running | degraded) ;; *)
	echo "in-systemd: systemd is $state; its log:" >&2
	tail -40 "$log" >&2
	kill -9 "$pid"
	exit 125
	;;
esac
[ -n "${IN_SYSTEMD_BLAME:-}" ] && nsenter -t "$pid" -m -p systemd-analyze blame 2>&1 | head -15 >&2
cwd=$PWD
nsenter -t "$pid" -m -p -- sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
rc=$?
kill -9 "$pid"
wait "$outer" 2>/dev/null
exit $rc
