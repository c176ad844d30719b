# Shared settings for the conformance scripts (sourced, not executed).
# Every value can be overridden from the environment.

CONFORMANCE_MODULE="${CONFORMANCE_MODULE:-github.com/opencontainers/runtime-tools}"
# Master of 2025-05-23 (ociVersion 1.1.0). Later masters move to runtime-spec 1.3.0
# and their pids checks fail for every runtime; see /work/shared/notes/conformance.md.
CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-v0.9.1-0.20250523060157-0ea5ed0382a2}"
CONFORMANCE_CACHE_ROOT="${CONFORMANCE_CACHE_ROOT:-/var/cache/tekapo-conformance}"
CONFORMANCE_CACHE="${CONFORMANCE_CACHE:-$CONFORMANCE_CACHE_ROOT/$CONFORMANCE_VERSION}"
# Name of the cgroup (in every v1 hierarchy) each program runs in; runtimes that
# resolve relative or empty cgroupsPath against their own cgroup create theirs below it.
# Left as is, runc would create them inside the machine's memory cgroup process_api.
CONFORMANCE_CGROUP="${CONFORMANCE_CGROUP:-tekapo-conformance}"

conformance_die() {
	echo "conformance: $*" >&2
	exit 1
}

conformance_log() {
	echo "conformance: $*" >&2
}

# conformance_programs prints the validation program names of the cached build.
conformance_programs() {
	sed -n 's/^program //p' "$CONFORMANCE_CACHE/COMPLETE"
}

# conformance_cache_complete succeeds when every artefact listed in the stamp exists.
conformance_cache_complete() {
	local stamp="$CONFORMANCE_CACHE/COMPLETE" p
	[ -f "$stamp" ] || return 1
	[ -x "$CONFORMANCE_CACHE/work/runtimetest" ] || return 1
	[ -f "$CONFORMANCE_CACHE/work/rootfs-amd64.tar.gz" ] || return 1
	[ -n "$(conformance_programs)" ] || return 1
	for p in $(conformance_programs); do
		[ -x "$CONFORMANCE_CACHE/bin/$p" ] || return 1
	done
}
