# make systemd-lane: everything that needs systemd as PID 1 on pure cgroup v2,
# in ONE v2vm boot (tests/v2vm/run.sh --systemd; tests/systemd/lane.sh runs
# the suites in the guest and prints systemd's start-up and each suite's time):
#
#	suite        what
#	integration  the systemd cgroup driver's tests (tests/integration/systemd_test.go)
#	engines      podman (cgroup_manager = "systemd") and docker (native.cgroupdriver=systemd)
#	             with tekapo and runc side by side (tests/engines/systemd_test.go)
#	cri          containerd's CRI with SystemdCgroup = true, kubelet's pod slices,
#	             tekapo and runc side by side (tests/cri/systemd_test.go)
#
# TEKAPO_REQUIRE_SYSTEMD=1: a test that finds no systemd fails, never skips.
# SYSTEMD_LANE_SUITES picks suites (default: all three). The run.sh timeout
# (900 s) is a bound for a loaded host, not the lane's time: 8-9 min at load
# 13-16 here, 11 min once at load 16 (tests/systemd/README.md).

.PHONY: systemd-lane systemd-lane-deps

SYSTEMD_LANE_SUITES ?= integration engines cri
SYSTEMD_LANE_REF ?= /usr/sbin/runc
sdlane_integration = integration=cd $(CURDIR)/tests/integration && exec $(CURDIR)/bin/integration.test -test.v \
	-test.run '^TestSystemd' -test.skip '^TestSystemdCgroupRefused$$'
sdlane_engines = engines=cd $(CURDIR)/tests/engines && exec $(CURDIR)/bin/engines.test -test.v -test.timeout 8m \
	-test.run '^Test(Podman|Docker)Systemd$$' -runtime \$$TEKAPO_BIN -ref-runtime $(SYSTEMD_LANE_REF)
sdlane_cri = cri=cd $(CURDIR)/tests/cri && exec $(CURDIR)/bin/cri.test -test.v -test.timeout 8m \
	-test.run '^TestCRISystemd$$' -runtime=\$$TEKAPO_BIN -ref-runtime=$(SYSTEMD_LANE_REF) -crictl=$(abspath $(CRICTL)) -pause=$(CURDIR)/bin/pause

systemd-lane-deps:
	bash tests/systemd/deps.sh

systemd-lane: $(BIN) v2vm-deps engines-deps cri-deps systemd-lane-deps $(CRICTL)
	$(foreach s,$(SYSTEMD_LANE_SUITES),CGO_ENABLED=0 $(GO) test -c -o bin/$(s).test ./tests/$(s) &&) true
	gcc -static -Os -s -o bin/pause tests/cri/pause/pause.c
	tests/v2vm/run.sh --systemd --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) --env TEKAPO_REQUIRE_SYSTEMD=1 \
		--timeout 900 -- $(CURDIR)/tests/systemd/lane.sh $(foreach s,$(SYSTEMD_LANE_SUITES),"$(sdlane_$(s))")
