#!/bin/bash
# vm.sh ENGINES_TEST_BINARY RUNTIME: in the VM lane (tests/v2vm, booted with
# --apparmor --criu), runs the podman checks that need CRIU and AppArmor
# (TestPodmanCheckpointAppArmor) with runc (the host's /usr/sbin/runc) as the
# reference, then with RUNTIME, and prints each one's time and result. A check
# that fails with both is the lane's; one that fails with RUNTIME alone is
# the runtime's. The exit status is RUNTIME's run's.
set -uo pipefail
bin=${1:?usage: vm.sh ENGINES_TEST_BINARY RUNTIME} rt=${2:?usage: vm.sh ENGINES_TEST_BINARY RUNTIME}
ref=${ENGINES_REF_RUNTIME:-/usr/sbin/runc}
export TEKAPO_REQUIRE=${TEKAPO_REQUIRE:-criu,apparmor}
log=$(mktemp /tmp/engines-vm.XXXXXX)
trap 'rm -f "$log"' EXIT
summary=()
run() { # run RUNTIME: streams the test's output, returns its status
	local t0=$SECONDS rc
	"$bin" -test.v -test.count=1 -test.timeout 10m -test.run '^TestPodmanCheckpointAppArmor$' -runtime="$1" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	summary+=("engines-vm: podman checkpoint/apparmor with $(basename "$1"): $( ((rc)) && echo FAIL || echo ok) in $((SECONDS - t0))s; $(grep -cE '^ +--- PASS' "$log") passed, $(grep -cE '^ +--- FAIL' "$log") failed, $(grep -cE '^ *--- SKIP' "$log") skipped")
	return "$rc"
}
run "$ref"; refrc=$?
run "$rt"; rc=$?
printf '%s\n' "${summary[@]}"
if ((refrc && rc)); then
	echo "engines-vm: both runtimes failed: look at the lane (podman, conmon, criu, the guest) first"
elif ((refrc)); then
	echo "engines-vm: the reference runtime ($ref) failed, $(basename "$rt") passed"
fi
exit "$rc"
