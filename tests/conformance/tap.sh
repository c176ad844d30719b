# TAP parsing and expectation checks for run.sh (sourced, not executed).

# tap_counts FILE prints "OK FAILED SKIPPED TODO PLAN" for the top-level TAP in FILE.
# Indented lines belong to YAML diagnostics and are ignored. Some programs print more
# than one stream (e.g. "1..112" then a skip-all "1..0"): plans are summed. PLAN is -1
# when there is none.
tap_counts() {
	awk '
		/^ok([ \t]|$)/ { if (tolower($0) ~ /#[ \t]*skip/) skipped++; else ok++; next }
		/^not ok([ \t]|$)/ { if (tolower($0) ~ /#[ \t]*todo/) todo++; else failed++; next }
		/^1\.\.[0-9]+/ { plan += substr($1, 4) + 0; hasplan = 1 }
		END { printf "%d %d %d %d %d\n", ok, failed, skipped, todo, hasplan ? plan : -1 }
	' "$1"
}

# tap_status RC OK FAILED SKIPPED TODO PLAN prints PASS, or FAIL/TIMEOUT followed by
# ":reason". A program passes when it exits 0, prints a plan, fails no assertion and
# reports as many results as planned, or when it exits 0 without any TAP at all: the
# *_fail programs (e.g. process_rlimits_fail) print nothing when the runtime refused
# the config as it must, and exit 1 otherwise.
tap_status() {
	local rc="$1" ok="$2" failed="$3" skipped="$4" todo="$5" plan="$6"
	local ran=$((ok + skipped + todo + failed))
	case "$rc" in
	124|137) echo "TIMEOUT:killed after ${timeout_s:-?}s"; return ;;
	125) echo "FAIL:harness could not start the program"; return ;;
	esac
	if [ "$failed" -gt 0 ]; then echo "FAIL"; return; fi
	if [ "$rc" != 0 ]; then echo "FAIL:exit status $rc"; return; fi
	if [ "$plan" -lt 0 ] && [ "$ran" = 0 ]; then echo "PASS:no TAP, exit status 0"; return; fi
	if [ "$plan" -lt 0 ]; then echo "FAIL:no TAP plan"; return; fi
	if [ "$ran" != "$plan" ]; then echo "FAIL:planned $plan, reported $ran"; return; fi
	echo "PASS"
}

# expect_names FILE prints the program names listed in an expectation file.
expect_names() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$' | sort -u
}

# check_expectations FILE RESULTS ALL_PROGRAMS...: reports listed programs that did not
# pass (returns 1 if any), unknown names (returns 1), and passing programs not listed.
check_expectations() {
	local file="$1" results="$2" rc=0 name status regress=() newly=() unknown=()
	shift 2
	local -A known=() listed=() got=()
	for name in "$@"; do known[$name]=1; done
	while read -r name status _; do got[$name]="$status"; done <"$results"
	while read -r name; do
		listed[$name]=1
		if [ -z "${known[$name]:-}" ]; then unknown+=("$name"); continue; fi
		[ -n "${got[$name]:-}" ] || continue # not selected by --only
		[ "${got[$name]}" = PASS ] || regress+=("$name")
	done < <(expect_names "$file")
	for name in "${!got[@]}"; do
		[ "${got[$name]}" = PASS ] && [ -z "${listed[$name]:-}" ] && newly+=("$name")
	done
	echo "expectations: $file lists ${#listed[@]} programs"
	if [ "${#unknown[@]}" -gt 0 ]; then
		echo "UNKNOWN programs in $file: ${unknown[*]}"
		rc=1
	fi
	if [ "${#regress[@]}" -gt 0 ]; then
		echo "REGRESSED (listed as passing, did not pass): ${regress[*]}"
		rc=1
	else
		echo "every listed program that ran passed"
	fi
	if [ "${#newly[@]}" -gt 0 ]; then
		echo "newly passing (add to $file to ratchet):"
		printf '%s\n' "${newly[@]}" | sort | sed 's/^/  /'
	fi
	return "$rc"
}
