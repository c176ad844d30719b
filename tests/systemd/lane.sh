#!/bin/bash
# lane.sh NAME=CMD...: run in the v2vm guest booted with `run.sh --systemd`
# (systemd is the guest's PID 1; this script runs as its v2vm.service).
# Waits until systemd has finished starting, prints how long that took,
# then runs each suite (NAME=CMD, CMD run by bash in the caller's working
# directory), printing each one's time; all suites run, even after a
# failure. $TEKAPO_BIN is copied to the guest's tmpfs first (suites name
# it as "$TEKAPO_BIN"). Exits 0 when every suite passed, else 1 (125 when systemd did
# not come up).
#
#   step                          bound
#   systemctl is-system-running   60 s
set -u
t0=$(cut -d' ' -f1 /proc/uptime)
state=$(timeout 60 systemctl is-system-running --wait 2>&1)
up=$(cut -d' ' -f1 /proc/uptime)
printf 'systemd-lane: systemd %s is PID 1 (%s), up at %ss of guest uptime (waited %ss)\n' \
	"$(systemctl --version | head -1 | cut -d' ' -f2)" "$state" "$up" \
	"$(awk -v a="$t0" -v b="$up" 'BEGIN { printf "%.1f", b - a }')" >&2
case $state in running | degraded) ;; *)
	echo "systemd-lane: systemd is $state:" >&2
	systemctl list-jobs --no-pager >&2
	systemctl --failed --no-pager >&2
	exit 125
	;;
esac
# The runtime under test is read from the guest's tmpfs, as runc is from
# the page cache of the /usr share: a binary on a 9p share (cache=mmap) is
# read again at every exec, which made each of the engines' many calls to
# tekapo seconds slower than runc's under emulation.
if [ -n "${TEKAPO_BIN:-}" ]; then
	mkdir -p /run/systemd-lane
	cp "$TEKAPO_BIN" /run/systemd-lane/tekapo || exit 125
	export TEKAPO_BIN=/run/systemd-lane/tekapo
fi
failed=() times=()
for suite in "$@"; do
	name=${suite%%=*} cmd=${suite#*=}
	echo "systemd-lane: === $name" >&2
	s=$EPOCHREALTIME
	bash -c "$cmd"
	rc=$?
	d=$(awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	times+=("$name ${d}s (exit $rc)")
	((rc == 0)) || failed+=("$name")
done
echo "systemd-lane: suite times: ${times[*]/%/;}" >&2
if ((${#failed[@]})); then
	echo "systemd-lane: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "systemd-lane: all suites passed" >&2
