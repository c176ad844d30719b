# OCI runtime-tools validation suite (see tests/conformance/README.md).
# Included by the top-level Makefile. Every target needs root.
#
#   make conformance-setup     fetch + build the suite into $(CONFORMANCE_CACHE_ROOT) (idempotent)
#   make conformance           run it against $(TEKAPO_BIN), checked against the ratchet file
#   make conformance-compare   run it against runc and crun (and $(TEKAPO_BIN) if it exists)
#   make conformance-vm        the programs this host cannot pass, in one VM boot (tests/v2vm,
#                              --cgroup hybrid --apparmor), checked against expected-pass-vm.txt
#   make conformance-vm-compare  the same against $(TEKAPO_BIN) and runc, side by side
#
# Variables: CONFORMANCE_ONLY=REGEX limits the programs; CONFORMANCE_TIMEOUT is the
# per-program timeout in seconds; CONFORMANCE_EXPECT is the ratchet file.

TEKAPO_BIN ?= bin/tekapo
CONFORMANCE_DIR ?= tests/conformance
CONFORMANCE_EXPECT ?= $(CONFORMANCE_DIR)/expected-pass.txt
CONFORMANCE_TIMEOUT ?= 60
CONFORMANCE_ONLY ?=
CONFORMANCE_CACHE_ROOT ?= /var/cache/tekapo-conformance
export CONFORMANCE_CACHE_ROOT

CONFORMANCE_RUN_ARGS = --timeout $(CONFORMANCE_TIMEOUT) $(if $(CONFORMANCE_ONLY),--only '$(CONFORMANCE_ONLY)')

CONFORMANCE_VM_EXPECT ?= $(CONFORMANCE_DIR)/expected-pass-vm.txt
# Per program in the VM (TCG), a hang detector: linux_cgroups_network's 32 containers
# took 202 s to over 240 s there at host load 15-17.
CONFORMANCE_VM_TIMEOUT ?= 600

.PHONY: conformance-setup conformance conformance-compare conformance-vm conformance-vm-compare

conformance-setup:
	$(CONFORMANCE_DIR)/setup.sh

conformance: conformance-setup $(BIN)
	@test -x "$(TEKAPO_BIN)" || { echo "conformance: $(TEKAPO_BIN) not built" >&2; exit 1; }
	$(CONFORMANCE_DIR)/run.sh $(TEKAPO_BIN) --expect $(CONFORMANCE_EXPECT) $(CONFORMANCE_RUN_ARGS)

conformance-compare: conformance-setup
	$(CONFORMANCE_DIR)/compare.sh $(if $(wildcard $(TEKAPO_BIN)),$(TEKAPO_BIN)) $(CONFORMANCE_RUN_ARGS)

conformance-vm: conformance-setup v2vm-deps $(BIN)
	@test -x "$(TEKAPO_BIN)" || { echo "conformance: $(TEKAPO_BIN) not built" >&2; exit 1; }
	$(CONFORMANCE_DIR)/vm.sh --expect $(CONFORMANCE_VM_EXPECT) --timeout $(CONFORMANCE_VM_TIMEOUT) \
		$(if $(CONFORMANCE_ONLY),--only '$(CONFORMANCE_ONLY)') $(TEKAPO_BIN)

conformance-vm-compare: conformance-setup v2vm-deps $(BIN)
	$(CONFORMANCE_DIR)/vm.sh --timeout $(CONFORMANCE_VM_TIMEOUT) \
		--only '$(or $(CONFORMANCE_ONLY),all)' $(TEKAPO_BIN) /usr/sbin/runc
