#!/bin/bash
# deps.sh: the host packages the systemd lane's guest uses besides the
# v2vm, engines and CRI lanes' own (the guest runs the host's /usr and
# /etc): systemd (PID 1 there) and dbus (the system bus podman's systemd
# cgroup manager talks to). Idempotent; a dbus-daemon the install starts
# on the host is stopped by PID.
set -euo pipefail
pkgs=(systemd dbus)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
before=$(pgrep -x dbus-daemon || true)
echo "systemd-lane: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
for pid in $(pgrep -x dbus-daemon || true); do
	grep -qx "$pid" <<<"$before" || { echo "systemd-lane: stopping dbus-daemon $pid started by its postinst" >&2; kill "$pid" || true; }
done
