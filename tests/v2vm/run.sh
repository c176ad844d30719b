#!/bin/bash
# run.sh [--share DIR]... [--env NAME=VALUE]... [--timeout SECS] [--cgroup v2|hybrid] [--apparmor] [--criu] [--systemd] -- CMD [ARGS...]
# Runs CMD as root in a qemu VM (pure cgroup v2 by default) and exits with its status.
# --cgroup hybrid: v1 controllers at /sys/fs/cgroup/<controller>, cgroup2 at
# /sys/fs/cgroup/unified (as a systemd hybrid host);
# --apparmor: AppArmor on at boot (apparmor_parser must be installed);
# --criu: criu must be installed (the guest uses the host's /usr);
# --systemd: systemd is PID 1 (the command is its one service).
# See README.md. Exit 124: timeout; 125: the VM failed; 141: our output broke.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"

usage() { echo "usage: $0 [--share DIR]... [--env NAME=VALUE]... [--timeout SECS] [--cgroup v2|hybrid] [--apparmor] [--criu] [--systemd] -- CMD [ARGS...]" >&2; exit 2; }
shares=() envs=() timeout=${V2VM_TIMEOUT:-600} lsm=() feats=() cgroup=v2
while (($#)); do
	case $1 in
	--share) [[ -d ${2:?} ]] || { echo "v2vm: --share $2: not a directory" >&2; exit 2; }
		shares+=("$(realpath "$2")"); shift 2 ;;
	--env) envs+=("${2:?}"); shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--cgroup) cgroup=${2:?}; shift 2 ;;
	--apparmor) lsm=(apparmor=1 security=apparmor); feats+=(apparmor); shift ;;
	--criu) feats+=(criu); shift ;;
	--systemd) feats+=(systemd); shift ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
(($#)) || usage
# The cgroup layout, in this one place: the kernel's arguments for it (cgargs)
# and v2vm.cgroup=, which tells the guest's init what to mount.
case $cgroup in
v2) cgargs=(cgroup_no_v1=all) ;;
hybrid) # init mounts every v1 controller, cgroup2 at /sys/fs/cgroup/unified;
	# systemd (--systemd) takes those mounts and is told the layout too
	cgargs=()
	[[ " ${feats[*]} " == *" systemd "* ]] && cgargs+=(systemd.unified_cgroup_hierarchy=0)
	;;
*) echo "v2vm: --cgroup $cgroup: want v2 or hybrid" >&2; exit 2 ;;
esac
cgargs+=("v2vm.cgroup=$cgroup")
need() { # need PROGRAM OPTION PACKAGE: the guest runs the host's /usr
	command -v "$1" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$1" >/dev/null ||
		{ echo "v2vm: $2 needs $1 on the host (apt-get install $3; make v2vm-deps installs it)" >&2; exit 2; }
}
for f in "${feats[@]}"; do
	case $f in
	apparmor) need apparmor_parser --apparmor apparmor ;;
	criu) need criu --criu criu ;;
	systemd) [[ -x /lib/systemd/systemd ]] || { echo "v2vm: --systemd needs systemd on the host (apt-get install systemd)" >&2; exit 2; } ;;
	esac
done

mkdir -p "$V2VM_CACHE"
exec {lock}>"$V2VM_CACHE/.lock"
flock "$lock"
v2vm_kernel
v2vm_initramfs
flock -u "$lock"
exec {lock}>&-

ctl=$(mktemp -d /tmp/v2vm.XXXXXX)
pids=()
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$ctl"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The command file: environment, working directory (kept when it is shared), CMD.
{
	for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
	printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
	printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$ctl/cmd"
virtfs=(-virtfs "local,path=/usr,mount_tag=usr,security_model=none,readonly=on"
	-virtfs "local,path=/etc,mount_tag=etc,security_model=none,readonly=on"
	-virtfs "local,path=$KDIR/root/lib/modules/$KVER,mount_tag=mods,security_model=none,readonly=on"
	-virtfs "local,path=$ctl,mount_tag=ctl,security_model=none")
: >"$ctl/shares"
for i in "${!shares[@]}"; do
	echo "s$i ${shares[$i]}" >>"$ctl/shares"
	virtfs+=(-virtfs "local,path=${shares[$i]//,/,,},mount_tag=s$i,security_model=none")
done

alive() { kill -0 "$1" 2>/dev/null; }

# boot_once: one VM; its exit status is qemu's (0 when the guest powered off or
# panicked), 124 when the deadline passed, 141 when our stdout or stderr broke.
boot_once() {
	local q c1 c2 rc=0 qrc=0
	rm -f "$ctl"/{out,err,rc,console.log,uptime,clock}
	mkfifo "$ctl/out" "$ctl/err"
	cat "$ctl/out" & c1=$!
	cat "$ctl/err" >&2 & c2=$!
	pids+=("$c1" "$c2")
	qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu max -smp "${V2VM_SMP:-2}" \
		-m "${V2VM_MEM:-2048}" -bios /usr/share/qemu/qboot.rom -kernel "$KDIR/vmlinux" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 tsc=reliable mitigations=off init_on_alloc=0 softlockup_panic=1 no_timer_check ${cgargs[*]} v2vm.watchdog=${V2VM_WATCHDOG:-60} ${lsm[*]} v2vm.features=$(IFS=,; echo "${feats[*]}") ${V2VM_APPEND:-}" \
		-device i6300esb -action watchdog=poweroff \
		-display none -no-user-config -nodefaults -no-reboot -nic none -serial "file:$ctl/console.log" \
		-device virtio-serial-pci,id=vs -chardev "file,id=out,path=$ctl/out" -chardev "file,id=err,path=$ctl/err" \
		-device virtserialport,bus=vs.0,chardev=out,name=v2vm.out \
		-device virtserialport,bus=vs.0,chardev=err,name=v2vm.err \
		"${virtfs[@]}" </dev/null &
	q=$!
	pids+=("$q")
	while kill -0 "$q" 2>/dev/null; do
		((SECONDS < deadline)) || { rc=124; break; }
		if ! alive "$c1" || ! alive "$c2"; then rc=141; break; fi # the caller stopped reading
		sleep 0.2
	done
	((rc == 0)) || kill "$q" 2>/dev/null || true
	wait "$q" || qrc=$?
	((rc)) || rc=$qrc
	for _ in {1..20}; do alive "$c1" || alive "$c2" || break; sleep 0.1; done
	kill "$c1" "$c2" 2>/dev/null || true
	wait "$c1" "$c2" 2>/dev/null || true
	return "$rc"
}

# console_summary: why the guest died, from its serial console.
console_summary() {
	[[ -n ${V2VM_CONSOLE:-} ]] && cp "$ctl/console.log" "$V2VM_CONSOLE"
	grep -E 'v2vm-init|Kernel panic|soft lockup|BUG:|Oops|Out of memory' "$ctl/console.log" 2>/dev/null |
		tail -n 8 >&2 || tail -n 8 "$ctl/console.log" 2>/dev/null >&2 || true
}

deadline=$((SECONDS + timeout))
for attempt in 1 2; do
	qrc=0 t0=$EPOCHREALTIME
	boot_once || qrc=$?
	up=$(cat "$ctl/uptime" 2>/dev/null || true)
	note=""
	[[ ! -s $ctl/clock ]] || note=", TSC miscalibrated: clocksource $(cat "$ctl/clock")"
	t0=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "v2vm: VM ($cgroup${feats[*]:+ ${feats[*]}}) ran ${t0}s, command started at ${up:-?}s of guest uptime (attempt $attempt$note)" >&2
	[[ -s $ctl/rc ]] && exit "$(cat "$ctl/rc")"
	if ((qrc == 124)); then
		echo "v2vm: timeout after ${timeout}s, killed qemu; console:" >&2
		console_summary
		exit 124
	fi
	((qrc != 141)) || exit 141
	echo "v2vm: attempt $attempt: VM died without a result (qemu exit $qrc); console:" >&2
	console_summary
	((qrc == 0)) || break # qemu itself failed: retrying will not help
done
exit 125
