# make systemd-lane: the systemd cgroup driver's integration tests in two
# v2vm boots, both timed (run.sh prints each boot's time):
#  - pure cgroup v2 (tests/integration/systemd_test.go), with Debian's systemd
#    as PID 1 of the guest's own pid namespace (tests/systemd/in-systemd.sh);
#  - hybrid cgroups (systemd_v1_test.go): systemd is the guest's PID 1
#    (run.sh --systemd --cgroup hybrid: systemd.unified_cgroup_hierarchy=0,
#    v1 controllers, cgroup2 at /sys/fs/cgroup/unified).
# TEKAPO_REQUIRE_SYSTEMD=1: a test that finds no systemd fails, never skips
# (=hybrid: a v1 test on a pure v2 host fails too; with =1 it skips there).

.PHONY: systemd-lane systemd-lane-v2 systemd-lane-hybrid systemd-lane-bin

systemd-lane: systemd-lane-v2 systemd-lane-hybrid

systemd-lane-bin: $(BIN) v2vm-deps
	CGO_ENABLED=0 $(GO) test -c -o bin/integration.test ./tests/integration

systemd-lane-v2: systemd-lane-bin
	tests/v2vm/run.sh --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) --env TEKAPO_REQUIRE_SYSTEMD=1 --timeout 600 -- \
		$(CURDIR)/tests/systemd/in-systemd.sh sh -c 'cd $(CURDIR)/tests/integration && \
		exec $(CURDIR)/bin/integration.test -test.v -test.run "^TestSystemd" -test.skip "^(TestSystemdCgroupRefused|TestSystemdV1)"'

# The command is systemd's v2vm.service: it waits until systemd is up.
systemd-lane-hybrid: systemd-lane-bin
	tests/v2vm/run.sh --systemd --cgroup hybrid --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) --env TEKAPO_REQUIRE_SYSTEMD=hybrid --timeout 600 -- \
		sh -c 's=$$(cut -d" " -f1 /proc/uptime); st=$$(timeout 90 systemctl is-system-running --wait); \
		echo "systemd-lane-hybrid: systemd $$st at $$(cut -d" " -f1 /proc/uptime)s of guest uptime (waited from $${s}s)" >&2; \
		cd $(CURDIR)/tests/integration && \
		exec $(CURDIR)/bin/integration.test -test.v -test.run "^TestSystemdV1"'
