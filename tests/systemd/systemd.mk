# make systemd-lane: everything that needs systemd as PID 1, in two v2vm
# boots (run.sh --systemd: systemd is the guest's PID 1), each timed (run.sh
# prints each boot's time):
#  - systemd-lane-v2, pure cgroup v2, ONE boot in which tests/systemd/lane.sh
#    runs the suites and prints systemd's start-up and each suite's time:
#
#	suite        what
#	integration  the systemd cgroup driver's tests (tests/integration/systemd_test.go)
#	engines      podman (cgroup_manager = "systemd") and docker (native.cgroupdriver=systemd)
#	             with tekapo and runc side by side (tests/engines/systemd_test.go)
#	cri          containerd's CRI with SystemdCgroup = true, kubelet's pod slices,
#	             tekapo and runc side by side (tests/cri/systemd_test.go)
#
#    SYSTEMD_LANE_SUITES picks suites (default: all three). The run.sh timeout
#    (900 s) is a bound for a loaded host, not the lane's time: 6-9 min at load
#    0-16 here, 11 min once at load 16 (tests/systemd/README.md);
#  - systemd-lane-hybrid: hybrid cgroups (systemd_v1_test.go; run.sh --systemd
#    --cgroup hybrid: systemd.unified_cgroup_hierarchy=0, v1 controllers,
#    cgroup2 at /sys/fs/cgroup/unified).
# TEKAPO_REQUIRE_SYSTEMD=1: a test that finds no systemd fails, never skips
# (=hybrid: a v1 test on a pure v2 host fails too; with =1 it skips there).

.PHONY: systemd-lane systemd-lane-v2 systemd-lane-hybrid systemd-lane-bin systemd-lane-deps

systemd-lane: systemd-lane-v2 systemd-lane-hybrid

systemd-lane-deps:
	bash tests/systemd/deps.sh

systemd-lane-bin: $(BIN) v2vm-deps
	CGO_ENABLED=0 $(GO) test -c -o bin/integration.test ./tests/integration

SYSTEMD_LANE_SUITES ?= integration engines cri
SYSTEMD_LANE_REF ?= /usr/sbin/runc
sdlane_integration = integration=cd $(CURDIR)/tests/integration && exec $(CURDIR)/bin/integration.test -test.v \
	-test.run '^TestSystemd' -test.skip '^(TestSystemdCgroupRefused|TestSystemdV1)'
sdlane_engines = engines=cd $(CURDIR)/tests/engines && exec $(CURDIR)/bin/engines.test -test.v -test.timeout 8m \
	-test.run '^Test(Podman|Docker)Systemd$$' -runtime \$$TEKAPO_BIN -ref-runtime $(SYSTEMD_LANE_REF)
sdlane_cri = cri=cd $(CURDIR)/tests/cri && exec $(CURDIR)/bin/cri.test -test.v -test.timeout 8m \
	-test.run '^TestCRISystemd$$' -runtime=\$$TEKAPO_BIN -ref-runtime=$(SYSTEMD_LANE_REF) -crictl=$(abspath $(CRICTL)) -pause=$(CURDIR)/bin/pause

systemd-lane-v2: systemd-lane-bin engines-deps cri-deps systemd-lane-deps $(CRICTL)
	$(foreach s,$(filter-out integration,$(SYSTEMD_LANE_SUITES)),CGO_ENABLED=0 $(GO) test -c -o bin/$(s).test ./tests/$(s) &&) true
	gcc -static -Os -s -o bin/pause tests/cri/pause/pause.c
	tests/v2vm/run.sh --systemd --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) --env TEKAPO_REQUIRE_SYSTEMD=1 \
		--timeout 900 -- $(CURDIR)/tests/systemd/lane.sh $(foreach s,$(SYSTEMD_LANE_SUITES),"$(sdlane_$(s))")

# The command is systemd's v2vm.service: it waits until systemd is up.
systemd-lane-hybrid: systemd-lane-bin
	tests/v2vm/run.sh --systemd --cgroup hybrid --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) --env TEKAPO_REQUIRE_SYSTEMD=hybrid --timeout 600 -- \
		sh -c 's=$$(cut -d" " -f1 /proc/uptime); st=$$(timeout 90 systemctl is-system-running --wait); \
		echo "systemd-lane-hybrid: systemd $$st at $$(cut -d" " -f1 /proc/uptime)s of guest uptime (waited from $${s}s)" >&2; \
		cd $(CURDIR)/tests/integration && \
		exec $(CURDIR)/bin/integration.test -test.v -test.run "^TestSystemdV1"'
