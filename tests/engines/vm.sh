#!/bin/bash
# vm.sh ENGINES_TEST_BINARY RUNTIME: in the VM lane (tests/v2vm, booted with
# --apparmor --criu), runs the podman checks that need CRIU and AppArmor
# (TestPodmanCheckpointAppArmor) with RUNTIME and prints its time and result.
# When a check fails, the same checks run again with the reference runtime
# (runc, the host's /usr/sbin/runc) and both lists of failures are printed:
# a check that fails with both is the lane's (podman, conmon, criu, the
# guest), one that fails with RUNTIME alone is the runtime's. With
# ENGINES_VM_REFERENCE=always runc runs first every time (about doubling the
# ~2 minutes). The exit status is RUNTIME's run's.
set -uo pipefail
bin=${1:?usage: vm.sh ENGINES_TEST_BINARY RUNTIME} rt=${2:?usage: vm.sh ENGINES_TEST_BINARY RUNTIME}
ref=${ENGINES_REF_RUNTIME:-/usr/sbin/runc}
export TEKAPO_REQUIRE=${TEKAPO_REQUIRE:-criu,apparmor}
log=$(mktemp -d /tmp/engines-vm.XXXXXX)
trap 'rm -rf "$log"' EXIT
summary=()
run() { # run RUNTIME: streams the test's output, returns its status
	local t0=$SECONDS rc name
	name=$(basename "$1")
	"$bin" -test.v -test.count=1 -test.timeout 10m -test.run '^TestPodmanCheckpointAppArmor$' -runtime="$1" 2>&1 | tee "$log/$name"
	rc=${PIPESTATUS[0]}
	summary+=("engines-vm: podman checkpoint/apparmor with $name: $( ((rc)) && echo FAIL || echo ok) in $((SECONDS - t0))s; $(grep -cE '^ +--- PASS' "$log/$name") passed, $(grep -cE '^ +--- FAIL' "$log/$name") failed, $(grep -cE '^ *--- SKIP' "$log/$name") skipped$( ((rc)) && echo "; failed: $(grep -oE '^ +--- FAIL: [^ ]+' "$log/$name" | sed 's/.*\///' | tr '\n' ' ')")")
	return "$rc"
}
refrc=-1
[[ ${ENGINES_VM_REFERENCE:-on-failure} != always ]] || { run "$ref"; refrc=$?; }
run "$rt"; rc=$?
((rc == 0 || refrc >= 0)) || { echo "engines-vm: $(basename "$rt") failed: the same checks with $ref"; run "$ref"; refrc=$?; }
printf '%s\n' "${summary[@]}"
if ((rc && refrc > 0)); then
	echo "engines-vm: failed with both runtimes: a check in both lists is the lane's (podman, conmon, criu, the guest)"
elif ((rc)); then
	echo "engines-vm: failed with $(basename "$rt") only: the runtime's"
elif ((refrc > 0)); then
	echo "engines-vm: the reference runtime ($ref) failed, $(basename "$rt") passed"
fi
exit "$rc"
