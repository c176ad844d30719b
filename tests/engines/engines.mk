# Engine end-to-end tests: podman+conmon, containerd (ctr) and dockerd
# drive an OCI runtime binary. Include from the top-level Makefile:
#
#	include tests/engines/engines.mk
#
# Targets:
#	engines-deps       install the apt packages (idempotent)
#	engines            run all engines against $(ENGINES_RUNTIME)
#	engines-reference  run them against runc and rewrite reference-runc.txt
#
# A missing engine or runtime binary makes its test SKIP with the reason.

ENGINES_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TEKAPO_BIN ?= bin/tekapo
ENGINES_RUNTIME ?= $(abspath $(TEKAPO_BIN))
ENGINES_REF_RUNTIME ?= /usr/sbin/runc
ENGINES_GO ?= go
ENGINES_RUN ?= .
ENGINES_TIMEOUT ?= 30m
ENGINES_LOG ?= $(ENGINES_DIR)/last-run.log
# Prerequisites of `engines` (e.g. set ENGINES_PREREQ = $(TEKAPO_BIN)).
ENGINES_PREREQ ?=

# ENGINES_TEST runs go test for runtime $(1), logs to $(2) and prints
# a closing "N passed, N failed, N skipped" line; the status is go test's.
define ENGINES_TEST
bash -c 'set -o pipefail; $(ENGINES_GO) test -v -count=1 -timeout $(ENGINES_TIMEOUT) \
	-run "$(ENGINES_RUN)" ./$(ENGINES_DIR) -runtime=$(1) 2>&1 | tee $(2); rc=$$?; \
	awk "/^ +--- PASS/{p++} /^ +--- FAIL/{f++} /^ *--- SKIP/{s++} \
	END{printf \"%d passed, %d failed, %d skipped\n\", p, f, s}" $(2); exit $$rc'
endef

.PHONY: engines-deps engines engines-reference
engines-deps:
	bash $(ENGINES_DIR)/deps.sh

engines: $(ENGINES_PREREQ)
	$(call ENGINES_TEST,$(ENGINES_RUNTIME),$(ENGINES_LOG))

engines-reference:
	-$(call ENGINES_TEST,$(ENGINES_REF_RUNTIME),$(ENGINES_DIR)/reference-runc.log)
	bash $(ENGINES_DIR)/summarize.sh $(ENGINES_DIR)/reference-runc.log > $(ENGINES_DIR)/reference-runc.txt
	rm -f $(ENGINES_DIR)/reference-runc.log
