# The CRI lane (tests/cri): containerd 1.6 from apt started by hand with its
# CRI plugin on, pods driven with crictl as kubelet drives them, tekapo and
# runc as the runc-v2 shim's binary side by side. Include from the Makefile:
#
#	include tests/cri/cri.mk
#
# Targets:
#	cri-deps   containerd, CNI plugins, runc from apt (idempotent)
#	crictl     bin/crictl from sigs.k8s.io/cri-tools, pinned in tests/cri/crictl/go.mod
#	cri        the lane against $(CRI_RUNTIME) (default bin/tekapo), runc beside it

CRI_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CRI_GO ?= go
CRICTL ?= bin/crictl
CRI_RUNTIME ?= $(abspath bin/tekapo)
CRI_REF_RUNTIME ?= /usr/sbin/runc
CRI_RUN ?= .

.PHONY: cri-deps cri crictl
cri-deps:
	bash $(CRI_DIR)/deps.sh

crictl: $(CRICTL)
$(CRICTL): $(CRI_DIR)/crictl/go.mod $(CRI_DIR)/crictl/go.sum
	cd $(CRI_DIR)/crictl && $(CRI_GO) build -o $(abspath $(CRICTL)) sigs.k8s.io/cri-tools/cmd/crictl

cri: cri-deps $(CRICTL) bin/tekapo
	$(CRI_GO) test -v -count=1 -timeout 15m -run '$(CRI_RUN)' ./$(CRI_DIR) \
		-runtime=$(CRI_RUNTIME) -ref-runtime=$(CRI_REF_RUNTIME) -crictl=$(abspath $(CRICTL))
