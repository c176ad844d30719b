#!/bin/bash
# deps.sh: installs what the v2vm lane needs on the host (idempotent), then
# fetches the guest kernel into the cache. Needs root and Debian's apt.
set -euo pipefail
pkgs=(qemu-system-x86 qemu-system-data busybox-static kmod cpio xz-utils util-linux iproute2 runc criu apparmor apparmor-utils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "v2vm: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }
fi
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
mkdir -p "$V2VM_CACHE"
exec {lock}>"$V2VM_CACHE/.lock"
flock "$lock"
v2vm_kernel
v2vm_initramfs
exec {lock}>&-
echo "v2vm: ready: $KDIR ($KVER), $INITRD" >&2
