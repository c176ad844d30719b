#!/bin/bash
# Run the validation suite against runc and crun (and tekapo when a binary is given)
# and print a side-by-side table: program -> result per runtime, then totals.
#
# usage: compare.sh [TEKAPO_BIN] [--only REGEX] [--timeout SECONDS] [--output FILE]
#
# crun 1.8.1 refuses hybrid cgroup hosts, so it runs through a wrapper (written to the
# cache dir) that covers /sys/fs/cgroup/unified/cgroup.controllers with /dev/null in a
# private mount namespace; host mounts are never changed.
# A cell is PASS, FAIL(n) with n failed assertions, ERROR (failed without a failed
# assertion: exit status, missing plan) or TIMEOUT; "*" marks programs on
# which the runtimes disagree. --output also writes the table, with a header naming
# the date and versions, to FILE.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

tekapo="" output="" runargs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--only|--timeout) [ $# -ge 2 ] || conformance_die "$1 needs a value"; runargs+=("$1" "$2"); shift 2 ;;
	--output) [ $# -ge 2 ] || conformance_die "--output needs a file"; output="$2"; shift 2 ;;
	-*) conformance_die "usage: compare.sh [TEKAPO_BIN] [--only REGEX] [--timeout SECONDS] [--output FILE]" ;;
	*) tekapo="$1"; shift ;;
	esac
done
[ -z "$output" ] || output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"

"$here/setup.sh" || exit 1
command -v runc >/dev/null || conformance_die "runc not installed (apt-get install runc)"
crun_bin="$(command -v crun)" || conformance_die "crun not installed (apt-get install crun)"

# write_crun_wrapper prints the path of the hybrid-cgroup wrapper for crun.
write_crun_wrapper() {
	local dir="$CONFORMANCE_CACHE/wrappers" w
	w="$dir/crun"
	mkdir -p "$dir" || return 1
	cat >"$w.tmp" <<EOF
#!/bin/sh
# crun refuses hybrid cgroups ("drop all controllers from cgroupv2"). For comparisons
# only: run it in a private mount namespace where the cgroup2 controller list is empty.
exec unshare -m sh -c 'mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers && exec "\$0" "\$@"' '$crun_bin' "\$@"
EOF
	chmod 755 "$w.tmp" && mv "$w.tmp" "$w" && echo "$w"
}
crun_wrapper="$(write_crun_wrapper)" || conformance_die "cannot write crun wrapper"

out="$CONFORMANCE_CACHE_ROOT/compare"
rm -rf "$out" && mkdir -p "$out"
names=(runc crun) bins=(runc "$crun_wrapper")
if [ -n "$tekapo" ]; then names+=(tekapo); bins+=("$tekapo"); fi

for i in "${!names[@]}"; do
	n="${names[$i]}"
	t0=$(date +%s)
	"$here/run.sh" "${bins[$i]}" "${runargs[@]}" --log-dir "$CONFORMANCE_CACHE_ROOT/logs/$n" \
		--results "$out/$n.results" >"$out/$n.out" 2>&1
	echo "$n: $(tail -1 "$out/$n.out") in $(($(date +%s) - t0))s (full output: $out/$n.out)"
	[ -f "$out/$n.results" ] || conformance_die "run against $n produced no results; see $out/$n.out"
done

version_of() { timeout 10 "$1" --version 2>/dev/null | head -1; }

# table prints the comparison from the per-runtime result files.
table() {
	local files=() n
	for n in "${names[@]}"; do files+=("$out/$n.results"); done
	awk -v names="${names[*]}" '
		BEGIN { n = split(names, rt, " ") }
		{
			r = FILENAME; sub(/.*\//, "", r); sub(/\.results$/, "", r)
			cell = $2 == "PASS" ? "PASS" : ($2 == "TIMEOUT" ? "TIMEOUT" : ($4 > 0 ? "FAIL(" $4 ")" : "ERROR"))
			res[$1, r] = cell; stat[$1, r] = $2
			if (!($1 in seen)) { seen[$1] = 1; order[++np] = $1 }
			if ($2 == "PASS") pass[r]++; else fail[r]++
			failed[r] += $4
		}
		END {
			printf "%-36s", "program"; for (i = 1; i <= n; i++) printf " %-10s", rt[i]; print ""
			for (k = 1; k <= np; k++) {
				p = order[k]; line = sprintf("%-36s", p); diff = 0
				for (i = 1; i <= n; i++) {
					c = ((p, rt[i]) in res) ? res[p, rt[i]] : "-"
					line = line sprintf(" %-10s", c)
					if (i > 1 && stat[p, rt[i]] != stat[p, rt[1]]) diff = 1
				}
				print line (diff ? " *" : "")
			}
			printf "%-36s", "programs passed"; for (i = 1; i <= n; i++) printf " %-10d", pass[rt[i]]; print ""
			printf "%-36s", "programs failed"; for (i = 1; i <= n; i++) printf " %-10d", fail[rt[i]]; print ""
			printf "%-36s", "assertions failed"; for (i = 1; i <= n; i++) printf " %-10d", failed[rt[i]]; print ""
		}' "${files[@]}"
}

{
	echo "# OCI runtime-tools validation: $CONFORMANCE_MODULE@$CONFORMANCE_VERSION"
	echo "# date: $(date -u +%Y-%m-%dT%H:%MZ); host: $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME"), hybrid cgroups"
	echo "# runc: $(version_of runc)"
	echo "# crun: $(version_of "$crun_bin") (through the private-mount-namespace wrapper)"
	[ -z "$tekapo" ] || echo "# tekapo: $tekapo $(version_of "$tekapo")"
	echo "# cell: PASS, FAIL(n failed assertions), ERROR (program failed without a failed assertion), TIMEOUT; * = runtimes disagree"
	table
} >"$out/table.txt"
cat "$out/table.txt"
[ -z "$output" ] || cp "$out/table.txt" "$output"
