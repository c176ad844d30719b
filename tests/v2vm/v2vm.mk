# Pure cgroup-v2 test lane (a qemu VM); see tests/v2vm/README.md.
# Include from the top Makefile: include tests/v2vm/v2vm.mk
V2VM_SCRIPTS ?= tests/v2vm

.PHONY: v2vm-deps v2vm-smoke
v2vm-deps:
	$(V2VM_SCRIPTS)/deps.sh

v2vm-smoke: v2vm-deps
	$(V2VM_SCRIPTS)/smoke.sh
