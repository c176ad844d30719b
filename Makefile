# tekapo — an OCI container runtime.
#
#   make          build bin/tekapo (static, cgo for the C bootstrap and libseccomp)
#   make deps     install what the build and the tests need (apt; idempotent)
#   make demo     run a busybox container that shows its isolation, then clean up
#   make test     unit + integration tests, the pure-v2 VM lane, the OCI conformance ratchet
#                 the engines (podman, containerd, docker) driving bin/tekapo and the CRI lane (as root)
#   make lint     gofmt, go vet, staticcheck
#   make bench    start-up cost against runc and crun, measured in the same run
#   make v2lane   the cgroup and integration tests again, in a pure cgroup-v2 VM (qemu)
#   make engines  podman, containerd and docker driving bin/tekapo (tests/engines)
#   make soak     1000 run/delete cycles (CYCLES=N), printing mounts, cgroups, fds, RSS...
#   make fuzz     every fuzz target for FUZZTIME (60s each); `make test` runs 2000 inputs each (a count, not a time: no deadline to race)
#   make cri      pods through containerd's CRI with crictl, tekapo beside runc (tests/cri)
#   make systemd-lane  systemd as PID 1 in the VM: the systemd driver's tests, podman, docker and the CRI under systemd (tests/systemd)
#   make conformance-vm  the conformance programs this host cannot pass, in a hybrid-cgroup VM (in make test)

GO       ?= go
BIN      := bin/tekapo
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TAGS     := netgo osusergo urfave_cli_no_docs
LDFLAGS  := -s -w -X main.version=$(VERSION) -extldflags -static
SOURCES  := $(shell find cmd libcontainer specconv -name '*.go' -o -name '*.c') go.mod go.sum
export TEKAPO_BIN := $(CURDIR)/$(BIN)

# Debian packages the build and the tests use.
APT_PACKAGES := gcc pkg-config libseccomp-dev busybox-static runc crun uidmap iproute2 procps util-linux time

.PHONY: all deps demo test unit fuzz-short fuzz soak integration v2lane v2lane-podman lint bench clean

.DEFAULT_GOAL := all
include tests/v2vm/v2vm.mk
include tests/engines/engines.mk
include tests/conformance/conformance.mk
include tests/cri/cri.mk
include tests/systemd/systemd.mk

all: $(BIN)

$(BIN): $(SOURCES)
	CGO_ENABLED=1 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $@ ./cmd/tekapo 2>&1 \
		| { grep -v 'statically linked applications requires at runtime' || true; }
	@test -x $@

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: deps $(BIN)
	./tests/demo.sh $(BIN)

test: deps $(BIN) unit fuzz-short integration v2lane systemd-lane conformance conformance-vm engines-deps engines cri

unit:
	$(GO) test -count=1 ./cmd/... ./libcontainer/... ./specconv/...

# The integration tests include a 100-cycle soak (TestSoak).
integration: $(BIN)
	$(GO) test -count=1 -timeout 30m ./tests/integration/...

fuzz-short:
	GO=$(GO) FUZZTIME=2000x tests/fuzz.sh

fuzz:
	GO=$(GO) FUZZTIME=$${FUZZTIME:-60s} tests/fuzz.sh

soak: $(BIN)
	TEKAPO_SOAK_CYCLES=$${CYCLES:-1000} $(GO) test -count=1 -timeout 90m -run '^TestSoak$$' -v ./tests/integration/ \
		| grep -E '^soak:|_test.go:|^(ok|FAIL|--- )'

# This host's cgroups are hybrid: pure v2 is tested in a VM (tests/v2vm),
# with test binaries built here and run there. The same boot has AppArmor
# on and criu: the checkpoint and AppArmor tests must run there (not skip).
# podman (tests/engines/vm.sh) runs there too, with runc beside tekapo, for
# its checkpoint/restore and AppArmor checks: the guest uses this host's
# podman and conmon (engines-deps).
# The guest's CPU is emulated (each tekapo call 20-30x the host's): its race
# loops go 10 rounds, its soak 20 cycles, its bad inputs run with JSON logs
# only (TEKAPO_ROUNDS, tests/integration/harness_test.go); the host runs the
# full counts. Measured in the guest before: the soak 137 s, the delete/start/
# kill race 159 s, the bad inputs 153 s, of a 2650 s lane.
v2lane: $(BIN) v2vm-deps engines-deps
	CGO_ENABLED=0 $(GO) test -c -o bin/cgroups.test ./libcontainer/cgroups
	CGO_ENABLED=0 $(GO) test -c -o bin/integration.test ./tests/integration
	CGO_ENABLED=0 $(GO) test -c -o bin/engines.test ./tests/engines
	tests/v2vm/run.sh --apparmor --criu --share $(CURDIR) --env TEKAPO_BIN=$(TEKAPO_BIN) \
		--env TEKAPO_REQUIRE=criu,apparmor --env TEKAPO_ROUNDS=10 --env TEKAPO_SOAK_CYCLES=20 --timeout 3000 -- \
		sh -c 'cd $(CURDIR)/libcontainer/cgroups && $(CURDIR)/bin/cgroups.test && \
		       cd $(CURDIR)/tests/integration && $(CURDIR)/bin/integration.test; rc=$$?; \
		       $(CURDIR)/tests/engines/vm.sh $(CURDIR)/bin/engines.test $(TEKAPO_BIN) && exit $$rc'

# Only the podman checks of the lane, in one boot of their own.
v2lane-podman: $(BIN) v2vm-deps engines-deps
	CGO_ENABLED=0 $(GO) test -c -o bin/engines.test ./tests/engines
	tests/v2vm/run.sh --apparmor --criu --share $(CURDIR) --timeout 900 -- \
		$(CURDIR)/tests/engines/vm.sh $(CURDIR)/bin/engines.test $(TEKAPO_BIN)

lint:
	@test -z "$$(gofmt -l cmd libcontainer specconv tests)" || { gofmt -l cmd libcontainer specconv tests; exit 1; }
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$$(command -v staticcheck || echo $$($(GO) env GOPATH)/bin/staticcheck) ./...

bench: deps $(BIN)
	TEKAPO_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 60m -run XXX -bench Table -benchtime 1x ./tests/bench/

clean:
	rm -rf bin
