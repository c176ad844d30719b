package cgroups

import (
	"sort"
	"strings"

	"github.com/tekapo/tekapo/libcontainer/cgroups/devices"
)

// HostInfo describes the host's cgroups as tekapo's manager sees them
// (for `tekapo features`).
type HostInfo struct {
	// Layout is "v1", "hybrid", "v2" or "none".
	Layout Layout `json:"layout"`
	// Controllers are those limits can be set with: v1 controllers on
	// v1/hybrid hosts, the root's cgroup.controllers on v2 hosts.
	Controllers []string `json:"controllers"`
	// UnifiedControllers are the cgroup2 root's controllers on a hybrid
	// host (not used for limits).
	UnifiedControllers []string `json:"unifiedControllers,omitempty"`
	// Devices is how device rules are enforced: "v1" (devices.allow/deny),
	// "ebpf" (cgroup v2 device filter) or "" when they cannot be.
	Devices string `json:"devices"`
	// DeviceFilterEBPF: the kernel runs BPF_CGROUP_DEVICE programs.
	DeviceFilterEBPF bool `json:"deviceFilterEBPF"`
	// RDMA: rdma limits can be set.
	RDMA bool `json:"rdma"`
	// Systemd is not probed here (always false): `tekapo features` asks
	// package cgroups/systemd (systemd running).
	Systemd bool `json:"systemd"`
}

// Info probes the host with the manager's own detection code.
func Info() (*HostInfo, error) {
	h, err := detectHierarchies()
	if err != nil {
		return nil, err
	}
	return hostInfo(h, devices.Supported() == nil), nil
}

func hostInfo(h *hierarchies, ebpf bool) *HostInfo {
	m := &manager{h: h, path: "/"}
	info := &HostInfo{Layout: h.layout, DeviceFilterEBPF: ebpf}
	if h.unified != "" {
		info.UnifiedControllers = m.v2RootControllers()
	}
	switch h.layout {
	case LayoutV2:
		info.Controllers = info.UnifiedControllers
		info.UnifiedControllers = nil
		if ebpf {
			info.Devices = "ebpf"
		}
	case LayoutV1, LayoutHybrid:
		for _, c := range h.v1Controllers() {
			if !strings.HasPrefix(c, "name=") {
				info.Controllers = append(info.Controllers, c)
			}
		}
		if m.hasController("devices") {
			info.Devices = "v1"
		}
	}
	sort.Strings(info.Controllers)
	if info.Controllers == nil {
		info.Controllers = []string{}
	}
	info.RDMA = h.layout != LayoutNone && m.hasController("rdma")
	return info
}
