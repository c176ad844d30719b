#!/bin/bash
# Run the OCI runtime-tools validation programs against one runtime, one at a time.
#
# usage: run.sh RUNTIME_BIN [--expect FILE] [--only REGEX] [--timeout SECONDS]
#               [--log-dir DIR] [--results FILE]
#
# Prints one line per program (PASS/FAIL/TIMEOUT with assertion counts), then totals;
# the last line is exactly "N passed, N failed" (programs; TIMEOUT counts as failed).
# With --expect FILE (program names, one a line, # comments) it exits 1 when a listed
# program did not pass, and lists programs that pass but are not listed yet.
# Per-program TAP output, stderr and runtime call logs go to the log directory
# (default $CONFORMANCE_CACHE_ROOT/logs/<runtime name>, replaced on every run).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/cleanup.sh"
. "$here/tap.sh"

usage() { conformance_die "usage: run.sh RUNTIME_BIN [--expect FILE] [--only REGEX] [--timeout SECONDS] [--log-dir DIR] [--results FILE]"; }

runtime="" expect="" only="" logdir="" results=""
timeout_s="${CONFORMANCE_TIMEOUT:-60}"
while [ $# -gt 0 ]; do
	case "$1" in
	--expect) [ $# -ge 2 ] || usage; expect="$2"; shift 2 ;;
	--only) [ $# -ge 2 ] || usage; only="$2"; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s="$2"; shift 2 ;;
	--log-dir) [ $# -ge 2 ] || usage; logdir="$2"; shift 2 ;;
	--results) [ $# -ge 2 ] || usage; results="$2"; shift 2 ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) [ -z "$runtime" ] || usage; runtime="$1"; shift ;;
	esac
done
[ -n "$runtime" ] || usage
resolved="$(command -v "$runtime")" || conformance_die "runtime not found: $runtime"
runtime="$(cd "$(dirname "$resolved")" && pwd)/$(basename "$resolved")"
[ -x "$runtime" ] || conformance_die "runtime is not executable: $runtime"
case "$runtime" in *"'"*) conformance_die "runtime path must not contain a quote: $runtime" ;; esac
[ "$(id -u)" = 0 ] || conformance_die "must run as root (the suite creates containers and cgroups)"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || conformance_die "--timeout wants whole seconds: $timeout_s"
[ -z "$expect" ] || [ -f "$expect" ] || conformance_die "expectation file not found: $expect"
conformance_cache_complete || conformance_die "suite not built in $CONFORMANCE_CACHE: run tests/conformance/setup.sh"

mapfile -t all_programs < <(conformance_programs)
programs=()
for p in "${all_programs[@]}"; do
	if [ -z "$only" ] || [[ "$p" =~ $only ]]; then programs+=("$p"); fi
done
[ "${#programs[@]}" -gt 0 ] || conformance_die "no program matches --only '$only'"

# One run at a time on this machine: the suite uses fixed cgroup paths (/cgrouptest).
exec 9>"$CONFORMANCE_CACHE_ROOT/run.lock"
flock -n 9 || conformance_die "another conformance run is in progress ($CONFORMANCE_CACHE_ROOT/run.lock)"

[ -n "$logdir" ] || logdir="$CONFORMANCE_CACHE_ROOT/logs/$(basename "$runtime")"
if ! rm -rf "$logdir" || ! mkdir -p "$logdir"; then conformance_die "cannot create log dir $logdir"; fi
rundir="$(mktemp -d /tmp/tekapo-conformance.XXXXXX)" || conformance_die "mktemp failed"
# Bundles live below; user-namespaced containers must be able to traverse to them.
chmod 755 "$rundir"

# finish runs at exit (also after Ctrl-C in the middle of a program): one more sweep,
# with the container IDs of the program that was running (earlier programs were swept
# already), then the suite cgroup and the temporary directory.
current_calls=/dev/null
# shellcheck disable=SC2317 # invoked through trap
finish() {
	local left m
	clean_after "$runtime" "$rundir" "$current_calls" | sed 's/^/        /'
	left=""
	for m in $(cg_v1_mounts); do
		[ -d "$m/$CONFORMANCE_CGROUP" ] || continue
		left+="$(rmdir_retry "$m/$CONFORMANCE_CGROUP")"
	done
	[ -z "$left" ] || conformance_log "could not remove cgroups: $left"
	[ -z "$(mounts_under "$rundir")" ] && rm -rf --one-file-system "$rundir"
}
trap finish EXIT
trap 'conformance_log "interrupted; cleaning up"; exit 130' INT TERM HUP

# The programs call $RUNTIME; this wrapper logs each call (for cleanup and debugging)
# and then execs the runtime under test unchanged.
cat >"$rundir/runtime" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"\${CONFORMANCE_CALL_LOG:-/dev/null}"
exec '$runtime' "\$@"
EOF
chmod 755 "$rundir/runtime"
cg_prepare || conformance_die "cannot create cgroup /$CONFORMANCE_CGROUP"

# run_program NAME: runs one program in the suite cgroup, prints its result line,
# cleans up after it and appends "NAME STATUS OK FAILED SKIPPED SECONDS" to results.txt.
run_program() {
	local name="$1" tmp="$rundir/tmp/$1" calls="$logdir/$1.calls" t0 t1 rc status secs
	local ok failed skipped todo plan errors
	mkdir -p "$tmp"
	current_calls="$calls"
	t0="$(date +%s%N)"
	(
		cg_enter || exit 125
		cd "$CONFORMANCE_CACHE/work" || exit 125
		export RUNTIME="$rundir/runtime" TMPDIR="$tmp" CONFORMANCE_CALL_LOG="$calls"
		exec timeout -k 10 "$timeout_s" "$CONFORMANCE_CACHE/bin/$name"
	) >"$logdir/$name.tap" 2>"$logdir/$name.stderr" </dev/null
	rc=$?
	t1="$(date +%s%N)"
	secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
	read -r ok failed skipped todo plan errors < <(tap_counts "$logdir/$name.tap")
	status="$(tap_status "$name" "$rc" "$ok" "$failed" "$skipped" "$todo" "$plan" "$errors")"
	failed=$((failed + errors))
	printf '%-7s %-36s ok %3d  failed %3d  skipped %3d  %6ss%s\n' "${status%%:*}" "$name" \
		"$ok" "$failed" "$skipped" "$secs" "$(case "$status" in *:*) echo "  (${status#*:})" ;; esac)"
	echo "$name ${status%%:*} $ok $failed $skipped $secs" >>"$logdir/results.txt"
	clean_after "$runtime" "$rundir" "$calls" | sed 's/^/        /'
	current_calls=/dev/null
	[ -z "$(mounts_under "$tmp")" ] && rm -rf --one-file-system "$tmp"
}

echo "runtime: $runtime ($(timeout 10 "$runtime" --version 2>/dev/null | head -1))"
echo "suite:   $CONFORMANCE_MODULE@$CONFORMANCE_VERSION, ${#programs[@]} programs, timeout ${timeout_s}s each"
echo "logs:    $logdir"
start="$(date +%s)"
: >"$logdir/results.txt"
for p in "${programs[@]}"; do
	run_program "$p"
done
elapsed=$(($(date +%s) - start))
[ -z "$results" ] || cp "$logdir/results.txt" "$results"

rc=0
if [ -n "$expect" ]; then
	check_expectations "$expect" "$logdir/results.txt" "${all_programs[@]}" || rc=1
fi
awk -v secs="$elapsed" '
	{ n++; ok += $3; failed += $4; skipped += $5; if ($2 == "PASS") pass++; else fail++ }
	END {
		printf "total: %d programs in %ds; assertions ok %d, failed %d, skipped %d\n", n, secs, ok, failed, skipped
		printf "%d passed, %d failed\n", pass, fail
	}' "$logdir/results.txt"
exit "$rc"
