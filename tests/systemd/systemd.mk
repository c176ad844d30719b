# make systemd-lane: the systemd cgroup driver's integration tests
# (tests/integration/systemd_test.go) in one v2vm boot, with Debian's
# systemd as PID 1 of the guest's own pid namespace (tests/systemd/in-systemd.sh).
# TEKAPO_REQUIRE_SYSTEMD=1: a test that finds no systemd fails, never skips.

.PHONY: systemd-lane

systemd-lane: $(BIN) v2vm-deps
	CGO_ENABLED=0 $(GO) test -c -o bin/integration.test ./tests/integration
	tests/v2vm/run.sh --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) --env TEKAPO_REQUIRE_SYSTEMD=1 --timeout 600 -- \
		$(CURDIR)/tests/systemd/in-systemd.sh sh -c 'cd $(CURDIR)/tests/integration && \
		exec $(CURDIR)/bin/integration.test -test.v -test.run "^TestSystemd" -test.skip "^TestSystemdCgroupRefused$$"'
