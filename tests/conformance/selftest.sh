#!/bin/bash
# Checks the harness's TAP parsing and ratchet logic on fixtures (no root, no runtime).
# usage: tests/conformance/selftest.sh
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tap.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; fails=$((fails + 1)); fi
}

printf '%s\n' 'TAP version 13' 'ok 1 - a' '  ---' '  {' '    "error": "expected, attached"' '  }' '  ...' \
	'not ok 2 - b' 'ok 3 # SKIP c' 'not ok 4 - d # TODO later' '1..4' >"$tmp/mixed.tap"
check "counts mixed stream" "$(tap_counts "$tmp/mixed.tap")" "1 1 1 1 4 0"
check "failed assertion fails" "$(tap_status x 0 1 1 1 1 4 0)" "FAIL"

printf '%s\n' 'TAP version 13' 'ok 1 - a' 'ok 2 - b' '1..2' 'TAP version 13' '1..0' >"$tmp/two.tap"
check "plans of two streams add up" "$(tap_counts "$tmp/two.tap")" "2 0 0 0 2 0"
check "two streams pass" "$(tap_status x 0 2 0 0 0 2 0)" "PASS"

printf '%s\n' 'TAP version 13' '  ---' '  {' '    "error": "Hooks MUST be called in the listed order"' \
	'  }' '  ...' '1..0' >"$tmp/hook.tap"
check "orphan error diagnostic counted" "$(tap_counts "$tmp/hook.tap")" "0 0 0 0 0 1"
check "orphan error diagnostic fails" "$(tap_status hooks 0 0 0 0 0 0 1)" "FAIL:error diagnostic outside any test point"
printf '%s\n' 'TAP version 13' '  ---' '  {' '    "error": "e",' '    "stdout": ""' '  }' '  ...' \
	'not ok 1 - inside' '1..1' >"$tmp/pre.tap"
check "diagnostic before its test point is not orphan" "$(tap_counts "$tmp/pre.tap")" "0 1 0 0 1 0"
printf '%s\n' 'TAP version 13' '1..0' >"$tmp/empty.tap"
check "clean skip-all stream" "$(tap_counts "$tmp/empty.tap")" "0 0 0 0 0 0"

check "*_fail exits 0 without TAP: pass" "$(tap_status process_rlimits_fail 0 0 0 0 0 -1 0)" \
	"PASS:no TAP, exit status 0: the runtime refused the config"
check "other program without TAP: fail" "$(tap_status default 0 0 0 0 0 -1 0)" \
	"FAIL:no TAP output (nothing from runtimetest reached stdout)"
check "results without plan fail" "$(tap_status x 0 2 0 0 0 -1 0)" "FAIL:no TAP plan"
check "short stream fails" "$(tap_status x 0 2 0 0 0 3 0)" "FAIL:planned 3, reported 2"
check "non-zero exit fails" "$(tap_status x 1 2 0 0 0 2 0)" "FAIL:exit status 1"
check "timeout" "$(timeout_s=5 tap_status x 124 0 0 0 0 -1 0)" "TIMEOUT:killed after 5s"

printf '%s\n' '# header' 'a' '  b  # passes since v1' '' >"$tmp/expect"
check "expect names" "$(expect_names "$tmp/expect" | tr '\n' ' ')" "a b "

printf '%s\n' 'a PASS 1 0 0 1.0' 'b PASS 1 0 0 1.0' 'c PASS 1 0 0 1.0' 'd FAIL 0 1 0 1.0' >"$tmp/res"
out="$(check_expectations "$tmp/expect" "$tmp/res" a b c d)"
check "all listed pass" "$?" "0"
check "newly passing listed" "$(echo "$out" | grep -c '^  c$')" "1"

printf '%s\n' 'a PASS 1 0 0 1.0' 'b TIMEOUT 0 0 0 9.0' >"$tmp/res"
out="$(check_expectations "$tmp/expect" "$tmp/res" a b c d)"
check "regression fails" "$?" "1"
check "regression named" "$(echo "$out" | grep -c '^REGRESSED.*: b$')" "1"

printf '%s\n' 'a PASS 1 0 0 1.0' >"$tmp/res"
out="$(check_expectations "$tmp/expect" "$tmp/res" a b c d)"
check "listed but not run (--only) is not a regression" "$?" "0"

printf '%s\n' 'zzz' >>"$tmp/expect"
out="$(check_expectations "$tmp/expect" "$tmp/res" a b c d)"
check "unknown name fails" "$?" "1"

if [ "$fails" != 0 ]; then echo "selftest: $fails failed"; exit 1; fi
echo "selftest: all passed"
