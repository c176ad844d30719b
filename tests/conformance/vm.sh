#!/bin/bash
# The conformance suite's VM lane: runs the validation programs that cannot pass on
# this host (v1 net_cls/net_prio and hugetlb, AppArmor, a full capability bounding
# set) in one qemu boot of tests/v2vm (--cgroup hybrid --apparmor), against each
# runtime given, with tests/conformance/run.sh unchanged inside the guest.
#
# usage: vm.sh [--expect FILE] [--host-expect FILE] [--only REGEX] [--timeout S]
#              [--log-root DIR] RUNTIME_BIN...
#
# --expect FILE: the VM ratchet (applied to the first runtime, tekapo); exit 1 if a
#   program listed there did not pass in the VM.
# --host-expect FILE: the host ratchet (default expected-pass.txt); the last line is
#   "combined: H on the host + V only in the VM = N of 58 distinct programs", H being
#   the programs that FILE lists (they must pass on the host) and V those that passed
#   in the VM and are not listed there.
# --only REGEX (default: $CONFORMANCE_VM_ONLY below): the programs run in the VM;
#   --only all: $CONFORMANCE_VM_ALL (adds the blkio and memory programs).
# --timeout S: per program (run.sh's); the whole boot has $CONFORMANCE_VM_BOOT_TIMEOUT
#   (default 2400 s).
# Logs: DIR/<runtime name>/ (default $CONFORMANCE_CACHE_ROOT/logs-vm), shared with
# the guest; the suite's own lock and bundles stay on the guest's tmpfs.
#
# In the guest (--in-guest, set by this script): a dummy eth0 (linux_cgroups_network
# takes the second interface), the AppArmor profile acme_secure_profile
# (linux_process_apparmor_profile), then run.sh once per runtime.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

# Programs that fail on this host for host reasons and can pass in the VM (README.md
# "The VM lane"). The blkio and memory programs fail there too, for the 6.1 kernel
# (no blkio.weight/leaf_weight, kmem limits have no effect): --only "$CONFORMANCE_VM_ALL".
CONFORMANCE_VM_ONLY="${CONFORMANCE_VM_ONLY:-^(linux_cgroups_(relative_)?(hugetlb|network)|linux_process_apparmor_profile|process_capabilities)$}"
CONFORMANCE_VM_ALL='^(linux_cgroups_(relative_)?(hugetlb|network|blkio|memory)|linux_process_apparmor_profile|process_capabilities)$'

in_guest=0 expect="" host_expect="$here/expected-pass.txt" host_set=0 only="$CONFORMANCE_VM_ONLY"
timeout_s="${CONFORMANCE_TIMEOUT:-60}" logroot="$CONFORMANCE_CACHE_ROOT/logs-vm" runtimes=()
usage() { conformance_die "usage: vm.sh [--expect FILE] [--host-expect FILE] [--only REGEX] [--timeout S] [--log-root DIR] RUNTIME_BIN..."; }
while [ $# -gt 0 ]; do
	case "$1" in
	--in-guest) in_guest=1; shift ;;
	--expect | --host-expect | --only | --timeout | --log-root) [ $# -ge 2 ] || usage
		case "$1" in
		--expect) expect="$(realpath "$2")" ;;
		--host-expect) host_expect="$(realpath "$2")" host_set=1 ;;
		--only) only="$2" ;;
		--timeout) timeout_s="$2" ;;
		--log-root) logroot="$2" ;;
		esac
		shift 2 ;;
	-*) usage ;;
	*) runtimes+=("$(realpath "$(command -v "$1" || echo "$1")")"); shift ;;
	esac
done
[ "${#runtimes[@]}" -gt 0 ] || usage
[ "$only" != all ] || only="$CONFORMANCE_VM_ALL"

# guest_setup: what the programs need from the guest beyond the hybrid cgroups.
guest_setup() {
	ip link add eth0 type dummy && ip link set eth0 up || return 1
	# runtimetest checks the container's process runs confined by this profile.
	apparmor_parser -r <<-'EOF' || return 1
	abi <abi/3.0>,
	profile acme_secure_profile flags=(attach_disconnected,mediate_deleted) {
	  file, capability, network, mount, umount, remount, pivot_root, signal, ptrace, unix, dbus,
	}
	EOF
}

if [ "$in_guest" = 1 ]; then
	[ -d /.v2vm-init ] || conformance_die "--in-guest: not inside the v2vm guest"
	guest_setup || conformance_die "guest setup failed"
	# The suite's lock and the default log dir stay on the guest's tmpfs; the built
	# suite is read from the host's cache (CONFORMANCE_CACHE, a share).
	export CONFORMANCE_CACHE_ROOT=/run/tekapo-conformance
	mkdir -p "$CONFORMANCE_CACHE_ROOT"
	rc=0
	for i in "${!runtimes[@]}"; do
		r="${runtimes[$i]}" args=(--only "$only" --timeout "$timeout_s" --log-dir "$logroot/$(basename "$r")")
		[ "$i" != 0 ] || [ -z "$expect" ] || args+=(--expect "$expect")
		echo "== $r (in the VM: hybrid cgroups, AppArmor) =="
		"$here/run.sh" "$r" "${args[@]}" || rc=1
	done
	exit "$rc"
fi

[ "$(id -u)" = 0 ] || conformance_die "must run as root"
conformance_cache_complete || conformance_die "suite not built in $CONFORMANCE_CACHE: run tests/conformance/setup.sh"
[ -z "$expect" ] || [ -f "$expect" ] || conformance_die "expectation file not found: $expect"
[ -f "$host_expect" ] || conformance_die "host expectation file not found: $host_expect"
mkdir -p "$logroot" && logroot="$(realpath "$logroot")" || conformance_die "cannot create $logroot"
shares=(--share "$here" --share "$CONFORMANCE_CACHE" --share "$logroot")
for r in "${runtimes[@]}"; do
	[ -x "$r" ] || conformance_die "runtime is not executable: $r"
	case "$r" in /usr/*) ;; *) shares+=(--share "$(dirname "$r")") ;; esac # the guest has the host's /usr
done
args=(--in-guest --only "$only" --timeout "$timeout_s" --log-root "$logroot")
[ -z "$expect" ] || args+=(--expect "$expect")
"$here/../v2vm/run.sh" --cgroup hybrid --apparmor "${shares[@]}" \
	--env "CONFORMANCE_CACHE=$CONFORMANCE_CACHE" --timeout "${CONFORMANCE_VM_BOOT_TIMEOUT:-2400}" \
	-- "$here/vm.sh" "${args[@]}" "${runtimes[@]}"
rc=$?

# The combined count, for the first runtime: the host ratchet plus what passed only here.
. "$here/tap.sh"
res="$logroot/$(basename "${runtimes[0]}")/results.txt"
case "$(basename "${runtimes[0]}")" in tekapo*) ;; *) [ "$host_set" = 1 ] || res=/nonexistent ;; esac # the host ratchet is tekapo's
if [ -f "$res" ]; then
	mapfile -t all < <(conformance_programs)
	mapfile -t host < <(expect_names "$host_expect")
	mapfile -t vm < <(awk '$2 == "PASS" { print $1 }' "$res" | sort -u)
	only_vm="$(comm -13 <(printf '%s\n' "${host[@]}") <(printf '%s\n' "${vm[@]}"))"
	n_only=0
	[ -z "$only_vm" ] || n_only="$(wc -l <<<"$only_vm")"
	echo "only in the VM: $(tr '\n' ' ' <<<"$only_vm")"
	echo "combined: ${#host[@]} on the host ($(basename "$host_expect")) + $n_only only in the VM = $((${#host[@]} + n_only)) of ${#all[@]} distinct programs"
fi
exit "$rc"
