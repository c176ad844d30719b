# OCI runtime-tools validation suite (see tests/conformance/README.md).
# Included by the top-level Makefile. Every target needs root.
#
#   make conformance-setup     fetch + build the suite into $(CONFORMANCE_CACHE_ROOT) (idempotent)
#   make conformance           run it against $(TEKAPO_BIN), checked against the ratchet file
#   make conformance-compare   run it against runc and crun (and $(TEKAPO_BIN) if it exists)
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

.PHONY: conformance-setup conformance conformance-compare

conformance-setup:
	$(CONFORMANCE_DIR)/setup.sh

conformance: conformance-setup $(BIN)
	@test -x "$(TEKAPO_BIN)" || { echo "conformance: $(TEKAPO_BIN) not built" >&2; exit 1; }
	$(CONFORMANCE_DIR)/run.sh $(TEKAPO_BIN) --expect $(CONFORMANCE_EXPECT) $(CONFORMANCE_RUN_ARGS)

conformance-compare: conformance-setup
	$(CONFORMANCE_DIR)/compare.sh $(if $(wildcard $(TEKAPO_BIN)),$(TEKAPO_BIN)) $(CONFORMANCE_RUN_ARGS)
