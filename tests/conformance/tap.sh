# TAP parsing and expectation checks for run.sh (sourced, not executed).

# tap_counts FILE prints "OK FAILED SKIPPED TODO PLAN ERRORS" for the top-level TAP in
# FILE. Indented lines are YAML diagnostics. Some programs print more than one stream
# (e.g. "1..112" then a skip-all "1..0"): plans are summed; PLAN is -1 when there is none.
# ERRORS counts YAML diagnostics with an "error" key that belong to no test point: the
# hook programs (hooks, prestart, poststart_fail, ...) report their failure only that
# way, followed by "1..0". A diagnostic printed just before a test point belongs to it.
tap_counts() {
	awk '
		function flush() { if (pending) errors++; pending = 0 }
		/^  ---/ && !inyaml { inyaml = 1; attached = (last == "test"); yerr = 0; next }
		inyaml {
			if ($0 ~ /^  \.\.\./) { inyaml = 0; if (yerr && !attached) pending = 1 }
			else if ($0 ~ /^    "error":/) yerr = 1
			next
		}
		/^ok([ \t]|$)/ {
			pending = 0; last = "test"
			if (tolower($0) ~ /#[ \t]*skip/) skipped++; else ok++
			next
		}
		/^not ok([ \t]|$)/ {
			pending = 0; last = "test"
			if (tolower($0) ~ /#[ \t]*todo/) todo++; else failed++
			next
		}
		/^[^ \t]/ { flush(); last = "other" }
		/^1\.\.[0-9]+/ { plan += substr($1, 4) + 0; hasplan = 1 }
		END {
			flush()
			printf "%d %d %d %d %d %d\n", ok, failed, skipped, todo, hasplan ? plan : -1, errors
		}
	' "$1"
}

# tap_status NAME RC OK FAILED SKIPPED TODO PLAN ERRORS prints PASS, or FAIL/TIMEOUT
# followed by ":reason". A program passes when it exits 0, prints a plan, fails no
# assertion, has no orphan error diagnostic and reports as many results as planned.
# A *_fail program (process_rlimits_fail, process_capabilities_fail) also passes when it
# exits 0 without any TAP: that is how it reports that the runtime refused the bad
# config as it must. Any other program without TAP failed: the output of runtimetest
# inside the container never reached the runtime's stdout.
tap_status() {
	local name="$1" rc="$2" ok="$3" failed="$4" skipped="$5" todo="$6" plan="$7" errors="$8"
	local ran=$((ok + skipped + todo + failed))
	case "$rc" in
	124|137) echo "TIMEOUT:killed after ${timeout_s:-?}s"; return ;;
	125) echo "FAIL:harness could not start the program"; return ;;
	esac
	if [ "$failed" -gt 0 ]; then echo "FAIL"; return; fi
	if [ "$errors" -gt 0 ]; then echo "FAIL:error diagnostic outside any test point"; return; fi
	if [ "$rc" != 0 ]; then echo "FAIL:exit status $rc"; return; fi
	if [ "$plan" -lt 0 ] && [ "$ran" = 0 ]; then
		case "$name" in
		*_fail) echo "PASS:no TAP, exit status 0: the runtime refused the config" ;;
		*) echo "FAIL:no TAP output (nothing from runtimetest reached stdout)" ;;
		esac
		return
	fi
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
