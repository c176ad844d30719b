# Cgroup containment and leftover cleanup for run.sh (sourced, not executed).
#
# Each validation program runs inside the cgroup /$CONFORMANCE_CGROUP of every v1
# hierarchy, so a runtime that resolves a relative or empty cgroupsPath against its own
# cgroup (runc 1.1 does on v1) creates its cgroups below it and never below the caller's
# original cgroup (here the memory one is inside the machine's process_api, which must
# not be touched). The cgroup2 placement is left alone: there the no-internal-processes
# rule would keep a runtime from enabling controllers below a cgroup holding the program.
# After each program, only things the suite made are removed: containers it created
# (IDs taken from the runtime call log), processes inside the bundles or inside the
# suite's cgroups, and the cgroups /$CONFORMANCE_CGROUP/*, /cgrouptest, /testdir (fixed
# names in runtime-tools) and any cgroup named after a created container ID.

# Path component under which the machine's own cgroups live; never looked into.
CONFORMANCE_CG_PROTECTED="${CONFORMANCE_CG_PROTECTED:-process_api}"

# cg_mounts prints the mount point of every cgroup (v1 and v2) hierarchy.
cg_mounts() {
	awk '{
		for (i = 7; i <= NF; i++) if ($i == "-") break
		if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5
	}' /proc/self/mountinfo
}

# cg_v1_mounts prints the mount point of every cgroup v1 hierarchy.
cg_v1_mounts() {
	awk '{
		for (i = 7; i <= NF; i++) if ($i == "-") break
		if ($(i + 1) == "cgroup") print $5
	}' /proc/self/mountinfo
}

# cg_prepare creates /$CONFORMANCE_CGROUP in every v1 hierarchy.
cg_prepare() {
	local m d f
	for m in $(cg_v1_mounts); do
		d="$m/$CONFORMANCE_CGROUP"
		mkdir -p "$d" || return 1
		for f in cpuset.cpus cpuset.mems; do
			if [ -f "$d/$f" ] && [ -z "$(cat "$d/$f")" ]; then
				cat "$m/$f" >"$d/$f" || return 1
			fi
		done
	done
}

# cg_enter moves the calling (sub)shell into /$CONFORMANCE_CGROUP of every v1 hierarchy.
cg_enter() {
	local m
	for m in $(cg_v1_mounts); do
		echo "$BASHPID" >"$m/$CONFORMANCE_CGROUP/cgroup.procs" || return 1
	done
}

# created_ids prints the container IDs passed to "create" in call log $1.
created_ids() {
	[ -f "$1" ] || return 0
	awk '$1 == "create" { print $NF }' "$1" | sort -u
}

# suite_cgroup_dirs prints existing cgroup directories the suite made, deepest
# first: children of /$CONFORMANCE_CGROUP, /cgrouptest, /testdir, and any directory
# (up to 4 levels, skipping the protected subtree) whose name contains one of IDs $@.
# A few finds over all hierarchies, not a few per hierarchy and ID: in the VM lane
# (tests/conformance/vm.sh, emulated CPUs) each process costs ~0.3 s.
suite_cgroup_dirs() {
	local m id mounts=() own=() fixed=() named=()
	mapfile -t mounts < <(cg_mounts)
	for m in "${mounts[@]}"; do
		[ -d "$m/$CONFORMANCE_CGROUP" ] && own+=("$m/$CONFORMANCE_CGROUP")
		[ -d "$m/cgrouptest" ] && fixed+=("$m/cgrouptest")
		[ -d "$m/testdir" ] && fixed+=("$m/testdir")
	done
	for id in "$@"; do named+=(${named[0]:+-o} -name "*$id*"); done
	{
		[ "${#own[@]}" -eq 0 ] || find "${own[@]}" -mindepth 1 -type d 2>/dev/null
		[ "${#fixed[@]}" -eq 0 ] || find "${fixed[@]}" -type d 2>/dev/null
		[ "${#named[@]}" -eq 0 ] || [ "${#mounts[@]}" -eq 0 ] ||
			find "${mounts[@]}" -mindepth 1 -maxdepth 4 -name "$CONFORMANCE_CG_PROTECTED" -prune -o \
				-type d \( "${named[@]}" \) -print 2>/dev/null
	} | sort -u | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# protected_leftovers prints cgroups named after IDs $@ inside the protected subtree;
# they are reported, never touched.
protected_leftovers() {
	local m id
	for m in $(cg_mounts); do
		[ -d "$m/$CONFORMANCE_CG_PROTECTED" ] || continue
		for id in "$@"; do
			find "$m/$CONFORMANCE_CG_PROTECTED" -type d -name "*$id*" 2>/dev/null
		done
	done
}

# suite_pids prints PIDs of live processes the suite left: rooted or working inside run
# directory $1, or in a cgroup of the suite (see suite_cgroup_dirs) or named after IDs.
suite_pids() {
	local rundir="$1" pat id
	shift
	pat="^[0-9]+:[^:]*:/($CONFORMANCE_CGROUP|cgrouptest|testdir)(/|\$)"
	for id in "$@"; do pat+="|$(printf '%s' "$id" | sed 's/[][\\.*^$+?(){}|/]/\\&/g')"; done
	{
		grep -l -E -- "$pat" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3
		find /proc/[0-9]*/root /proc/[0-9]*/cwd -maxdepth 0 \
			\( -lname "$rundir" -o -lname "$rundir/*" \) 2>/dev/null | cut -d/ -f3
	} | grep -vx -e "$$" -e "$BASHPID" | sort -un | live_pids
}

# live_pids filters PIDs on stdin down to processes that are not zombies: a container
# init reparented to PID 1 stays a zombie until PID 1 reaps it, and cannot be killed.
live_pids() {
	local pid st
	while read -r pid; do
		st="$(awk '/^State:/ { print $2; exit }' "/proc/$pid/status" 2>/dev/null)"
		[ -n "$st" ] && [ "$st" != Z ] && echo "$pid"
	done
	return 0
}

# thaw_dirs thaws every frozen v1 freezer cgroup among directories $@.
thaw_dirs() {
	local d
	for d in "$@"; do
		if [ -f "$d/freezer.state" ] && [ "$(cat "$d/freezer.state" 2>/dev/null)" != THAWED ]; then
			echo THAWED >"$d/freezer.state" 2>/dev/null
		fi
	done
}

# rmdir_retry removes cgroup directories $@ (deepest first), retrying while the
# kernel still reports them busy. Prints those that could not be removed.
rmdir_retry() {
	local d _ left=("$@")
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local next=()
		for d in "${left[@]}"; do
			[ -d "$d" ] || continue
			rmdir "$d" 2>/dev/null || next+=("$d")
		done
		left=("${next[@]}")
		[ "${#left[@]}" -eq 0 ] && return 0
		sleep 0.2
	done
	printf '%s\n' "${left[@]}"
}

# mounts_under prints mount points below directory $1, deepest first.
mounts_under() {
	awk -v d="$1/" 'index($5, d) == 1 { print length($5) "\t" $5 }' /proc/self/mountinfo |
		sort -rn | cut -f2-
}

# clean_after RUNTIME RUNDIR CALLLOG: deletes what the suite left after one program and
# prints one "cleanup: ..." note per thing it found (nothing when all was clean).
clean_after() {
	local runtime="$1" rundir="$2" calllog="$3" ids id pids dirs d left m live_list
	mapfile -t ids < <(created_ids "$calllog")
	# One "list -q" (runc, crun, tekapo) rather than a "state" per ID (32 for
	# linux_cgroups_network: ~30 s in the VM lane); "state" per ID when list fails.
	local -A live=()
	local listed=0
	if [ "${#ids[@]}" -gt 0 ] && live_list="$(timeout 10 "$runtime" list -q 2>/dev/null)"; then
		listed=1
		for id in $live_list; do live[$id]=1; done
	fi
	for id in "${ids[@]}"; do
		if { [ "$listed" = 1 ] && [ -n "${live[$id]:-}" ]; } ||
			{ [ "$listed" = 0 ] && timeout 10 "$runtime" state "$id" >/dev/null 2>&1; }; then
			echo "cleanup: deleting container $id"
			timeout 30 "$runtime" delete --force "$id" >/dev/null 2>&1 ||
				echo "cleanup: delete --force $id failed"
		fi
	done
	mapfile -t dirs < <(suite_cgroup_dirs "${ids[@]}")
	thaw_dirs "${dirs[@]}"
	mapfile -t pids < <(suite_pids "$rundir" "${ids[@]}")
	if [ "${#pids[@]}" -gt 0 ]; then
		echo "cleanup: killing leftover processes$(for p in "${pids[@]}"; do
			printf ' %s(%s)' "$p" "$(tr -d '\n' <"/proc/$p/comm" 2>/dev/null)"
		done)"
		kill -KILL "${pids[@]}" 2>/dev/null
		sleep 0.3
	fi
	for m in $(mounts_under "$rundir"); do
		echo "cleanup: unmounting $m"
		umount -l "$m" 2>/dev/null || echo "cleanup: umount $m failed"
	done
	mapfile -t dirs < <(suite_cgroup_dirs "${ids[@]}")
	if [ "${#dirs[@]}" -gt 0 ]; then
		echo "cleanup: removing cgroups $(printf '%s\n' "${dirs[@]}" | sed 's|^/sys/fs/cgroup/||' | tr '\n' ' ')"
		left="$(rmdir_retry "${dirs[@]}")"
		[ -z "$left" ] || echo "cleanup: could not remove cgroups: $(tr "\n" " " <<<"$left")"
	fi
	left="$(protected_leftovers "${ids[@]}")"
	[ -z "$left" ] || echo "cleanup: NOT touching leftover cgroups in protected subtree: $(tr "\n" " " <<<"$left")"
	return 0
}
